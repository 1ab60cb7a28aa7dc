//! Structural schema checks: what the API server would reject or prune, found offline.
//!
//! The walk follows the generated CRD's `openAPIV3Schema` over the positioned YAML tree, so
//! every problem points at its line and column: wrong types, missing required fields, values
//! outside an enum or a number format, and unknown fields (a warning with a "did you mean",
//! because the API server silently prunes them). Every problem in the object is reported.

use serde_json::Value;

use crate::api::QUANTITY;
use crate::diagnostic::{Code, Diagnostic};
use crate::field_path::FieldPath;
use crate::key::ObjectKey;
use crate::load::{Document, Node, NodeValue};

/// Checks one object's `spec` (and any other schema property) against `schema`, the CRD's
/// `openAPIV3Schema`. `object` is the `Kind/namespace/name` used in diagnostics. The top-level
/// keys `apiVersion`, `kind` and `metadata` are checked elsewhere.
pub fn check(doc: &Document, schema: &Value, object: &ObjectKey) -> Vec<Diagnostic> {
    let mut walk = Walk {
        doc,
        object,
        out: Vec::new(),
    };
    let root = FieldPath::root();
    let NodeValue::Map(entries) = &doc.root.value else {
        return walk.out;
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, value) in entries {
        if matches!(key.name.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.and_then(|p| p.get(&key.name)) {
            Some(sub) => walk.node(value, sub, &root.clone().key(&key.name)),
            None => walk.unknown(&root, &key.name, props),
        }
    }
    for name in required(schema) {
        if name != "metadata" && doc.root.get(name).is_none() {
            walk.missing(&root, name);
        }
    }
    walk.out
}

/// The names `schema` lists as required.
pub(crate) fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The schema of the property `key` of an object `schema`: a named property, else the schema
/// of every map value (`additionalProperties`).
pub(crate) fn property<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    let named = schema.get("properties").and_then(|p| p.get(key));
    named.or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

struct Walk<'a> {
    doc: &'a Document,
    object: &'a ObjectKey,
    out: Vec<Diagnostic>,
}

impl Walk<'_> {
    fn push(&mut self, code: Code, path: &FieldPath, message: String) {
        let span = self.doc.span_of(path);
        self.out.push(
            Diagnostic::new(code, message)
                .at(span)
                .object(self.object.clone())
                .field(path.clone()),
        );
    }

    fn missing(&mut self, parent: &FieldPath, name: &str) {
        let span = self.doc.span_of(parent);
        let field = parent.clone().key(name);
        self.out.push(
            Diagnostic::new(Code::RequiredField, "required field is missing")
                .at(span)
                .object(self.object.clone())
                .field(field),
        );
    }

    fn unknown(
        &mut self,
        parent: &FieldPath,
        name: &str,
        props: Option<&serde_json::Map<String, Value>>,
    ) {
        let path = parent.clone().key(name);
        let hint = props
            .and_then(|p| closest(name, p.keys().map(String::as_str)))
            .map(|c| format!(" (did you mean {c:?}?)"))
            .unwrap_or_default();
        self.push(
            Code::UnknownField,
            &path,
            format!("unknown field; the API server would drop it{hint}"),
        );
    }

    fn node(&mut self, node: &Node, schema: &Value, path: &FieldPath) {
        if node.value == NodeValue::Null {
            // The API server drops null values of non-nullable fields before defaulting.
            return;
        }
        if schema.get("format").and_then(Value::as_str) == Some(QUANTITY) {
            if !matches!(
                node.value,
                NodeValue::Int(_) | NodeValue::UInt(_) | NodeValue::Float(_) | NodeValue::String(_)
            ) {
                self.wrong_type(node, "quantity (string or number)", path);
            }
            return;
        }
        if flag(schema, "x-kubernetes-int-or-string") {
            if !matches!(
                node.value,
                NodeValue::Int(_) | NodeValue::UInt(_) | NodeValue::String(_)
            ) {
                self.wrong_type(node, "integer or string", path);
            }
            return;
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let ok = match ty {
            Some("object") => matches!(node.value, NodeValue::Map(_)),
            Some("array") => matches!(node.value, NodeValue::Seq(_)),
            Some("string") => matches!(node.value, NodeValue::String(_)),
            Some("boolean") => matches!(node.value, NodeValue::Bool(_)),
            Some("integer") => {
                matches!(node.value, NodeValue::Int(_) | NodeValue::UInt(_))
                    || matches!(node.value, NodeValue::Float(f) if f.fract() == 0.0)
            }
            Some("number") => {
                matches!(
                    node.value,
                    NodeValue::Int(_) | NodeValue::UInt(_) | NodeValue::Float(_)
                )
            }
            _ => true,
        };
        if !ok {
            self.wrong_type(node, ty.unwrap_or("value"), path);
            return;
        }
        self.enumeration(node, schema, path);
        self.range(node, schema, path);
        match &node.value {
            NodeValue::Map(entries) => self.map(node, entries, schema, path),
            NodeValue::Seq(items) => {
                if let Some(items_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.node(item, items_schema, &path.clone().index(i));
                    }
                }
            }
            _ => {}
        }
    }

    fn map(
        &mut self,
        node: &Node,
        entries: &[(crate::load::Key, Node)],
        schema: &Value,
        path: &FieldPath,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
        for (key, value) in entries {
            match property(schema, &key.name) {
                Some(sub) => self.node(value, sub, &path.clone().key(&key.name)),
                None if preserve || (props.is_none() && additional.is_none()) => {}
                None => self.unknown(path, &key.name, props),
            }
        }
        for name in required(schema) {
            let present = node.get(name).is_some_and(|v| v.value != NodeValue::Null);
            if !present {
                self.missing(path, name);
            }
        }
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, path: &FieldPath) {
        let found = node.type_name();
        self.push(
            Code::WrongType,
            path,
            format!("expected {expected}, found {found}"),
        );
    }

    fn enumeration(&mut self, node: &Node, schema: &Value, path: &FieldPath) {
        let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
            return;
        };
        let value = node.to_json();
        if allowed.contains(&value) {
            return;
        }
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        let hint = match &value {
            Value::String(s) => closest(s, allowed.iter().filter_map(Value::as_str))
                .map(|c| format!(" (did you mean {c:?}?)"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        self.push(
            Code::UnsupportedValue,
            path,
            format!(
                "unsupported value {value}: must be one of {}{hint}",
                list.join(", ")
            ),
        );
    }

    fn range(&mut self, node: &Node, schema: &Value, path: &FieldPath) {
        let value: f64 = match node.value {
            NodeValue::Int(i) => i as f64,
            NodeValue::UInt(u) => u as f64,
            NodeValue::Float(f) => f,
            _ => return,
        };
        let format = schema.get("format").and_then(Value::as_str);
        let (low, high, what) = match format {
            Some("int32") => (f64::from(i32::MIN), f64::from(i32::MAX), "a 32-bit integer"),
            Some("uint32") => (0.0, f64::from(u32::MAX), "an unsigned 32-bit integer"),
            Some("int64") => (i64::MIN as f64, i64::MAX as f64, "a 64-bit integer"),
            Some("uint64") => (0.0, u64::MAX as f64, "an unsigned 64-bit integer"),
            _ => (f64::NEG_INFINITY, f64::INFINITY, ""),
        };
        let in_format = match (format, &node.value) {
            (Some("int64"), NodeValue::UInt(_)) => false,
            _ => value >= low && value <= high,
        };
        if !in_format {
            let shown = node.to_json();
            self.push(
                Code::OutOfRange,
                path,
                format!("{shown} does not fit in {what}"),
            );
            return;
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && value < min
        {
            let message = format!("must be at least {min}, found {}", node.to_json());
            self.push(Code::OutOfRange, path, message);
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && value > max
        {
            let message = format!("must be at most {max}, found {}", node.to_json());
            self.push(Code::OutOfRange, path, message);
        }
    }
}

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// Drops every field that `schema` does not know, as the API server's pruning does.
pub fn prune(value: &mut Value, schema: &Value) {
    if flag(schema, "x-kubernetes-preserve-unknown-fields") && schema.get("properties").is_none() {
        return;
    }
    match value {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            map.retain(|k, v| match property(schema, k) {
                Some(sub) => {
                    prune(v, sub);
                    true
                }
                None => preserve,
            });
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for item in items {
                    prune(item, sub);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::load::{Limits, load_str};
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "required": ["replicas"],
                    "properties": {
                        "replicas": {"type": "integer", "format": "int32", "minimum": 0},
                        "mode": {"type": "string", "enum": ["autoscale", "fixed", "disabled"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "port": {"x-kubernetes-int-or-string": true},
                        "count": {"type": "integer", "format": "int64", "nullable": true}
                    }
                }
            },
            "required": ["spec"]
        })
    }

    fn check_text(text: &str) -> Vec<String> {
        let loaded = load_str("in.yaml", text, &Limits::default());
        assert_eq!(loaded.diagnostics, vec![]);
        let key = ObjectKey::new("example.com/v1", "Thing", Some("ns"), "x");
        check(&loaded.documents[0], &schema(), &key)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_object_has_no_diagnostics() {
        let text = "kind: Thing\nspec:\n  replicas: 2\n  mode: fixed\n  labels: {a: b}\n  items: [{name: x}]\n  free: {any: [1]}\n  port: http\n";
        assert_eq!(check_text(text), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let text = "kind: Thing\nspec:\n  mode: fast\n  labels: {a: 1}\n  items: [{nmae: x}]\n  port: [1]\n  count: 99999999999999999999\n";
        assert_eq!(
            check_text(text),
            [
                "in.yaml:3:3: error[E202]: Thing/ns/x: spec.mode: unsupported value \"fast\": must be one of \"autoscale\", \"fixed\", \"disabled\"",
                "in.yaml:4:12: error[E200]: Thing/ns/x: spec.labels.a: expected string, found integer",
                "in.yaml:5:12: warning[W200]: Thing/ns/x: spec.items[0].nmae: unknown field; the API server would drop it (did you mean \"name\"?)",
                "in.yaml:6:3: error[E200]: Thing/ns/x: spec.port: expected integer or string, found list",
                "in.yaml:7:3: error[E203]: Thing/ns/x: spec.count: 1e+20 does not fit in a 64-bit integer",
                "in.yaml:2:1: error[E201]: Thing/ns/x: spec.replicas: required field is missing",
            ]
        );
    }

    #[test]
    fn int32_overflow_and_minimum_are_out_of_range() {
        assert_eq!(
            check_text("spec:\n  replicas: 3000000000\n"),
            [
                "in.yaml:2:3: error[E203]: Thing/ns/x: spec.replicas: 3000000000 does not fit in a 32-bit integer"
            ]
        );
        assert_eq!(
            check_text("spec:\n  replicas: -1\n"),
            ["in.yaml:2:3: error[E203]: Thing/ns/x: spec.replicas: must be at least 0, found -1"]
        );
    }

    #[test]
    fn an_unknown_top_level_field_is_a_warning() {
        assert_eq!(
            check_text("spce: {}\nspec: {replicas: 1}\n"),
            [
                "in.yaml:1:1: warning[W200]: Thing/ns/x: spce: unknown field; the API server would drop it (did you mean \"spec\"?)"
            ]
        );
    }

    #[test]
    fn a_null_optional_field_is_dropped_not_rejected() {
        assert_eq!(
            check_text("spec:\n  replicas: 1\n  mode: null\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn map_keys_with_dots_use_brackets() {
        assert_eq!(
            check_text("spec:\n  replicas: 1\n  labels: {app.kubernetes.io/name: 2}\n"),
            [
                "in.yaml:3:12: error[E200]: Thing/ns/x: spec.labels[app.kubernetes.io/name]: expected string, found integer"
            ]
        );
    }

    #[test]
    fn prune_drops_unknown_fields_and_keeps_free_form_ones() {
        let mut value = json!({"spec": {"replicas": 1, "bogus": 2, "free": {"x": 1}, "items": [{"name": "a", "b": 1}]}, "extra": 1});
        prune(&mut value, &schema());
        assert_eq!(
            value,
            json!({"spec": {"replicas": 1, "free": {"x": 1}, "items": [{"name": "a"}]}})
        );
    }
}
