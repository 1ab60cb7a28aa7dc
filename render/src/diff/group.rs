//! Groups of objects that changed the same way, so one change made to 20,000 workers reads
//! as one line with a count and a few examples.
//!
//! Two changed objects are in one group when they are of the same kind and their own changed
//! fields (derived hashes left out, see [`super::derived`]) are the same: the same paths, with
//! list items named by merge key, the same kind of change and the same old and new values.
//! Follow-on changes group by kind and by the hashes that changed; added and removed objects
//! by kind. Groups come largest first (ties in apply order), follow-on groups last.

use rayon::prelude::*;
use std::collections::HashMap;

use serde::Serialize;

use super::{Change, ChangeKind, FieldChange};

/// Objects that changed the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// A group of follow-on changes.
    pub follow_on: bool,
    /// Its members, as indexes into the report's changes, in apply order.
    pub members: Vec<usize>,
}

impl Group {
    /// The fields that every member changed the same way: the first member's own fields, or
    /// for a follow-on group its derived ones (their values differ from member to member).
    pub fn fields<'a>(&self, changes: &'a [Change]) -> Vec<&'a FieldChange> {
        let Some(first) = self.members.first().and_then(|i| changes.get(*i)) else {
            return Vec::new();
        };
        first
            .fields
            .iter()
            .filter(|f| f.derived == self.follow_on)
            .collect()
    }
}

/// What makes two changes alike.
fn signature(change: &Change) -> String {
    let mut out = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\n",
        change.kind.as_str(),
        change.follow_on,
        change.key.group,
        change.key.kind
    );
    if change.kind != ChangeKind::Changed {
        return out;
    }
    for field in change
        .fields
        .iter()
        .filter(|f| f.derived == change.follow_on)
    {
        out.push_str(&field.dotted());
        out.push('\u{0}');
        out.push_str(field.kind.as_str());
        if !change.follow_on {
            let json = |v: &Option<serde_json::Value>| {
                v.as_ref().map(ToString::to_string).unwrap_or_default()
            };
            out.push('\u{0}');
            out.push_str(&json(&field.old));
            out.push('\u{0}');
            out.push_str(&json(&field.new));
        }
        out.push('\n');
    }
    out
}

/// The groups of a report's changes (in apply order, with derived fields marked).
pub fn group(changes: &[Change]) -> Vec<Group> {
    let signatures: Vec<_> = changes.par_iter().map(signature).collect();
    let mut by_signature: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (i, (change, signature)) in changes.iter().zip(&signatures).enumerate() {
        let at = *by_signature.entry(signature).or_insert_with(|| {
            groups.push(Group {
                kind: change.kind,
                follow_on: change.follow_on,
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].members.push(i);
    }
    // Stable: groups of one size stay in the apply order of their first member.
    groups.sort_by_key(|g| (g.follow_on, std::cmp::Reverse(g.members.len())));
    groups
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    fn config_map(name: &str, value: &str) -> Object {
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "a"}, "data": {"url": value}
        }))
    }

    #[test]
    fn objects_that_changed_the_same_way_form_one_group() {
        let old = [
            config_map("a", "x"),
            config_map("b", "x"),
            config_map("c", "x"),
            config_map("d", "x"),
        ];
        let new = [
            config_map("a", "y"),
            config_map("b", "y"),
            config_map("c", "z"),
            config_map("e", "x"),
        ];
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        let groups: Vec<(String, Vec<String>)> = report
            .groups
            .iter()
            .map(|g| {
                let fields = g.fields(&report.changes);
                let names = g
                    .members
                    .iter()
                    .map(|i| report.changes[*i].key.name.clone())
                    .collect();
                let label = format!(
                    "{} {}",
                    g.kind.as_str(),
                    fields
                        .iter()
                        .map(|f| format!("{}={}", f.dotted(), f.new.as_ref().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                (label, names)
            })
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "changed data.url=\"y\"".to_string(),
                    vec!["a".into(), "b".into()]
                ),
                ("changed data.url=\"z\"".to_string(), vec!["c".into()]),
                ("removed ".to_string(), vec!["d".into()]),
                ("added ".to_string(), vec!["e".into()]),
            ]
        );
    }
}
