//! The JSON format: the counts, the groups, and every changed object with the field paths
//! that changed, for bots and scripts.
//!
//! Shape: `{"summary": {...}, "groups": [...], "changes": [...]}`. `summary` holds `added`,
//! `removed`, `changed`, `followOn` (changed only in hashes that follow from other changes)
//! and `unchanged`. Each group has `change`, `followOn`, `apiVersion` and `kind` (of its first
//! object), `count`, up to three `examples` (`Kind/namespace/name`) and the `fields` its
//! objects share (`path`, `change`, `old`, `new`; paths only for a follow-on group). Each
//! change has `change`, `apiVersion`, `kind`, `namespace`, `name`, `group` (the index of its
//! group), `followOn` when true, and every field that differs, derived hashes included:
//! `{"path", "pointer", "change", "old", "new"}`, with `"derived": true` on a hash that
//! follows from another change. `path` is the dotted form with list items named by merge key
//! (`spec.template.spec.containers[worker].image`), `pointer` the JSON pointer that
//! `--ignore` takes (items by index); `old` and `new` are left out when a field was added or
//! removed, and Secret values read as redacted. `fields` is empty for added and removed
//! objects; `namespace` is null for cluster-scoped ones.

use serde::Serialize;
use serde_json::Value;

use super::{ChangeKind, FieldChange, Report, Summary, text};

#[derive(Serialize)]
struct Document<'a> {
    summary: Summary,
    groups: Vec<GroupOut<'a>>,
    changes: Vec<ObjectChange<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupOut<'a> {
    change: ChangeKind,
    follow_on: bool,
    api_version: String,
    kind: &'a str,
    count: usize,
    examples: Vec<String>,
    fields: Vec<GroupField<'a>>,
}

#[derive(Serialize)]
struct GroupField<'a> {
    path: String,
    change: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectChange<'a> {
    change: ChangeKind,
    api_version: String,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    group: usize,
    #[serde(skip_serializing_if = "is_false")]
    follow_on: bool,
    fields: Vec<Field<'a>>,
}

#[derive(Serialize)]
struct Field<'a> {
    path: String,
    pointer: String,
    change: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<&'a Value>,
    #[serde(skip_serializing_if = "is_false")]
    derived: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// The report as pretty-printed JSON, ending in a newline.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and JSON is UTF-8.
    let _ = write(report, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes [`render`]'s JSON to `out` as it is made, so a large report is never held whole.
pub fn write(report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut group_of = vec![0; report.changes.len()];
    for (g, group) in report.groups.iter().enumerate() {
        for &member in &group.members {
            if let Some(slot) = group_of.get_mut(member) {
                *slot = g;
            }
        }
    }
    let groups = report
        .groups
        .iter()
        .filter_map(|group| {
            let first = report.changes.get(*group.members.first()?)?;
            Some(GroupOut {
                change: group.kind,
                follow_on: group.follow_on,
                api_version: first.key.api_version(),
                kind: &first.key.kind,
                count: group.members.len(),
                examples: group
                    .members
                    .iter()
                    .take(text::EXAMPLES)
                    .filter_map(|i| report.changes.get(*i))
                    .map(|c| c.key.display_ref())
                    .collect(),
                fields: group
                    .fields(&report.changes)
                    .into_iter()
                    .map(|f: &FieldChange| GroupField {
                        path: f.dotted(),
                        change: f.kind,
                        old: if group.follow_on {
                            None
                        } else {
                            f.old.as_ref()
                        },
                        new: if group.follow_on {
                            None
                        } else {
                            f.new.as_ref()
                        },
                    })
                    .collect(),
            })
        })
        .collect();
    let document = Document {
        summary: report.summary(),
        groups,
        changes: report
            .changes
            .iter()
            .zip(group_of)
            .map(|(c, group)| ObjectChange {
                change: c.kind,
                api_version: c.key.api_version(),
                kind: &c.key.kind,
                namespace: c.key.namespace.as_deref(),
                name: &c.key.name,
                group,
                follow_on: c.follow_on,
                fields: c
                    .fields
                    .iter()
                    .map(|f| Field {
                        path: f.dotted(),
                        pointer: f.pointer(),
                        change: f.kind,
                        old: f.old.as_ref(),
                        new: f.new.as_ref(),
                        derived: f.derived,
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    #[test]
    fn a_changed_field_lists_its_path_pointer_and_values() {
        let old = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a"}
        }));
        let new = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "b"}
        }));
        let report = diff(&[old], &[new], &DiffOptions::default()).unwrap();
        let parsed: Value = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(
            parsed,
            json!({
                "summary": {"added": 0, "removed": 0, "changed": 1, "followOn": 0, "unchanged": 0},
                "groups": [{
                    "change": "changed", "followOn": false, "apiVersion": "v1", "kind": "ConfigMap",
                    "count": 1, "examples": ["ConfigMap/c"],
                    "fields": [{"path": "data.k", "change": "changed", "old": "a", "new": "b"}]
                }],
                "changes": [{
                    "change": "changed", "apiVersion": "v1", "kind": "ConfigMap",
                    "namespace": null, "name": "c", "group": 0,
                    "fields": [{"path": "data.k", "pointer": "/data/k", "change": "changed", "old": "a", "new": "b"}]
                }]
            })
        );
    }
}
