//! The watch -> readiness -> apply path on a healthy API server: paths, queries, content
//! types, bodies, no-op skipping, retried answers, missing CRDs, leadership and selectors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::fake::*;
use crate::harness::*;

#[tokio::test]
async fn a_ready_pipeline_gets_one_server_side_apply_on_its_status_and_nothing_more() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    let patch = fake.next_patch().await;
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.path,
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"
    );
    let query: BTreeSet<&str> = patch.query.split('&').filter(|p| !p.is_empty()).collect();
    assert_eq!(
        query,
        BTreeSet::from(["fieldManager=layer-syncer", "force=true"])
    );
    assert_eq!(patch.content_type, "application/apply-patch+yaml");
    assert_eq!(patch.body["apiVersion"], "hevlayer.com/v1alpha1");
    assert_eq!(patch.body["kind"], "Pipeline");
    assert_eq!(
        patch.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["apiVersion", "kind", "status"]
    );
    assert_eq!(
        conditions(&patch.body),
        [
            ("Ready".into(), "True".into(), "Available".into()),
            ("Reconciling".into(), "False".into(), "Available".into()),
            ("Stalled".into(), "False".into(), "Available".into()),
        ]
    );
    assert_eq!(patch.body["status"]["observedGeneration"], 1);
    assert_eq!(
        patch.body["status"]["managedObjects"],
        json!([
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "embed-worker"},
            {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "name": "embed-worker"},
            {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "embed-worker"}
        ])
    );
    assert!(run.ready.load(Ordering::SeqCst));
    // Many resyncs later the status is unchanged, so nothing more is written.
    fake.no_patch_within(Duration::from_millis(800)).await;
    let text = run.metrics.encode();
    assert!(
        text.contains("layer_syncer_status_writes_total{kind=\"Pipeline\",result=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("layer_syncer_status_writes_skipped_total{kind=\"Pipeline\"}"),
        "{text}"
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_status_that_is_already_current_causes_no_request() {
    // First run: learn the status the syncer writes.
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    let written = fake.next_patch().await.body["status"].clone();
    run.shutdown().await;
    // Second run on a cluster that already carries it (other timestamps are fine).
    let mut objects = live_pipeline(PIPELINE);
    let mut status = written;
    for c in status["conditions"].as_array_mut().unwrap() {
        c["lastTransitionTime"] = json!("2024-01-01T00:00:00Z");
    }
    objects[0].1["status"] = status;
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let run = start(client, true);
    fake.wait_until("the first sync", |_| run.ready.load(Ordering::SeqCst))
        .await;
    fake.no_patch_within(Duration::from_millis(800)).await;
    run.shutdown().await;
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "only reads were sent"
    );
}

#[tokio::test]
async fn conflict_throttling_and_server_errors_are_retried_until_the_status_is_written() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    fake.fail_next_patches(&[409, 429, 500]);
    let run = start(client, true);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let p = fake.next_patch().await;
        assert_eq!(
            p.path,
            "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"
        );
        assert_eq!(ready_reason(&p.body), ("True".into(), "Available".into()));
        answers.push(p.answered);
    }
    assert_eq!(answers, [409, 429, 500, 200]);
    fake.no_patch_within(Duration::from_millis(500)).await;
    let text = run.metrics.encode();
    for class in ["conflict", "throttled", "server"] {
        assert!(
            text.contains(&format!(
                "layer_syncer_errors_total{{source=\"status_write\",class=\"{class}\"}} 1"
            )),
            "{text}"
        );
    }
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_watch_410_gone_is_survived_and_child_changes_still_reach_the_parent() {
    let objects = live_pipeline(PIPELINE);
    let deployment = objects
        .iter()
        .find(|(c, _)| *c == DEPLOYMENTS)
        .unwrap()
        .1
        .clone();
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let run = start(client, true);
    assert_eq!(
        ready_reason(&fake.next_patch().await.body),
        ("True".into(), "Available".into())
    );
    assert_eq!(fake.lists_of(DEPLOYMENTS), 1);
    fake.push_raw(DEPLOYMENTS, &json!({"type": "ERROR", "object": status_body(410, "Expired", "too old resource version: 100 (200)")}));
    fake.wait_until("a relist after 410", |f| {
        f.lists_of(DEPLOYMENTS) == 2 && f.watches_of(DEPLOYMENTS) == 2
    })
    .await;
    // The Deployment loses its available replica: found through its owner labels.
    let mut down = deployment.clone();
    down["status"]["availableReplicas"] = json!(0);
    fake.apply(DEPLOYMENTS, down);
    let p = fake.next_patch().await;
    assert_eq!(
        p.path,
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"
    );
    assert_eq!(
        ready_reason(&p.body),
        ("False".into(), "WorkerUnavailable".into())
    );
    // And it is deleted: ChildMissing.
    fake.delete(DEPLOYMENTS, Some("shop"), "embed-worker");
    let p = fake.next_patch().await;
    assert_eq!(
        ready_reason(&p.body),
        ("False".into(), "ChildMissing".into())
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn missing_keda_and_karpenter_crds_are_tolerated_and_reported_in_status() {
    let fixed = PIPELINE.replace("{replicas:", "{mode: fixed, replicas:");
    let mut objects = live_pipeline(&fixed);
    let autoscaled = live_pipeline(&PIPELINE.replace("name: embed,", "name: scale,"));
    objects.extend(
        autoscaled
            .into_iter()
            .filter(|(c, _)| *c == PIPELINES || *c == DEPLOYMENTS),
    );
    let (client, fake) = Fake::start(objects, &[SCALED_OBJECTS, TRIGGER_AUTHS, NODE_POOLS]);
    let run = start(client, true);
    let mut by_path = BTreeMap::new();
    for _ in 0..2 {
        let p = fake.next_patch().await;
        by_path.insert(p.path.clone(), p.body);
    }
    let embed = &by_path["/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"];
    assert_eq!(ready_reason(embed), ("True".into(), "Available".into()));
    let scale = &by_path["/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/scale/status"];
    assert_eq!(ready_reason(scale), ("False".into(), "ChildMissing".into()));
    assert!(
        scale["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("KEDA is not installed")
    );
    assert!(
        run.ready.load(Ordering::SeqCst),
        "readyz: missing optional CRDs count as synced"
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn only_the_lease_holder_writes() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, false);
    fake.wait_until("the first sync", |_| run.ready.load(Ordering::SeqCst))
        .await;
    fake.no_patch_within(Duration::from_millis(500)).await;
    run.leader.send(true).unwrap();
    let p = fake.next_patch().await;
    assert_eq!(ready_reason(&p.body), ("True".into(), "Available".into()));
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn every_kind_is_written_through_its_own_status_path() {
    let store = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata: {name: turbopuffer-default, namespace: layer}
spec:
  kind: turbopuffer
  default: true
  endpoint: {url: "https://aws-us-east-1.turbopuffer.com", region: aws-us-east-1}
---
apiVersion: hevlayer.com/v1
kind: Index
metadata: {name: products, namespace: layer, labels: {app: shop}}
spec:
  backend: {namespace: amazon-products}
---
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata: {name: default}
spec:
  computePools:
    - {name: cpu, kind: cpu, maxReplicasPerWorkload: 32}
"#;
    let r = rendered(store);
    let with_gen = |kind: &str| {
        let mut o = find(&r, kind);
        o["metadata"]["generation"] = json!(1);
        o
    };
    let objects = vec![
        (VECTOR_STORES, with_gen("VectorStore")),
        (INDEXES, with_gen("Index")),
        (INFRA_RULES, with_gen("InfraRules")),
    ];
    let (client, fake) = Fake::start(objects, &[SCALED_OBJECTS, TRIGGER_AUTHS, NODE_POOLS]);
    let run = start(client, true);
    let mut seen = BTreeMap::new();
    // The Index reads the status just sent for its store: each CR is written once.
    while seen.len() < 3 {
        let p = fake.next_patch().await;
        assert!(
            seen.insert(p.path.clone(), p.body).is_none(),
            "{} written twice",
            p.path
        );
    }
    assert_eq!(
        ready_reason(
            &seen["/apis/hevlayer.com/v1alpha1/namespaces/layer/vectorstores/turbopuffer-default/status"]
        ),
        ("True".into(), "ProbeDisabled".into())
    );
    assert_eq!(
        ready_reason(&seen["/apis/hevlayer.com/v1/namespaces/layer/indexes/products/status"]),
        ("True".into(), "StoreReady".into())
    );
    let infra = &seen["/apis/hevlayer.com/v1alpha1/infrarules/default/status"];
    assert_eq!(ready_reason(infra), ("True".into(), "PoolsReady".into()));
    assert_eq!(infra["status"]["poolCount"], 1);
    assert_eq!(infra["apiVersion"], "hevlayer.com/v1alpha1");
    assert_eq!(infra["kind"], "InfraRules");
    fake.no_patch_within(Duration::from_millis(500)).await;
    // Each became Ready: one Event each, in its namespace (a cluster-scoped one's in default).
    let events: BTreeSet<(String, String, String)> = fake
        .event_writes()
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.body["regarding"]["kind"].as_str().unwrap().to_string(),
                e.body["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let posted = |ns: &str, kind: &str, reason: &str| {
        (
            format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
            kind.to_string(),
            reason.to_string(),
        )
    };
    assert_eq!(
        events,
        BTreeSet::from([
            posted("layer", "VectorStore", "ProbeDisabled"),
            posted("layer", "Index", "StoreReady"),
            posted("default", "InfraRules", "PoolsReady"),
        ])
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_namespace_flag_restricts_the_namespaced_watches() {
    let mut objects = live_pipeline(PIPELINE);
    let mut elsewhere = find(
        &rendered(&PIPELINE.replace("namespace: shop", "namespace: other")),
        "Pipeline",
    );
    elsewhere["metadata"]["generation"] = json!(1);
    objects.push((PIPELINES, elsewhere));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let mut cfg = config();
    cfg.watch.namespace = Some("shop".into());
    let run = start_with(client, true, cfg);
    let p = fake.next_patch().await;
    assert_eq!(
        p.path,
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"
    );
    fake.no_patch_within(Duration::from_millis(500)).await;
    run.shutdown().await;
    let requests = fake.requests();
    let listed: BTreeSet<&str> = requests
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path.as_str())
        .collect();
    for path in [
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines",
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/functions",
        "/apis/hevlayer.com/v1alpha1/namespaces/shop/vectorstores",
        "/apis/hevlayer.com/v1/namespaces/shop/indexes",
        "/apis/apps/v1/namespaces/shop/deployments",
        "/api/v1/namespaces/shop/services",
        "/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects",
        "/apis/keda.sh/v1alpha1/namespaces/shop/triggerauthentications",
        // Cluster-scoped, and the document cache lives in the release namespace.
        INFRA_RULES,
        NODE_POOLS,
        "/apis/apps/v1/namespaces/layer/statefulsets",
    ] {
        assert!(listed.contains(path), "{path} not requested: {listed:?}");
    }
    assert!(!listed.contains(PIPELINES), "watched every namespace");
}

#[tokio::test]
async fn watches_select_only_rendered_children_and_the_document_cache_by_name() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    fake.next_patch().await;
    run.shutdown().await;
    let requests = fake.requests();
    let query_of = |path: &str| {
        requests
            .iter()
            .find(|r| r.path == path && !r.query.contains("watch=true"))
            .map(|r| r.query.clone())
            .unwrap_or_else(|| panic!("{path} never listed"))
    };
    for path in [DEPLOYMENTS, SERVICES, SCALED_OBJECTS, TRIGGER_AUTHS] {
        assert!(
            query_of(path).contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dlayer-render"),
            "{path}"
        );
    }
    assert!(
        query_of("/apis/apps/v1/namespaces/layer/statefulsets")
            .contains("fieldSelector=metadata.name%3Dlayer-document-cache")
    );
    assert!(!query_of(PIPELINES).contains("labelSelector"));
}

#[tokio::test]
async fn a_status_written_back_after_the_first_list_touches_only_its_own_cr() {
    // Regression: CRs from the first list had no remembered generation and labels, so the
    // echo of their first status write counted as a spec change: InfraRules' re-evaluated
    // every workload, each Index's every Function (10 times the work on a first sync).
    let mut objects = live_pipeline(PIPELINE);
    objects.extend(live_pipeline(
        &PIPELINE.replace("name: embed,", "name: other,"),
    ));
    let infra = r#"
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata: {name: default}
spec:
  computePools:
    - {name: cpu, kind: cpu, maxReplicasPerWorkload: 32}
"#;
    let mut rules = find(&rendered(infra), "InfraRules");
    rules["metadata"]["generation"] = json!(1);
    objects.push((INFRA_RULES, rules));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    // InfraRules' write comes back only once the Pipelines' have.
    fake.hold(INFRA_RULES);
    let mut cfg = config();
    cfg.resync = Duration::from_secs(3600);
    let run = start_with(client, true, cfg);
    fake.wait_until("three writes, two echoes", |f| {
        f.patch_total() == 3 && run.reconciles() >= 5.0
    })
    .await;
    fake.release(INFRA_RULES);
    fake.wait_until("the last echo", |_| run.reconciles() >= 6.0)
        .await;
    fake.drain_patches().await;
    fake.no_patch_within(Duration::from_millis(500)).await;
    assert_eq!(fake.patch_total(), 3);
    // One evaluation each on the first list, one each when its write comes back.
    assert_eq!(run.reconciles(), 6.0);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}
