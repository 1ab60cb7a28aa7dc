//! Diff: compare two renders object by object, the way a reviewer reads them.
//!
//! Objects are matched by API group, kind, namespace and name. The version is left out of the
//! match, so an `apiVersion` bump shows as one changed field rather than a removal and an
//! addition, and where an object sits in its stream or directory never matters. Before two
//! matched objects are compared, the `--ignore` rules ([`IgnoreRule`]) drop noise fields from
//! both, and Secret values are redacted in pairs (see [`redact`]), so no format can print one.
//! Objects are compared as JSON values, so key order never shows as a change.
//!
//! At scale (10,000 workloads: about 78,000 objects and 90 MB of YAML a side) almost every
//! object is unchanged, so a side is read as document texts ([`read`]): two matched documents
//! with the same text are equal without being parsed, and only the others become trees, one
//! pair at a time on every core, kept only as long as their field list takes to compute. The
//! unified diff of an object is made from its text again when a format prints it.
//!
//! The report then folds the hashes that only follow from other changes into them
//! ([`derived`]) and groups objects that changed the same way ([`group`]), so one change made
//! to 20,000 workers reads as one line with a count.
//!
//! Limits: a document whose text is the same on both sides is not parsed, nor is an unchanged
//! entry of a changed one ([`entries`]), so a syntax error in them goes unreported. An object
//! that appears twice on one side is an error.
//! Pure: objects in, a [`Report`] out; [`text`], [`markdown`] and [`json`] turn the report into
//! text and only the binary prints it.

pub mod derived;
mod entries;
mod fields;
pub mod group;
pub mod ignore;
pub mod json;
pub mod markdown;
pub mod read;
mod redact;
pub mod text;
mod unified;

use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::emit::{self, Object};
use crate::key::{Identity, ObjectKey};

pub use fields::{FieldChange, Step};
pub use group::Group;
pub use ignore::{IgnoreRule, ParseIgnoreError};
pub use read::{Content, Item, Recorded, Text, Written};
pub use redact::{REDACTED, REDACTED_CHANGED};

/// Why two sets of objects could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// One side holds the same object twice, so there is nothing unique to match against.
    #[error("the {side} side holds {object} twice")]
    DuplicateObject {
        /// The side that holds it.
        side: Side,
        /// The object, as `Kind/namespace/name`.
        object: String,
    },
    /// Documents that had to be parsed are not valid YAML.
    #[error("{} document(s) cannot be read", .0.len())]
    Unreadable(Vec<Diagnostic>),
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One side of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The render before the change.
    Old,
    /// The render after the change.
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Old => "old",
            Side::New => "new",
        })
    }
}

/// What a comparison needs besides the objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Fields dropped from both sides before comparing.
    pub ignore: Vec<IgnoreRule>,
    /// Make every change's unified diff during the comparison, with this many lines of
    /// context: for a format that shows them all, as each object is then parsed only once.
    pub unified: Option<usize>,
}

/// How an object or a field changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only in the new render.
    Added,
    /// Only in the old render.
    Removed,
    /// In both, with different content.
    Changed,
}

impl ChangeKind {
    /// `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One object that differs between the two renders.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// Its identity: the new side's key, or the old side's for a removed object.
    pub key: ObjectKey,
    /// The fields that differ (after ignore rules and redaction), in key order; empty unless
    /// changed.
    pub fields: Vec<FieldChange>,
    /// Changed only in hashes that follow from other changes ([`derived`]): not counted as a
    /// change of its own.
    pub follow_on: bool,
    /// The old object as read, before ignore rules and redaction; `None` when added.
    pub old: Option<Content>,
    /// The new object as read; `None` when removed.
    pub new: Option<Content>,
    /// Its unified diff, when [`DiffOptions::unified`] asked for it.
    pub hunks: Option<String>,
}

impl emit::Keyed for Change {
    fn key(&self) -> &ObjectKey {
        &self.key
    }
}

/// The counts at the top of every format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Objects only in the new render.
    pub added: usize,
    /// Objects only in the old render.
    pub removed: usize,
    /// Objects in both that differ, other than follow-on changes.
    pub changed: usize,
    /// Objects in both that differ only in hashes that follow from other changes.
    pub follow_on: usize,
    /// Objects in both that are equal.
    pub unchanged: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} removed, {} changed, {} unchanged",
            self.added, self.removed, self.changed, self.unchanged
        )?;
        if self.follow_on > 0 {
            write!(
                f,
                "; {} more changed only in hashes that follow from these",
                self.follow_on
            )?;
        }
        Ok(())
    }
}

/// The result of a comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Every object that differs, in apply order.
    pub changes: Vec<Change>,
    /// How many matched objects are equal.
    pub unchanged: usize,
    /// The changes grouped by how they changed, largest group first; follow-on changes last.
    pub groups: Vec<Group>,
    /// The ignore rules the comparison applied, to apply them again when showing an object.
    pub ignore: Vec<IgnoreRule>,
}

impl Report {
    /// True when the two renders are equal (after ignore rules).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The counts of each kind of change.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for change in &self.changes {
            match change.kind {
                ChangeKind::Added => summary.added += 1,
                ChangeKind::Removed => summary.removed += 1,
                ChangeKind::Changed if change.follow_on => summary.follow_on += 1,
                ChangeKind::Changed => summary.changed += 1,
            }
        }
        summary
    }

    /// A change's old and new object as they are shown: after the ignore rules, with Secret
    /// values redacted. A side that is missing, or that no longer parses, is `None`.
    pub fn objects(&self, change: &Change) -> (Option<Value>, Option<Value>) {
        let read = |content: &Option<Content>| {
            content
                .as_ref()
                .and_then(|c| c.value().ok())
                .map(Cow::into_owned)
        };
        let (mut old, mut new) = (read(&change.old), read(&change.new));
        let options = DiffOptions {
            ignore: self.ignore.clone(),
            unified: None,
        };
        match (&mut old, &mut new) {
            (Some(old), Some(new)) => prepare_pair(&change.key, old, new, &options),
            (Some(one), None) | (None, Some(one)) => prepare_one(&change.key, one, &options),
            (None, None) => {}
        }
        (old, new)
    }
}

/// An object of one side, however it was read.
trait Compared: Sync {
    fn key(&self) -> &ObjectKey;
    /// The document's text, when the object was read from one and not parsed yet.
    fn text(&self) -> Option<&str>;
    /// The text, when it is exactly what render's writer makes of the object.
    fn canonical_text(&self) -> Option<&str> {
        None
    }
    /// The object as JSON, parsing its text when needed.
    fn value(&self) -> Result<Cow<'_, Value>, Vec<Diagnostic>>;
    /// What a report keeps to show the object later.
    fn content(&self) -> Content;
}

impl Compared for Object {
    fn key(&self) -> &ObjectKey {
        &self.key
    }

    fn text(&self) -> Option<&str> {
        None
    }

    fn value(&self) -> Result<Cow<'_, Value>, Vec<Diagnostic>> {
        Ok(Cow::Borrowed(&self.value))
    }

    fn content(&self) -> Content {
        Content::Value(Arc::new(self.value.clone()))
    }
}

impl Compared for Item {
    fn key(&self) -> &ObjectKey {
        &self.key
    }

    fn text(&self) -> Option<&str> {
        match &self.content {
            Content::Text(text) => Some(text.body()),
            Content::Value(_) => None,
        }
    }

    fn canonical_text(&self) -> Option<&str> {
        match &self.content {
            Content::Text(text) if text.is_written() => Some(text.body()),
            _ => None,
        }
    }

    fn value(&self) -> Result<Cow<'_, Value>, Vec<Diagnostic>> {
        self.content.value()
    }

    fn content(&self) -> Content {
        self.content.clone()
    }
}

/// Indexes one side by match key, refusing duplicates.
fn index<T: Compared>(objects: &[T], side: Side) -> Result<HashMap<Identity<'_>, usize>> {
    let mut by_key = HashMap::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        if by_key.insert(object.key().identity(), i).is_some() {
            return Err(Error::DuplicateObject {
                side,
                object: object.key().display_ref(),
            });
        }
    }
    Ok(by_key)
}

/// Compares two renders held as objects. The order of objects on either side does not
/// matter.
///
/// Borrows both sides and copies only the objects that differ.
pub fn diff(old: &[Object], new: &[Object], options: &DiffOptions) -> Result<Report> {
    compare(old, new, options)
}

/// Compares two renders read as documents ([`read`]): matched documents with the same text
/// are equal without being parsed, and the others are parsed in pairs on every core.
pub fn diff_items(old: &[Item], new: &[Item], options: &DiffOptions) -> Result<Report> {
    compare(old, new, options)
}

/// A matched pair, or an object on one side only, by index.
#[derive(Clone, Copy)]
enum Pair {
    Both(usize, usize),
    Added(usize),
    Removed(usize),
}

fn compare<T: Compared>(old: &[T], new: &[T], options: &DiffOptions) -> Result<Report> {
    let (old_index, new_index) = rayon::join(|| index(old, Side::Old), || index(new, Side::New));
    let (old_index, new_index) = (old_index?, new_index?);
    // Looked up on every core: hashing 78,000 identities twice is worth splitting.
    let (mut pairs, removed): (Vec<Pair>, Vec<Pair>) = rayon::join(
        || {
            (new.par_iter().enumerate())
                .map(
                    |(i, object)| match old_index.get(&object.key().identity()) {
                        Some(&o) => Pair::Both(o, i),
                        None => Pair::Added(i),
                    },
                )
                .collect()
        },
        || {
            (old.par_iter().enumerate())
                .filter(|(_, object)| !new_index.contains_key(&object.key().identity()))
                .map(|(o, _)| Pair::Removed(o))
                .collect()
        },
    );
    pairs.extend(removed);
    drop((old_index, new_index));
    let outcomes: Vec<_> = pairs
        .par_iter()
        .map(|pair| compare_pair(*pair, old, new, options))
        .collect();
    let mut report = Report {
        ignore: options.ignore.clone(),
        ..Report::default()
    };
    let mut problems = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(Some(change)) => report.changes.push(change),
            Ok(None) => report.unchanged += 1,
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Unreadable(problems));
    }
    // Apply order: stable output whatever order the inputs came in. No two changes share a
    // key: each side holds an identity once, and pairs are made by identity.
    emit::sort(&mut report.changes);
    derived::fold(&mut report.changes);
    report.groups = group::group(&report.changes);
    Ok(report)
}

/// The change of one pair, `None` when equal, or why a side cannot be read.
fn compare_pair<T: Compared>(
    pair: Pair,
    old: &[T],
    new: &[T],
    options: &DiffOptions,
) -> Result<Option<Change>, Vec<Diagnostic>> {
    let (before, after) = match pair {
        Pair::Both(o, n) => (&old[o], &new[n]),
        Pair::Added(n) => return one_sided(&new[n], ChangeKind::Added, options),
        Pair::Removed(o) => return one_sided(&old[o], ChangeKind::Removed, options),
    };
    if let (Some(a), Some(b)) = (before.text(), after.text()) {
        if a == b {
            return Ok(None);
        }
        if let Some(change) = compare_texts(before, after, a, b, options) {
            return Ok(change);
        }
    }
    let (old_value, new_value) = match (before.value(), after.value()) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let mut problems = a.err().unwrap_or_default();
            problems.extend(b.err().unwrap_or_default());
            return Err(problems);
        }
    };
    let key = after.key();
    if is_equal(key, &old_value, &new_value, options) {
        return Ok(None);
    }
    let (mut old_value, mut new_value) = (old_value.into_owned(), new_value.into_owned());
    prepare_pair(key, &mut old_value, &mut new_value, options);
    // Texts that are the writer's own are its output already: when nothing is dropped or
    // redacted, their diff is the diff of the objects as written. (Asked only for a unified
    // diff: a recorded text is hashed to know.)
    let hunks =
        options.unified.map(
            |context| match (before.canonical_text(), after.canonical_text()) {
                (Some(a), Some(b))
                    if !redact::is_secret(key)
                        && !options.ignore.iter().any(|r| r.applies_to(&key.kind)) =>
                {
                    unified::hunks_of_text(a, b, context)
                }
                _ => unified::hunks_of(Some(&old_value), Some(&new_value), context),
            },
        );
    Ok(Some(Change {
        kind: ChangeKind::Changed,
        key: key.clone(),
        fields: fields::changes(&old_value, &new_value),
        follow_on: false,
        old: Some(before.content()),
        new: Some(after.content()),
        hunks,
    }))
}

/// The change between two documents read entry by entry ([`entries`]), parsing only the
/// entries whose text differs; `None` when that does not apply: a Secret (whose values are
/// redacted in pairs), ignore rules for its kind, texts not plain enough, or a unified diff
/// to make from texts that are not the writer's own.
fn compare_texts<T: Compared>(
    before: &T,
    after: &T,
    old: &str,
    new: &str,
    options: &DiffOptions,
) -> Option<Option<Change>> {
    let key = after.key();
    if redact::is_secret(key) || options.ignore.iter().any(|r| r.applies_to(&key.kind)) {
        return None;
    }
    // A recorded text is hashed to know whether it is the writer's own: only for a unified diff.
    let written = || before.canonical_text().is_some() && after.canonical_text().is_some();
    if options.unified.is_some() && !written() {
        return None;
    }
    let fields = entries::changes(old, new)?;
    if fields.is_empty() {
        return Some(None);
    }
    Some(Some(Change {
        kind: ChangeKind::Changed,
        key: key.clone(),
        fields,
        follow_on: false,
        old: Some(before.content()),
        new: Some(after.content()),
        hunks: options
            .unified
            .map(|context| unified::hunks_of_text(old, new, context)),
    }))
}

/// An added or removed object. Its text is parsed too, so a document that cannot be shown is
/// reported now.
fn one_sided<T: Compared>(
    object: &T,
    kind: ChangeKind,
    options: &DiffOptions,
) -> Result<Option<Change>, Vec<Diagnostic>> {
    let mut hunks = None;
    if object.text().is_some() || options.unified.is_some() {
        let mut value = object.value()?.into_owned();
        if let Some(context) = options.unified {
            prepare_one(object.key(), &mut value, options);
            hunks = Some(match kind {
                ChangeKind::Removed => unified::hunks_of(Some(&value), None, context),
                _ => unified::hunks_of(None, Some(&value), context),
            });
        }
    }
    let content = Some(object.content());
    let (old, new) = match kind {
        ChangeKind::Removed => (content, None),
        _ => (None, content),
    };
    Ok(Some(Change {
        kind,
        key: object.key().clone(),
        fields: Vec::new(),
        follow_on: false,
        old,
        new,
        hunks,
    }))
}

/// True when a matched pair is equal after ignore rules and redaction, copying as little as
/// possible: the same answer as preparing copies of both and comparing them.
fn is_equal(key: &ObjectKey, old: &Value, new: &Value, options: &DiffOptions) -> bool {
    let rules: Vec<&IgnoreRule> = options
        .ignore
        .iter()
        .filter(|r| r.applies_to(&key.kind))
        .collect();
    // Redaction maps equal values to equal markers and unequal ones to unequal markers, so it
    // changes nothing about equality; only the ignore rules do.
    if rules.is_empty() {
        return old == new;
    }
    let (Value::Object(a), Value::Object(b)) = (old, new) else {
        return prepared_equal(old, new, &rules);
    };
    // A rule only touches the top-level key its first step matches, so every other key
    // compares as it is, and only the touched ones are copied and trimmed.
    let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        let equal = if rules.iter().any(|r| r.first_step_matches(k)) {
            let wrap = |v: Option<&Value>| {
                let mut map = serde_json::Map::new();
                if let Some(v) = v {
                    map.insert(k.clone(), v.clone());
                }
                Value::Object(map)
            };
            prepared_equal(&wrap(x), &wrap(y), &rules)
        } else {
            x == y
        };
        if !equal {
            return false;
        }
    }
    true
}

/// Copies both values, applies the rules and compares.
fn prepared_equal(old: &Value, new: &Value, rules: &[&IgnoreRule]) -> bool {
    let (mut old, mut new) = (old.clone(), new.clone());
    for rule in rules {
        rule.remove_from(&mut old);
        rule.remove_from(&mut new);
    }
    old == new
}

fn apply_ignores(key: &ObjectKey, value: &mut Value, options: &DiffOptions) {
    for rule in &options.ignore {
        if rule.applies_to(&key.kind) {
            rule.remove_from(value);
        }
    }
}

/// Drops ignored fields and redacts secrets in one unmatched object.
fn prepare_one(key: &ObjectKey, value: &mut Value, options: &DiffOptions) {
    apply_ignores(key, value, options);
    if redact::is_secret(key) {
        redact::redact(value);
    }
}

/// Drops ignored fields and redacts secrets in a matched pair, marking changed secret values.
fn prepare_pair(key: &ObjectKey, old: &mut Value, new: &mut Value, options: &DiffOptions) {
    apply_ignores(key, old, options);
    apply_ignores(key, new, options);
    // Both sides share group and kind (they are part of the match), so one check covers both.
    if redact::is_secret(key) {
        redact::redact_pair(old, new);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        Object::from_value(value)
    }

    fn deployment(name: &str, replicas: u64) -> Object {
        object(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"replicas": replicas},
        }))
    }

    #[test]
    fn equal_renders_in_any_order_have_no_changes() {
        let old = vec![deployment("a", 1), deployment("b", 2)];
        let new = vec![deployment("b", 2), deployment("a", 1)];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert!(report.is_empty());
        assert_eq!(report.unchanged, 2);
    }

    #[test]
    fn a_version_bump_is_one_changed_object() {
        let old = vec![object(json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "shop"}
        }))];
        let new = vec![object(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "shop"}
        }))];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert_eq!(report.summary().changed, 1);
        assert_eq!(report.changes[0].key.version, "v2");
        assert_eq!(report.changes[0].fields[0].dotted(), "apiVersion");
    }

    #[test]
    fn a_duplicate_object_is_an_error_that_names_it() {
        let old = vec![deployment("a", 1), deployment("a", 2)];
        let err = diff(&old, &[], &DiffOptions::default()).unwrap_err();
        assert_eq!(
            err,
            Error::DuplicateObject {
                side: Side::Old,
                object: "Deployment/shop/a".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "the old side holds Deployment/shop/a twice"
        );
    }

    #[test]
    fn changes_come_in_apply_order() {
        let service = object(json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "z", "namespace": "shop"}
        }));
        let old = vec![deployment("a", 1), deployment("gone", 1)];
        let new = vec![deployment("a", 2), service];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        let got: Vec<_> = report
            .changes
            .iter()
            .map(|c| format!("{} {}", c.kind.as_str(), c.key))
            .collect();
        assert_eq!(
            got,
            [
                "added Service/shop/z",
                "changed Deployment/shop/a",
                "removed Deployment/shop/gone"
            ]
        );
        assert_eq!(
            report.summary(),
            Summary {
                added: 1,
                removed: 1,
                changed: 1,
                follow_on: 0,
                unchanged: 0
            }
        );
    }

    #[test]
    fn ignored_fields_do_not_count_as_changes() {
        let rule: IgnoreRule = "Deployment:/spec/replicas".parse().unwrap();
        let options = DiffOptions {
            ignore: vec![rule],
            unified: None,
        };
        let report = diff(&[deployment("a", 1)], &[deployment("a", 3)], &options).unwrap();
        assert!(report.is_empty());
    }
}
