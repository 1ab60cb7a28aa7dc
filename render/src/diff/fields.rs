//! Field-level changes between two versions of one object: the paths a reviewer or a bot
//! reads, such as `spec.scaling.replicas.max`.
//!
//! Maps are compared key by key and lists index by index. A field that is added or removed
//! is reported once at its own path, not once per leaf below it.

use serde_json::Value;

use super::ChangeKind;

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// Where it is, from the object's root.
    pub path: Vec<Step>,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The old value; `None` when added.
    pub old: Option<Value>,
    /// The new value; `None` when removed.
    pub new: Option<Value>,
}

impl FieldChange {
    /// The path as diagnostics write it: `spec.containers[0].image`, with keys that are not
    /// plain words in brackets, as in `metadata.labels[app.kubernetes.io/name]`.
    pub fn dotted(&self) -> String {
        dotted(&self.path)
    }

    /// The path as a JSON pointer (RFC 6901), the form `--ignore` takes.
    pub fn pointer(&self) -> String {
        pointer(&self.path)
    }
}

/// `spec.containers[0].image`; keys other than letters, digits, `-` and `_` go in brackets.
pub fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Step::Key(key) if is_plain(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Key(key) => {
                out.push('[');
                out.push_str(key);
                out.push(']');
            }
        }
    }
    out
}

fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `/spec/containers/0/image`, with `~` and `/` escaped as `~0` and `~1`.
pub fn pointer(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        out.push('/');
        match step {
            Step::Index(i) => out.push_str(&i.to_string()),
            Step::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
        }
    }
    out
}

/// Every field that differs between `old` and `new`, in key order.
pub fn changes(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(old, new, &mut path, &mut out);
    out
}

fn walk(old: &Value, new: &Value, path: &mut Vec<Step>, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            // Sorted whatever the map type, so the list is in key order.
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                path.push(Step::Key(key.clone()));
                one_side(a.get(key), b.get(key), path, out);
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                path.push(Step::Index(i));
                one_side(a.get(i), b.get(i), path, out);
                path.pop();
            }
        }
        _ => out.push(FieldChange {
            path: path.clone(),
            kind: ChangeKind::Changed,
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

fn one_side(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut Vec<Step>,
    out: &mut Vec<FieldChange>,
) {
    match (old, new) {
        (Some(a), Some(b)) => walk(a, b, path, out),
        (None, Some(b)) => out.push(FieldChange {
            path: path.clone(),
            kind: ChangeKind::Added,
            old: None,
            new: Some(b.clone()),
        }),
        (Some(a), None) => out.push(FieldChange {
            path: path.clone(),
            kind: ChangeKind::Removed,
            old: Some(a.clone()),
            new: None,
        }),
        (None, None) => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(old: Value, new: Value) -> Vec<String> {
        changes(&old, &new)
            .iter()
            .map(|c| format!("{} {}", c.kind.as_str(), c.dotted()))
            .collect()
    }

    #[test]
    fn a_nested_change_names_the_leaf() {
        let old = json!({"spec": {"scaling": {"replicas": {"max": 1, "min": 0}}}});
        let new = json!({"spec": {"scaling": {"replicas": {"max": 4, "min": 0}}}});
        assert_eq!(summary(old, new), ["changed spec.scaling.replicas.max"]);
    }

    #[test]
    fn an_added_subtree_is_one_change_at_its_root() {
        let old = json!({"spec": {}});
        let new = json!({"spec": {"nodeSelector": {"a": "b", "c": "d"}}});
        assert_eq!(summary(old, new), ["added spec.nodeSelector"]);
    }

    #[test]
    fn lists_compare_by_index() {
        let old = json!({"c": [{"image": "a"}, {"image": "b"}]});
        let new = json!({"c": [{"image": "a"}, {"image": "x"}, {"image": "c"}]});
        assert_eq!(summary(old, new), ["changed c[1].image", "added c[2]"]);
    }

    #[test]
    fn keys_that_are_not_words_go_in_brackets_and_pointers_escape_them() {
        let old = json!({"metadata": {"annotations": {"layer.hev.dev/render-hash": "a"}}});
        let new = json!({"metadata": {"annotations": {"layer.hev.dev/render-hash": "b"}}});
        let found = changes(&old, &new);
        assert_eq!(
            found[0].dotted(),
            "metadata.annotations[layer.hev.dev/render-hash]"
        );
        assert_eq!(
            found[0].pointer(),
            "/metadata/annotations/layer.hev.dev~1render-hash"
        );
    }

    #[test]
    fn a_type_change_is_a_change_of_the_whole_value() {
        assert_eq!(
            summary(json!({"a": {"b": 1}}), json!({"a": [1]})),
            ["changed a"]
        );
    }
}
