//! Schemas for the free-form fields of the hev layer kinds.
//!
//! A few upstream fields (`sourceRef`, `podSpec`, pool `tolerations` and `resources`, Function
//! `filter` and `indexSelector`) hold arbitrary JSON that the API server keeps verbatim. Their
//! schema carries `x-kubernetes-preserve-unknown-fields: true` so that nothing under them is
//! pruned. schemars cannot derive that, so the fields point here with `schema_with`.

use std::collections::BTreeMap;

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::Value;

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
