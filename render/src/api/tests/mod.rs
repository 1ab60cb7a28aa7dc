//! Tests of the API types, one file per kind, and of [`HevKind`].
//!
//! Each kind's file covers the same five topics: example manifests parse unchanged, a minimal
//! manifest gets every upstream default, the generated CRD has the upstream shape, the CEL rules
//! pass and fail with their exact messages, and serde's defaults equal the schema's defaults
//! (checked with kube-cel's `apply_defaults`, which defaults the way the API server does).

#![allow(clippy::unwrap_used, clippy::panic)]

mod function;
mod index;
mod infra_rules;
mod kinds;
mod pipeline;
mod vector_store;

use kube::core::cel::{Validator, apply_defaults, compile_schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{HevKind, crd_schema};

/// Parses YAML text into JSON.
fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap()
}

/// The CRD of `kind` as JSON.
fn crd_json(kind: HevKind) -> Value {
    serde_json::to_value(kind.crd()).unwrap()
}

/// The schema node at `path` under the `openAPIV3Schema` of `kind`: dot-separated property
/// names, with `[]` after a name to step into the array's `items`.
fn node(kind: HevKind, path: &str) -> Value {
    let mut at = crd_schema(kind);
    for step in path.split('.').filter(|s| !s.is_empty()) {
        let (name, items) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        at = at["properties"][name].clone();
        assert!(at.is_object(), "{path}: no property {name}");
        if items {
            at = at["items"].clone();
            assert!(at.is_object(), "{path}: {name} has no items");
        }
    }
    at
}

/// The `required` list of the schema node at `path`, sorted.
fn required(kind: HevKind, path: &str) -> Vec<String> {
    let mut names: Vec<String> = node(kind, path)["required"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The `enum` list of the schema node at `path`.
fn enum_values(kind: HevKind, path: &str) -> Vec<String> {
    node(kind, path)["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Whether the schema node at `path` is `nullable: true`.
fn is_nullable(kind: HevKind, path: &str) -> bool {
    node(kind, path)["nullable"] == Value::Bool(true)
}

/// Whether the schema node at `path` keeps unknown fields.
fn preserves_unknown(kind: HevKind, path: &str) -> bool {
    node(kind, path)["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true)
}

/// The printer columns of `kind` as (name, type, jsonPath).
fn printer_columns(kind: HevKind) -> Vec<(String, String, String)> {
    crd_json(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["type"].as_str().unwrap().to_string(),
                c["jsonPath"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The CEL failures of `object` against the CRD of `kind`, as `fieldPath: message`.
fn cel_failures(kind: HevKind, object: &Value) -> Vec<String> {
    match Validator::new().validate(&crd_schema(kind), object, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

/// What the API server stores for `object` after defaulting: the schema defaults applied.
fn schema_defaulted(kind: HevKind, object: &Value) -> Value {
    apply_defaults(&crd_schema(kind), object)
}

/// Deserializes `object` as `K` and serializes it again.
fn serde_round_trip<K: DeserializeOwned + Serialize>(object: &Value) -> Value {
    let typed: K = serde_json::from_value(object.clone()).unwrap();
    serde_json::to_value(&typed).unwrap()
}

/// Whether any value in `v` is `null`.
fn contains_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

/// Asserts that a manifest parses as `K` both from YAML text and from JSON, loses no field, gains
/// exactly the schema's defaults, writes no `null`, and passes the CRD's CEL rules.
fn assert_parses_unchanged<K>(kind: HevKind, text: &str)
where
    K: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let input = yaml(text);
    let from_yaml: K = serde_saphyr::from_str(text).unwrap();
    let from_json: K = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(from_yaml, from_json);
    let output = serde_json::to_value(&from_json).unwrap();
    assert_eq!(output, schema_defaulted(kind, &input), "manifest:\n{text}");
    assert!(!contains_null(&output), "null in {output}");
    assert_eq!(cel_failures(kind, &input), Vec::<String>::new());
}

/// Asserts that serde's defaults for `object` are exactly the schema's defaults, and that a
/// `null` on a defaulted field reads as its default, as the API server (which drops such nulls
/// before defaulting) reads it: first on the innermost fields that hold their default, then on
/// the outermost.
fn assert_serde_defaults_match_schema<K>(kind: HevKind, object: &Value)
where
    K: DeserializeOwned + Serialize,
{
    let expected = schema_defaulted(kind, object);
    assert_eq!(serde_round_trip::<K>(object), expected);
    let schema = crd_schema(kind);
    for innermost in [true, false] {
        let nulled = null_defaulted_fields(&schema, &expected, innermost);
        assert_eq!(serde_round_trip::<K>(&nulled), expected, "from {nulled}");
    }
}

/// `value` with `null` on every non-nullable field that holds its schema default. With
/// `innermost`, objects and arrays of objects are walked into rather than nulled; without, a
/// field that holds its default is nulled whole.
fn null_defaulted_fields(schema: &Value, value: &Value, innermost: bool) -> Value {
    let (Some(props), Value::Object(map)) =
        (schema.get("properties").and_then(Value::as_object), value)
    else {
        return value.clone();
    };
    let mut out = map.clone();
    for (key, field) in map {
        let Some(sub) = props.get(key) else { continue };
        let holds_default =
            sub.get("default") == Some(field) && sub["nullable"] != Value::Bool(true);
        let object = sub.get("properties").is_some() && field.is_object();
        let items = sub
            .get("items")
            .filter(|i| i.get("properties").is_some() && field.is_array());
        let walk = object || items.is_some();
        let replacement = if holds_default && !(innermost && walk) {
            Value::Null
        } else if object {
            null_defaulted_fields(sub, field, innermost)
        } else if let (Some(items), Value::Array(list)) = (items, field) {
            Value::Array(
                list.iter()
                    .map(|item| null_defaulted_fields(items, item, innermost))
                    .collect(),
            )
        } else {
            continue;
        };
        out.insert(key.clone(), replacement);
    }
    Value::Object(out)
}

#[test]
fn null_defaulted_fields_nulls_only_fields_that_hold_their_default() {
    let schema = crd_schema(HevKind::Function);
    let object = serde_round_trip::<super::Function>(&serde_json::json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "f"},
        "spec": {"version": "v2", "worker": {"image": "i"}, "scaling": {"replicas": {"max": 1}}},
    }));
    let inner = null_defaulted_fields(&schema, &object, true);
    assert_eq!(inner["spec"]["version"], "v2");
    assert_eq!(inner["spec"]["paused"], Value::Null);
    assert_eq!(inner["spec"]["schedule"]["leaseSeconds"], Value::Null);
    assert_eq!(inner["spec"]["worker"]["batchSize"], Value::Null);
    assert_eq!(inner["spec"]["worker"]["image"], "i");
    let outer = null_defaulted_fields(&schema, &object, false);
    assert_eq!(outer["spec"]["schedule"], Value::Null);
    assert_eq!(outer["spec"]["retry"], Value::Null);
    assert_eq!(outer["spec"]["worker"]["batchSize"], Value::Null);
    assert_eq!(outer["spec"]["scaling"]["replicas"]["max"], 1);
}

#[test]
fn every_crd_schema_compiles_its_cel_rules() {
    for kind in HevKind::ALL {
        let compiled = compile_schema(&crd_schema(kind));
        assert!(
            !compiled.has_errors(),
            "{kind:?}: {:?}",
            compiled.compilation_errors()
        );
    }
}
