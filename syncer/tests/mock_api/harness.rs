//! Running the real syncer ([`layer_syncer::run::sync`]) against the fake, and objects
//! rendered by the real `layer-render` as a cluster holds them after a sync.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kube::Client;
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render_json};
use layer_syncer::leader::Election;
use layer_syncer::metrics::Metrics;
use layer_syncer::probe::ProbeOptions;
use layer_syncer::run::{SyncConfig, sync, sync_elected};
use layer_syncer::status::events::BudgetOptions;
use layer_syncer::status::index::IndexOptions;
use layer_syncer::status::writer::Backoff;
use layer_syncer::watch::WatchOptions;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use crate::fake::*;

/// Renders `input` with the real `layer-render`.
pub fn rendered(input: &str) -> Vec<Value> {
    let loaded = load_str("input.yaml", input, &Limits::default());
    let out = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions {
            namespace: "shop".into(),
            ..RenderOptions::default()
        },
    );
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    out.objects.into_iter().map(|o| o.value).collect()
}

pub fn find(objects: &[Value], kind: &str) -> Value {
    objects.iter().find(|o| o["kind"] == kind).cloned().unwrap()
}

pub const PIPELINE: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: embed, namespace: shop}
spec:
  target: {namespace: products}
  worker: {image: "ghcr.io/hev/embed:1.2.0"}
  scaling: {replicas: {min: 1, max: 4}}
"#;

/// The status path of the Pipeline `embed` in `shop`.
pub const EMBED_STATUS: &str = "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status";

/// The collection a rendered object lives in, if the syncer watches it.
pub fn collection_of(obj: &Value) -> Option<&'static str> {
    Some(match obj["kind"].as_str()? {
        "Pipeline" => PIPELINES,
        "Function" => FUNCTIONS,
        "VectorStore" => VECTOR_STORES,
        "Index" => INDEXES,
        "InfraRules" => INFRA_RULES,
        "Deployment" => DEPLOYMENTS,
        "Service" => SERVICES,
        "ScaledObject" => SCALED_OBJECTS,
        "TriggerAuthentication" => TRIGGER_AUTHS,
        "StatefulSet" => STATEFUL_SETS,
        "NodePool" => NODE_POOLS,
        _ => return None,
    })
}

/// Gives a rendered object the live state a cluster adds after applying it: generation 1 on
/// CRs; a rolled-out Deployment with `available` replicas available (desired: what the spec
/// or KEDA set, at least one unless the workload runs none); KEDA's Ready condition on
/// ScaledObjects.
pub fn go_live(obj: &mut Value, available: Option<i64>) {
    match obj["kind"].as_str().unwrap_or_default() {
        "Pipeline" | "Function" | "VectorStore" | "Index" | "InfraRules" => {
            obj["metadata"]["generation"] = json!(1);
        }
        "Deployment" => {
            // Autoscale leaves spec.replicas to KEDA, which holds at least one.
            let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let available = available.unwrap_or(desired.clamp(0, 1)).min(desired);
            obj["metadata"]["generation"] = json!(1);
            obj["spec"]["replicas"] = json!(desired);
            obj["status"] = json!({"observedGeneration": 1, "replicas": desired, "updatedReplicas": desired, "readyReplicas": available, "availableReplicas": available});
        }
        "ScaledObject" => {
            obj["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "ScaledObjectReady"}]});
        }
        _ => {}
    }
}

/// The rendered Pipeline and its children, as a cluster holds them after a successful sync.
pub fn live_pipeline(input: &str) -> Vec<(&'static str, Value)> {
    rendered(input)
        .into_iter()
        .filter(|o| {
            let kind = o["kind"].as_str().unwrap_or_default();
            [
                "Pipeline",
                "Deployment",
                "ScaledObject",
                "TriggerAuthentication",
                "Service",
            ]
            .contains(&kind)
        })
        .filter_map(|mut o| {
            let collection = collection_of(&o)?;
            go_live(&mut o, None);
            Some((collection, o))
        })
        // The CR first, its children after.
        .sorted_by_key(|(c, _)| *c != PIPELINES)
}

/// `Iterator::collect` into a stably sorted `Vec`.
trait SortedExt: Iterator + Sized {
    fn sorted_by_key<K: Ord>(self, f: impl FnMut(&Self::Item) -> K) -> Vec<Self::Item> {
        let mut v: Vec<Self::Item> = self.collect();
        v.sort_by_key(f);
        v
    }
}

impl<I: Iterator> SortedExt for I {}

/// The test configuration: no probes, quick resyncs and backoffs.
pub fn config() -> SyncConfig {
    SyncConfig {
        watch: WatchOptions {
            namespace: None,
            document_cache_namespace: "layer".into(),
            document_cache_name: "layer-document-cache".into(),
            backoff: Some(
                backon::ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(20))
                    .with_max_delay(Duration::from_millis(200))
                    .with_jitter(),
            ),
        },
        index: IndexOptions {
            stall_after: Duration::from_secs(600),
            max_replicas_ceiling: 100,
            document_cache_namespace: "layer".into(),
            document_cache_name: "layer-document-cache".into(),
        },
        probe: ProbeOptions {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(1),
            disabled: true,
        },
        resync: Duration::from_millis(100),
        backoff: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(80),
        },
        max_concurrent_writes: 64,
        write_qps: 0.0,
        write_burst: 64,
        identity: "layer-syncer-test".into(),
        event_budget: BudgetOptions::default(),
    }
}

/// A running syncer.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    pub ready: Arc<AtomicBool>,
    pub metrics: Metrics,
    pub leader: watch::Sender<bool>,
}

pub fn start(client: Client, leader: bool) -> Running {
    start_with(client, leader, config())
}

pub fn start_with(client: Client, leader: bool, config: SyncConfig) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let (leader_tx, leader_rx) = watch::channel(leader);
    let ready = Arc::new(AtomicBool::new(false));
    let metrics = Metrics::new();
    let task = tokio::spawn(sync(
        client,
        config,
        leader_rx,
        ready.clone(),
        metrics.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        stop,
        task,
        ready,
        metrics,
        leader: leader_tx,
    }
}

/// A replica with leader election against the fake's Lease `layer-syncer` in `layer`, held for
/// `duration` and renewed `renew_before` it expires.
pub fn start_replica(
    client: Client,
    identity: &str,
    duration: Duration,
    renew_before: Duration,
) -> Running {
    let mut config = config();
    config.identity = identity.into();
    let election = Election {
        namespace: "layer".into(),
        lease_name: "layer-syncer".into(),
        identity: identity.into(),
        duration,
        renew_before,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (leader, _) = watch::channel(false);
    let ready = Arc::new(AtomicBool::new(false));
    let metrics = Metrics::new();
    let task = tokio::spawn({
        let (ready, metrics) = (ready.clone(), metrics.clone());
        async move {
            sync_elected(client, config, Some(election), ready, metrics, async {
                let _ = stopped.await;
            })
            .await
            .expect("leader election could not start");
        }
    });
    Running {
        stop,
        task,
        ready,
        metrics,
        leader,
    }
}

impl Running {
    /// Stops the syncer's task at once, without a shutdown (its Lease manager, if any, goes on
    /// until it sees every leadership receiver gone).
    pub fn abort(self) {
        self.task.abort();
    }

    /// Stops the syncer; panics if it crashed or does not stop.
    pub async fn shutdown(self) {
        assert!(!self.task.is_finished(), "the syncer stopped by itself");
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("sync did not stop on shutdown")
            .unwrap();
    }

    /// The value of one metric series (`name{labels}`), 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        let text = self.metrics.encode();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Evaluations so far, all kinds.
    pub fn reconciles(&self) -> f64 {
        let text = self.metrics.encode();
        text.lines()
            .filter(|l| l.starts_with("layer_syncer_reconciles_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Whether the syncer task is still running (it never stops by itself).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

pub fn conditions(body: &Value) -> Vec<(String, String, String)> {
    body["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
                c["reason"].as_str().unwrap().into(),
            )
        })
        .collect()
}

pub fn ready_reason(body: &Value) -> (String, String) {
    let c = &body["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap().into(),
        c["reason"].as_str().unwrap().into(),
    )
}

/// The `Ready` status and reason a stored object carries.
pub fn stored_ready(obj: &Value) -> (String, String) {
    ready_reason(obj)
}

/// The Pipeline `name` (rendered like `embed`, in `shop`) and its children, live.
pub fn pipeline_named(name: &str) -> Vec<(&'static str, Value)> {
    live_pipeline(&PIPELINE.replace("name: embed,", &format!("name: {name},")))
}

/// The status path of the Pipeline `name` in `shop`.
pub fn status_path(name: &str) -> String {
    format!("/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/{name}/status")
}

/// Waits for two more full evaluations, then asserts that no patch is on its way.
pub async fn settle(fake: &Fake, run: &Running) {
    let resyncs = run.metric("layer_syncer_resyncs_total");
    fake.wait_until("two resyncs", |_| {
        run.metric("layer_syncer_resyncs_total") >= resyncs + 2.0
    })
    .await;
    fake.drain_patches().await;
    fake.no_patch_within(Duration::from_millis(300)).await;
}

/// The stored Deployment of the Pipeline `name` in `shop`.
pub fn deployment_of(fake: &Fake, name: &str) -> Value {
    fake.get(DEPLOYMENTS, Some("shop"), &format!("{name}-worker"))
        .unwrap()
}

/// A Deployment with no replica available.
pub fn unavailable(mut d: Value) -> Value {
    d["status"]["availableReplicas"] = json!(0);
    d["status"]["readyReplicas"] = json!(0);
    d
}

/// A Deployment with its one replica available.
pub fn available_deployment(mut d: Value) -> Value {
    d["status"]["availableReplicas"] = json!(1);
    d["status"]["readyReplicas"] = json!(1);
    d
}

/// The `Ready` status and reason stored on the Pipeline `name` in `shop`.
pub fn stored_reason(fake: &Fake, name: &str) -> (String, String) {
    ready_reason(&fake.get(PIPELINES, Some("shop"), name).unwrap())
}

pub fn available() -> (String, String) {
    ("True".into(), "Available".into())
}

pub fn worker_unavailable() -> (String, String) {
    ("False".into(), "WorkerUnavailable".into())
}
