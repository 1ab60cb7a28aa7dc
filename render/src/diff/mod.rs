//! Diff: compare two renders object by object, the way a reviewer reads them.
//!
//! Objects are matched by API group, kind, namespace and name. The version is left out of the
//! match, so an `apiVersion` bump shows as one changed field rather than a removal and an
//! addition, and where an object sits in its stream or directory never matters. Before two
//! matched objects are compared, the `--ignore` rules ([`IgnoreRule`]) drop noise fields from
//! both, and Secret values are redacted in pairs (see [`redact`]), so no format can print one.
//! Objects are compared as JSON values, so key order never shows as a change; only objects
//! that differ are written as YAML and diffed line by line, which keeps a diff of two
//! 10,000-object renders fast when few objects change.
//!
//! Limits: lists are compared index by index in the field list ([`FieldChange`]), so an item
//! inserted at the front of a list reports every later index as changed (the unified diff
//! still shows the single insertion). An object that appears twice on one side is an error.
//! Pure: objects in, a [`Report`] out; [`text`], [`markdown`] and [`json`] turn the report into
//! text and only the binary prints it.

mod fields;
pub mod ignore;
pub mod json;
pub mod markdown;
mod redact;
pub mod text;
mod unified;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::emit::{self, Object};
use crate::key::ObjectKey;

pub use fields::{FieldChange, Step};
pub use ignore::{IgnoreRule, ParseIgnoreError};
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
    /// The old object after ignore rules and redaction; `None` when added.
    pub old: Option<Value>,
    /// The new object after ignore rules and redaction; `None` when removed.
    pub new: Option<Value>,
    /// The fields that differ, in key order; empty unless changed.
    pub fields: Vec<FieldChange>,
}

/// The counts at the top of every format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Objects only in the new render.
    pub added: usize,
    /// Objects only in the old render.
    pub removed: usize,
    /// Objects in both that differ.
    pub changed: usize,
    /// Objects in both that are equal.
    pub unchanged: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} removed, {} changed, {} unchanged",
            self.added, self.removed, self.changed, self.unchanged
        )
    }
}

/// The result of a comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Every object that differs, in apply order.
    pub changes: Vec<Change>,
    /// How many matched objects are equal.
    pub unchanged: usize,
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
                ChangeKind::Changed => summary.changed += 1,
            }
        }
        summary
    }
}

/// What objects are matched on: the key without its version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MatchKey<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

impl<'a> MatchKey<'a> {
    fn of(key: &'a ObjectKey) -> Self {
        MatchKey {
            group: &key.group,
            kind: &key.kind,
            namespace: key.namespace.as_deref(),
            name: &key.name,
        }
    }
}

/// Indexes one side by match key, refusing duplicates.
fn index(objects: &[Object], side: Side) -> Result<HashMap<MatchKey<'_>, usize>> {
    let mut by_key = HashMap::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        if by_key.insert(MatchKey::of(&object.key), i).is_some() {
            return Err(Error::DuplicateObject {
                side,
                object: object.key.display_ref(),
            });
        }
    }
    Ok(by_key)
}

/// Compares two renders. The order of objects on either side does not matter.
///
/// Borrows both sides and copies only what the report holds (changed, added and removed
/// objects): with few changes, a diff of two large renders allocates little.
pub fn diff(old: &[Object], new: &[Object], options: &DiffOptions) -> Result<Report> {
    let old_index = index(old, Side::Old)?;
    let new_index = index(new, Side::New)?;
    let mut report = Report::default();
    for object in new {
        let matched = old_index
            .get(&MatchKey::of(&object.key))
            .and_then(|i| old.get(*i));
        match matched {
            Some(before) => {
                if is_equal(&object.key, &before.value, &object.value, options) {
                    report.unchanged += 1;
                    continue;
                }
                let (mut old_value, mut new_value) = (before.value.clone(), object.value.clone());
                prepare_pair(&object.key, &mut old_value, &mut new_value, options);
                let fields = fields::changes(&old_value, &new_value);
                report.changes.push(Change {
                    kind: ChangeKind::Changed,
                    key: object.key.clone(),
                    old: Some(old_value),
                    new: Some(new_value),
                    fields,
                });
            }
            None => {
                let mut value = object.value.clone();
                prepare_one(&object.key, &mut value, options);
                report.changes.push(Change {
                    kind: ChangeKind::Added,
                    key: object.key.clone(),
                    old: None,
                    new: Some(value),
                    fields: Vec::new(),
                });
            }
        }
    }
    for object in old {
        if new_index.contains_key(&MatchKey::of(&object.key)) {
            continue;
        }
        let mut value = object.value.clone();
        prepare_one(&object.key, &mut value, options);
        report.changes.push(Change {
            kind: ChangeKind::Removed,
            key: object.key.clone(),
            old: Some(value),
            new: None,
            fields: Vec::new(),
        });
    }
    // Apply order, then removed before added for an object whose version moved: stable output
    // whatever order the inputs came in.
    report
        .changes
        .sort_by(|a, b| emit::compare(&a.key, &b.key).then(a.kind.cmp(&b.kind)));
    Ok(report)
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
                unchanged: 0
            }
        );
    }

    #[test]
    fn ignored_fields_do_not_count_as_changes() {
        let rule: IgnoreRule = "Deployment:/spec/replicas".parse().unwrap();
        let options = DiffOptions { ignore: vec![rule] };
        let report = diff(&[deployment("a", 1)], &[deployment("a", 3)], &options).unwrap();
        assert!(report.is_empty());
    }
}
