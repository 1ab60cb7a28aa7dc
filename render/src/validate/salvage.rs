//! Salvage: reading an object that failed its schema into its type anyway.
//!
//! The API server reports an object's schema errors and its CEL rule violations in one answer,
//! so render checks the rest of a broken object too. To read it, every failed field is removed
//! (its default applies, as if it were not written) or, where the type needs a value (a
//! required field, a list item whose removal would shift the others), replaced by a stand-in
//! built from the schema. The checks skip whatever reads a failed field ([`FailedFields`]), so
//! no stand-in ever shows in a diagnostic, and nothing is expanded from a salvaged object:
//! render writes nothing when there is an error.

use serde_json::{Map, Value};

use crate::field_path::{FieldPath, Step};
use crate::validate::failed::FailedFields;
use crate::validate::schema::{property, required};

/// Makes `object`, the JSON of a document whose `failed` fields broke `schema` (the CRD's
/// `openAPIV3Schema`), readable as the kind's Rust type.
pub fn salvage(object: &mut Value, schema: &Value, failed: &FailedFields) {
    for path in failed.paths() {
        drop_field(object, schema, path);
    }
    fill_required(object, schema);
}

/// Removes the field at `path`, or replaces it with a stand-in when it is a list item.
fn drop_field(value: &mut Value, schema: &Value, path: &FieldPath) {
    let Some((last, parents)) = path.steps().split_last() else {
        return;
    };
    let mut at = value;
    let mut schema = schema;
    for step in parents {
        let next = match (at, step) {
            (Value::Object(map), step) => step.as_key().and_then(|k| map.get_mut(k)),
            (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else { return };
        at = next;
        schema = child_schema(schema, step);
    }
    match (at, last) {
        (Value::Object(map), last) => {
            if let Some(key) = last.as_key() {
                map.remove(key);
            }
        }
        (Value::Array(items), Step::Index(i)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = stand_in(child_schema(schema, last));
            }
        }
        _ => {}
    }
}

/// The schema of `step` below `schema`: a property, a map value or a list item.
fn child_schema<'a>(schema: &'a Value, step: &Step) -> &'a Value {
    let child = match (schema.get("items"), step.as_key()) {
        (Some(items), _) => Some(items),
        (None, Some(key)) => property(schema, key),
        (None, None) => None,
    };
    child.unwrap_or(&Value::Null)
}

/// Gives every required field that is missing or null a stand-in, at every depth.
fn fill_required(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            for name in required(schema) {
                if map.get(name).is_none_or(Value::is_null) {
                    let sub = property(schema, name).unwrap_or(&Value::Null);
                    map.insert(name.to_string(), stand_in(sub));
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(sub) = property(schema, key) {
                    fill_required(child, sub);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                items.iter_mut().for_each(|item| fill_required(item, sub));
            }
        }
        _ => {}
    }
}

/// A value that `schema` accepts: its default, its first allowed value, or the zero of its
/// type (an object with stand-ins for its own required fields).
fn stand_in(schema: &Value) -> Value {
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Value::from(0);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut object = Value::Object(Map::new());
            fill_required(&mut object, schema);
            object
        }
        Some("array") => Value::Array(Vec::new()),
        Some("string") => Value::String(String::new()),
        Some("integer" | "number") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["target", "pools"],
                    "properties": {
                        "target": {
                            "type": "object",
                            "required": ["namespace", "mode", "size"],
                            "properties": {
                                "namespace": {"type": "string"},
                                "mode": {"type": "string", "enum": ["fast", "slow"]},
                                "size": {"type": "integer", "default": 3},
                            }
                        },
                        "pools": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "max"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "max": {"type": "integer"},
                                    "port": {"x-kubernetes-int-or-string": true}
                                }
                            }
                        },
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "paused": {"type": "boolean"}
                    }
                }
            }
        })
    }

    fn failed(fields: &[FieldPath]) -> FailedFields {
        let mut f = FailedFields::default();
        fields.iter().for_each(|field| f.insert(field.clone()));
        f
    }

    fn k(keys: &[&str]) -> FieldPath {
        FieldPath::keys(keys)
    }

    #[test]
    fn a_failed_optional_field_is_removed() {
        let mut value = json!({"spec": {"target": {"namespace": "t", "mode": "slow", "size": 1}, "pools": [], "paused": "yes", "labels": {"a": 1, "b": "x"}}});
        salvage(
            &mut value,
            &schema(),
            &failed(&[k(&["spec", "paused"]), k(&["spec", "labels"]).entry("a")]),
        );
        assert_eq!(
            value,
            json!({"spec": {"target": {"namespace": "t", "mode": "slow", "size": 1}, "pools": [], "labels": {"b": "x"}}})
        );
    }

    #[test]
    fn a_failed_or_missing_required_field_gets_a_stand_in() {
        let mut value = json!({"spec": {"target": {"namespace": 5}}});
        salvage(
            &mut value,
            &schema(),
            &failed(&[k(&["spec", "target", "namespace"])]),
        );
        assert_eq!(
            value,
            json!({"spec": {"target": {"namespace": "", "mode": "fast", "size": 3}, "pools": []}})
        );
        let mut value = json!({"spec": null});
        salvage(&mut value, &schema(), &failed(&[k(&["spec"])]));
        assert_eq!(
            value,
            json!({"spec": {"target": {"namespace": "", "mode": "fast", "size": 3}, "pools": []}})
        );
    }

    #[test]
    fn a_failed_list_item_is_replaced_so_the_others_keep_their_index() {
        let mut value = json!({"spec": {"target": {"namespace": "t", "mode": "fast", "size": 1}, "pools": [{"name": "a", "max": 1}, "b", {"name": "c", "max": "x", "port": [1]}]}});
        salvage(
            &mut value,
            &schema(),
            &failed(&[
                k(&["spec", "pools"]).index(1),
                k(&["spec", "pools"]).index(2).key("max"),
                k(&["spec", "pools"]).index(2).key("port"),
            ]),
        );
        assert_eq!(
            value["spec"]["pools"],
            json!([{"name": "a", "max": 1}, {"name": "", "max": 0}, {"name": "c", "max": 0}])
        );
    }

    #[test]
    fn a_path_that_is_not_there_changes_nothing() {
        let original =
            json!({"spec": {"target": {"namespace": "t", "mode": "fast", "size": 1}, "pools": []}});
        let mut value = original.clone();
        salvage(
            &mut value,
            &schema(),
            &failed(&[
                k(&["spec", "pools"]).index(4).key("name"),
                k(&["spec", "target", "namespace", "x"]),
                k(&["metadata", "labels"]).entry("a.b/c"),
            ]),
        );
        assert_eq!(value, original);
    }
}
