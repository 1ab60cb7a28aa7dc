//! The real watch -> readiness -> apply path against a fake API server behind a `tower-test`
//! mock (kube-rs `mock_tests.rs`, controller-rs `fixtures.rs`).
//!
//! The fake answers lists and watches from its own object store, streams watch events, and
//! applies status patches the way the API server would: it stores the new status, bumps the
//! resourceVersion and sends a MODIFIED event to the open watch. It answers 404 for CRDs a test
//! leaves out, and scripted 409/429/500 answers to patches. Every request is recorded, so tests
//! check exact paths, queries, content types and bodies, and that nothing but `/status` is
//! ever mutated.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc as fmpsc;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use kube::Client;
use kube::client::Body;
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render};
use layer_syncer::metrics::Metrics;
use layer_syncer::probe::ProbeOptions;
use layer_syncer::run::{SyncConfig, sync};
use layer_syncer::status::index::IndexOptions;
use layer_syncer::status::writer::Backoff;
use layer_syncer::watch::WatchOptions;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

type MockBody = UnsyncBoxBody<Bytes, Infallible>;
type Handle = tower_test::mock::Handle<Request<Body>, Response<MockBody>>;

const PIPELINES: &str = "/apis/hevlayer.com/v1alpha1/pipelines";
const FUNCTIONS: &str = "/apis/hevlayer.com/v1alpha1/functions";
const VECTOR_STORES: &str = "/apis/hevlayer.com/v1alpha1/vectorstores";
const INDEXES: &str = "/apis/hevlayer.com/v1/indexes";
const INFRA_RULES: &str = "/apis/hevlayer.com/v1alpha1/infrarules";
const DEPLOYMENTS: &str = "/apis/apps/v1/deployments";
const SERVICES: &str = "/api/v1/services";
const SCALED_OBJECTS: &str = "/apis/keda.sh/v1alpha1/scaledobjects";
const TRIGGER_AUTHS: &str = "/apis/keda.sh/v1alpha1/triggerauthentications";
const STATEFUL_SETS: &str = "/apis/apps/v1/namespaces/layer/statefulsets";
const NODE_POOLS: &str = "/apis/karpenter.sh/v1/nodepools";

const ALL_COLLECTIONS: [&str; 11] = [
    PIPELINES,
    FUNCTIONS,
    VECTOR_STORES,
    INDEXES,
    INFRA_RULES,
    DEPLOYMENTS,
    SERVICES,
    SCALED_OBJECTS,
    TRIGGER_AUTHS,
    STATEFUL_SETS,
    NODE_POOLS,
];

/// One request the fake saw.
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Value,
    answered: u16,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<Value>>,
    missing: BTreeSet<String>,
    watches: BTreeMap<String, Vec<fmpsc::UnboundedSender<Bytes>>>,
    watch_count: BTreeMap<String, usize>,
    list_count: BTreeMap<String, usize>,
    requests: Vec<Recorded>,
    patch_failures: VecDeque<u16>,
    rv: u64,
}

/// The fake API server.
#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<State>>,
    patches: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Recorded>>>,
}

fn full(code: StatusCode, body: Value) -> Response<MockBody> {
    let mut r =
        Response::new(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())).boxed_unsync());
    *r.status_mut() = code;
    r
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// `/apis/g/v/namespaces/ns/plural/name/status` -> (`/apis/g/v/plural`, ns, name).
fn split_status_path(path: &str) -> Option<(String, Option<String>, String)> {
    let rest = path.strip_suffix("/status")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (prefix_len, _) = if parts.get(1) == Some(&"api") {
        (3, ())
    } else {
        (4, ())
    };
    let prefix = parts[..prefix_len].join("/");
    let tail = &parts[prefix_len..];
    match tail {
        ["namespaces", ns, plural, name] => Some((
            format!("{prefix}/{plural}"),
            Some(ns.to_string()),
            name.to_string(),
        )),
        [plural, name] => Some((format!("{prefix}/{plural}"), None, name.to_string())),
        _ => None,
    }
}

impl Fake {
    fn start(objects: Vec<(&str, Value)>, missing: &[&str]) -> (Client, Fake) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<MockBody>>();
        let client = Client::new(service, "layer");
        let mut state = State {
            rv: 100,
            ..State::default()
        };
        for (collection, mut obj) in objects {
            state.rv += 1;
            obj["metadata"]["resourceVersion"] = json!(state.rv.to_string());
            state
                .objects
                .entry(collection.to_string())
                .or_default()
                .push(obj);
        }
        state.missing = missing.iter().map(|s| s.to_string()).collect();
        let (tx, rx) = mpsc::unbounded_channel();
        let fake = Fake {
            state: Arc::new(Mutex::new(state)),
            patches: Arc::new(tokio::sync::Mutex::new(rx)),
        };
        tokio::spawn(fake.clone().serve(handle, tx));
        (client, fake)
    }

    async fn serve(self, mut handle: Handle, patches: mpsc::UnboundedSender<Recorded>) {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let path = parts.uri.path().to_string();
            let query = parts.uri.query().unwrap_or_default().to_string();
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let mut recorded = Recorded {
                method: parts.method.to_string(),
                path: path.clone(),
                query: query.clone(),
                content_type,
                body,
                answered: 200,
            };
            let response = self.answer(&mut recorded);
            self.state.lock().unwrap().requests.push(recorded.clone());
            if recorded.method == "PATCH" {
                let _ = patches.send(recorded);
            }
            send.send_response(response);
        }
    }

    fn answer(&self, r: &mut Recorded) -> Response<MockBody> {
        let mut st = self.state.lock().unwrap();
        let (collection, only_ns) = normalize(&r.path);
        match r.method.as_str() {
            "GET" if st.missing.contains(&collection) => {
                r.answered = 404;
                full(
                    StatusCode::NOT_FOUND,
                    status_body(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                    ),
                )
            }
            "GET" if r.query.contains("watch=true") => {
                let (tx, rx) = fmpsc::unbounded::<Bytes>();
                st.watches.entry(collection.clone()).or_default().push(tx);
                *st.watch_count.entry(collection).or_default() += 1;
                let stream = rx.map(|b| Ok::<_, Infallible>(Frame::data(b)));
                Response::new(StreamBody::new(stream).boxed_unsync())
            }
            "GET" if ALL_COLLECTIONS.contains(&collection.as_str()) => {
                *st.list_count.entry(collection.clone()).or_default() += 1;
                let items: Vec<Value> = st
                    .objects
                    .get(&collection)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|o| {
                        only_ns.is_none()
                            || o["metadata"]["namespace"].as_str() == only_ns.as_deref()
                    })
                    .collect();
                full(
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": st.rv.to_string()}, "items": items}),
                )
            }
            "GET" if r.path.contains("/secrets/") => {
                r.answered = 404;
                full(
                    StatusCode::NOT_FOUND,
                    status_body(404, "NotFound", "secrets not found"),
                )
            }
            "PATCH" if r.path.ends_with("/status") => {
                if let Some(code) = st.patch_failures.pop_front() {
                    r.answered = code;
                    let reason = match code {
                        409 => "Conflict",
                        429 => "TooManyRequests",
                        _ => "InternalError",
                    };
                    return full(
                        StatusCode::from_u16(code).unwrap(),
                        status_body(code, reason, "scripted failure"),
                    );
                }
                let Some((coll, ns, name)) = split_status_path(&r.path) else {
                    r.answered = 400;
                    return full(
                        StatusCode::BAD_REQUEST,
                        status_body(400, "BadRequest", "bad path"),
                    );
                };
                st.rv += 1;
                let rv = st.rv.to_string();
                let objects = st.objects.entry(coll.clone()).or_default();
                let Some(obj) = objects.iter_mut().find(|o| {
                    o["metadata"]["name"] == name.as_str()
                        && o["metadata"]["namespace"].as_str().map(str::to_string) == ns
                }) else {
                    r.answered = 404;
                    return full(
                        StatusCode::NOT_FOUND,
                        status_body(404, "NotFound", "no such object"),
                    );
                };
                obj["status"] = r.body["status"].clone();
                obj["metadata"]["resourceVersion"] = json!(rv);
                let obj = obj.clone();
                let event = json!({"type": "MODIFIED", "object": obj});
                send_event(&mut st, &coll, &event);
                full(StatusCode::OK, obj)
            }
            _ => {
                r.answered = 405;
                full(
                    StatusCode::METHOD_NOT_ALLOWED,
                    status_body(405, "MethodNotAllowed", "not in this fake"),
                )
            }
        }
    }

    /// Sends a watch event to every open watch of `collection`.
    fn push(&self, collection: &str, event: Value) {
        let mut st = self.state.lock().unwrap();
        if let Some(obj) = event.get("object").filter(|o| o["kind"] != "Status") {
            // Keep the store in step, as the API server would.
            let mut obj = obj.clone();
            st.rv += 1;
            obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
            let objects = st.objects.entry(collection.to_string()).or_default();
            objects.retain(|o| {
                o["metadata"]["name"] != obj["metadata"]["name"]
                    || o["metadata"]["namespace"] != obj["metadata"]["namespace"]
            });
            if event["type"] != "DELETED" {
                objects.push(obj.clone());
            }
            let ev = json!({"type": event["type"], "object": obj});
            send_event(&mut st, collection, &ev);
        } else {
            send_event(&mut st, collection, &event);
        }
    }

    fn fail_next_patches(&self, codes: &[u16]) {
        self.state.lock().unwrap().patch_failures.extend(codes);
    }

    fn watches_of(&self, collection: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .watch_count
            .get(collection)
            .copied()
            .unwrap_or(0)
    }

    fn lists_of(&self, collection: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .list_count
            .get(collection)
            .copied()
            .unwrap_or(0)
    }

    async fn wait_until(&self, what: &str, f: impl Fn(&Fake) -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !f(self) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    async fn next_patch(&self) -> Recorded {
        tokio::time::timeout(Duration::from_secs(10), self.patches.lock().await.recv())
            .await
            .expect("timed out waiting for a status patch")
            .expect("fake stopped")
    }

    /// Asserts that no patch arrives within `d`.
    async fn no_patch_within(&self, d: Duration) {
        if let Ok(Some(p)) = tokio::time::timeout(d, self.patches.lock().await.recv()).await {
            panic!("unexpected patch {} {}", p.path, p.body);
        }
    }

    /// Every mutating request targeted a `/status` subresource, a Lease or an Event.
    fn assert_only_status_was_mutated(&self) {
        let st = self.state.lock().unwrap();
        for r in &st.requests {
            if r.method != "GET" {
                assert!(
                    r.path.ends_with("/status")
                        || r.path.contains("/leases")
                        || r.path.contains("/events"),
                    "mutating request outside /status: {} {}",
                    r.method,
                    r.path
                );
            }
        }
    }
}

/// A namespaced list path (`.../namespaces/shop/pipelines`) as its all-namespace collection
/// and the namespace; other paths unchanged.
fn normalize(path: &str) -> (String, Option<String>) {
    if ALL_COLLECTIONS.contains(&path) {
        return (path.to_string(), None);
    }
    let parts: Vec<&str> = path.split('/').collect();
    if let Some(i) = parts.iter().position(|p| *p == "namespaces")
        && parts.len() == i + 3
    {
        let all = format!("{}/{}", parts[..i].join("/"), parts[i + 2]);
        if ALL_COLLECTIONS.contains(&all.as_str()) {
            return (all, Some(parts[i + 1].to_string()));
        }
    }
    (path.to_string(), None)
}

fn send_event(st: &mut State, collection: &str, event: &Value) {
    let mut line = serde_json::to_vec(event).unwrap();
    line.push(b'\n');
    if let Some(watches) = st.watches.get_mut(collection) {
        watches.retain(|w| w.unbounded_send(Bytes::from(line.clone())).is_ok());
    }
}

/// Renders `input` with the real `layer-render`.
fn rendered(input: &str) -> Vec<Value> {
    let loaded = load_str("input.yaml", input, &Limits::default());
    let out = render(
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

fn find(objects: &[Value], kind: &str) -> Value {
    objects.iter().find(|o| o["kind"] == kind).cloned().unwrap()
}

const PIPELINE: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: embed, namespace: shop}
spec:
  target: {namespace: products}
  worker: {image: "ghcr.io/hev/embed:1.2.0"}
  scaling: {replicas: {min: 1, max: 4}}
"#;

/// The rendered Pipeline and its children, as a cluster holds them after a successful sync.
fn live_pipeline(input: &str) -> Vec<(&'static str, Value)> {
    let r = rendered(input);
    let mut cr = find(&r, "Pipeline");
    cr["metadata"]["generation"] = json!(1);
    let mut out = vec![(PIPELINES, cr)];
    for o in &r {
        match o["kind"].as_str().unwrap() {
            "Deployment" => {
                let mut d = o.clone();
                d["metadata"]["generation"] = json!(1);
                d["spec"]["replicas"] = json!(1);
                d["status"] = json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
                out.push((DEPLOYMENTS, d));
            }
            "ScaledObject" => {
                let mut so = o.clone();
                so["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "ScaledObjectReady"}]});
                out.push((SCALED_OBJECTS, so));
            }
            "TriggerAuthentication" => out.push((TRIGGER_AUTHS, o.clone())),
            "Service" => out.push((SERVICES, o.clone())),
            _ => {}
        }
    }
    out
}

fn config() -> SyncConfig {
    SyncConfig {
        watch: WatchOptions {
            namespace: None,
            document_cache_namespace: "layer".into(),
            document_cache_name: "layer-document-cache".into(),
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
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    ready: Arc<AtomicBool>,
    metrics: Metrics,
    leader: watch::Sender<bool>,
}

fn start(client: Client, leader: bool) -> Running {
    start_with(client, leader, config())
}

fn start_with(client: Client, leader: bool, config: SyncConfig) -> Running {
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

impl Running {
    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("sync did not stop on shutdown")
            .unwrap();
    }
}

fn conditions(body: &Value) -> Vec<(String, String, String)> {
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

fn ready_reason(body: &Value) -> (String, String) {
    let c = &body["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap().into(),
        c["reason"].as_str().unwrap().into(),
    )
}

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
    let st = fake.state.lock().unwrap();
    assert!(
        st.requests.iter().all(|r| r.method == "GET"),
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
    fake.push(DEPLOYMENTS, json!({"type": "ERROR", "object": status_body(410, "Expired", "too old resource version: 100 (200)")}));
    fake.wait_until("a relist after 410", |f| {
        f.lists_of(DEPLOYMENTS) == 2 && f.watches_of(DEPLOYMENTS) == 2
    })
    .await;
    // The Deployment loses its available replica: found through its owner labels.
    let mut down = deployment.clone();
    down["status"]["availableReplicas"] = json!(0);
    fake.push(DEPLOYMENTS, json!({"type": "MODIFIED", "object": down}));
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
    fake.push(DEPLOYMENTS, json!({"type": "DELETED", "object": down}));
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
    // The Index waits for its store's status, so it is written twice.
    while seen.len() < 3
        || ready_reason(&seen["/apis/hevlayer.com/v1/namespaces/layer/indexes/products/status"]).0
            != "True"
    {
        let p = fake.next_patch().await;
        seen.insert(p.path.clone(), p.body);
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
    let st = fake.state.lock().unwrap();
    let listed: BTreeSet<&str> = st
        .requests
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
        STATEFUL_SETS,
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
    let st = fake.state.lock().unwrap();
    let query_of = |path: &str| {
        st.requests
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
    assert!(query_of(STATEFUL_SETS).contains("fieldSelector=metadata.name%3Dlayer-document-cache"));
    assert!(!query_of(PIPELINES).contains("labelSelector"));
}
