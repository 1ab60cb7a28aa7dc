//! Tests of [`HevKind`], [`crds`] and [`crd_schema`].

use serde_json::{Value, json};

use super::super::{GROUP, HevKind, crd_schema, crds};
use super::{crd_json, enum_values, node};

/// A schema node without its `description`s (ours are written for users; upstream's differ).
fn shape(node: &Value) -> Value {
    match node {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "description")
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_crds_have_upstreams_published_defaults_where_ours_once_differed() {
    // Pipeline and Function `status.managedObjects`: `[]` by default, never null.
    let managed_objects = json!({
        "default": [],
        "items": {
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "name": {"type": "string"},
            },
            "required": ["apiVersion", "kind", "name"],
            "type": "object",
        },
        "type": "array",
    });
    for kind in [HevKind::Pipeline, HevKind::Function] {
        assert_eq!(
            shape(&node(kind, "status.managedObjects")),
            managed_objects,
            "{kind:?}"
        );
    }
    // Index `spec.scan` and `spec.search`: nullable, no default of their own; the defaults of
    // their fields apply when they are given.
    assert_eq!(
        shape(&node(HevKind::Index, "spec.scan")),
        json!({
            "nullable": true,
            "properties": {"threads": {"default": 8, "format": "int32", "type": "integer"}},
            "type": "object",
        })
    );
    assert_eq!(
        shape(&node(HevKind::Index, "spec.search")),
        json!({
            "nullable": true,
            "properties": {"fullText": {"default": false, "type": "boolean"}},
            "type": "object",
        })
    );
    // The newer enum values stay.
    assert_eq!(
        enum_values(HevKind::VectorStore, "spec.kind"),
        ["turbopuffer", "pinecone", "search", "search-embedded"]
    );
    assert_eq!(
        enum_values(HevKind::VectorStore, "spec.inboundAuth.keys[].scopes[]"),
        ["read", "write", "admin", "mint"]
    );
}

#[test]
fn from_type_meta_finds_each_kind_at_its_served_version() {
    for kind in HevKind::ALL {
        assert_eq!(
            HevKind::from_type_meta(kind.api_version(), kind.kind_str()),
            Some(kind)
        );
    }
    assert_eq!(
        HevKind::from_type_meta("hevlayer.com/v1", "Index"),
        Some(HevKind::Index)
    );
    assert_eq!(
        HevKind::from_type_meta("hevlayer.com/v1alpha1", "InfraRules"),
        Some(HevKind::InfraRules)
    );
}

#[test]
fn from_type_meta_returns_the_kind_for_a_wrong_version_so_the_caller_can_report_it() {
    let kind = HevKind::from_type_meta("hevlayer.com/v1alpha1", "Index");
    assert_eq!(kind, Some(HevKind::Index));
    assert_eq!(kind.map(HevKind::served_version), Some("v1"));
    assert_eq!(
        HevKind::from_type_meta("hevlayer.com/v2", "Pipeline"),
        Some(HevKind::Pipeline)
    );
}

#[test]
fn from_type_meta_rejects_other_groups_kinds_and_core_versions() {
    assert_eq!(HevKind::from_type_meta("apps/v1", "Deployment"), None);
    assert_eq!(HevKind::from_type_meta("example.com/v1", "Pipeline"), None);
    assert_eq!(
        HevKind::from_type_meta("hevlayer.com/v1alpha1", "Warehouse"),
        None
    );
    assert_eq!(
        HevKind::from_type_meta("hevlayer.com/v1alpha1", "pipeline"),
        None
    );
    assert_eq!(HevKind::from_type_meta("v1", "Pipeline"), None);
    assert_eq!(HevKind::from_type_meta("hevlayer.com", "Pipeline"), None);
}

#[test]
fn api_version_is_group_and_served_version() {
    for kind in HevKind::ALL {
        assert_eq!(
            kind.api_version(),
            format!("{GROUP}/{}", kind.served_version())
        );
    }
    assert_eq!(HevKind::Index.api_version(), "hevlayer.com/v1");
    assert_eq!(HevKind::Function.api_version(), "hevlayer.com/v1alpha1");
}

#[test]
fn each_crd_matches_its_kind_names_scope_and_single_version() {
    let plurals = [
        (HevKind::VectorStore, "vectorstores", "vectorstore"),
        (HevKind::Index, "indexes", "index"),
        (HevKind::InfraRules, "infrarules", "infrarules"),
        (HevKind::Pipeline, "pipelines", "pipeline"),
        (HevKind::Function, "functions", "function"),
    ];
    for (kind, plural, singular) in plurals {
        let crd = crd_json(kind);
        assert_eq!(crd["metadata"]["name"], format!("{plural}.hevlayer.com"));
        assert_eq!(crd["spec"]["group"], GROUP);
        assert_eq!(crd["spec"]["names"]["kind"], kind.kind_str());
        assert_eq!(crd["spec"]["names"]["plural"], plural);
        assert_eq!(crd["spec"]["names"]["singular"], singular);
        assert_eq!(crd["spec"]["names"].get("shortNames"), None);
        assert_eq!(crd["spec"]["names"].get("categories"), None);
        let scope = if kind.is_namespaced() {
            "Namespaced"
        } else {
            "Cluster"
        };
        assert_eq!(crd["spec"]["scope"], scope);
        let versions = crd["spec"]["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0]["name"], kind.served_version());
        assert_eq!(versions[0]["served"], true);
        assert_eq!(versions[0]["storage"], true);
        assert_eq!(
            versions[0]["subresources"],
            serde_json::json!({"status": {}})
        );
        let schema = &versions[0]["schema"]["openAPIV3Schema"];
        assert_eq!(schema["required"], serde_json::json!(["spec"]));
        assert_eq!(schema["properties"]["status"]["nullable"], true);
        assert_eq!(
            schema["properties"]["status"]["properties"]["conditions"]["default"],
            serde_json::json!([])
        );
        assert_eq!(
            schema["properties"]["status"]["properties"]["observedGeneration"]["format"],
            "int64"
        );
        assert!(
            schema["properties"]["spec"]
                .get("x-kubernetes-preserve-unknown-fields")
                .is_none(),
            "{kind:?}: unknown spec fields must be pruned"
        );
    }
}

#[test]
fn only_infra_rules_is_cluster_scoped() {
    let cluster: Vec<HevKind> = HevKind::ALL
        .into_iter()
        .filter(|k| !k.is_namespaced())
        .collect();
    assert_eq!(cluster, vec![HevKind::InfraRules]);
}

#[test]
fn crds_come_in_the_documented_order() {
    let kinds: Vec<String> = crds().into_iter().map(|c| c.spec.names.kind).collect();
    assert_eq!(
        kinds,
        ["VectorStore", "Index", "InfraRules", "Pipeline", "Function"]
    );
}

#[test]
fn crd_schema_is_the_open_api_v3_schema_of_each_kind() {
    for kind in HevKind::ALL {
        let schema = crd_schema(kind);
        assert_eq!(
            schema,
            crd_json(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        );
        assert_eq!(schema["type"], "object");
        assert!(schema["properties"]["spec"].is_object());
        assert_ne!(schema, Value::Null);
    }
}

#[test]
fn every_schema_node_has_a_description() {
    fn walk(at: &Value, path: &str, missing: &mut Vec<String>) {
        let Some(props) = at.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, sub) in props {
            let here = format!("{path}.{name}");
            if sub.get("description").and_then(Value::as_str).is_none() {
                missing.push(here.clone());
            }
            walk(sub, &here, missing);
            if let Some(items) = sub.get("items") {
                walk(items, &format!("{here}[]"), missing);
            }
        }
    }
    for kind in HevKind::ALL {
        let mut missing = Vec::new();
        walk(&crd_schema(kind), kind.kind_str(), &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }
}

#[test]
fn the_group_matches_the_object_key_group() {
    assert_eq!(GROUP, crate::key::HEV_GROUP);
}
