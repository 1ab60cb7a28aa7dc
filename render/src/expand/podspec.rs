//! The `worker.podSpec` merge: the user's patch over the generated pod spec, applied as a
//! Kubernetes strategic merge patch, exactly as `kubectl patch --type strategic` (kubectl 1.35)
//! applies it to a PodSpec. `tests/strategic_merge.rs` checks that against kubectl itself.
//!
//! - Maps merge key by key; `null` removes a key; a value of another JSON type replaces.
//! - The lists that the API gives a patch merge key merge by it ([`field`]); every other list
//!   is replaced whole. A patch entry merges into the entry with the same key, or is added.
//! - `$patch: replace` or `delete` in a map, `$patch: delete` or `replace` in an entry of a
//!   merged list, and `$retainKeys` work as in Kubernetes.
//! - The merged list's order is kubectl's: the patch's entries in the patch's order, with the
//!   entries only the pod spec has kept where they were relative to them.
//!
//! What kubectl refuses is an error here too ([`ErrorKind::Invalid`]). A few patches kubectl
//! would apply are refused as unsupported ([`ErrorKind::Unsupported`]): `$setElementOrder` and
//! `$deleteFromPrimitiveList` (the parallel lists `kubectl apply` generates; a hand-written
//! patch lists entries in order instead), a merge key that is an object or a list, and two
//! entries with the same key in one merged list.

use std::fmt;

use serde_json::{Map, Value};

use crate::field_path::FieldPath;

/// Why a patch was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    /// Where in the patch, as `containers[0].env[1]`; the root for the patch itself.
    pub path: FieldPath,
    pub kind: ErrorKind,
    pub message: String,
}

/// Whether kubectl would refuse the patch too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// kubectl refuses this patch as well.
    Invalid,
    /// kubectl would apply it; render does not support it.
    Unsupported,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// Merges `patch` over the pod spec `base` in place. On an error `base` is left half merged.
pub fn merge(base: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), MergeError> {
    merge_map(base, patch, Schema::PodSpec, &At::Root)
}

/// The first key starting with `$` in `value`, with its path: a directive that the merge kept
/// as data (inside an entry the patch adds or replaces whole), or a misspelt one.
pub fn leftover_directive(value: &Value) -> Option<String> {
    fn walk(value: &Value, at: &At<'_>) -> Option<String> {
        match value {
            Value::Object(map) => map.iter().find_map(|(key, v)| {
                let at = at.key(key);
                if key.starts_with('$') {
                    Some(at.to_string())
                } else {
                    walk(v, &at)
                }
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &at.index(i))),
            _ => None,
        }
    }
    walk(value, &At::Root)
}

/// The Go types of the objects the patch metadata hangs on, as far as the pod spec reaches a
/// list with a patch strategy; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    PodSpec,
    /// `Container`, and `EphemeralContainer`, which has the same lists.
    Container,
    Volume,
    EphemeralVolumeSource,
    PersistentVolumeClaimTemplate,
    ObjectMeta,
    Other,
}

/// How a list field merges: `Merge(Some(key))` by that key, `Merge(None)` as a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Replace,
    Merge(Option<&'static str>),
}

/// The field `key` of `parent`: its strategy (for a list) and the schema of its value or items.
/// These are the API's `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`
/// markers on every type a PodSpec reaches (Kubernetes 1.35); no map field has `replace`.
fn field(parent: Schema, key: &str) -> (Strategy, Schema) {
    use Schema::*;
    use Strategy::Merge;
    match (parent, key) {
        (PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
            (Merge(Some("name")), Container)
        }
        (PodSpec, "volumes") => (Merge(Some("name")), Volume),
        (PodSpec, "imagePullSecrets" | "resourceClaims" | "schedulingGates") => {
            (Merge(Some("name")), Other)
        }
        (PodSpec, "hostAliases") => (Merge(Some("ip")), Other),
        (PodSpec, "topologySpreadConstraints") => (Merge(Some("topologyKey")), Other),
        (Container, "env") => (Merge(Some("name")), Other),
        (Container, "ports") => (Merge(Some("containerPort")), Other),
        (Container, "volumeMounts") => (Merge(Some("mountPath")), Other),
        (Container, "volumeDevices") => (Merge(Some("devicePath")), Other),
        (Volume, "ephemeral") => (Strategy::Replace, EphemeralVolumeSource),
        (EphemeralVolumeSource, "volumeClaimTemplate") => {
            (Strategy::Replace, PersistentVolumeClaimTemplate)
        }
        (PersistentVolumeClaimTemplate, "metadata") => (Strategy::Replace, ObjectMeta),
        (ObjectMeta, "finalizers") => (Merge(None), Other),
        (ObjectMeta, "ownerReferences") => (Merge(Some("uid")), Other),
        _ => (Strategy::Replace, Other),
    }
}

fn merge_map(
    base: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Schema,
    at: &At<'_>,
) -> Result<(), MergeError> {
    if let Some(directive) = patch.get(PATCH) {
        match directive.as_str() {
            Some("replace") => {
                let mut replacement = patch.clone();
                replacement.remove(PATCH);
                *base = replacement;
            }
            Some("delete") => base.clear(),
            _ => {
                return Err(invalid(
                    &at.key(PATCH),
                    format!(
                        "unknown $patch directive {directive} in a map; it takes replace or delete"
                    ),
                ));
            }
        }
        return Ok(());
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        retain_keys(base, patch, retain, at)?;
    }
    for (key, value) in patch {
        if key == RETAIN_KEYS {
            continue;
        }
        let at = at.key(key);
        if key.starts_with(SET_ELEMENT_ORDER) || key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            return Err(unsupported(
                &at,
                format!(
                    "{key} is not supported: it is the parallel list that kubectl apply \
                     generates; list the entries themselves instead"
                ),
            ));
        }
        if value.is_null() {
            base.remove(key);
            continue;
        }
        let (strategy, value_schema) = field(schema, key);
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(p)) => {
                merge_map(existing, p, value_schema, &at)?;
            }
            (Some(Value::Array(existing)), Value::Array(p)) => {
                *existing = match strategy {
                    Strategy::Merge(merge_key) => {
                        let items = std::mem::take(existing);
                        merge_list(items, p, merge_key, value_schema, &at)?
                    }
                    Strategy::Replace => p.clone(),
                };
            }
            (Some(existing), p) if GoType::of(existing) == GoType::of(p) => *existing = p.clone(),
            _ => {
                base.remove(key);
                if let Some(v) = added_value(value) {
                    base.insert(key.clone(), v);
                }
            }
        }
    }
    Ok(())
}

/// A value that goes in where the pod spec had nothing of its type: its `null`s are dropped
/// from maps, and then every map that carries `$patch`. `None` when it is such a map itself.
fn added_value(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.get(PATCH).is_some_and(|d| !d.is_null()) => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| added_value(v).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(added_value).collect())),
        other => Some(other.clone()),
    }
}

/// `$retainKeys`: the keys of `base` that stay; every key the patch sets must be among them.
fn retain_keys(
    base: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
    at: &At<'_>,
) -> Result<(), MergeError> {
    let at = at.key(RETAIN_KEYS);
    let Some(list) = retain.as_array() else {
        return Err(invalid(&at, "$retainKeys must be a list of keys"));
    };
    if list.iter().any(|k| k.is_object() || k.is_array()) {
        return Err(invalid(&at, "$retainKeys must be a list of keys"));
    }
    let retained = |key: &str| list.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch {
        let directive = key == RETAIN_KEYS
            || key.starts_with(SET_ELEMENT_ORDER)
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST);
        if !directive && !value.is_null() && !retained(key) {
            return Err(invalid(
                &at,
                format!("the patch sets {key:?}, which $retainKeys does not list"),
            ));
        }
    }
    base.retain(|key, _| retained(key));
    Ok(())
}

/// Merges a list with a merge strategy: by `merge_key` when its items are maps, as a set of
/// values otherwise.
fn merge_list(
    base: Vec<Value>,
    patch: &[Value],
    merge_key: Option<&str>,
    item_schema: Schema,
    at: &At<'_>,
) -> Result<Vec<Value>, MergeError> {
    if base.is_empty() && patch.is_empty() {
        return Ok(base);
    }
    let kind = element_type(&base, patch, at)?;
    match (kind, merge_key) {
        (GoType::Map, Some(key)) => merge_keyed(base, patch, key, item_schema, at),
        (GoType::Map, None) => Err(invalid(
            at,
            "this list merges its values as a set, so its entries cannot be objects",
        )),
        (_, Some(key)) => Err(invalid(
            at,
            format!("this list merges by {key:?}, so its entries must be objects"),
        )),
        (_, None) => Ok(merge_values(base, patch)),
    }
}

/// The one Go type of every entry of both lists (kubectl refuses mixed lists, lists of lists
/// and `null` entries in a list it merges).
fn element_type(base: &[Value], patch: &[Value], at: &At<'_>) -> Result<GoType, MergeError> {
    let mut items = base.iter().chain(patch);
    let first = items.next().map(GoType::of).unwrap_or(GoType::Null);
    match first {
        GoType::Null => Err(invalid(at, "a merged list cannot hold null")),
        GoType::List => Err(invalid(at, "a merged list cannot hold lists")),
        _ if items.all(|v| GoType::of(v) == first) => Ok(first),
        _ => Err(invalid(
            at,
            "the entries of a merged list must all be of one type",
        )),
    }
}

/// A list of values with a merge strategy: the union, ordered as in [`interleave`].
fn merge_values(base: Vec<Value>, patch: &[Value]) -> Vec<Value> {
    let mut distinct: Vec<Value> = Vec::with_capacity(base.len() + patch.len());
    for v in base.iter().chain(patch) {
        if !distinct.iter().any(|d| same_scalar(d, v)) {
            distinct.push(v.clone());
        }
    }
    interleave(distinct, &base, patch, |v| Some(v))
}

/// A list of maps merged by `key`.
fn merge_keyed(
    mut base: Vec<Value>,
    patch: &[Value],
    key: &str,
    item_schema: Schema,
    at: &At<'_>,
) -> Result<Vec<Value>, MergeError> {
    // Directives first: `$patch: delete` entries remove every entry with their key, one
    // `$patch: replace` entry makes the other entries the whole list.
    let mut plain: Vec<(usize, &Map<String, Value>)> = Vec::with_capacity(patch.len());
    let mut replace = false;
    for (i, item) in patch.iter().enumerate() {
        let at = at.index(i);
        let Some(map) = item.as_object() else {
            return Err(invalid(&at, "a merged list's entries must be objects"));
        };
        match map.get(PATCH) {
            None => plain.push((i, map)),
            Some(directive) => match directive.as_str() {
                Some("delete") => {
                    let gone = merge_key_of(map, key, &at)?;
                    base.retain(|b| !b.get(key).is_some_and(|k| same_scalar(k, gone)));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(invalid(
                        &at.key(PATCH),
                        "$patch: merge is not allowed in a list entry",
                    ));
                }
                _ => {
                    return Err(invalid(
                        &at.key(PATCH),
                        format!(
                            "unknown $patch directive {directive} in a list entry; it takes \
                             delete or replace"
                        ),
                    ));
                }
            },
        }
    }
    if replace {
        base = plain
            .into_iter()
            .map(|(_, m)| Value::Object(m.clone()))
            .collect();
        plain = Vec::new();
    }
    // The entries the list had before the patch's own entries went in: the order kept for
    // the entries the patch does not name.
    let base_keys = keys_of(&base, key, at)?;
    let mut patch_keys: Vec<&Value> = Vec::with_capacity(plain.len());
    for &(i, map) in &plain {
        let at = at.index(i);
        let k = merge_key_of(map, key, &at)?;
        if patch_keys.iter().any(|p| same_scalar(p, k)) {
            return Err(unsupported(
                &at,
                format!("a second entry with {key} {k}: give each entry once"),
            ));
        }
        patch_keys.push(k);
        let found = base
            .iter_mut()
            .find(|b| b.get(key).is_some_and(|bk| same_scalar(bk, k)));
        match found {
            Some(Value::Object(existing)) => merge_map(existing, map, item_schema, &at)?,
            _ => base.push(Value::Object(map.clone())),
        }
    }
    let patch_keys: Vec<Value> = patch_keys.into_iter().cloned().collect();
    Ok(interleave(base, &base_keys, &patch_keys, |v| v.get(key)))
}

/// The merge key of a patch entry, which must have one, a string, number, boolean or null.
fn merge_key_of<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    at: &At<'_>,
) -> Result<&'v Value, MergeError> {
    match map.get(key) {
        None => Err(invalid(
            at,
            format!("the entry has no {key:?}, the key this list merges by"),
        )),
        Some(k @ (Value::Object(_) | Value::Array(_))) => Err(unsupported(
            &at.key(key),
            format!("the merge key {key:?} is {k}; it must be a string, number or boolean"),
        )),
        Some(k) => Ok(k),
    }
}

/// The merge keys of a list's entries, each of which must have one.
fn keys_of(list: &[Value], key: &str, at: &At<'_>) -> Result<Vec<Value>, MergeError> {
    list.iter()
        .map(|item| match item.get(key) {
            Some(k @ (Value::Object(_) | Value::Array(_))) => Err(unsupported(
                at,
                format!("the merge key {key:?} is {k}; it must be a string, number or boolean"),
            )),
            Some(k) => Ok(k.clone()),
            None => Err(invalid(
                at,
                format!("an entry has no {key:?}, the key this list merges by"),
            )),
        })
        .collect()
}

/// kubectl's order for a merged list: the entries the patch names in the patch's order, the
/// others in the base's order, and each of the others placed before the first patch entry
/// that came after it in the base (an entry new to the base comes before the remaining others).
fn interleave(
    merged: Vec<Value>,
    base_order: &[Value],
    patch_order: &[Value],
    key_of: impl Fn(&Value) -> Option<&Value>,
) -> Vec<Value> {
    let rank = |order: &[Value], item: &Value| {
        key_of(item).and_then(|k| order.iter().position(|o| same_scalar(o, k)))
    };
    let (mut named, mut others): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|item| rank(patch_order, item).is_some());
    named.sort_by_key(|item| rank(patch_order, item));
    others.sort_by_key(|item| rank(base_order, item));
    let mut out = Vec::with_capacity(named.len() + others.len());
    let mut others = others.into_iter().peekable();
    for item in named {
        let before = rank(base_order, &item);
        while let Some(other) =
            others.next_if(|o| matches!((rank(base_order, o), before), (Some(o), Some(p)) if o < p))
        {
            out.push(other);
        }
        out.push(item);
    }
    out.extend(others);
    out
}

/// The Go type a JSON value decodes to in kubectl: a number is an `int64` when it is a whole
/// number that fits, else a `float64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoType {
    Null,
    Bool,
    Int,
    Float,
    String,
    List,
    Map,
}

impl GoType {
    fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.is_i64() => Self::Int,
            Value::Number(_) => Self::Float,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::List,
            Value::Object(_) => Self::Map,
        }
    }
}

/// Go's `==` on two decoded scalars: the same type and value.
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            (None, None) => x.as_f64() == y.as_f64(),
            _ => false,
        },
        (Value::Object(_) | Value::Array(_), _) => false,
        _ => a == b,
    }
}

/// A place in the patch, built step by step without allocating.
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl<'a> At<'a> {
    fn key(&'a self, key: &'a str) -> At<'a> {
        At::Key(self, key)
    }

    fn index(&'a self, i: usize) -> At<'a> {
        At::Index(self, i)
    }
}

impl At<'_> {
    /// This place as a path into the patch.
    fn path(&self) -> FieldPath {
        match self {
            At::Root => FieldPath::root(),
            At::Key(parent, key) => parent.path().member(*key),
            At::Index(parent, i) => parent.path().index(*i),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path().fmt(f)
    }
}

fn invalid(at: &At<'_>, message: impl Into<String>) -> MergeError {
    MergeError {
        path: at.path(),
        kind: ErrorKind::Invalid,
        message: message.into(),
    }
}

fn unsupported(at: &At<'_>, message: impl Into<String>) -> MergeError {
    MergeError {
        path: at.path(),
        kind: ErrorKind::Unsupported,
        message: message.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, patch: Value) -> Result<Value, MergeError> {
        let mut base = base.as_object().unwrap().clone();
        merge(&mut base, patch.as_object().unwrap())?;
        Ok(Value::Object(base))
    }

    fn worker(fields: Value) -> Value {
        let mut c = json!({"name": "worker", "image": "w:1"});
        c.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        json!({"containers": [c]})
    }

    #[test]
    fn maps_merge_recursively_and_null_removes_a_key() {
        assert_eq!(
            merged(
                json!({"nodeSelector": {"a": "1", "b": "2"}, "hostname": "h"}),
                json!({"nodeSelector": {"b": null, "c": "3"}, "hostname": null})
            ),
            Ok(json!({"nodeSelector": {"a": "1", "c": "3"}}))
        );
    }

    #[test]
    fn ports_merge_by_container_port_not_by_name() {
        let base = worker(json!({"ports": [{"name": "http", "containerPort": 8080}]}));
        let patch = worker(json!({"ports": [
            {"name": "http", "containerPort": 9090},
            {"name": "web", "containerPort": 8080}
        ]}));
        assert_eq!(
            merged(base, patch),
            Ok(worker(json!({"ports": [
                {"name": "http", "containerPort": 9090},
                {"name": "web", "containerPort": 8080}
            ]})))
        );
    }

    #[test]
    fn volume_devices_merge_by_device_path() {
        let base = worker(json!({"volumeDevices": [{"name": "a", "devicePath": "/dev/xvda"}]}));
        let patch = worker(json!({"volumeDevices": [{"name": "b", "devicePath": "/dev/xvda"}]}));
        assert_eq!(
            merged(base, patch),
            Ok(worker(
                json!({"volumeDevices": [{"name": "b", "devicePath": "/dev/xvda"}]})
            ))
        );
    }

    #[test]
    fn an_entry_merges_into_the_one_with_its_key_and_lists_without_a_key_are_replaced() {
        let base = json!({
            "containers": [{"name": "worker", "image": "w:1", "args": ["a", "b"],
                "env": [{"name": "A", "value": "1"}]}],
            "tolerations": [{"key": "pool", "operator": "Exists"}],
        });
        let patch = json!({
            "containers": [{"name": "worker", "args": ["c"], "env": [{"name": "A", "value": "2"}]}],
            "tolerations": [{"key": "other", "operator": "Exists"}],
        });
        assert_eq!(
            merged(base, patch),
            Ok(json!({
                "containers": [{"name": "worker", "image": "w:1", "args": ["c"],
                    "env": [{"name": "A", "value": "2"}]}],
                "tolerations": [{"key": "other", "operator": "Exists"}],
            }))
        );
    }

    #[test]
    fn the_patch_entries_come_in_the_patch_order_with_the_others_kept_between() {
        let base = worker(json!({"env": [
            {"name": "A", "value": "a"}, {"name": "B", "value": "b"}, {"name": "C", "value": "c"}
        ]}));
        let patch =
            worker(json!({"env": [{"name": "X", "value": "x"}, {"name": "B", "value": "2"}]}));
        assert_eq!(
            merged(base, patch),
            Ok(worker(json!({"env": [
                {"name": "X", "value": "x"}, {"name": "A", "value": "a"},
                {"name": "B", "value": "2"}, {"name": "C", "value": "c"}
            ]})))
        );
    }

    #[test]
    fn patch_delete_removes_an_entry_and_patch_replace_makes_the_entries_the_whole_list() {
        let base =
            worker(json!({"env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}]}));
        let delete = worker(json!({"env": [{"name": "A", "$patch": "delete"}]}));
        assert_eq!(
            merged(base.clone(), delete),
            Ok(worker(json!({"env": [{"name": "B", "value": "b"}]})))
        );
        let replace = worker(json!({"env": [{"$patch": "replace"}, {"name": "C", "value": "c"}]}));
        assert_eq!(
            merged(base, replace),
            Ok(worker(json!({"env": [{"name": "C", "value": "c"}]})))
        );
    }

    #[test]
    fn patch_replace_and_delete_in_a_map() {
        let base =
            json!({"securityContext": {"runAsUser": 1, "fsGroup": 2}, "nodeSelector": {"a": "1"}});
        let patch = json!({
            "securityContext": {"$patch": "replace", "fsGroup": 3},
            "nodeSelector": {"$patch": "delete"},
        });
        assert_eq!(
            merged(base, patch),
            Ok(json!({"securityContext": {"fsGroup": 3}, "nodeSelector": {}}))
        );
    }

    #[test]
    fn retain_keys_clears_the_keys_it_does_not_list() {
        let base = json!({"volumes": [{"name": "v", "emptyDir": {}}]});
        let patch = json!({"volumes": [
            {"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "c"}}
        ]});
        assert_eq!(
            merged(base, patch),
            Ok(json!({"volumes": [{"name": "v", "configMap": {"name": "c"}}]}))
        );
    }

    #[test]
    fn a_value_new_to_the_pod_spec_loses_its_nulls_and_its_patch_directive_maps() {
        let patch = json!({"affinity": {"nodeAffinity": null, "podAffinity": {"$patch": "delete"}, "x": [1, null]}});
        assert_eq!(
            merged(json!({}), patch),
            Ok(json!({"affinity": {"x": [1, null]}}))
        );
    }

    #[test]
    fn finalizers_merge_as_a_set_of_values() {
        let template = |finalizers: Value| json!({"volumes": [{"name": "v", "ephemeral": {"volumeClaimTemplate": {"metadata": {"finalizers": finalizers}}}}]});
        assert_eq!(
            merged(template(json!(["a", "b"])), template(json!(["c", "a"]))),
            Ok(template(json!(["c", "a", "b"])))
        );
    }

    #[test]
    fn what_kubectl_refuses_is_invalid_with_the_place_in_the_patch() {
        let mut base = worker(json!({"env": [{"name": "A", "value": "a"}]}));
        base["securityContext"] = json!({"runAsUser": 1});
        let cases = [
            (
                worker(json!({"env": [{"value": "x"}]})),
                "containers[0].env[0]",
                "the entry has no \"name\", the key this list merges by",
            ),
            (
                json!({"securityContext": {"$patch": "merge"}}),
                "securityContext.$patch",
                "unknown $patch directive \"merge\" in a map; it takes replace or delete",
            ),
            (
                worker(json!({"env": [{"name": "A", "$patch": "merge"}]})),
                "containers[0].env[0].$patch",
                "$patch: merge is not allowed in a list entry",
            ),
            (
                json!({"$retainKeys": ["containers"], "hostname": "h"}),
                "$retainKeys",
                "the patch sets \"hostname\", which $retainKeys does not list",
            ),
            (
                worker(json!({"env": ["A=1"]})),
                "containers[0].env",
                "the entries of a merged list must all be of one type",
            ),
        ];
        for (patch, path, message) in cases {
            let err = merged(base.clone(), patch.clone()).unwrap_err();
            assert_eq!(
                (
                    err.kind,
                    err.path.to_string().as_str(),
                    err.message.as_str()
                ),
                (ErrorKind::Invalid, path, message),
                "{patch}"
            );
        }
    }

    #[test]
    fn parallel_lists_and_repeated_keys_are_unsupported() {
        let base = worker(json!({"env": [{"name": "A", "value": "a"}]}));
        let cases = [
            (
                json!({"$setElementOrder/containers": [{"name": "worker"}]}),
                "$setElementOrder/containers",
            ),
            (
                worker(json!({"$deleteFromPrimitiveList/args": ["a"]})),
                "containers[0].$deleteFromPrimitiveList/args",
            ),
            (
                worker(json!({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]})),
                "containers[0].env[1]",
            ),
            (
                worker(json!({"env": [{"name": {"a": 1}}]})),
                "containers[0].env[0].name",
            ),
        ];
        for (patch, path) in cases {
            let err = merged(base.clone(), patch.clone()).unwrap_err();
            assert_eq!(
                (err.kind, err.path.to_string().as_str()),
                (ErrorKind::Unsupported, path),
                "{patch}"
            );
        }
    }

    #[test]
    fn a_directive_kept_as_data_is_found_with_its_path() {
        let base = worker(json!({}));
        let patch = json!({"containers": [{"name": "sidecar", "env": [{"name": "A", "$patch": "delete"}]}]});
        let result = merged(base, patch).unwrap();
        assert_eq!(
            leftover_directive(&result),
            Some("containers[0].env[0].$patch".to_string())
        );
        assert_eq!(leftover_directive(&worker(json!({"env": []}))), None);
    }

    #[test]
    fn keys_with_dots_are_bracketed_in_paths() {
        let at = At::Root;
        let selector = at.key("nodeSelector");
        let label = selector.key("kubernetes.io/os");
        assert_eq!(label.to_string(), "nodeSelector[kubernetes.io/os]");
        assert_eq!(at.index(2).key("name").to_string(), "[2].name");
    }
}
