//! Pipeline: examples, defaults, schema, CEL rules and serde/schema default agreement.

use serde_json::json;

use super::super::HevKind;
use super::super::pipeline::{PaginationKind, Pipeline, PipelineStatus};
use super::super::workload::{ComputeClass, Dispatch, ScalingMode, Schedule};
use super::*;

const KIND: HevKind = HevKind::Pipeline;

/// The hev-shop embed stage: a Hugging Face source through a Warehouse, on the GPU pool.
const SHOP_EMBED: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata:
  name: embed
  namespace: hev-shop
  labels:
    app.kubernetes.io/part-of: hev-shop
spec:
  pipelineId: products
  target:
    namespace: amazon-products
  sourceRef:
    kind: huggingface
    warehouseRef: huggingface
    repo: McAuley-Lab/Amazon-Reviews-2023
    dataset: raw_meta_All_Beauty
    config: raw_meta_All_Beauty
    split: full
    revision: main
    cursor:
      field: parent_asin
    mapping:
      id: parent_asin
      text: title
      attributes: [main_category, store, price, average_rating]
    chunk:
      strategy: recursive
      unit: tokens
      size: 512
      overlap: 64
      tokenizer: cl100k_base
  worker:
    image: ghcr.io/hev/shop-indexer:2026.08.1
    batchSize: 64
    timeoutSeconds: 120
    computeClass: gpu
    podSpec:
      containers:
        - name: worker
          command: ["python", "-m", "indexer.embed"]
          env:
            - name: HF_HOME
              value: /cache/hf
  scaling:
    pool: gpu
    mode: autoscale
    replicas:
      min: 0
      max: 4
    warmWindowSeconds: 600
"#;

/// The hev-shop extract-and-chunk stage, sharing the `products` queue, on `cpu-large`.
const SHOP_EXTRACT: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata:
  name: extract-chunk
  namespace: hev-shop
spec:
  pipelineId: products
  target:
    namespace: amazon-products
  sourceRef:
    kind: huggingface
    warehouseRef: huggingface
    repo: McAuley-Lab/Amazon-Reviews-2023
  worker:
    image: ghcr.io/hev/shop-indexer:2026.08.1
    podSpec:
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 1
              preference:
                matchExpressions:
                  - key: topology.kubernetes.io/zone
                    operator: In
                    values: [us-east-1a]
  scaling:
    pool: cpu-large
    replicas:
      max: 8
"#;

/// A clinical-notes ingest from SQS at fixed scale, with status as the syncer writes it.
const CHART_INGEST: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata:
  name: chart-ingest
  namespace: chart
spec:
  target:
    namespace: chart-notes
  sourceRef:
    kind: sqs
    queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/chart-notes
  worker:
    image: ghcr.io/hev/chart-ingest:0.9.0
    dispatch: push
    port: 8080
  scaling:
    mode: fixed
    replicas: {min: 1, max: 1}
status:
  observedGeneration: 4
  conditions:
    - type: Ready
      status: "True"
      reason: Available
      lastTransitionTime: "2026-08-20T10:00:00Z"
  managedObjects:
    - {apiVersion: apps/v1, kind: Deployment, name: chart-ingest-worker}
    - {apiVersion: v1, kind: Service, name: chart-ingest-worker}
"#;

/// A nightly REST crawl with the newer typed pagination and a cron schedule.
const REST_NIGHTLY: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata:
  name: partner-catalog
  namespace: hev-shop
spec:
  target:
    namespace: partner-catalog
  paused: false
  sourceRef:
    kind: rest
    url: https://partner.example.com/api/items
    pagination:
      kind: page
      pageParam: page
      pageSize: 100
      pageSizeParam: per_page
      startPage: 0
      allowEmptySnapshot: true
  schedule:
    cron: "30 2 * * *"
    leaseSeconds: 1800
  worker:
    image: ghcr.io/hev/rest-crawler:1.0.0
  scaling:
    pool: cpu
    replicas: {max: 2}
"#;

fn minimal() -> serde_json::Value {
    json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {
            "target": {"namespace": "ns"},
            "worker": {"image": "img"},
            "scaling": {"replicas": {"max": 2}},
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
fn upstream_style_pipelines_parse_unchanged() {
    for text in [SHOP_EMBED, SHOP_EXTRACT, CHART_INGEST, REST_NIGHTLY] {
        assert_parses_unchanged::<Pipeline>(KIND, text);
    }
}

#[test]
fn source_ref_keeps_every_key_and_types_only_pagination() {
    let p: Pipeline = serde_saphyr::from_str(SHOP_EMBED).unwrap();
    let source = p.spec.source_ref.unwrap();
    assert_eq!(source.pagination, None);
    assert_eq!(source.rest["warehouseRef"], "huggingface");
    assert_eq!(source.rest["chunk"]["size"], 512);

    let p: Pipeline = serde_saphyr::from_str(REST_NIGHTLY).unwrap();
    let source = p.spec.source_ref.unwrap();
    let pagination = source.pagination.unwrap();
    assert_eq!(pagination.kind, PaginationKind::Page);
    assert_eq!(pagination.page_size, Some(100));
    assert_eq!(pagination.start_page, 0);
    assert!(!source.rest.contains_key("pagination"));
    assert_eq!(p.spec.schedule.unwrap().cron.as_deref(), Some("30 2 * * *"));
}

#[test]
fn a_minimal_pipeline_gets_every_upstream_default() {
    let p: Pipeline = serde_json::from_value(minimal()).unwrap();
    let spec = p.spec;
    assert_eq!(
        spec.pipeline_id, None,
        "pipelineId: none (the resource name)"
    );
    assert_eq!(spec.source_ref, None, "sourceRef: none");
    assert!(!spec.paused, "paused: false");
    assert_eq!(spec.schedule, None, "schedule: nullable, no block default");
    assert_eq!(spec.worker.batch_size, 32, "worker.batchSize");
    assert_eq!(spec.worker.timeout_seconds, 30, "worker.timeoutSeconds");
    assert_eq!(
        spec.worker.compute_class,
        ComputeClass::Cpu,
        "worker.computeClass"
    );
    assert_eq!(spec.worker.dispatch, Dispatch::Pull, "worker.dispatch");
    assert_eq!(spec.worker.port, None, "worker.port");
    assert_eq!(spec.worker.url, None, "worker.url");
    assert_eq!(spec.worker.pod_spec, None, "worker.podSpec");
    assert_eq!(spec.scaling.pool, None, "scaling.pool: none");
    assert_eq!(spec.scaling.mode, ScalingMode::Autoscale, "scaling.mode");
    assert_eq!(spec.scaling.replicas.min, 0, "scaling.replicas.min");
    assert_eq!(
        spec.scaling.warm_window_seconds, None,
        "scaling.warmWindowSeconds"
    );

    let p: Pipeline = serde_json::from_value(with_spec(json!({
        "schedule": {},
        "sourceRef": {"pagination": {"kind": "offset"}},
    })))
    .unwrap();
    let schedule = p.spec.schedule.unwrap();
    assert_eq!(schedule.cron, None, "schedule.cron");
    assert_eq!(
        schedule.discovery_interval_seconds, 60,
        "schedule.discoveryIntervalSeconds"
    );
    assert_eq!(schedule.lease_seconds, 120, "schedule.leaseSeconds");
    assert_eq!(
        schedule.max_concurrent_scans, 4,
        "schedule.maxConcurrentScans"
    );
    assert_eq!(
        schedule.max_in_flight_batches, 8,
        "schedule.maxInFlightBatches"
    );
    assert_eq!(schedule, Schedule::default());
    let pagination = p.spec.source_ref.unwrap().pagination.unwrap();
    assert_eq!(pagination.start_page, 1, "sourceRef.pagination.startPage");
    assert!(
        !pagination.allow_empty_snapshot,
        "sourceRef.pagination.allowEmptySnapshot"
    );

    let status: PipelineStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(status.conditions, vec![], "conditions: []");
    assert_eq!(status.managed_objects, vec![], "managedObjects: []");
    assert_eq!(status.observed_generation, None);
}

#[test]
fn the_pipeline_crd_has_the_upstream_shape() {
    assert_eq!(
        printer_columns(KIND),
        [
            ("Target", "string", ".spec.target.namespace"),
            ("Pool", "string", ".spec.scaling.pool"),
            ("Image", "string", ".spec.worker.image"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(required(KIND, "spec"), ["scaling", "target", "worker"]);
    assert_eq!(required(KIND, "spec.target"), ["namespace"]);
    assert_eq!(required(KIND, "spec.worker"), ["image"]);
    assert_eq!(required(KIND, "spec.scaling"), ["replicas"]);
    assert_eq!(required(KIND, "spec.scaling.replicas"), ["max"]);
    assert_eq!(required(KIND, "spec.schedule"), Vec::<String>::new());
    assert_eq!(required(KIND, "spec.sourceRef.pagination"), ["kind"]);
    assert_eq!(
        required(KIND, "status.managedObjects[]"),
        ["apiVersion", "kind", "name"]
    );
    assert_eq!(required(KIND, "status.conditions[]"), ["status", "type"]);

    assert_eq!(
        enum_values(KIND, "spec.worker.computeClass"),
        ["cpu", "gpu"]
    );
    assert_eq!(enum_values(KIND, "spec.worker.dispatch"), ["pull", "push"]);
    assert_eq!(
        enum_values(KIND, "spec.scaling.mode"),
        ["autoscale", "fixed", "disabled"]
    );
    assert_eq!(
        enum_values(KIND, "spec.sourceRef.pagination.kind"),
        ["offset", "page", "searchAfter"]
    );

    assert_eq!(node(KIND, "spec.paused")["default"], false);
    assert_eq!(node(KIND, "spec.schedule").get("default"), None);
    assert_eq!(node(KIND, "spec.worker.batchSize")["default"], 32);
    assert_eq!(node(KIND, "spec.worker.timeoutSeconds")["default"], 30);
    assert_eq!(node(KIND, "spec.worker.computeClass")["default"], "cpu");
    assert_eq!(node(KIND, "spec.worker.dispatch")["default"], "pull");
    assert_eq!(node(KIND, "spec.scaling.mode")["default"], "autoscale");
    assert_eq!(node(KIND, "spec.scaling.replicas.min")["default"], 0);
    assert_eq!(node(KIND, "spec.scaling.replicas").get("default"), None);
    assert_eq!(
        node(KIND, "spec.schedule.discoveryIntervalSeconds")["default"],
        60
    );
    assert_eq!(node(KIND, "spec.schedule.leaseSeconds")["default"], 120);
    assert_eq!(node(KIND, "spec.schedule.maxConcurrentScans")["default"], 4);
    assert_eq!(node(KIND, "spec.schedule.maxInFlightBatches")["default"], 8);
    assert_eq!(
        node(KIND, "spec.sourceRef.pagination.startPage")["default"],
        1
    );
    assert_eq!(
        node(KIND, "spec.sourceRef.pagination.allowEmptySnapshot")["default"],
        false
    );
    assert_eq!(
        node(KIND, "spec.sourceRef.pagination.pageSize")["minimum"],
        json!(1.0)
    );
    assert_eq!(node(KIND, "status.conditions")["default"], json!([]));

    for path in [
        "spec.worker.batchSize",
        "spec.worker.timeoutSeconds",
        "spec.worker.port",
        "spec.scaling.replicas.min",
        "spec.scaling.replicas.max",
        "spec.scaling.warmWindowSeconds",
        "spec.schedule.leaseSeconds",
    ] {
        assert_eq!(node(KIND, path)["format"], "int32", "{path} is int32");
    }
    for path in [
        "spec.pipelineId",
        "spec.sourceRef",
        "spec.schedule",
        "spec.schedule.cron",
        "spec.worker.port",
        "spec.worker.url",
        "spec.worker.podSpec",
        "spec.scaling.pool",
        "spec.scaling.warmWindowSeconds",
        "spec.sourceRef.pagination",
        "status.observedGeneration",
        "status.conditions[].reason",
        "status.conditions[].message",
        "status.conditions[].lastTransitionTime",
    ] {
        assert!(is_nullable(KIND, path), "{path} is nullable");
    }
    for path in [
        "spec.target",
        "spec.worker",
        "spec.scaling",
        "spec.paused",
        "status.conditions",
        "status.managedObjects",
    ] {
        assert!(!is_nullable(KIND, path), "{path} is not nullable");
    }
    assert!(preserves_unknown(KIND, "spec.sourceRef"));
    assert_eq!(node(KIND, "spec.sourceRef")["type"], "object");
    assert!(!preserves_unknown(KIND, "spec.sourceRef.pagination"));
    assert!(preserves_unknown(KIND, "spec.worker.podSpec"));
    assert_eq!(node(KIND, "spec.worker.podSpec")["type"], "object");
    assert!(!preserves_unknown(KIND, "spec"));
    assert!(!preserves_unknown(KIND, "spec.worker"));
}

#[test]
fn replicas_min_above_max_fails_its_cel_rule() {
    assert_eq!(cel_failures(KIND, &minimal()), Vec::<String>::new());
    let equal = with_spec(json!({"scaling": {"replicas": {"min": 2, "max": 2}}}));
    assert_eq!(cel_failures(KIND, &equal), Vec::<String>::new());
    let upside_down = with_spec(json!({"scaling": {"replicas": {"min": 3, "max": 2}}}));
    assert_eq!(
        cel_failures(KIND, &upside_down),
        ["spec.scaling.replicas: replicas.min must not be greater than replicas.max"]
    );
    // The default min of 0 is what the API server compares with a negative max.
    let negative = with_spec(json!({"scaling": {"replicas": {"max": -1}}}));
    assert_eq!(
        cel_failures(KIND, &negative),
        ["spec.scaling.replicas: replicas.min must not be greater than replicas.max"]
    );
}

#[test]
fn a_cron_minute_field_must_be_a_single_integer() {
    for cron in [
        "0 * * * *",
        "59 */2 * * 1-5",
        "05 3 1,15 * *",
        "30  2 * * *",
    ] {
        let object = with_spec(json!({"schedule": {"cron": cron}}));
        assert_eq!(cel_failures(KIND, &object), Vec::<String>::new(), "{cron}");
    }
    let message = "spec.schedule.cron: schedule.cron must have five space-separated fields and its minute field must be a single integer from 0 to 59";
    for cron in [
        "*/5 * * * *",
        "0,30 * * * *",
        "0-10 * * * *",
        "60 * * * *",
        "100 * * * *",
        "* * * * *",
        "0 * * *",
        "0 * * * * *",
        "@hourly",
        "",
        " 0 * * * *",
    ] {
        let object = with_spec(json!({"schedule": {"cron": cron}}));
        assert_eq!(cel_failures(KIND, &object), [message], "{cron:?}");
    }
    let no_cron = with_spec(json!({"schedule": {"leaseSeconds": 600}}));
    assert_eq!(cel_failures(KIND, &no_cron), Vec::<String>::new());
    // The API server runs no rule on an explicit null; kube-cel would, so check what render
    // writes: serde reads the null as absent.
    let null_cron = with_spec(json!({"schedule": {"cron": null}}));
    let written = serde_round_trip::<Pipeline>(&null_cron);
    assert_eq!(written["spec"]["schedule"].get("cron"), None);
    assert_eq!(cel_failures(KIND, &written), Vec::<String>::new());
}

#[test]
fn serde_defaults_equal_schema_defaults_for_pipelines() {
    assert_serde_defaults_match_schema::<Pipeline>(KIND, &minimal());
    assert_serde_defaults_match_schema::<Pipeline>(
        KIND,
        &with_spec(json!({
            "schedule": {},
            "sourceRef": {"pagination": {"kind": "searchAfter"}, "kind": "rest"},
        })),
    );
    let mut with_status = minimal();
    with_status["status"] = json!({"managedObjects": []});
    assert_serde_defaults_match_schema::<Pipeline>(KIND, &with_status);
    for text in [SHOP_EMBED, SHOP_EXTRACT, CHART_INGEST, REST_NIGHTLY] {
        assert_serde_defaults_match_schema::<Pipeline>(KIND, &yaml(text));
    }
}

#[test]
fn a_minimal_pipeline_serializes_to_its_defaulted_form() {
    let expected = json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {
            "target": {"namespace": "ns"},
            "paused": false,
            "worker": {
                "image": "img",
                "batchSize": 32,
                "timeoutSeconds": 30,
                "computeClass": "cpu",
                "dispatch": "pull",
            },
            "scaling": {"mode": "autoscale", "replicas": {"min": 0, "max": 2}},
        },
    });
    assert_eq!(serde_round_trip::<Pipeline>(&minimal()), expected);
}

#[test]
fn an_explicit_null_optional_field_is_written_as_absent() {
    let object = with_spec(json!({"pipelineId": null, "schedule": null}));
    let out = serde_round_trip::<Pipeline>(&object);
    assert_eq!(out["spec"].get("pipelineId"), None);
    assert_eq!(out["spec"].get("schedule"), None);
    assert!(!contains_null(&out));
}
