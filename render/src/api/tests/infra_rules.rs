//! InfraRules: examples, defaults, schema, CEL rules and serde/schema default agreement.

use serde_json::json;

use super::super::HevKind;
use super::super::infra_rules::{DocumentCacheMode, InfraRules, InfraRulesStatus};
use super::super::workload::ScalingMode;
use super::*;

const KIND: HevKind = HevKind::InfraRules;

/// `InfraRules/default` with the three pools of upstream spec section 4.3, verbatim, and the
/// DOCS-new document cache of section 4.4.
const DEFAULT_POOLS: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata:
  name: default
spec:
  computePools:
    - name: cpu
      kind: cpu
      maxReplicasPerWorkload: 32
      nodeSelector:
        layer.hev.dev/node-role: worker-cpu
        layer.hev.dev/compute: cpu
      tolerations:
        - key: layer.hev.dev/node-role
          operator: Equal
          value: worker-cpu
          effect: NoSchedule
      resources:
        requests:
          cpu: "1"
          memory: 2Gi
        limits:
          cpu: "2"
          memory: 4Gi
    - name: cpu-large
      kind: cpu
      maxReplicasPerWorkload: 8
      nodeSelector:
        layer.hev.dev/node-role: worker-cpu
        layer.hev.dev/compute: cpu
      tolerations:
        - key: layer.hev.dev/node-role
          operator: Equal
          value: worker-cpu
          effect: NoSchedule
      resources:
        requests:
          cpu: "1"
          memory: 2Gi
          ephemeral-storage: 35Gi
        limits:
          cpu: "4"
          memory: 4Gi
          ephemeral-storage: 40Gi
    - name: gpu
      kind: gpu
      maxReplicasPerWorkload: 4
      nodeSelector:
        layer.hev.dev/node-role: worker-gpu
        layer.hev.dev/compute: gpu
      tolerations:
        - key: layer.hev.dev/node-role
          operator: Equal
          value: worker-gpu
          effect: NoSchedule
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
      resources:
        requests:
          cpu: 250m
          memory: 4Gi
          nvidia.com/gpu: "1"
        limits:
          cpu: "2"
          memory: 10Gi
          nvidia.com/gpu: "1"
  documentCache:
    capGiB: 256
    replicationFactor: 1
    scaling:
      mode: autoscale
      nodes:
        min: 0
        max: 1
"#;

/// The old docs' single-pool example (section 4.3, last paragraph) with the old cache example.
const OLD_DOCS: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata:
  name: default
spec:
  computePools:
    - name: cpu
      kind: cpu
      maxReplicasPerWorkload: 20
      nodeSelector:
        karpenter.sh/nodepool: cpu
      tolerations: []
      resources:
        requests:
          cpu: 500m
          memory: 512Mi
        limits:
          memory: 1Gi
  documentCache:
    capGiB: 256
    replicationFactor: 1
    scaling:
      mode: autoscale
      nodes: {min: 1, max: 3}
"#;

/// The newer CRD's embedders and OCR servers, with their status.
const MODEL_SERVERS: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata:
  name: default
spec:
  computePools:
    - name: gpu
      kind: gpu
      gpuType: nvidia-a10g
      maxReplicasPerWorkload: 4
  embedders:
    - name: bge
      model: BAAI/bge-large-en-v1.5
      image: ghcr.io/example/bge-server:1.2.0
      dims: 1024
      maxInputTokens: 512
      scaling:
        pool: gpu
        mode: autoscale
        replicas: {min: 1, max: 2}
  ocr:
    - name: docs
      backend: paddle
      image: ghcr.io/example/ocr:0.3.0
      port: 9000
      scaling:
        pool: gpu
        mode: fixed
        replicas: {min: 1, max: 1}
status:
  poolCount: 1
  documentCache:
    nodes: 1/1
  embedders:
    - name: bge
      model: BAAI/bge-large-en-v1.5
      image: ghcr.io/example/bge-server:1.2.0
      endpoint: http://bge-embedder.layer.svc.cluster.local:8080
      imageDigest: sha256:0123456789abcdef
      conditions:
        - type: Ready
          status: "True"
  ocr:
    - name: docs
      backend: paddle
      endpoint: http://docs-ocr.layer.svc.cluster.local:9000
  observedGeneration: 2
  conditions: []
"#;

fn minimal() -> serde_json::Value {
    json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "InfraRules",
        "metadata": {"name": "default"},
        "spec": {},
    })
}

fn with_spec(patch: serde_json::Value) -> serde_json::Value {
    let mut object = minimal();
    for (k, v) in patch.as_object().unwrap() {
        object["spec"][k] = v.clone();
    }
    object
}

fn cache(min: i32, max: i32) -> serde_json::Value {
    json!({"capGiB": 64, "replicationFactor": 1, "scaling": {"nodes": {"min": min, "max": max}}})
}

#[test]
fn upstream_style_infra_rules_parse_unchanged() {
    for text in [DEFAULT_POOLS, OLD_DOCS, MODEL_SERVERS] {
        assert_parses_unchanged::<InfraRules>(KIND, text);
    }
}

#[test]
fn the_default_pools_parse_with_their_exact_values() {
    let rules: InfraRules = serde_saphyr::from_str(DEFAULT_POOLS).unwrap();
    let pools = &rules.spec.compute_pools;
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["cpu", "cpu-large", "gpu"]);
    let ceilings: Vec<i32> = pools.iter().map(|p| p.max_replicas_per_workload).collect();
    assert_eq!(ceilings, [32, 8, 4]);
    let gpu = &pools[2];
    assert_eq!(gpu.kind, "gpu");
    assert_eq!(gpu.gpu_type, None);
    assert_eq!(
        gpu.node_selector.as_ref().unwrap()["layer.hev.dev/node-role"],
        "worker-gpu"
    );
    assert_eq!(
        serde_json::to_value(gpu.tolerations.as_ref().unwrap()).unwrap(),
        json!([
            {"key": "layer.hev.dev/node-role", "operator": "Equal", "value": "worker-gpu", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        ])
    );
    assert_eq!(
        serde_json::to_value(gpu.resources.as_ref().unwrap()).unwrap(),
        json!({
            "requests": {"cpu": "250m", "memory": "4Gi", "nvidia.com/gpu": "1"},
            "limits": {"cpu": "2", "memory": "10Gi", "nvidia.com/gpu": "1"},
        })
    );
    let cache = rules.spec.document_cache.unwrap();
    assert_eq!((cache.cap_gib, cache.replication_factor), (256, 1));
    assert_eq!((cache.scaling.nodes.min, cache.scaling.nodes.max), (0, 1));
}

#[test]
fn a_minimal_infra_rules_gets_every_upstream_default() {
    let rules: InfraRules = serde_json::from_value(minimal()).unwrap();
    assert_eq!(rules.spec.compute_pools, vec![], "computePools: []");
    assert_eq!(rules.spec.document_cache, None, "documentCache: none");
    assert_eq!(rules.spec.embedders, None);
    assert_eq!(rules.spec.ocr, None);

    let server_scaling = json!({"replicas": {"max": 1}});
    let rules: InfraRules = serde_json::from_value(with_spec(json!({
        "computePools": [{"name": "p", "kind": "cpu", "maxReplicasPerWorkload": 3}],
        "documentCache": cache(1, 1),
        "embedders": [{"name": "e", "model": "m", "image": "i", "scaling": server_scaling}],
        "ocr": [{"name": "o", "backend": "b", "image": "i", "scaling": server_scaling}],
    })))
    .unwrap();
    let pool = &rules.spec.compute_pools[0];
    assert_eq!(pool.gpu_type, None);
    assert_eq!(pool.node_selector, None);
    assert_eq!(pool.tolerations, None);
    assert_eq!(pool.resources, None);
    let cache = rules.spec.document_cache.unwrap();
    assert_eq!(
        cache.scaling.mode,
        DocumentCacheMode::Autoscale,
        "documentCache.scaling.mode"
    );
    let embedder = &rules.spec.embedders.unwrap()[0];
    assert_eq!(embedder.port, 8080, "embedders[].port");
    assert_eq!(embedder.dims, None);
    assert_eq!(embedder.scaling.mode, ScalingMode::Autoscale);
    assert_eq!(embedder.scaling.replicas.min, 0);
    assert_eq!(rules.spec.ocr.unwrap()[0].port, 8080, "ocr[].port");

    let status: InfraRulesStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(status.pool_count, 0, "poolCount: 0");
    assert_eq!(status.conditions, vec![], "conditions: []");
    assert_eq!(status.document_cache, None);
    assert_eq!(status.observed_generation, None);
}

#[test]
fn the_infra_rules_crd_has_the_upstream_shape() {
    assert_eq!(
        printer_columns(KIND),
        [
            ("Pools", "integer", ".status.poolCount"),
            ("CacheNodes", "string", ".status.documentCache.nodes"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(crd_json(KIND)["spec"]["scope"], "Cluster");
    assert_eq!(required(KIND, "spec"), Vec::<String>::new());
    assert_eq!(
        required(KIND, "spec.computePools[]"),
        ["kind", "maxReplicasPerWorkload", "name"]
    );
    assert_eq!(
        required(KIND, "spec.documentCache"),
        ["capGiB", "replicationFactor", "scaling"]
    );
    assert_eq!(required(KIND, "spec.documentCache.scaling"), ["nodes"]);
    assert_eq!(
        required(KIND, "spec.documentCache.scaling.nodes"),
        ["max", "min"]
    );
    assert_eq!(
        required(KIND, "spec.embedders[]"),
        ["image", "model", "name", "scaling"]
    );
    assert_eq!(
        required(KIND, "spec.ocr[]"),
        ["backend", "image", "name", "scaling"]
    );
    assert_eq!(required(KIND, "status.embedders[]"), ["name"]);
    assert_eq!(required(KIND, "status.ocr[]"), ["name"]);
    assert_eq!(
        enum_values(KIND, "spec.documentCache.scaling.mode"),
        ["autoscale", "fixed"]
    );
    assert_eq!(
        node(KIND, "spec.documentCache.scaling.mode")["default"],
        "autoscale"
    );
    assert_eq!(node(KIND, "spec.computePools")["default"], json!([]));
    assert_eq!(node(KIND, "spec.computePools[].kind").get("enum"), None);
    assert_eq!(
        node(KIND, "spec.computePools[].maxReplicasPerWorkload")["format"],
        "int32"
    );
    assert_eq!(node(KIND, "spec.documentCache.capGiB")["format"], "uint64");
    assert_eq!(
        node(KIND, "spec.documentCache.replicationFactor")["format"],
        "int32"
    );
    assert_eq!(node(KIND, "spec.embedders[].port")["default"], 8080);
    assert_eq!(node(KIND, "spec.ocr[].port")["default"], 8080);
    assert_eq!(node(KIND, "status.poolCount")["default"], 0);
    assert_eq!(node(KIND, "status.poolCount")["type"], "integer");
    assert_eq!(node(KIND, "status.poolCount")["format"], "uint");
    assert_eq!(
        node(KIND, "status.embedders[].conditions")["default"],
        json!([])
    );
    assert_eq!(
        node(KIND, "spec.computePools[].nodeSelector")["additionalProperties"],
        json!({"type": "string"})
    );
    assert!(preserves_unknown(KIND, "spec.computePools[].resources"));
    assert_eq!(
        node(KIND, "spec.computePools[].resources")["type"],
        "object"
    );
    assert!(preserves_unknown(KIND, "spec.computePools[].tolerations[]"));
    assert_eq!(
        node(KIND, "spec.computePools[].tolerations[]")["type"],
        "object"
    );
    assert!(!preserves_unknown(KIND, "spec.computePools[]"));
    for path in [
        "spec.computePools[].gpuType",
        "spec.computePools[].nodeSelector",
        "spec.computePools[].tolerations",
        "spec.computePools[].resources",
        "spec.documentCache",
        "spec.embedders",
        "spec.ocr",
        "status.documentCache",
        "status.documentCache.nodes",
        "status.embedders",
        "status.ocr",
    ] {
        assert!(is_nullable(KIND, path), "{path} is nullable");
    }
    assert!(!is_nullable(KIND, "spec.computePools"));
    assert!(!is_nullable(KIND, "status.poolCount"));
}

#[test]
fn infra_rules_must_be_named_default() {
    assert_eq!(cel_failures(KIND, &minimal()), Vec::<String>::new());
    let mut other = minimal();
    other["metadata"]["name"] = json!("custom");
    assert_eq!(
        cel_failures(KIND, &other),
        [": InfraRules must be named default"]
    );
}

#[test]
fn document_cache_nodes_min_above_max_fails_its_cel_rule() {
    for (min, max) in [(0, 1), (1, 1)] {
        let object = with_spec(json!({ "documentCache": cache(min, max) }));
        assert_eq!(cel_failures(KIND, &object), Vec::<String>::new());
    }
    let object = with_spec(json!({ "documentCache": cache(2, 1) }));
    assert_eq!(
        cel_failures(KIND, &object),
        [
            "spec.documentCache.scaling.nodes: documentCache.scaling.nodes.min must not be greater than nodes.max"
        ]
    );
}

#[test]
fn an_embedder_replica_range_upside_down_fails_its_cel_rule() {
    let object = with_spec(json!({
        "embedders": [{"name": "e", "model": "m", "image": "i", "scaling": {"replicas": {"min": 3, "max": 2}}}],
    }));
    assert_eq!(
        cel_failures(KIND, &object),
        ["spec.embedders[0].scaling.replicas: replicas.min must not be greater than replicas.max"]
    );
}

#[test]
fn serde_defaults_equal_schema_defaults_for_infra_rules() {
    assert_serde_defaults_match_schema::<InfraRules>(KIND, &minimal());
    let scaling = json!({"replicas": {"max": 1}});
    assert_serde_defaults_match_schema::<InfraRules>(
        KIND,
        &with_spec(json!({
            "documentCache": cache(0, 1),
            "embedders": [{"name": "e", "model": "m", "image": "i", "scaling": scaling}],
            "ocr": [{"name": "o", "backend": "b", "image": "i", "scaling": scaling}],
        })),
    );
    let mut with_status = minimal();
    with_status["status"] = json!({"embedders": [{"name": "e"}], "ocr": [{"name": "o"}]});
    assert_serde_defaults_match_schema::<InfraRules>(KIND, &with_status);
    for text in [DEFAULT_POOLS, OLD_DOCS, MODEL_SERVERS] {
        assert_serde_defaults_match_schema::<InfraRules>(KIND, &yaml(text));
    }
}

#[test]
fn a_minimal_infra_rules_serializes_to_its_defaulted_form() {
    let mut expected = minimal();
    expected["spec"] = json!({"computePools": []});
    assert_eq!(serde_round_trip::<InfraRules>(&minimal()), expected);
    let mut with_status = minimal();
    with_status["status"] = json!({});
    let mut expected_status = expected.clone();
    expected_status["status"] = json!({"poolCount": 0, "conditions": []});
    assert_eq!(
        serde_round_trip::<InfraRules>(&with_status),
        expected_status
    );
}

#[test]
fn pool_tolerations_and_resources_keep_unknown_keys() {
    let object = with_spec(json!({"computePools": [{
        "name": "p", "kind": "cpu", "maxReplicasPerWorkload": 1,
        "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 30, "x-extra": {"a": 1}}],
        "resources": {"claims": [{"name": "gpu"}], "requests": {"cpu": 1}},
    }]}));
    assert_eq!(serde_round_trip::<InfraRules>(&object), object);
}
