//! Field-level changes between two versions of one object: the paths a reviewer or a bot
//! reads, such as `spec.scaling.replicas.max`.
//!
//! Maps are compared key by key. A list whose items are all maps with a unique merge key on
//! both sides (`name`, as containers and env vars have, else `mountPath`, `devicePath`,
//! `containerPort`, `port`, `ip`, `topologyKey`, `type` or `key`) is compared item by item by
//! that key, and its items are named by it: `containers[worker]`, `env[HEVLAYER_BASE_URL]`,
//! `ports[containerPort=8080]`; a move of such items is one change of the whole list. Other
//! lists are compared index by index. A field that is added or removed is reported once at
//! its own path, not once per leaf below it.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::ChangeKind;

/// The fields that name list items, most telling first (the Kubernetes patch merge keys, and
/// `type` and `key` for lists that have none).
pub(super) const MERGE_KEYS: &[&str] = &[
    "name",
    "mountPath",
    "devicePath",
    "containerPort",
    "port",
    "ip",
    "topologyKey",
    "type",
    "key",
];

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
    /// A list item named by its merge key.
    Item {
        /// The merge key, such as `name`.
        field: String,
        /// The item's value of it, such as `worker`.
        value: String,
        /// Its index: in the new list, or in the old one for a removed item.
        index: usize,
    },
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
    /// A hash that follows from other changes (see [`super::derived`]); set after the
    /// comparison.
    pub derived: bool,
}

impl FieldChange {
    /// The path as diagnostics write it: `spec.containers[worker].image`, with keys that are
    /// not plain words in brackets, as in `metadata.labels[app.kubernetes.io/name]`.
    pub fn dotted(&self) -> String {
        dotted(&self.path)
    }

    /// The path as a JSON pointer (RFC 6901), the form `--ignore` takes: list items by index.
    pub fn pointer(&self) -> String {
        pointer(&self.path)
    }
}

/// `spec.containers[worker].image`; keys other than letters, digits, `-` and `_` go in
/// brackets; an item named by `name` is `[value]`, by another key `[key=value]`.
pub fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Step::Item { field, value, .. } => {
                out.push('[');
                if field != "name" {
                    out.push_str(field);
                    out.push('=');
                }
                out.push_str(value);
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
            Step::Index(i) | Step::Item { index: i, .. } => out.push_str(&i.to_string()),
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

/// The fields that differ between two values found at `path` (either may be missing), as
/// [`changes`] lists them for whole objects.
pub(super) fn changes_at(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut Vec<Step>,
    out: &mut Vec<FieldChange>,
) {
    one_side(old, new, path, out);
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
        (Value::Array(a), Value::Array(b)) => match merge_key(a, b) {
            Some(field) => keyed(old, new, a, b, field, path, out),
            None => {
                for i in 0..a.len().max(b.len()) {
                    path.push(Step::Index(i));
                    one_side(a.get(i), b.get(i), path, out);
                    path.pop();
                }
            }
        },
        _ => out.push(change(path, ChangeKind::Changed, Some(old), Some(new))),
    }
}

/// Compares two lists item by item by their merge key `field`.
fn keyed(
    old: &Value,
    new: &Value,
    a: &[Value],
    b: &[Value],
    field: &str,
    path: &mut Vec<Step>,
    out: &mut Vec<FieldChange>,
) {
    let name = |item: &Value| item.get(field).map(item_name).unwrap_or_default();
    let old_names: Vec<String> = a.iter().map(name).collect();
    let new_names: Vec<String> = b.iter().map(name).collect();
    let pairs = keyed_pairs(field, &old_names, &new_names);
    let before = out.len();
    for (step, o, n) in pairs.steps {
        path.push(step);
        one_side(o.map(|i| &a[i]), n.map(|i| &b[i]), path, out);
        path.pop();
    }
    if pairs.reordered || out.len() == before {
        out.push(change(path, ChangeKind::Changed, Some(old), Some(new)));
    }
}

/// How the items of two lists named by a merge key pair up.
pub(super) struct KeyedPairs {
    /// Each item's step, with its index in the old list and in the new: the new list's items
    /// in order, then the removed ones in the old order.
    pub steps: Vec<(Step, Option<usize>, Option<usize>)>,
    /// Whether the items both lists hold are in a different order: a change of the list
    /// itself.
    pub reordered: bool,
}

/// Pairs two lists' items by their names under merge key `field` (unique on each side).
pub(super) fn keyed_pairs(field: &str, old_names: &[String], new_names: &[String]) -> KeyedPairs {
    let old_index: HashMap<&str, usize> = old_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let new_index: HashMap<&str, usize> = new_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let step = |value: &String, index| Step::Item {
        field: field.to_string(),
        value: value.clone(),
        index,
    };
    let mut steps: Vec<_> = new_names
        .iter()
        .enumerate()
        .map(|(index, value)| {
            (
                step(value, index),
                old_index.get(value.as_str()).copied(),
                Some(index),
            )
        })
        .collect();
    steps.extend(
        old_names
            .iter()
            .enumerate()
            .filter(|(_, value)| !new_index.contains_key(value.as_str()))
            .map(|(index, value)| (step(value, index), Some(index), None)),
    );
    let common_old = old_names
        .iter()
        .filter(|n| new_index.contains_key(n.as_str()));
    let common_new = new_names
        .iter()
        .filter(|n| old_index.contains_key(n.as_str()));
    KeyedPairs {
        steps,
        reordered: !common_old.eq(common_new),
    }
}

/// The merge key that names every item of both lists uniquely, if any.
fn merge_key(a: &[Value], b: &[Value]) -> Option<&'static str> {
    choose_merge_key(a, b, |item, field| {
        item.get(field)
            .filter(|v| v.is_string() || v.is_number())
            .map(item_name)
    })
}

/// The first of [`MERGE_KEYS`] for which `name` names every item of both lists, each name
/// once per list; none for two empty lists.
pub(super) fn choose_merge_key<I>(
    a: &[I],
    b: &[I],
    name: impl Fn(&I, &str) -> Option<String>,
) -> Option<&'static str> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    MERGE_KEYS.iter().copied().find(|field| {
        [a, b].iter().all(|items| {
            let mut names = HashSet::new();
            items
                .iter()
                .all(|item| name(item, field).is_some_and(|n| names.insert(n)))
        })
    })
}

/// The name [`item_name`] gives the number a plain decimal reads as, from its text: `None`
/// when the text could read as another number (a leading zero, or too large for a `u64`, which
/// reads as a float), or as something else.
pub(super) fn number_name(text: &str) -> Option<String> {
    let canonical = text == "0" || !text.starts_with('0');
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !(canonical && digits) {
        return None;
    }
    text.parse::<u64>().ok().map(|n| n.to_string())
}

/// A merge key's value as it reads in a path: a string as it is, a number in decimal.
fn item_name(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn change(
    path: &[Step],
    kind: ChangeKind,
    old: Option<&Value>,
    new: Option<&Value>,
) -> FieldChange {
    FieldChange {
        path: path.to_vec(),
        kind,
        old: old.cloned(),
        new: new.cloned(),
        derived: false,
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
        (None, Some(b)) => out.push(change(path, ChangeKind::Added, None, Some(b))),
        (Some(a), None) => out.push(change(path, ChangeKind::Removed, Some(a), None)),
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
    fn list_items_with_a_merge_key_are_named_by_it() {
        let old = json!({"containers": [{"name": "worker", "env": [
            {"name": "A", "value": "1"}, {"name": "URL", "value": "http://a"}
        ]}]});
        let new = json!({"containers": [{"name": "worker", "env": [
            {"name": "URL", "value": "http://b"}, {"name": "A", "value": "1"}, {"name": "B", "value": "2"}
        ]}]});
        let found = changes(&old, &new);
        let listed: Vec<String> = found
            .iter()
            .map(|c| format!("{} {} {}", c.kind.as_str(), c.dotted(), c.pointer()))
            .collect();
        assert_eq!(
            listed,
            [
                "changed containers[worker].env[URL].value /containers/0/env/0/value",
                "added containers[worker].env[B] /containers/0/env/2",
                "changed containers[worker].env /containers/0/env",
            ]
        );
    }

    #[test]
    fn other_merge_keys_are_written_with_their_field() {
        let old = json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]});
        let new = json!({"ports": [{"containerPort": 80, "protocol": "UDP"}]});
        assert_eq!(
            summary(old, new),
            ["changed ports[containerPort=80].protocol"]
        );
        let old = json!({"v": [{"name": "a"}, {"name": "b"}]});
        let new = json!({"v": [{"name": "a"}]});
        assert_eq!(summary(old, new), ["removed v[b]"]);
    }

    #[test]
    fn a_list_whose_names_repeat_compares_by_index() {
        let old = json!({"t": [{"key": "a", "effect": "x"}, {"key": "a", "effect": "y"}]});
        let new = json!({"t": [{"key": "a", "effect": "x"}, {"key": "a", "effect": "z"}]});
        assert_eq!(summary(old, new), ["changed t[1].effect"]);
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
