//! Function: examples, defaults, schema, CEL rules and serde/schema default agreement.

use serde_json::json;

use super::super::HevKind;
use super::super::function::{Function, FunctionStatus, Retry, Trigger};
use super::super::workload::{ComputeClass, Dispatch, ScalingMode, Schedule};
use super::*;

const KIND: HevKind = HevKind::Function;

/// The hev/chart event classifier: explicit target namespaces, a filter in array form, GPU.
const CHART_CLASSIFY: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata:
  name: chart-classify-events
  namespace: chart
spec:
  targetNamespaces: [chart-events]
  inputs: [id, text, event_type]
  version: v3
  filter: ["And", [["event_type", "Eq", "note"], ["text", "NotEq", ""]]]
  triggers: [discovery, write]
  retry:
    maxAttempts: 3
  worker:
    image: ghcr.io/hev/chart-classifier:0.4.2
    batchSize: 16
    timeoutSeconds: 300
    computeClass: gpu
    podSpec:
      containers:
        - name: udf
          env:
            - name: VLLM_MODEL
              value: Qwen/Qwen2.5-7B-Instruct
  scaling:
    pool: gpu
    mode: autoscale
    replicas:
      min: 0
      max: 2
    warmWindowSeconds: 600
"#;

/// The hev-shop hourly trending job: Index labels select the namespaces, a schedule trigger.
const SHOP_TRENDING: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata:
  name: trending
  namespace: hev-shop
spec:
  indexSelector:
    matchLabels:
      app: shop
  inputs: [id, views_7d]
  triggers: [schedule]
  schedule:
    cron: "15 * * * *"
    leaseSeconds: 1800
    maxConcurrentScans: 2
  worker:
    image: ghcr.io/hev/shop-udfs:2026.08.1
  scaling:
    pool: cpu
    replicas: {max: 1}
"#;

/// A paused push Function with the newer fields and the status upstream was seen writing.
const PAUSED_PUSH: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata:
  name: warm-blobs
  namespace: hev-shop
spec:
  targetNamespaces: [amazon-products]
  inputs: [id, image_url]
  invalidates: [image_url]
  paused: true
  groupByParent: true
  queriesPerItem: 3
  worker:
    image: ghcr.io/hev/shop-udfs:2026.08.1
    dispatch: push
    port: 8080
    url: http://warm-blobs.hev-shop.svc.cluster.local:8080/run
  scaling:
    mode: fixed
    replicas: {min: 1, max: 1}
status:
  activeNamespaces: [amazon-products]
  managedObjects:
    - {apiVersion: apps/v1, kind: Deployment, name: warm-blobs-worker}
    - {apiVersion: v1, kind: Service, name: warm-blobs-worker}
  observedGeneration: 7
  conditions:
    - type: Ready
      status: "True"
      reason: Paused
      message: Function spec.paused=true; deployment scaled to zero
"#;

fn minimal() -> serde_json::Value {
    json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "f", "namespace": "apps"},
        "spec": {
            "worker": {"image": "img"},
            "scaling": {"replicas": {"max": 1}},
        },
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
fn upstream_style_functions_parse_unchanged() {
    for text in [CHART_CLASSIFY, SHOP_TRENDING, PAUSED_PUSH] {
        assert_parses_unchanged::<Function>(KIND, text);
    }
}

#[test]
fn parsed_examples_carry_typed_values() {
    let f: Function = serde_saphyr::from_str(CHART_CLASSIFY).unwrap();
    assert_eq!(f.spec.triggers, [Trigger::Discovery, Trigger::Write]);
    assert_eq!(f.spec.filter.as_ref().unwrap()[0], "And");
    assert_eq!(
        f.spec.retry,
        Retry {
            initial_backoff_seconds: 5,
            max_attempts: 3,
            max_backoff_seconds: 300,
        }
    );
    assert_eq!(f.spec.worker.compute_class, ComputeClass::Gpu);

    let f: Function = serde_saphyr::from_str(SHOP_TRENDING).unwrap();
    assert_eq!(
        f.spec.index_selector.unwrap().raw()["matchLabels"]["app"],
        "shop"
    );
    assert_eq!(f.spec.schedule.cron.as_deref(), Some("15 * * * *"));
    assert_eq!(f.spec.schedule.discovery_interval_seconds, 60);

    let f: Function = serde_saphyr::from_str(PAUSED_PUSH).unwrap();
    assert!(f.spec.paused && f.spec.group_by_parent);
    assert_eq!(f.spec.queries_per_item, Some(3));
    assert_eq!(f.spec.worker.dispatch, Dispatch::Push);
    let status = f.status.unwrap();
    assert_eq!(status.queue_depth, None);
    assert_eq!(status.conditions[0].reason.as_deref(), Some("Paused"));
}

#[test]
fn a_minimal_function_gets_every_upstream_default() {
    let f: Function = serde_json::from_value(minimal()).unwrap();
    let spec = f.spec;
    assert_eq!(
        spec.target_namespaces,
        Vec::<String>::new(),
        "targetNamespaces: []"
    );
    assert_eq!(spec.index_selector, None, "indexSelector: none");
    assert_eq!(spec.inputs, Vec::<String>::new(), "inputs: []");
    assert_eq!(spec.version, "v1", "version: v1");
    assert_eq!(spec.filter, None, "filter: none");
    assert_eq!(spec.invalidates, Vec::<String>::new(), "invalidates: []");
    assert_eq!(spec.triggers, [Trigger::Discovery], "triggers: [discovery]");
    assert_eq!(
        spec.schedule,
        Schedule {
            cron: None,
            discovery_interval_seconds: 60,
            lease_seconds: 120,
            max_concurrent_scans: 4,
            max_in_flight_batches: 8,
        },
        "schedule block default"
    );
    assert_eq!(
        spec.retry,
        Retry {
            initial_backoff_seconds: 5,
            max_attempts: 8,
            max_backoff_seconds: 300,
        },
        "retry block default"
    );
    assert!(!spec.paused, "paused: false");
    assert!(!spec.group_by_parent, "groupByParent: false");
    assert_eq!(spec.queries_per_item, None, "queriesPerItem: none");
    assert_eq!(spec.worker.batch_size, 32, "worker.batchSize");
    assert_eq!(spec.worker.timeout_seconds, 30, "worker.timeoutSeconds");
    assert_eq!(
        spec.worker.compute_class,
        ComputeClass::Cpu,
        "worker.computeClass"
    );
    assert_eq!(spec.worker.dispatch, Dispatch::Pull, "worker.dispatch");
    assert_eq!(spec.scaling.mode, ScalingMode::Autoscale, "scaling.mode");
    assert_eq!(spec.scaling.replicas.min, 0, "scaling.replicas.min");

    // Field defaults inside partly written blocks.
    let f: Function = serde_json::from_value(with_spec(json!({
        "schedule": {"cron": "0 3 * * *"},
        "retry": {"maxBackoffSeconds": 60},
    })))
    .unwrap();
    assert_eq!(f.spec.schedule.lease_seconds, 120, "schedule.leaseSeconds");
    assert_eq!(f.spec.retry.max_attempts, 8, "retry.maxAttempts");
    assert_eq!(
        f.spec.retry.initial_backoff_seconds, 5,
        "retry.initialBackoffSeconds"
    );

    let status: FunctionStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        status.active_namespaces,
        Vec::<String>::new(),
        "activeNamespaces: []"
    );
    assert_eq!(status.conditions, vec![], "conditions: []");
    assert_eq!(status.queue_depth, None);
    assert_eq!(status.managed_objects, vec![], "managedObjects: []");
}

#[test]
fn the_function_crd_has_the_upstream_shape() {
    assert_eq!(
        printer_columns(KIND),
        [
            ("Version", "string", ".spec.version"),
            ("Pool", "string", ".spec.scaling.pool"),
            ("Image", "string", ".spec.worker.image"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(required(KIND, "spec"), ["scaling", "worker"]);
    assert_eq!(required(KIND, "spec.schedule"), Vec::<String>::new());
    assert_eq!(required(KIND, "spec.retry"), Vec::<String>::new());
    assert_eq!(
        enum_values(KIND, "spec.triggers[]"),
        ["discovery", "write", "schedule"]
    );
    assert_eq!(node(KIND, "spec.targetNamespaces")["default"], json!([]));
    assert_eq!(node(KIND, "spec.inputs")["default"], json!([]));
    assert_eq!(node(KIND, "spec.invalidates")["default"], json!([]));
    assert_eq!(node(KIND, "spec.version")["default"], "v1");
    assert_eq!(node(KIND, "spec.triggers")["default"], json!(["discovery"]));
    assert_eq!(
        node(KIND, "spec.schedule")["default"],
        json!({
            "discoveryIntervalSeconds": 60,
            "leaseSeconds": 120,
            "maxConcurrentScans": 4,
            "maxInFlightBatches": 8,
        })
    );
    assert_eq!(
        node(KIND, "spec.retry")["default"],
        json!({"initialBackoffSeconds": 5, "maxAttempts": 8, "maxBackoffSeconds": 300})
    );
    assert_eq!(node(KIND, "spec.retry.maxAttempts")["default"], 8);
    assert_eq!(node(KIND, "spec.retry.initialBackoffSeconds")["default"], 5);
    assert_eq!(node(KIND, "spec.retry.maxBackoffSeconds")["default"], 300);
    assert_eq!(node(KIND, "spec.retry.maxAttempts")["format"], "int32");
    assert_eq!(node(KIND, "spec.paused")["default"], false);
    assert_eq!(node(KIND, "spec.groupByParent")["default"], false);
    assert_eq!(node(KIND, "spec.queriesPerItem")["format"], "uint32");
    assert_eq!(node(KIND, "status.activeNamespaces")["default"], json!([]));
    assert_eq!(node(KIND, "status.queueDepth")["format"], "int64");
    assert_eq!(node(KIND, "status.queueDepth")["type"], "integer");

    assert!(preserves_unknown(KIND, "spec.indexSelector"));
    assert_eq!(node(KIND, "spec.indexSelector")["type"], "object");
    assert!(preserves_unknown(KIND, "spec.filter"));
    assert_eq!(
        node(KIND, "spec.filter").get("type"),
        None,
        "filter takes any JSON"
    );
    assert!(preserves_unknown(KIND, "spec.worker.podSpec"));
    for path in [
        "spec.indexSelector",
        "spec.filter",
        "spec.queriesPerItem",
        "spec.schedule.cron",
        "status.queueDepth",
    ] {
        assert!(is_nullable(KIND, path), "{path} is nullable");
    }
    for path in [
        "spec.schedule",
        "spec.retry",
        "spec.triggers",
        "spec.targetNamespaces",
        "status.activeNamespaces",
    ] {
        assert!(!is_nullable(KIND, path), "{path} is not nullable");
    }
}

#[test]
fn function_replicas_and_cron_rules_fail_with_their_messages() {
    assert_eq!(cel_failures(KIND, &minimal()), Vec::<String>::new());
    let object = with_spec(json!({
        "schedule": {"cron": "*/10 * * * *"},
        "scaling": {"replicas": {"min": 2, "max": 1}},
    }));
    let mut failures = cel_failures(KIND, &object);
    failures.sort();
    assert_eq!(
        failures,
        [
            "spec.scaling.replicas: replicas.min must not be greater than replicas.max",
            "spec.schedule.cron: schedule.cron must have five space-separated fields and its minute field must be a single integer from 0 to 59",
        ]
    );
    let ok = with_spec(json!({"schedule": {"cron": "0 */6 * * *"}, "triggers": ["schedule"]}));
    assert_eq!(cel_failures(KIND, &ok), Vec::<String>::new());
}

#[test]
fn serde_defaults_equal_schema_defaults_for_functions() {
    assert_serde_defaults_match_schema::<Function>(KIND, &minimal());
    assert_serde_defaults_match_schema::<Function>(
        KIND,
        &with_spec(json!({"schedule": {}, "retry": {}, "filter": {"a": [1, null]}})),
    );
    let mut with_status = minimal();
    with_status["status"] = json!({"queueDepth": 12});
    assert_serde_defaults_match_schema::<Function>(KIND, &with_status);
    for text in [CHART_CLASSIFY, SHOP_TRENDING, PAUSED_PUSH] {
        assert_serde_defaults_match_schema::<Function>(KIND, &yaml(text));
    }
}

#[test]
fn a_minimal_function_serializes_to_its_defaulted_form() {
    let expected = json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "f", "namespace": "apps"},
        "spec": {
            "targetNamespaces": [],
            "inputs": [],
            "version": "v1",
            "invalidates": [],
            "triggers": ["discovery"],
            "schedule": {
                "discoveryIntervalSeconds": 60,
                "leaseSeconds": 120,
                "maxConcurrentScans": 4,
                "maxInFlightBatches": 8,
            },
            "retry": {"initialBackoffSeconds": 5, "maxAttempts": 8, "maxBackoffSeconds": 300},
            "paused": false,
            "worker": {
                "image": "img",
                "batchSize": 32,
                "timeoutSeconds": 30,
                "computeClass": "cpu",
                "dispatch": "pull",
            },
            "scaling": {"mode": "autoscale", "replicas": {"min": 0, "max": 1}},
            "groupByParent": false,
        },
    });
    assert_eq!(serde_round_trip::<Function>(&minimal()), expected);
}

#[test]
fn the_old_docs_output_block_is_pruned_like_the_api_server_does() {
    let object = with_spec(json!({
        "output": {"attribute": "tags", "kind": "tags", "version": "v1"},
    }));
    let out = serde_round_trip::<Function>(&object);
    assert_eq!(out["spec"].get("output"), None);
}

#[test]
fn an_unknown_trigger_is_rejected() {
    let object = with_spec(json!({"triggers": ["cron"]}));
    let err = serde_json::from_value::<Function>(object).unwrap_err();
    assert!(err.to_string().contains("unknown variant `cron`"), "{err}");
}
