//! The JSON format: the counts and a change list with the field paths that changed, for bots
//! and scripts.
//!
//! Shape: `{"summary": {...}, "changes": [{"change", "apiVersion", "kind", "namespace",
//! "name", "fields": [{"path", "pointer", "change", "old", "new"}]}]}`. `path` is the dotted
//! form (`spec.scaling.replicas.max`), `pointer` the JSON pointer that `--ignore` takes;
//! `old` and `new` are left out when a field was added or removed, and Secret values read as
//! redacted. `fields` is empty for added and removed objects; `namespace` is null for
//! cluster-scoped ones.

use serde::Serialize;
use serde_json::Value;

use super::{ChangeKind, Report, Summary};

#[derive(Serialize)]
struct Document<'a> {
    summary: Summary,
    changes: Vec<ObjectChange<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectChange<'a> {
    change: ChangeKind,
    api_version: String,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
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
}

/// The report as pretty-printed JSON, ending in a newline.
pub fn render(report: &Report) -> String {
    let document = Document {
        summary: report.summary(),
        changes: report
            .changes
            .iter()
            .map(|c| ObjectChange {
                change: c.kind,
                api_version: c.key.api_version(),
                kind: &c.key.kind,
                namespace: c.key.namespace.as_deref(),
                name: &c.key.name,
                fields: c
                    .fields
                    .iter()
                    .map(|f| Field {
                        path: f.dotted(),
                        pointer: f.pointer(),
                        change: f.kind,
                        old: f.old.as_ref(),
                        new: f.new.as_ref(),
                    })
                    .collect(),
            })
            .collect(),
    };
    // Serializing plain structs, strings and JSON values cannot fail; fall back to an empty
    // document rather than panic.
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
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
                "summary": {"added": 0, "removed": 0, "changed": 1, "unchanged": 0},
                "changes": [{
                    "change": "changed", "apiVersion": "v1", "kind": "ConfigMap",
                    "namespace": null, "name": "c",
                    "fields": [{"path": "data.k", "pointer": "/data/k", "change": "changed", "old": "a", "new": "b"}]
                }]
            })
        );
    }
}
