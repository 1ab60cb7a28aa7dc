//! A fake Kubernetes API server for the syncer's mock tests and its efficiency bench.
//!
//! It keeps objects per collection and answers the requests the syncer makes the way
//! kube-apiserver does:
//!
//! - **lists** honour `limit` and `continue` (a page of keys after the last one, with a
//!   `continue` token and `remainingItemCount`), `labelSelector` (`k=v`, `k!=v`) and
//!   `fieldSelector` (`metadata.name`, `metadata.namespace`); a `continue` token older than
//!   the compaction point answers `410 Expired`;
//! - **watches** (`watch=true&resourceVersion=N`) replay every event after `N` from the
//!   collection's history, then stream new ones; a `resourceVersion` older than the compaction
//!   point gets a `200` stream with one `ERROR` event carrying `410 Expired` (what the watch
//!   cache sends), then the stream ends;
//! - **status patches** must be server-side applies (`application/apply-patch+yaml`, else
//!   `415`) with a `fieldManager` (else `422`) whose `apiVersion` and `kind` match the object
//!   (else `400`); they replace the status fields the manager owned, bump the
//!   resourceVersion and send a `MODIFIED` event, except when nothing changed (a no-op apply
//!   bumps nothing and sends nothing); a missing object answers `404`;
//! - **Events** (`events.k8s.io/v1`): `POST` creates one (`409 AlreadyExists` for a taken
//!   name), a merge `PATCH` updates one (a series), both validated as the API server does
//!   (`422`); **Leases** (`coordination.k8s.io/v1`): `GET`, `POST`, `PUT` and `PATCH` (server-side
//!   apply with field ownership, so a second manager's apply of a field another owns is a `409`
//!   conflict; strategic and merge patches; a stale `resourceVersion` is a `409`) in
//!   [`leases_events`];
//! - any other request answers `405`, and a collection a test marks missing answers `404`
//!   (its CRD is not installed).
//!
//! Every write can be given a latency ([`Fake::set_write_latency`]), as a real API server takes
//! 5 to 20 ms per apply. Faults are scripted: answers to the next patches ([`PatchFault`]), slow
//! or stalled lists ([`ListFault`]), held watch events, truncated event lines, cut and reset
//! streams, compaction, the whole server going down (every request refused) and coming back,
//! and one client cut off ([`Fake::cut_off`], a partitioned replica). Every request that reaches
//! the server is recorded with the client that sent it and the Lease holder at that moment,
//! refused ones separately.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc as fmpsc;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use kube::Client;
use kube::client::{Body, ClientBuilder};
use layer_syncer::client::ApiTimeoutLayer;
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[path = "leases_events.rs"]
mod leases_events;
pub use leases_events::{EVENTS, LEASES};

/// Errors as tower passes them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body the fake sends.
pub type MockBody = UnsyncBoxBody<Bytes, BoxError>;
type Handle = tower_test::mock::Handle<Request<Body>, Response<MockBody>>;

pub const PIPELINES: &str = "/apis/hevlayer.com/v1alpha1/pipelines";
pub const FUNCTIONS: &str = "/apis/hevlayer.com/v1alpha1/functions";
pub const VECTOR_STORES: &str = "/apis/hevlayer.com/v1alpha1/vectorstores";
pub const INDEXES: &str = "/apis/hevlayer.com/v1/indexes";
pub const INFRA_RULES: &str = "/apis/hevlayer.com/v1alpha1/infrarules";
pub const DEPLOYMENTS: &str = "/apis/apps/v1/deployments";
pub const SERVICES: &str = "/api/v1/services";
pub const SCALED_OBJECTS: &str = "/apis/keda.sh/v1alpha1/scaledobjects";
pub const TRIGGER_AUTHS: &str = "/apis/keda.sh/v1alpha1/triggerauthentications";
pub const STATEFUL_SETS: &str = "/apis/apps/v1/statefulsets";
pub const NODE_POOLS: &str = "/apis/karpenter.sh/v1/nodepools";

/// Every collection, by its all-namespaces path.
pub const ALL_COLLECTIONS: [&str; 11] = [
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

/// The five hev layer collections (the only ones with a status the syncer writes).
pub const CR_COLLECTIONS: [&str; 5] = [PIPELINES, FUNCTIONS, VECTOR_STORES, INDEXES, INFRA_RULES];

/// One request that reached the server.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
    /// The status code the server answered (or will answer, for a slow answer).
    pub answered: u16,
    /// When it arrived.
    pub at: Instant,
    /// When its answer was sent (later than `at` for a slow answer or a write latency).
    pub done: Instant,
    /// The client that sent it ([`Fake::client`]; empty for the first one).
    pub client: String,
    /// The holder of an unexpired Lease when it arrived.
    pub holder: Option<String>,
}

impl Recorded {
    /// A status patch (not a Lease or Event write).
    pub fn is_status_patch(&self) -> bool {
        self.method == "PATCH" && self.path.ends_with("/status")
    }
}

/// A scripted answer to a status patch.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchFault {
    /// Answer this code (409, 429, 500, ...) and apply nothing.
    Status(u16),
    /// Delete the CR first (its `DELETED` event goes out), then answer 404.
    DeleteFirst,
    /// Apply the patch, but send the answer only after this long.
    Slow(Duration),
    /// Apply nothing, and answer `504 Timeout` only after this long (a stuck server).
    Stuck(Duration),
    /// Go down on this request: it and every later one are refused until [`Fake::up`].
    GoDown,
    /// Answer 429 as priority and fairness does: a `Retry-After` header of this many seconds
    /// and a plain-text body.
    Throttled(u64),
}

/// A scripted answer to a list.
#[derive(Clone, Debug, PartialEq)]
pub enum ListFault {
    /// Send the response head only after this long.
    SlowHead(Duration),
    /// Send the head at once, then nothing of the body for this long.
    StalledBody(Duration),
    /// Answer this page, then compact: its `continue` token is expired when it is used.
    ExpireContinue,
}

enum Reply {
    Now(Response<MockBody>),
    After(Duration, Response<MockBody>),
    Refuse,
}

/// `(namespace or "", name)`.
type Key = (String, String);

struct WatchConn {
    tx: fmpsc::UnboundedSender<Result<Bytes, BoxError>>,
    /// The client that opened it.
    client: String,
    filter: Filter,
    /// The resourceVersion of the last event sent on this stream.
    sent: u64,
}

#[derive(Default)]
struct Collection {
    objects: BTreeMap<Key, Value>,
    /// Every event, oldest first, with its resourceVersion.
    history: Vec<(u64, Value)>,
    /// Watches from before this resourceVersion get 410.
    compacted: u64,
    watches: Vec<WatchConn>,
    /// Events are kept in history but not streamed (a lagging watch).
    held: bool,
    /// Top-level status fields each object's `layer-syncer` applies own.
    owned: BTreeMap<Key, BTreeSet<String>>,
    lists: usize,
    watch_starts: usize,
}

#[derive(Default)]
struct State {
    collections: BTreeMap<String, Collection>,
    missing: BTreeSet<String>,
    requests: Vec<Recorded>,
    refused: Vec<(String, String)>,
    patch_faults: VecDeque<PatchFault>,
    path_faults: BTreeMap<String, VecDeque<PatchFault>>,
    list_faults: BTreeMap<String, VecDeque<ListFault>>,
    down: bool,
    /// Collections whose requests are refused while the rest is served.
    refusing: BTreeSet<String>,
    /// Status patches and Event writes received (counted as they come: the bench polls them).
    status_patches: usize,
    event_writes: usize,
    /// Clients whose requests are refused ([`Fake::cut_off`]).
    cut_off: BTreeSet<String>,
    /// Added to the answer of every request but a `GET`.
    write_latency: Duration,
    /// Who owns each field of each Lease's spec (server-side apply).
    lease_fields: BTreeMap<Key, BTreeMap<String, leases_events::Owner>>,
    rv: u64,
}

/// The fake API server. Clones share the same state.
#[derive(Clone)]
pub struct Fake {
    state: Arc<Mutex<State>>,
    patches: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Recorded>>>,
    patch_tx: mpsc::UnboundedSender<Recorded>,
}

fn full(code: StatusCode, body: &Value) -> Response<MockBody> {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut r = Response::new(Full::new(bytes).map_err(|e| match e {}).boxed_unsync());
    *r.status_mut() = code;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A `metav1.Status` failure, as the API server sends it.
pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// The field manager of a server-side apply; without one the API server answers 422.
fn apply_manager(
    params: &BTreeMap<String, String>,
    r: &mut Recorded,
) -> Result<String, Box<Reply>> {
    match params.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(manager) => Ok(manager.clone()),
        None => {
            r.answered = 422;
            Err(Box::new(Reply::Now(failure(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ))))
        }
    }
}

fn failure(code: u16, reason: &str, message: &str) -> Response<MockBody> {
    full(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &status_body(code, reason, message),
    )
}

/// Decodes `%XX` escapes and `+`.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string as decoded pairs.
pub fn query_params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// What a list or watch selects.
#[derive(Clone, Debug, Default)]
struct Filter {
    namespace: Option<String>,
    /// `(key, value, equal)`.
    labels: Vec<(String, String, bool)>,
    /// `(field path, value)`.
    fields: Vec<(String, String)>,
}

impl Filter {
    fn parse(namespace: Option<String>, params: &BTreeMap<String, String>) -> Filter {
        let terms = |key: &str| -> Vec<String> {
            params
                .get(key)
                .map(|s| {
                    s.split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let labels = terms("labelSelector")
            .into_iter()
            .map(|t| match t.split_once("!=") {
                Some((k, v)) => (k.to_string(), v.to_string(), false),
                None => {
                    let (k, v) = t.split_once("==").or(t.split_once('=')).unwrap_or((&t, ""));
                    (k.to_string(), v.to_string(), true)
                }
            })
            .collect();
        let fields = terms("fieldSelector")
            .into_iter()
            .map(|t| {
                let (k, v) = t.split_once("==").or(t.split_once('=')).unwrap_or((&t, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        Filter {
            namespace,
            labels,
            fields,
        }
    }

    fn matches(&self, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        if let Some(ns) = &self.namespace
            && meta["namespace"].as_str() != Some(ns)
        {
            return false;
        }
        let labels_ok = self.labels.iter().all(|(k, v, eq)| {
            let has = meta["labels"][k].as_str() == Some(v.as_str());
            has == *eq
        });
        let fields_ok = self.fields.iter().all(|(path, v)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            obj.pointer(&pointer).and_then(Value::as_str) == Some(v.as_str())
        });
        labels_ok && fields_ok
    }
}

fn key_of(obj: &Value) -> Key {
    (
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// What a request path names.
#[derive(Debug, PartialEq)]
struct Target {
    /// The all-namespaces collection path.
    collection: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// Splits `/apis/g/v[/namespaces/ns]/plural[/name[/sub]]` (or `/api/v/...`).
fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prefix_len = match parts.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    if parts.len() <= prefix_len {
        return None;
    }
    let prefix = format!("/{}", parts[..prefix_len].join("/"));
    let mut rest = &parts[prefix_len..];
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    let (plural, name, subresource) = match rest {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(name.to_string()), None),
        [plural, name, sub] => (plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    Some(Target {
        collection: format!("{prefix}/{plural}"),
        namespace,
        name,
        subresource,
    })
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

impl Collection {
    /// Sends every event a stream has not had yet (unless held).
    fn deliver(&mut self) {
        if self.held {
            return;
        }
        let history = &self.history;
        self.watches.retain_mut(|w| {
            let from = history.partition_point(|(rv, _)| *rv <= w.sent);
            for (rv, event) in &history[from..] {
                w.sent = *rv;
                if w.filter.matches(&event["object"])
                    && w.tx.unbounded_send(Ok(line(event))).is_err()
                {
                    return false;
                }
            }
            true
        });
    }

    fn record(&mut self, rv: u64, kind: &str, obj: Value) {
        self.history
            .push((rv, json!({"type": kind, "object": obj})));
        self.deliver();
    }
}

impl State {
    fn collection(&mut self, path: &str) -> &mut Collection {
        self.collections.entry(path.to_string()).or_default()
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Creates or replaces an object, as a client's write would.
    fn put(&mut self, collection: &str, mut obj: Value) -> Value {
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = key_of(&obj);
        let c = self.collection(collection);
        let kind = if c.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        c.objects.insert(key, obj.clone());
        c.record(rv, kind, obj.clone());
        obj
    }

    fn remove(&mut self, collection: &str, key: &Key) -> Option<Value> {
        let rv = self.next_rv();
        let c = self.collection(collection);
        let mut obj = c.objects.remove(key)?;
        c.owned.remove(key);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        c.record(rv, "DELETED", obj.clone());
        Some(obj)
    }

    fn reset_watches(&mut self) {
        for c in self.collections.values_mut() {
            for w in c.watches.drain(..) {
                let reset = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                );
                let _ = w.tx.unbounded_send(Err(Box::new(reset)));
            }
        }
    }
}

impl Fake {
    /// A fake holding `objects` (collection path, object) and answering 404 for the
    /// collections in `missing`. Objects get resourceVersions in order; the history starts
    /// after them.
    pub fn new(objects: Vec<(&str, Value)>, missing: &[&str]) -> Fake {
        let mut state = State {
            rv: 100,
            ..State::default()
        };
        for (collection, mut obj) in objects {
            let rv = state.next_rv();
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            let key = key_of(&obj);
            state.collection(collection).objects.insert(key, obj);
        }
        let start = state.rv;
        for c in ALL_COLLECTIONS {
            state.collection(c).compacted = start;
        }
        state.missing = missing.iter().map(|s| s.to_string()).collect();
        let (patch_tx, rx) = mpsc::unbounded_channel();
        Fake {
            state: Arc::new(Mutex::new(state)),
            patches: Arc::new(tokio::sync::Mutex::new(rx)),
            patch_tx,
        }
    }

    /// The fake behind a `tower-test` mock, and a client that talks to it through the
    /// syncer's own `--api-timeout` layer.
    pub fn start(objects: Vec<(&str, Value)>, missing: &[&str]) -> (Client, Fake) {
        Fake::start_with_timeout(objects, missing, Duration::from_secs(10))
    }

    /// Another client of the same server, whose requests are recorded as `tag`'s (one per
    /// replica).
    pub fn client(&self, tag: &str) -> Client {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<MockBody>>();
        tokio::spawn(self.clone().serve(handle, tag.to_string()));
        ClientBuilder::new(service, "layer")
            .with_layer(&ApiTimeoutLayer::new(Duration::from_secs(10)))
            .build()
    }

    /// [`Fake::start`] with another API timeout.
    pub fn start_with_timeout(
        objects: Vec<(&str, Value)>,
        missing: &[&str],
        api_timeout: Duration,
    ) -> (Client, Fake) {
        let fake = Fake::new(objects, missing);
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<MockBody>>();
        let client = ClientBuilder::new(service, "layer")
            .with_layer(&ApiTimeoutLayer::new(api_timeout))
            .build();
        tokio::spawn(fake.clone().serve(handle, String::new()));
        (client, fake)
    }

    async fn serve(self, mut handle: Handle, tag: String) {
        while let Some((request, send)) = handle.next_request().await {
            let fake = self.clone();
            let tag = tag.clone();
            tokio::spawn(async move {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                match fake.handle(&parts, &bytes, &tag) {
                    Reply::Now(r) => send.send_response(r),
                    Reply::After(d, r) => {
                        tokio::time::sleep(d).await;
                        send.send_response(r);
                    }
                    Reply::Refuse => send.send_error(std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        "tcp connect error: Connection refused (os error 111)",
                    )),
                }
            });
        }
    }

    /// Serves real HTTP/1.1 on `listener` (for the bench, which runs the syncer in another
    /// process). A refused request closes its connection.
    pub async fn serve_tcp(self, listener: tokio::net::TcpListener) {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        while let Ok((stream, _)) = listener.accept().await {
            // As kube-apiserver does (Go sets TCP_NODELAY on every connection).
            let _ = stream.set_nodelay(true);
            let fake = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let fake = fake.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = match body.collect().await {
                            Ok(b) => b.to_bytes(),
                            Err(e) => return Err(std::io::Error::other(e)),
                        };
                        // A concrete error type: hyper's server cannot take boxed ones here.
                        let concrete = |r: Response<MockBody>| {
                            r.map(|b| b.map_err(std::io::Error::other).boxed_unsync())
                        };
                        match fake.handle(&parts, &bytes, "") {
                            Reply::Now(r) => Ok(concrete(r)),
                            Reply::After(d, r) => {
                                tokio::time::sleep(d).await;
                                Ok(concrete(r))
                            }
                            Reply::Refuse => Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionRefused,
                                "refused",
                            )),
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    fn handle(&self, parts: &http::request::Parts, bytes: &[u8], client: &str) -> Reply {
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or_default().to_string();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut st = self.state.lock().unwrap();
        let refusing = !st.refusing.is_empty()
            && parse_path(&path).is_some_and(|t| st.refusing.contains(&t.collection));
        if st.down || refusing || st.cut_off.contains(client) {
            st.refused.push((parts.method.to_string(), path));
            return Reply::Refuse;
        }
        let now = Instant::now();
        let mut recorded = Recorded {
            method: parts.method.to_string(),
            path,
            query,
            content_type,
            body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
            answered: 200,
            at: now,
            done: now,
            client: client.to_string(),
            holder: leases_events::holder(&st),
        };
        let mut reply = answer(&mut st, &mut recorded, bytes);
        if matches!(reply, Reply::Refuse) {
            st.refused
                .push((recorded.method.clone(), recorded.path.clone()));
            return reply;
        }
        let latency = st.write_latency;
        if recorded.method != "GET" && !latency.is_zero() {
            reply = match reply {
                Reply::Now(r) => Reply::After(latency, r),
                Reply::After(d, r) => Reply::After(d + latency, r),
                Reply::Refuse => Reply::Refuse,
            };
        }
        if let Reply::After(d, _) = &reply {
            recorded.done = now + *d;
        }
        if recorded.is_status_patch() {
            st.status_patches += 1;
        } else if recorded.method != "GET" && recorded.path.starts_with("/apis/events.k8s.io/") {
            st.event_writes += 1;
        }
        st.requests.push(recorded.clone());
        drop(st);
        if recorded.is_status_patch() {
            let _ = self.patch_tx.send(recorded);
        }
        reply
    }

    // === Changing the cluster ===

    /// Creates or replaces an object (a client's write: new resourceVersion, an event).
    pub fn apply(&self, collection: &str, obj: Value) -> Value {
        self.state.lock().unwrap().put(collection, obj)
    }

    /// Deletes an object (a `DELETED` event).
    pub fn delete(&self, collection: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = (namespace.unwrap_or_default().to_string(), name.to_string());
        self.state.lock().unwrap().remove(collection, &key)
    }

    /// The stored object, if any.
    pub fn get(&self, collection: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = (namespace.unwrap_or_default().to_string(), name.to_string());
        self.state
            .lock()
            .unwrap()
            .collections
            .get(collection)
            .and_then(|c| c.objects.get(&key).cloned())
    }

    /// Every stored object of a collection.
    pub fn objects(&self, collection: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .collections
            .get(collection)
            .map(|c| c.objects.values().cloned().collect())
            .unwrap_or_default()
    }

    // === Faults ===

    /// Scripts the answers to the next status patches, whatever their path.
    pub fn fail_next_patches(&self, codes: &[u16]) {
        let mut st = self.state.lock().unwrap();
        st.patch_faults
            .extend(codes.iter().map(|c| PatchFault::Status(*c)));
    }

    /// Scripts the answer to the next status patch of `path`.
    pub fn fault_next_patch_of(&self, path: &str, fault: PatchFault) {
        let mut st = self.state.lock().unwrap();
        st.path_faults
            .entry(path.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Scripts the answer to the next list of `collection`.
    pub fn fault_next_list_of(&self, collection: &str, fault: ListFault) {
        let mut st = self.state.lock().unwrap();
        st.list_faults
            .entry(collection.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Keeps a collection's events from its open watches (they stay in the history).
    pub fn hold(&self, collection: &str) {
        self.state.lock().unwrap().collection(collection).held = true;
    }

    /// Streams the held events.
    pub fn release(&self, collection: &str) {
        let mut st = self.state.lock().unwrap();
        let c = st.collection(collection);
        c.held = false;
        c.deliver();
    }

    /// Sends the first `bytes` bytes of the collection's newest event line to every open watch
    /// (a connection that broke in the middle of an event).
    pub fn send_partial_newest_event(&self, collection: &str, bytes: usize) {
        let mut st = self.state.lock().unwrap();
        let c = st.collection(collection);
        let Some((_, event)) = c.history.last() else {
            return;
        };
        let full = line(event);
        let part = full.slice(..bytes.min(full.len() - 1));
        for w in &c.watches {
            let _ = w.tx.unbounded_send(Ok(part.clone()));
        }
    }

    /// Ends every open watch of a collection cleanly.
    pub fn cut(&self, collection: &str) {
        self.state
            .lock()
            .unwrap()
            .collection(collection)
            .watches
            .clear();
    }

    /// Sends a raw event line to every open watch of a collection, outside the history.
    pub fn push_raw(&self, collection: &str, event: &Value) {
        let mut st = self.state.lock().unwrap();
        for w in &st.collection(collection).watches {
            let _ = w.tx.unbounded_send(Ok(line(event)));
        }
    }

    /// Drops the history up to now: watches and `continue` tokens from before get 410.
    pub fn compact(&self) {
        let mut st = self.state.lock().unwrap();
        let rv = st.rv;
        for c in st.collections.values_mut() {
            c.compacted = rv;
            c.history.clear();
        }
    }

    /// The server goes away: open watches are reset and every request is refused.
    pub fn down(&self) {
        let mut st = self.state.lock().unwrap();
        st.down = true;
        st.reset_watches();
    }

    /// Every later write (any request but a `GET`) is answered only after `latency`.
    pub fn set_write_latency(&self, latency: Duration) {
        self.state.lock().unwrap().write_latency = latency;
    }

    /// Cuts the client `tag` off (a partitioned replica): its open watches are reset and every
    /// later request of it is refused.
    pub fn cut_off(&self, tag: &str) {
        let mut st = self.state.lock().unwrap();
        st.cut_off.insert(tag.to_string());
        for c in st.collections.values_mut() {
            c.watches.retain(|w| {
                if w.client != tag {
                    return true;
                }
                let reset = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                );
                let _ = w.tx.unbounded_send(Err(Box::new(reset)));
                false
            });
        }
    }

    /// The server is back.
    pub fn up(&self) {
        let mut st = self.state.lock().unwrap();
        st.down = false;
        st.refusing.clear();
    }

    /// The server is back, except for these collections (until [`Fake::up`]).
    pub fn up_except(&self, collections: &[&str]) {
        let mut st = self.state.lock().unwrap();
        st.down = false;
        st.refusing = collections.iter().map(|c| c.to_string()).collect();
    }

    // === Reading what happened ===

    pub fn watches_of(&self, collection: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.collections.get(collection).map_or(0, |c| c.watch_starts)
    }

    pub fn open_watches_of(&self, collection: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.collections.get(collection).map_or(0, |c| {
            c.watches.iter().filter(|w| !w.tx.is_closed()).count()
        })
    }

    pub fn lists_of(&self, collection: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.collections.get(collection).map_or(0, |c| c.lists)
    }

    /// The holder of an unexpired Lease now.
    pub fn lease_holder(&self) -> Option<String> {
        leases_events::holder(&self.state.lock().unwrap())
    }

    /// Every request that reached the server.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests refused while the server was down.
    pub fn refused(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().refused.clone()
    }

    /// The status codes of the patches of `path`, in order.
    pub fn patch_answers(&self, path: &str) -> Vec<u16> {
        let st = self.state.lock().unwrap();
        st.requests
            .iter()
            .filter(|r| r.method == "PATCH" && r.path == path)
            .map(|r| r.answered)
            .collect()
    }

    /// How many status patches each path got.
    pub fn patch_counts(&self) -> BTreeMap<String, usize> {
        let st = self.state.lock().unwrap();
        let mut out = BTreeMap::new();
        for r in st.requests.iter().filter(|r| r.is_status_patch()) {
            *out.entry(r.path.clone()).or_default() += 1;
        }
        out
    }

    /// How many status patches reached the server.
    pub fn patch_total(&self) -> usize {
        self.state.lock().unwrap().status_patches
    }

    /// How many Event writes reached the server.
    pub fn event_write_count(&self) -> usize {
        self.state.lock().unwrap().event_writes
    }

    /// The Event writes (`POST` and `PATCH`) that reached the server, in order.
    pub fn event_writes(&self) -> Vec<Recorded> {
        let st = self.state.lock().unwrap();
        st.requests
            .iter()
            .filter(|r| r.method != "GET" && r.path.starts_with("/apis/events.k8s.io/"))
            .cloned()
            .collect()
    }

    pub async fn wait_until(&self, what: &str, f: impl Fn(&Fake) -> bool) {
        self.wait_until_for(what, Duration::from_secs(20), f).await;
    }

    pub async fn wait_until_for(&self, what: &str, limit: Duration, f: impl Fn(&Fake) -> bool) {
        tokio::time::timeout(limit, async {
            while !f(self) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// The next status patch that reaches the server (10 s at most).
    pub async fn next_patch(&self) -> Recorded {
        tokio::time::timeout(Duration::from_secs(10), self.patches.lock().await.recv())
            .await
            .expect("timed out waiting for a status patch")
            .expect("fake stopped")
    }

    /// Asserts that no patch arrives within `d`.
    pub async fn no_patch_within(&self, d: Duration) {
        if let Ok(Some(p)) = tokio::time::timeout(d, self.patches.lock().await.recv()).await {
            panic!("unexpected patch {} {}", p.path, p.body);
        }
    }

    /// Forgets the patches seen so far by [`Fake::next_patch`].
    pub async fn drain_patches(&self) {
        let mut rx = self.patches.lock().await;
        while rx.try_recv().is_ok() {}
    }

    /// Every mutating request was a status patch, an Event created or patched, or the
    /// syncer's Lease in the release namespace created or patched: nothing else was written,
    /// and nothing was ever replaced or deleted.
    pub fn assert_only_status_was_mutated(&self) {
        let st = self.state.lock().unwrap();
        for r in &st.requests {
            let target = parse_path(&r.path);
            let collection = target.as_ref().map(|t| t.collection.as_str());
            let allowed = match r.method.as_str() {
                "GET" => true,
                "PATCH" => {
                    r.is_status_patch()
                        || (collection == Some(EVENTS)
                            && target.as_ref().is_some_and(|t| t.name.is_some()))
                        || r.path
                            .starts_with("/apis/coordination.k8s.io/v1/namespaces/layer/leases/")
                }
                "POST" => {
                    (collection == Some(EVENTS)
                        && target.as_ref().is_some_and(|t| t.name.is_none()))
                        || r.path == "/apis/coordination.k8s.io/v1/namespaces/layer/leases"
                }
                _ => false,
            };
            assert!(
                allowed,
                "mutating request outside /status, Events and the Lease: {} {}",
                r.method, r.path
            );
        }
    }
}

/// Answers one request against the state.
fn answer(st: &mut State, r: &mut Recorded, bytes: &[u8]) -> Reply {
    let params = query_params(&r.query);
    let Some(target) = parse_path(&r.path) else {
        r.answered = 404;
        return Reply::Now(failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    if target.collection == LEASES || target.collection == EVENTS {
        return leases_events::answer(st, r, &target, &params, bytes);
    }
    let known = ALL_COLLECTIONS.contains(&target.collection.as_str());
    if st.missing.contains(&target.collection)
        || (!known && r.method == "GET" && target.name.is_none())
    {
        r.answered = 404;
        return Reply::Now(failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    match (r.method.as_str(), &target.name) {
        ("GET", None) if params.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            Reply::Now(watch(st, &target, &params, &r.client))
        }
        ("GET", None) => list(st, r, &target, &params),
        ("GET", Some(name)) => {
            let key = (target.namespace.clone().unwrap_or_default(), name.clone());
            match st
                .collections
                .get(&target.collection)
                .and_then(|c| c.objects.get(&key))
            {
                Some(obj) if target.subresource.is_none() => Reply::Now(full(StatusCode::OK, obj)),
                _ => {
                    r.answered = 404;
                    Reply::Now(failure(404, "NotFound", &format!("{name} not found")))
                }
            }
        }
        ("PATCH", Some(name)) if target.subresource.as_deref() == Some("status") && known => {
            patch_status(st, r, &target, name, &params, bytes)
        }
        _ => {
            r.answered = 405;
            Reply::Now(failure(405, "MethodNotAllowed", "not in this fake"))
        }
    }
}

fn list(
    st: &mut State,
    r: &mut Recorded,
    target: &Target,
    params: &BTreeMap<String, String>,
) -> Reply {
    let fault = st
        .list_faults
        .get_mut(&target.collection)
        .and_then(VecDeque::pop_front);
    let current = st.rv;
    let c = st.collection(&target.collection);
    c.lists += 1;
    let filter = Filter::parse(target.namespace.clone(), params);
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let (list_rv, after): (u64, Option<Key>) = match params
        .get("continue")
        .filter(|t| !t.is_empty())
    {
        None => (current, None),
        Some(token) => {
            let parsed = token.split_once(':').and_then(|(rv, key)| {
                let rv: u64 = rv.parse().ok()?;
                let (ns, name) = key.split_once('/')?;
                Some((rv, (ns.to_string(), name.to_string())))
            });
            match parsed {
                Some((rv, _)) if rv < c.compacted => {
                    r.answered = 410;
                    return Reply::Now(failure(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ));
                }
                Some((rv, key)) => (rv, Some(key)),
                None => {
                    r.answered = 400;
                    return Reply::Now(failure(400, "BadRequest", "invalid continue token"));
                }
            }
        }
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut remaining = 0usize;
    let range = match &after {
        Some(k) => c.objects.range((
            std::ops::Bound::Excluded(k.clone()),
            std::ops::Bound::Unbounded,
        )),
        None => c.objects.range::<Key, _>(..),
    };
    for (key, obj) in range {
        if !filter.matches(obj) {
            continue;
        }
        if items.len() < limit {
            items.push(obj.clone());
            last = Some(key.clone());
        } else {
            remaining += 1;
        }
    }
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if remaining > 0
        && let Some((ns, name)) = last
    {
        metadata["continue"] = json!(format!("{list_rv}:{ns}/{name}"));
        metadata["remainingItemCount"] = json!(remaining);
    }
    let body = json!({"apiVersion": "v1", "kind": "List", "metadata": metadata, "items": items});
    if fault == Some(ListFault::ExpireContinue) {
        st.rv += 1;
        let rv = st.rv;
        for c in st.collections.values_mut() {
            c.compacted = rv;
            c.history.clear();
        }
    }
    match fault {
        None | Some(ListFault::ExpireContinue) => Reply::Now(full(StatusCode::OK, &body)),
        Some(ListFault::SlowHead(d)) => Reply::After(d, full(StatusCode::OK, &body)),
        Some(ListFault::StalledBody(d)) => {
            let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
            let stream = futures::stream::once(async move {
                tokio::time::sleep(d).await;
                Ok::<_, BoxError>(Frame::data(bytes))
            });
            Reply::Now(Response::new(StreamBody::new(stream).boxed_unsync()))
        }
    }
}

fn watch(
    st: &mut State,
    target: &Target,
    params: &BTreeMap<String, String>,
    client: &str,
) -> Response<MockBody> {
    let (tx, rx) = fmpsc::unbounded::<Result<Bytes, BoxError>>();
    let c = st.collection(&target.collection);
    c.watch_starts += 1;
    let from: u64 = params
        .get("resourceVersion")
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0);
    if from < c.compacted {
        let gone = status_body(
            410,
            "Expired",
            &format!("too old resource version: {from} ({})", c.compacted),
        );
        let _ = tx.unbounded_send(Ok(line(&json!({"type": "ERROR", "object": gone}))));
        drop(tx);
    } else {
        c.watches.push(WatchConn {
            tx,
            client: client.to_string(),
            filter: Filter::parse(target.namespace.clone(), params),
            sent: from,
        });
        c.deliver();
    }
    let stream = rx.map(|item| item.map(Frame::data));
    Response::new(StreamBody::new(stream).boxed_unsync())
}

fn patch_status(
    st: &mut State,
    r: &mut Recorded,
    target: &Target,
    name: &str,
    params: &BTreeMap<String, String>,
    bytes: &[u8],
) -> Reply {
    if r.content_type != "application/apply-patch+yaml" {
        r.answered = 415;
        return Reply::Now(failure(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {}",
                r.content_type
            ),
        ));
    }
    let manager = match apply_manager(params, r) {
        Ok(manager) => manager,
        Err(reply) => return *reply,
    };
    let fault = match st
        .path_faults
        .get_mut(&r.path)
        .and_then(VecDeque::pop_front)
    {
        Some(f) => Some(f),
        None => st.patch_faults.pop_front(),
    };
    let key = (
        target.namespace.clone().unwrap_or_default(),
        name.to_string(),
    );
    let mut delay = None;
    match fault {
        Some(PatchFault::Status(code)) => {
            r.answered = code;
            let reason = match code {
                409 => "Conflict",
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                _ => "InternalError",
            };
            let message = match code {
                409 => format!(
                    "Operation cannot be fulfilled on {name}: the object has been modified; please apply your changes to the latest version and try again"
                ),
                _ => "scripted failure".to_string(),
            };
            return Reply::Now(failure(code, reason, &message));
        }
        Some(PatchFault::DeleteFirst) => {
            st.remove(&target.collection, &key);
        }
        Some(PatchFault::Slow(d)) => delay = Some(d),
        Some(PatchFault::Stuck(d)) => {
            r.answered = 504;
            return Reply::After(
                d,
                failure(
                    504,
                    "Timeout",
                    "the server was unable to return a response in the time allotted",
                ),
            );
        }
        Some(PatchFault::GoDown) => {
            st.down = true;
            st.reset_watches();
            return Reply::Refuse;
        }
        Some(PatchFault::Throttled(secs)) => {
            r.answered = 429;
            let mut response = Response::new(
                Full::new(Bytes::from_static(
                    b"Too many requests, please try again later.\n",
                ))
                .map_err(|e| match e {})
                .boxed_unsync(),
            );
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_str(&secs.to_string()).unwrap(),
            );
            return Reply::Now(response);
        }
        None => {}
    }
    let Ok(applied) = serde_json::from_slice::<Value>(bytes) else {
        r.answered = 400;
        return Reply::Now(failure(400, "BadRequest", "the body is not valid YAML"));
    };
    let c = st.collection(&target.collection);
    let Some(obj) = c.objects.get(&key) else {
        r.answered = 404;
        return Reply::Now(failure(404, "NotFound", &format!("{name} not found")));
    };
    if applied["apiVersion"] != obj["apiVersion"] || applied["kind"] != obj["kind"] {
        r.answered = 400;
        return Reply::Now(failure(
            400,
            "BadRequest",
            &format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                applied["apiVersion"], obj["apiVersion"]
            ),
        ));
    }
    let mut updated = obj.clone();
    let owned = c.owned.entry(key.clone()).or_default();
    let mut status = updated["status"].as_object().cloned().unwrap_or_default();
    if manager == "layer-syncer" {
        for field in owned.iter() {
            status.remove(field);
        }
    }
    let new_fields: BTreeSet<String> = applied["status"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(m) = applied["status"].as_object() {
        for (k, v) in m {
            status.insert(k.clone(), v.clone());
        }
    }
    *owned = new_fields;
    updated["status"] = Value::Object(status);
    let response = if updated == *obj {
        // A no-op apply changes nothing: no new resourceVersion, no event.
        full(StatusCode::OK, obj)
    } else {
        let rv = st.next_rv();
        updated["metadata"]["resourceVersion"] = json!(rv.to_string());
        let c = st.collection(&target.collection);
        c.objects.insert(key, updated.clone());
        c.record(rv, "MODIFIED", updated.clone());
        full(StatusCode::OK, &updated)
    };
    match delay {
        Some(d) => Reply::After(d, response),
        None => Reply::Now(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_collections_objects_and_subresources() {
        assert_eq!(
            parse_path("/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/embed/status"),
            Some(Target {
                collection: PIPELINES.into(),
                namespace: Some("shop".into()),
                name: Some("embed".into()),
                subresource: Some("status".into()),
            })
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/shop/services")
                .unwrap()
                .collection,
            SERVICES
        );
        let infra = parse_path("/apis/hevlayer.com/v1alpha1/infrarules/default/status").unwrap();
        assert_eq!(
            (infra.collection.as_str(), infra.namespace),
            (INFRA_RULES, None)
        );
    }

    #[test]
    fn queries_are_decoded() {
        let q =
            query_params("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dlayer-render&watch=true");
        assert_eq!(
            q["labelSelector"],
            "app.kubernetes.io/managed-by=layer-render"
        );
        assert_eq!(q["watch"], "true");
    }
}
