//! Schemas for the free-form fields of the hev layer kinds.
//!
//! A few upstream fields (`sourceRef`, `podSpec`, pool `tolerations` and `resources`, Function
//! `filter` and `indexSelector`) hold arbitrary JSON that the API server keeps verbatim. Their
//! schema carries `x-kubernetes-preserve-unknown-fields: true` so that nothing under them is
//! pruned. schemars cannot derive that, so the fields point here with `schema_with`.
//!
//! Pool `tolerations` and `resources` and Function `indexSelector` are Kubernetes types in all
//! but the CRD: they are read as such once ([`FreeForm`]), and decode checks them against those
//! types' shape ([`decode_schema`]).

use std::collections::BTreeMap;

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{HevKind, crd_schema};

/// A JSON object whose content the schema does not describe and the API server keeps as is.
pub type FreeFormObject = BTreeMap<String, Value>;

/// An object kept as is; the field may be absent.
pub(crate) fn object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// An array of objects, each kept as is; the field may be absent.
pub(crate) fn object_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "nullable": true,
        "items": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
        },
    })
}

/// Any JSON value (object, array, string, number or boolean), kept as is; the field may be absent.
pub(crate) fn any(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A free-form field that render reads as a Kubernetes type: kept exactly as written, since the
/// API server keeps it verbatim and the CR is written back out as is, and read into `T` once,
/// when the object is read. A value that does not fit `T` does not fail the whole object (the
/// syncer reads CRs that only the API server checked): it keeps the reason, which render
/// reports at decode with each bad entry's own path ([`decode_schema`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FreeForm<T> {
    raw: Value,
    typed: Result<T, String>,
}

impl<T: DeserializeOwned> FreeForm<T> {
    /// Reads `raw` into `T`, keeping `raw`.
    pub fn new(raw: Value) -> Self {
        let typed = T::deserialize(&raw).map_err(|e| e.to_string());
        FreeForm { raw, typed }
    }
}

impl<T> FreeForm<T> {
    /// The value as `T`, or why it is not one.
    pub fn get(&self) -> Result<&T, &str> {
        self.typed.as_ref().map_err(String::as_str)
    }

    /// The value as written.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

impl<T> Serialize for FreeForm<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for FreeForm<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(FreeForm::new)
    }
}

/// The shape of a Kubernetes `Toleration`, as decode checks a pool's tolerations: what the
/// typed read needs, and the operators and effects the API server accepts in a pod. Unknown
/// fields are kept, as in the CRD.
fn toleration() -> Value {
    serde_json::json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "key": {"type": "string"},
            "operator": {"type": "string", "enum": ["", "Equal", "Exists"]},
            "value": {"type": "string"},
            "effect": {"type": "string", "enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]},
            "tolerationSeconds": {"type": "integer", "format": "int64"},
        },
    })
}

/// The shape of a Kubernetes `ResourceRequirements`. A quantity is a string or a number, as
/// the API server reads it (`cpu: 2`, `cpu: 0.5`).
fn resource_requirements() -> Value {
    let quantities = serde_json::json!({
        "type": "object",
        "additionalProperties": {"format": QUANTITY},
    });
    serde_json::json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "limits": quantities,
            "requests": quantities,
            "claims": {
                "type": "array",
                "items": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "request": {"type": "string"},
                    },
                },
            },
        },
    })
}

/// The shape of a Kubernetes `LabelSelector`, with the operators a selector accepts.
fn label_selector() -> Value {
    serde_json::json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    })
}

/// The `format` of a Kubernetes quantity in [`decode_schema`]: a string or any number. No CRD
/// carries it; only decode's schema check knows it.
pub(crate) const QUANTITY: &str = "quantity";

/// A schema built on demand.
type Shape = fn() -> Value;

/// The schema decode checks `kind` against: its CRD schema, with the free-form fields that
/// render reads as Kubernetes types ([`FreeForm`]) given those types' shape, so that every bad
/// entry is reported at its own path before the object is read. The published CRD keeps them
/// free-form, as upstream's does.
pub fn decode_schema(kind: HevKind) -> Value {
    let mut schema = crd_schema(kind);
    let typed: &[(&str, Shape)] = match kind {
        HevKind::InfraRules => &[
            (
                "/properties/spec/properties/computePools/items/properties/tolerations/items",
                toleration,
            ),
            (
                "/properties/spec/properties/computePools/items/properties/resources",
                resource_requirements,
            ),
        ],
        HevKind::Function => &[("/properties/spec/properties/indexSelector", label_selector)],
        _ => &[],
    };
    for (pointer, shape) in typed {
        if let Some(at) = schema.pointer_mut(pointer) {
            *at = shape();
        }
    }
    schema
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_free_form_field_is_written_back_as_it_was_read() {
        let raw = json!({"limits": {"cpu": 2, "memory": "2Gi"}, "extra": true});
        let read: FreeForm<ResourceRequirements> = serde_json::from_value(raw.clone()).unwrap();
        let limits = read.get().unwrap().limits.as_ref().unwrap();
        assert_eq!(limits["cpu"].0, "2");
        assert_eq!(serde_json::to_value(&read).unwrap(), raw);
    }

    #[test]
    fn a_value_that_does_not_fit_keeps_its_reason_and_its_text() {
        let raw = json!([{"key": 7}]);
        let read: FreeForm<Vec<Toleration>> = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            read.get(),
            Err("invalid type: integer `7`, expected a string")
        );
        assert_eq!(read.raw(), &raw);
    }

    #[test]
    fn decode_checks_each_typed_field_by_its_type_and_the_crd_keeps_it_free_form() {
        let pool = "/properties/spec/properties/computePools/items/properties";
        let rules = decode_schema(HevKind::InfraRules);
        assert_eq!(
            rules.pointer(&format!("{pool}/tolerations/items")),
            Some(&toleration())
        );
        assert_eq!(
            rules.pointer(&format!("{pool}/resources")),
            Some(&resource_requirements())
        );
        let function = decode_schema(HevKind::Function);
        assert_eq!(
            function.pointer("/properties/spec/properties/indexSelector"),
            Some(&label_selector())
        );
        assert_eq!(
            decode_schema(HevKind::Pipeline),
            crd_schema(HevKind::Pipeline)
        );
        let crd = crd_schema(HevKind::InfraRules);
        let kept = crd.pointer(&format!(
            "{pool}/resources/x-kubernetes-preserve-unknown-fields"
        ));
        assert_eq!(kept, Some(&json!(true)));
    }
}
