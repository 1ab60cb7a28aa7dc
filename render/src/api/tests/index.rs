//! Index: examples, defaults, schema, and serde/schema default agreement.

use std::collections::BTreeMap;

use serde_json::json;

use super::super::HevKind;
use super::super::index::{
    CacheMode, Consistency, Index, IndexMetadata, IndexStatus, Scan, Search, Snapshot,
};
use super::*;

const KIND: HevKind = HevKind::Index;

/// The hev-shop product index, with every field set.
const AMAZON_PRODUCTS: &str = r#"
apiVersion: hevlayer.com/v1
kind: Index
metadata:
  name: amazon-products
  namespace: layer
spec:
  backend:
    storeRef: turbopuffer-default
    namespace: amazon-products
    distanceMetric: cosine_distance
  blobs:
    referenceAttributes: [image_blob]
  cache:
    ttl: 24h
    capGiB: 50
    mode: standard
  consistency: eventual
  embedding:
    model: text-embedding-3-small
    normalization: l2
    outputDim: 1536
  metadata:
    labels:
      app: shop
    annotations:
      owner: shop-team
    tags: [products, catalog]
  scan:
    threads: 16
  search:
    fullText: true
  snapshot:
    facetFields: [category, brand, store]
    interval: 10m
    retention: 30d
"#;

/// An Index as namespace discovery creates it: backend, blobs and consistency, no snapshot.
const DISCOVERED: &str = r#"
apiVersion: hevlayer.com/v1
kind: Index
metadata:
  name: shop-products-7d9f38a6
  namespace: layer
  annotations:
    hevlayer.com/discovered: "true"
spec:
  backend:
    namespace: Shop/Products
  blobs:
    referenceAttributes: []
  consistency: strong
status:
  observedGeneration: 1
  metadata:
    synced: true
    lastSyncedRevision: "42"
  snapshot:
    lastRun: "2026-08-20T10:00:00Z"
    lastSuccess: "2026-08-20T10:00:00Z"
  conditions:
    - type: Ready
      status: "True"
"#;

/// A staging index with a capped cache and a euclidean metric.
const STAGING: &str = r#"
apiVersion: hevlayer.com/v1
kind: Index
metadata:
  name: products-2026
  namespace: layer
spec:
  backend:
    distanceMetric: euclidean_squared
  cache:
    ttl: 1h
    mode: staging
  snapshot:
    facetFields: [category]
"#;

fn minimal() -> serde_json::Value {
    json!({
        "apiVersion": "hevlayer.com/v1",
        "kind": "Index",
        "metadata": {"name": "i", "namespace": "layer"},
        "spec": {"backend": {}},
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
fn upstream_style_indexes_parse_unchanged() {
    for text in [AMAZON_PRODUCTS, DISCOVERED, STAGING] {
        assert_parses_unchanged::<Index>(KIND, text);
    }
}

#[test]
fn parsed_examples_carry_typed_values() {
    let index: Index = serde_saphyr::from_str(AMAZON_PRODUCTS).unwrap();
    let cache = index.spec.cache.unwrap();
    assert_eq!(cache.cap_gib, Some(50));
    assert_eq!(cache.mode, CacheMode::Standard);
    assert_eq!(index.spec.embedding.unwrap().output_dim, 1536);
    assert_eq!(
        index.spec.metadata.tags,
        Some(vec!["products".into(), "catalog".into()])
    );

    let index: Index = serde_saphyr::from_str(DISCOVERED).unwrap();
    assert_eq!(index.spec.consistency, Consistency::Strong);
    let status = index.status.unwrap();
    assert!(status.metadata.unwrap().synced);
    assert_eq!(
        status.snapshot.unwrap().last_run.as_deref(),
        Some("2026-08-20T10:00:00Z")
    );
}

#[test]
fn a_minimal_index_gets_every_upstream_default() {
    let index: Index = serde_json::from_value(minimal()).unwrap();
    let spec = index.spec;
    assert_eq!(spec.backend.store_ref, None, "backend.storeRef: none");
    assert_eq!(spec.backend.namespace, None, "backend.namespace: none");
    assert_eq!(
        spec.backend.distance_metric, "cosine_distance",
        "backend.distanceMetric"
    );
    assert_eq!(spec.blobs, None, "blobs: none");
    assert_eq!(spec.cache, None, "cache: none");
    assert_eq!(spec.consistency, Consistency::Eventual, "consistency");
    assert_eq!(spec.embedding, None, "embedding: none");
    assert_eq!(
        spec.metadata,
        IndexMetadata {
            annotations: BTreeMap::new(),
            labels: BTreeMap::new(),
            tags: None,
        },
        "metadata: {{annotations: {{}}, labels: {{}}}}"
    );
    // `scan` and `search` have no default of their own: absent, they mean their inner defaults.
    assert_eq!(
        (&spec.scan, &spec.search),
        (&None, &None),
        "scan, search: none"
    );
    assert_eq!(spec.scan(), Scan { threads: 8 }, "scan.threads");
    assert_eq!(
        spec.search(),
        Search { full_text: false },
        "search.fullText"
    );
    assert_eq!(spec.snapshot, None, "snapshot: none");

    // Defaults inside optional blocks apply once the block is present.
    let index: Index = serde_json::from_value(with_spec(json!({
        "blobs": {},
        "cache": {"ttl": "24h"},
        "snapshot": {},
        "metadata": {"tags": ["a"]},
    })))
    .unwrap();
    let spec = index.spec;
    assert_eq!(
        spec.blobs.unwrap().reference_attributes,
        Vec::<String>::new(),
        "blobs.referenceAttributes"
    );
    let cache = spec.cache.unwrap();
    assert_eq!(cache.mode, CacheMode::Standard, "cache.mode");
    assert_eq!(cache.cap_gib, None, "cache.capGiB: none");
    assert_eq!(
        spec.snapshot.unwrap(),
        Snapshot {
            facet_fields: vec![],
            interval: "5m".into(),
            retention: "never".into(),
        },
        "snapshot.facetFields, interval, retention"
    );
    assert_eq!(spec.metadata.labels, BTreeMap::new(), "metadata.labels");
    assert_eq!(
        spec.metadata.annotations,
        BTreeMap::new(),
        "metadata.annotations"
    );

    let status: IndexStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(status, IndexStatus::default());
    assert_eq!(status.conditions, vec![], "conditions: []");
}

#[test]
fn the_index_crd_has_the_upstream_shape() {
    assert_eq!(
        printer_columns(KIND),
        [
            ("Store", "string", ".spec.backend.storeRef"),
            ("Metric", "string", ".spec.backend.distanceMetric"),
            ("Cache", "string", ".spec.cache.mode"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(required(KIND, "spec"), ["backend"]);
    assert_eq!(required(KIND, "spec.backend"), Vec::<String>::new());
    assert_eq!(required(KIND, "spec.cache"), ["ttl"]);
    assert_eq!(
        required(KIND, "spec.embedding"),
        ["model", "normalization", "outputDim"]
    );
    assert_eq!(required(KIND, "status.metadata"), ["synced"]);
    assert_eq!(
        enum_values(KIND, "spec.cache.mode"),
        ["standard", "staging"]
    );
    assert_eq!(
        enum_values(KIND, "spec.consistency"),
        ["eventual", "strong"]
    );
    assert_eq!(
        node(KIND, "spec.backend.distanceMetric")["default"],
        "cosine_distance"
    );
    assert_eq!(node(KIND, "spec.backend.distanceMetric").get("enum"), None);
    assert_eq!(
        node(KIND, "spec.blobs.referenceAttributes")["default"],
        json!([])
    );
    assert_eq!(node(KIND, "spec.cache.mode")["default"], "standard");
    assert_eq!(node(KIND, "spec.cache.capGiB")["format"], "uint64");
    assert_eq!(node(KIND, "spec.cache.capGiB")["minimum"], json!(0.0));
    assert_eq!(node(KIND, "spec.consistency")["default"], "eventual");
    assert_eq!(node(KIND, "spec.embedding.outputDim")["format"], "uint32");
    assert_eq!(
        node(KIND, "spec.metadata")["default"],
        json!({"annotations": {}, "labels": {}})
    );
    assert_eq!(node(KIND, "spec.metadata.labels")["default"], json!({}));
    assert_eq!(
        node(KIND, "spec.metadata.annotations")["default"],
        json!({})
    );
    assert_eq!(
        node(KIND, "spec.metadata.labels")["additionalProperties"],
        json!({"type": "string"})
    );
    assert_eq!(node(KIND, "spec.scan.threads")["default"], 8);
    assert_eq!(node(KIND, "spec.scan.threads")["format"], "int32");
    assert_eq!(node(KIND, "spec.search.fullText")["default"], false);
    assert_eq!(
        node(KIND, "spec.snapshot.facetFields")["default"],
        json!([])
    );
    assert_eq!(node(KIND, "spec.snapshot.interval")["default"], "5m");
    assert_eq!(node(KIND, "spec.snapshot.retention")["default"], "never");
    for path in [
        "spec.backend.storeRef",
        "spec.backend.namespace",
        "spec.blobs",
        "spec.cache",
        "spec.cache.capGiB",
        "spec.embedding",
        "spec.metadata.tags",
        "spec.scan",
        "spec.search",
        "spec.snapshot",
        "status.observedGeneration",
        "status.metadata",
        "status.metadata.lastSyncedRevision",
        "status.snapshot",
        "status.snapshot.lastRun",
        "status.snapshot.lastSuccess",
    ] {
        assert!(is_nullable(KIND, path), "{path} is nullable");
    }
    for path in [
        "spec.backend",
        "spec.metadata",
        "spec.consistency",
        "status.metadata.synced",
    ] {
        assert!(!is_nullable(KIND, path), "{path} is not nullable");
    }
}

#[test]
fn serde_defaults_equal_schema_defaults_for_indexes() {
    assert_serde_defaults_match_schema::<Index>(KIND, &minimal());
    assert_serde_defaults_match_schema::<Index>(
        KIND,
        &with_spec(json!({
            "blobs": {},
            "cache": {"ttl": "1h"},
            "snapshot": {},
            "metadata": {},
            "scan": {},
            "search": {},
        })),
    );
    let mut with_status = minimal();
    with_status["status"] = json!({"metadata": {"synced": false}});
    assert_serde_defaults_match_schema::<Index>(KIND, &with_status);
    for text in [AMAZON_PRODUCTS, DISCOVERED, STAGING] {
        assert_serde_defaults_match_schema::<Index>(KIND, &yaml(text));
    }
}

#[test]
fn a_minimal_index_serializes_to_its_defaulted_form() {
    let expected = json!({
        "apiVersion": "hevlayer.com/v1",
        "kind": "Index",
        "metadata": {"name": "i", "namespace": "layer"},
        "spec": {
            "backend": {"distanceMetric": "cosine_distance"},
            "consistency": "eventual",
            "metadata": {"annotations": {}, "labels": {}},
        },
    });
    assert_eq!(serde_round_trip::<Index>(&minimal()), expected);
}

#[test]
fn old_docs_index_fields_are_pruned_like_the_api_server_does() {
    let object = with_spec(json!({
        "backend": {"kind": "turbopuffer", "region": "aws-us-east-1"},
        "cache": {"ttl": "24h", "warming": {"threads": 4}},
    }));
    let out = serde_round_trip::<Index>(&object);
    assert_eq!(
        out["spec"]["backend"],
        json!({"distanceMetric": "cosine_distance"})
    );
    assert_eq!(
        out["spec"]["cache"],
        json!({"ttl": "24h", "mode": "standard"})
    );
}
