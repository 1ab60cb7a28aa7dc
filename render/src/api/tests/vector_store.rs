//! VectorStore: examples, defaults, schema, CEL rules and serde/schema default agreement.

use serde_json::json;

use super::super::HevKind;
use super::super::vector_store::{
    InboundAuthMode, KeyScope, StoreKind, VectorStore, VectorStoreStatus,
};
use super::*;

const KIND: HevKind = HevKind::VectorStore;

/// The VectorStore the upstream Helm chart renders (spec section 2.6), with a credential.
const HELM_DEFAULT: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata:
  name: turbopuffer-default
  namespace: layer
  labels:
    app.kubernetes.io/managed-by: Helm
spec:
  kind: turbopuffer
  default: true
  endpoint:
    url: https://aws-us-east-1.turbopuffer.com
    region: aws-us-east-1
  credential:
    secretRef:
      name: layer
      key: turbopuffer-api-key
  turbopuffer:
    orgId: org-1234
"#;

/// A store in `keys` mode with the chart's key naming.
const KEYS_MODE: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata:
  name: turbopuffer-default
  namespace: layer
spec:
  kind: turbopuffer
  default: true
  endpoint:
    url: https://gcp-us-central1.turbopuffer.com
    region: gcp-us-central1
  credential:
    secretRef:
      name: layer
      key: turbopuffer-api-key
  inboundAuth:
    mode: keys
    keys:
      - name: worker
        scopes: [read, write]
        secretRef:
          name: layer
          key: layer-inbound-worker-api-key
      - name: ops
        scopes: [admin, mint]
        secretRef:
          name: layer
          key: layer-inbound-ops-api-key
"#;

/// A hev search store with an admin credential and open inbound auth, with status.
const SEARCH: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata:
  name: search
  namespace: layer
spec:
  kind: search
  endpoint:
    url: http://layer-search.layer.svc.cluster.local:7700
    region: in-cluster
  credential:
    secretRef: {name: layer, key: search-api-key}
  search:
    adminCredential:
      secretRef: {name: layer, key: search-admin-key}
  inboundAuth:
    mode: open
status:
  reachable: true
  observedGeneration: 3
  conditions:
    - type: Ready
      status: "True"
      reason: Reachable
      message: endpoint answered
      lastTransitionTime: "2026-08-20T10:00:00Z"
"#;

/// The newer embedded search kind, with no inbound auth block.
const SEARCH_EMBEDDED: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata:
  name: embedded
  namespace: layer
spec:
  kind: search-embedded
  endpoint:
    url: http://127.0.0.1:7700
    region: local
"#;

fn minimal() -> serde_json::Value {
    json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "VectorStore",
        "metadata": {"name": "s", "namespace": "layer"},
        "spec": {"kind": "turbopuffer", "endpoint": {"url": "https://x", "region": "r"}},
    })
}

fn with_spec(patch: serde_json::Value) -> serde_json::Value {
    let mut object = minimal();
    for (k, v) in patch.as_object().unwrap() {
        object["spec"][k] = v.clone();
    }
    object
}

#[test]
fn upstream_style_vector_stores_parse_unchanged() {
    for text in [HELM_DEFAULT, KEYS_MODE, SEARCH, SEARCH_EMBEDDED] {
        assert_parses_unchanged::<VectorStore>(KIND, text);
    }
}

#[test]
fn parsed_examples_carry_typed_values() {
    let store: VectorStore = serde_saphyr::from_str(KEYS_MODE).unwrap();
    let auth = store.spec.inbound_auth.unwrap();
    assert_eq!(auth.mode, InboundAuthMode::Keys);
    let keys = auth.keys.unwrap();
    assert_eq!(keys[1].scopes, vec![KeyScope::Admin, KeyScope::Mint]);
    assert_eq!(keys[0].secret_ref.key, "layer-inbound-worker-api-key");

    let store: VectorStore = serde_saphyr::from_str(SEARCH_EMBEDDED).unwrap();
    assert_eq!(store.spec.kind, StoreKind::SearchEmbedded);
    assert_eq!(store.spec.kind.as_str(), "search-embedded");
    assert!(!StoreKind::Pinecone.is_implemented());
    assert!(StoreKind::SearchEmbedded.is_implemented());
}

#[test]
fn a_minimal_vector_store_gets_every_upstream_default() {
    let store: VectorStore = serde_json::from_value(minimal()).unwrap();
    assert!(!store.spec.default, "default: false");
    assert_eq!(store.spec.credential, None);
    assert_eq!(store.spec.inbound_auth, None);
    assert_eq!(store.spec.turbopuffer, None);
    assert_eq!(store.spec.search, None);
    assert_eq!(store.status, None);

    let store: VectorStore = serde_json::from_value(with_spec(json!({"inboundAuth": {}}))).unwrap();
    let auth = store.spec.inbound_auth.unwrap();
    assert_eq!(
        auth.mode,
        InboundAuthMode::DeriveFromStore,
        "inboundAuth.mode"
    );
    assert_eq!(auth.keys, None);

    let status: VectorStoreStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(status.reachable, None);
    assert_eq!(status.observed_generation, None);
    assert_eq!(status.conditions, vec![], "conditions: []");
}

#[test]
fn the_vector_store_crd_has_the_upstream_shape() {
    assert_eq!(
        printer_columns(KIND),
        [
            ("Default", "boolean", ".spec.default"),
            ("Kind", "string", ".spec.kind"),
            ("Region", "string", ".spec.endpoint.region"),
            ("Reachable", "boolean", ".status.reachable"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(required(KIND, "spec"), ["endpoint", "kind"]);
    assert_eq!(required(KIND, "spec.endpoint"), ["region", "url"]);
    assert_eq!(required(KIND, "spec.credential"), ["secretRef"]);
    assert_eq!(required(KIND, "spec.credential.secretRef"), ["key", "name"]);
    assert_eq!(
        required(KIND, "spec.inboundAuth.keys[]"),
        ["name", "scopes", "secretRef"]
    );
    assert_eq!(
        required(KIND, "spec.inboundAuth.keys[].secretRef"),
        ["key", "name"]
    );
    assert_eq!(required(KIND, "spec.turbopuffer"), ["orgId"]);
    assert_eq!(required(KIND, "spec.search.adminCredential"), ["secretRef"]);
    assert_eq!(required(KIND, "spec.inboundAuth"), Vec::<String>::new());
    assert_eq!(
        enum_values(KIND, "spec.kind"),
        ["turbopuffer", "pinecone", "search", "search-embedded"]
    );
    assert_eq!(
        enum_values(KIND, "spec.inboundAuth.mode"),
        ["deriveFromStore", "keys", "open"]
    );
    assert_eq!(
        enum_values(KIND, "spec.inboundAuth.keys[].scopes[]"),
        ["read", "write", "admin", "mint"]
    );
    assert_eq!(node(KIND, "spec.default")["default"], json!(false));
    assert_eq!(node(KIND, "spec.default")["type"], "boolean");
    assert_eq!(
        node(KIND, "spec.inboundAuth.mode")["default"],
        "deriveFromStore"
    );
    for path in [
        "spec.credential",
        "spec.inboundAuth",
        "spec.inboundAuth.keys",
        "spec.turbopuffer",
        "spec.search",
        "spec.search.adminCredential",
        "status",
        "status.reachable",
        "status.observedGeneration",
    ] {
        assert!(is_nullable(KIND, path), "{path} is nullable");
    }
    for path in [
        "spec.kind",
        "spec.default",
        "spec.endpoint",
        "spec.endpoint.url",
    ] {
        assert!(!is_nullable(KIND, path), "{path} is not nullable");
    }
    assert_eq!(node(KIND, "status.reachable")["type"], "boolean");
}

#[test]
fn a_blank_endpoint_url_fails_its_cel_rule() {
    assert_eq!(cel_failures(KIND, &minimal()), Vec::<String>::new());
    for url in ["", "   "] {
        let object = with_spec(json!({"endpoint": {"url": url, "region": "r"}}));
        assert_eq!(
            cel_failures(KIND, &object),
            ["spec.endpoint.url: endpoint.url must not be blank"]
        );
    }
}

#[test]
fn keys_mode_without_keys_fails_its_cel_rule() {
    let key = json!({"name": "k", "scopes": ["read"], "secretRef": {"name": "s", "key": "k"}});
    let ok = with_spec(json!({"inboundAuth": {"mode": "keys", "keys": [key]}}));
    assert_eq!(cel_failures(KIND, &ok), Vec::<String>::new());
    for auth in [json!({"mode": "keys"}), json!({"mode": "keys", "keys": []})] {
        let object = with_spec(json!({ "inboundAuth": auth }));
        assert_eq!(
            cel_failures(KIND, &object),
            [
                "spec.inboundAuth: inboundAuth.mode keys requires at least one entry in inboundAuth.keys"
            ]
        );
    }
    let open = with_spec(json!({"inboundAuth": {"mode": "open"}}));
    assert_eq!(cel_failures(KIND, &open), Vec::<String>::new());
}

#[test]
fn a_search_store_with_derive_from_store_fails_its_cel_rule_even_by_default() {
    let message = "spec: a VectorStore of kind search cannot use inboundAuth.mode deriveFromStore (the default); set inboundAuth.mode to keys or open";
    // No inboundAuth at all and an empty inboundAuth both mean deriveFromStore.
    for auth in [
        None,
        Some(json!({})),
        Some(json!({"mode": "deriveFromStore"})),
    ] {
        let mut object = with_spec(json!({"kind": "search"}));
        if let Some(auth) = auth {
            object["spec"]["inboundAuth"] = auth;
        }
        assert_eq!(cel_failures(KIND, &object), [message]);
    }
    let open = with_spec(json!({"kind": "search", "inboundAuth": {"mode": "open"}}));
    assert_eq!(cel_failures(KIND, &open), Vec::<String>::new());
    // The rule is about `search` only: other kinds may derive from the store.
    for kind in ["turbopuffer", "search-embedded"] {
        let object = with_spec(json!({ "kind": kind }));
        assert_eq!(cel_failures(KIND, &object), Vec::<String>::new());
    }
}

#[test]
fn serde_defaults_equal_schema_defaults_for_vector_stores() {
    assert_serde_defaults_match_schema::<VectorStore>(KIND, &minimal());
    assert_serde_defaults_match_schema::<VectorStore>(
        KIND,
        &with_spec(json!({"inboundAuth": {}, "search": {}})),
    );
    let mut with_status = minimal();
    with_status["status"] = json!({"reachable": false});
    assert_serde_defaults_match_schema::<VectorStore>(KIND, &with_status);
    for text in [HELM_DEFAULT, KEYS_MODE, SEARCH, SEARCH_EMBEDDED] {
        assert_serde_defaults_match_schema::<VectorStore>(KIND, &yaml(text));
    }
}

#[test]
fn a_minimal_vector_store_serializes_to_its_defaulted_form() {
    let expected = json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "VectorStore",
        "metadata": {"name": "s", "namespace": "layer"},
        "spec": {
            "kind": "turbopuffer",
            "default": false,
            "endpoint": {"url": "https://x", "region": "r"},
        },
    });
    assert_eq!(serde_round_trip::<VectorStore>(&minimal()), expected);
}

#[test]
fn an_unknown_spec_field_is_pruned_like_the_api_server_does() {
    let object = with_spec(json!({"pgvector": {"dsn": "x"}}));
    let out = serde_round_trip::<VectorStore>(&object);
    assert_eq!(out["spec"].get("pgvector"), None);
}

#[test]
fn pinecone_parses_because_the_schema_reserves_it() {
    let object = with_spec(json!({"kind": "pinecone"}));
    let store: VectorStore = serde_json::from_value(object).unwrap();
    assert_eq!(store.spec.kind, StoreKind::Pinecone);
}

#[test]
fn pgvector_is_not_a_store_kind() {
    let object = with_spec(json!({"kind": "pgvector"}));
    let err = serde_json::from_value::<VectorStore>(object).unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `pgvector`"),
        "{err}"
    );
}
