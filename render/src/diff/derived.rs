//! Hashes that only follow from other changes, folded into them.
//!
//! Render stamps three hashes (`expand/linkage.rs`): every child carries
//! `layer.hev.dev/render-hash`, the hash of its own content; every hev layer CR carries
//! `layer.hev.dev/spec-hash`, the hash of its spec; and a workload CR carries
//! `layer.hev.dev/children`, the render hash of each of its children. So one change to a
//! worker also changes its render hash and its CR's children map, and a reviewer would read
//! every change twice. A hash field is marked derived, and not counted as a change of its own,
//! when its cause is in the same report:
//!
//! - the render hash, when another field of the same object changed;
//! - the spec hash, when a field under `spec` of the same object changed;
//! - the children map, when every entry that differs names a child (same namespace, kind and
//!   name) that is itself added, removed or changed in the report.
//!
//! An object whose every changed field is derived is a follow-on change. A hash that changed
//! with no cause in the report (edited by hand, or its cause dropped by `--ignore`) still
//! counts.

use rayon::prelude::*;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Change, ChangeKind, FieldChange, Step};
use crate::api::family::{ANNOTATION_CHILDREN, ANNOTATION_RENDER_HASH, ANNOTATION_SPEC_HASH};

/// Which hash a field is, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Render,
    Spec,
    Children,
}

fn hash_of(field: &FieldChange) -> Option<Hash> {
    let [Step::Key(metadata), Step::Key(annotations), Step::Key(name)] = field.path.as_slice()
    else {
        return None;
    };
    if metadata != "metadata" || annotations != "annotations" {
        return None;
    }
    match name.as_str() {
        ANNOTATION_RENDER_HASH => Some(Hash::Render),
        ANNOTATION_SPEC_HASH => Some(Hash::Spec),
        ANNOTATION_CHILDREN => Some(Hash::Children),
        _ => None,
    }
}

/// An object as the children map names it: kind, namespace and name.
type Named<'a> = (&'a str, Option<&'a str>, &'a str);

/// Marks the derived fields of every change and the follow-on changes, weighing the changes
/// on every core.
pub fn fold(changes: &mut [Change]) {
    let in_report: HashSet<Named<'_>> = changes
        .iter()
        .map(|c| {
            (
                c.key.kind.as_str(),
                c.key.namespace.as_deref(),
                c.key.name.as_str(),
            )
        })
        .collect();
    let marks: Vec<Option<Vec<bool>>> = changes
        .par_iter()
        .map(|change| (change.kind == ChangeKind::Changed).then(|| derived(change, &in_report)))
        .collect();
    drop(in_report);
    for (change, marks) in changes.iter_mut().zip(marks) {
        let Some(marks) = marks else {
            continue;
        };
        for (field, derived) in change.fields.iter_mut().zip(marks) {
            field.derived = derived;
        }
        change.follow_on = !change.fields.is_empty() && change.fields.iter().all(|f| f.derived);
    }
}

/// Whether each changed field of a changed object is derived.
fn derived(change: &Change, in_report: &HashSet<Named<'_>>) -> Vec<bool> {
    let own = |f: &&FieldChange| hash_of(f).is_none();
    let has_own = change.fields.iter().any(|f| own(&f));
    let spec_changed = change
        .fields
        .iter()
        .filter(own)
        .any(|f| matches!(f.path.first(), Some(Step::Key(k)) if k == "spec"));
    let namespace = change.key.namespace.as_deref();
    change
        .fields
        .iter()
        .map(|field| match hash_of(field) {
            Some(Hash::Render) => has_own,
            Some(Hash::Spec) => spec_changed,
            Some(Hash::Children) => children_explained(field, namespace, in_report),
            None => false,
        })
        .collect()
}

/// Whether every entry that differs between the two children maps names an object in the
/// report.
fn children_explained(
    field: &FieldChange,
    namespace: Option<&str>,
    in_report: &HashSet<Named<'_>>,
) -> bool {
    let map = |value: &Option<Value>| -> Option<Map<String, Value>> {
        match value {
            None => Some(Map::new()),
            Some(Value::String(text)) => serde_json::from_str(text).ok(),
            Some(_) => None,
        }
    };
    let (Some(old), Some(new)) = (map(&field.old), map(&field.new)) else {
        return false;
    };
    let differing: Vec<&String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .collect();
    !differing.is_empty()
        && differing.iter().all(|child| {
            child
                .split_once('/')
                .is_some_and(|(kind, name)| in_report.contains(&(kind, namespace, name)))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    fn worker(hash: &str, url: &str) -> Object {
        Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "p-worker", "namespace": "a",
                "annotations": {"layer.hev.dev/render-hash": hash}},
            "spec": {"url": url},
        }))
    }

    fn pipeline(children: &str, spec_hash: &str, max: u64) -> Object {
        Object::from_value(json!({
            "apiVersion": "hevlayer.com/v1alpha1", "kind": "Pipeline",
            "metadata": {"name": "p", "namespace": "a", "annotations": {
                "layer.hev.dev/children": children, "layer.hev.dev/spec-hash": spec_hash}},
            "spec": {"max": max},
        }))
    }

    fn derived_paths(change: &Change) -> Vec<(String, bool)> {
        change
            .fields
            .iter()
            .map(|f| (f.dotted(), f.derived))
            .collect()
    }

    #[test]
    fn hashes_with_their_cause_in_the_report_are_derived() {
        let old = [
            worker("h1", "http://a"),
            pipeline(r#"{"Deployment/p-worker":"h1"}"#, "s1", 1),
        ];
        let new = [
            worker("h2", "http://b"),
            pipeline(r#"{"Deployment/p-worker":"h2"}"#, "s1", 1),
        ];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        let (deployment, cr) = (&report.changes[0], &report.changes[1]);
        assert_eq!(
            derived_paths(deployment),
            [
                (
                    "metadata.annotations[layer.hev.dev/render-hash]".into(),
                    true
                ),
                ("spec.url".into(), false)
            ]
        );
        assert!(!deployment.follow_on);
        assert_eq!(
            derived_paths(cr),
            [("metadata.annotations[layer.hev.dev/children]".into(), true)]
        );
        assert!(cr.follow_on);
        let summary = report.summary();
        assert_eq!((summary.changed, summary.follow_on), (1, 1));
    }

    #[test]
    fn a_hash_without_its_cause_counts() {
        // A render hash edited by hand, a spec hash with the spec unchanged, and a children
        // map naming a child that is not in the report.
        let old = [
            worker("h1", "http://a"),
            pipeline(
                r#"{"Deployment/p-worker":"h1","Service/p-worker":"x"}"#,
                "s1",
                1,
            ),
        ];
        let new = [
            worker("h9", "http://a"),
            pipeline(
                r#"{"Deployment/p-worker":"h1","Service/p-worker":"y"}"#,
                "s2",
                1,
            ),
        ];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert!(report.changes.iter().all(|c| !c.follow_on));
        assert!(
            report
                .changes
                .iter()
                .flat_map(|c| &c.fields)
                .all(|f| !f.derived)
        );
        assert_eq!(report.summary().changed, 2);
    }

    #[test]
    fn the_spec_hash_follows_from_a_spec_change() {
        let old = [pipeline("{}", "s1", 1)];
        let new = [pipeline("{}", "s2", 4)];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert_eq!(
            derived_paths(&report.changes[0]),
            [
                ("metadata.annotations[layer.hev.dev/spec-hash]".into(), true),
                ("spec.max".into(), false)
            ]
        );
    }
}
