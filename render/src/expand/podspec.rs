//! The `worker.podSpec` merge: the user's pod-level patch over the generated pod spec.
//!
//! Maps merge recursively and a `null` removes a key (JSON merge patch). Lists of named
//! things merge by their key, so a patch can reach one container without restating the
//! others: `containers`, `initContainers`, `ephemeralContainers`, `env`, `ports`,
//! `imagePullSecrets` and `volumes` by `name`, `volumeMounts` by `mountPath`. A patch entry replaces the matching
//! entry's fields recursively, or is appended when no entry matches. Every other list
//! (tolerations, args, command, ...) is replaced whole, as in a JSON merge patch.
//!
//! The patch is free-form JSON in the CRD, so the merge works on JSON; the result is then
//! read back into a typed `PodSpec`, which rejects a patch that makes no valid pod.

use serde_json::{Map, Value};

/// The key that identifies an item of the list stored under `field`, if it merges by key.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "ports"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" | "volumeDevices" => Some("mountPath"),
        _ => None,
    }
}

/// Merges `patch` over `base` in place.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base_map), Value::Object(patch_map)) => merge_maps(base_map, patch_map),
        (base, patch) => *base = patch.clone(),
    }
}

fn merge_maps(base: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, patch_value) in patch {
        if patch_value.is_null() {
            base.remove(key);
            continue;
        }
        match (base.get_mut(key), merge_key(key), patch_value) {
            (Some(Value::Array(items)), Some(id), Value::Array(patch_items)) => {
                merge_keyed_list(items, patch_items, id);
            }
            (Some(existing), _, _) => merge(existing, patch_value),
            (None, _, _) => {
                base.insert(key.clone(), patch_value.clone());
            }
        }
    }
}

fn merge_keyed_list(items: &mut Vec<Value>, patch_items: &[Value], id: &str) {
    for patch_item in patch_items {
        let patch_id = patch_item.get(id);
        let found =
            patch_id.and_then(|pid| items.iter_mut().find(|item| item.get(id) == Some(pid)));
        match found {
            // A keyed entry such as an env var is replaced whole, so `valueFrom` from the
            // patch never mixes with an injected `value`.
            Some(existing) if id == "name" && is_env_var(patch_item) => {
                *existing = patch_item.clone()
            }
            Some(existing) => merge(existing, patch_item),
            None => items.push(patch_item.clone()),
        }
    }
}

/// An env var entry: `name` with `value` or `valueFrom` and nothing else.
fn is_env_var(item: &Value) -> bool {
    item.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| matches!(k.as_str(), "name" | "value" | "valueFrom"))
            && (m.contains_key("value") || m.contains_key("valueFrom"))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(mut base: Value, patch: Value) -> Value {
        merge(&mut base, &patch);
        base
    }

    #[test]
    fn maps_merge_recursively() {
        assert_eq!(
            merged(
                json!({"nodeSelector": {"a": "1"}, "x": 1}),
                json!({"nodeSelector": {"b": "2"}})
            ),
            json!({"nodeSelector": {"a": "1", "b": "2"}, "x": 1})
        );
    }

    #[test]
    fn containers_merge_by_name_and_unknown_ones_are_appended() {
        let base = json!({"containers": [{"name": "worker", "image": "a", "env": [{"name": "A", "value": "1"}]}]});
        let patch = json!({"containers": [
            {"name": "worker", "command": ["run"], "env": [{"name": "B", "value": "2"}]},
            {"name": "sidecar", "image": "s"}
        ]});
        assert_eq!(
            merged(base, patch),
            json!({"containers": [
                {"name": "worker", "image": "a", "command": ["run"], "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "sidecar", "image": "s"}
            ]})
        );
    }

    #[test]
    fn a_user_env_entry_replaces_the_injected_one_whole() {
        let base = json!({"env": [{"name": "HEVLAYER_BASE_URL", "value": "http://a"}]});
        let patch = json!({"env": [{"name": "HEVLAYER_BASE_URL", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]});
        assert_eq!(
            merged(base, patch),
            json!({"env": [{"name": "HEVLAYER_BASE_URL", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]})
        );
    }

    #[test]
    fn volume_mounts_merge_by_mount_path() {
        let base = json!({"volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]});
        let patch = json!({"volumeMounts": [{"name": "scratch", "mountPath": "/tmp", "readOnly": true}, {"name": "d", "mountPath": "/d"}]});
        assert_eq!(
            merged(base, patch),
            json!({"volumeMounts": [{"name": "scratch", "mountPath": "/tmp", "readOnly": true}, {"name": "d", "mountPath": "/d"}]})
        );
    }

    #[test]
    fn other_lists_are_replaced() {
        let base = json!({"tolerations": [{"key": "a"}], "containers": [{"name": "w", "args": ["x", "y"]}]});
        let patch =
            json!({"tolerations": [{"key": "b"}], "containers": [{"name": "w", "args": ["z"]}]});
        assert_eq!(
            merged(base, patch),
            json!({"tolerations": [{"key": "b"}], "containers": [{"name": "w", "args": ["z"]}]})
        );
    }

    #[test]
    fn null_removes_a_key() {
        assert_eq!(
            merged(
                json!({"nodeSelector": {"a": "1"}, "b": 1}),
                json!({"nodeSelector": null})
            ),
            json!({"b": 1})
        );
    }
}
