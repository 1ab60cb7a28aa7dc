//! VectorStore reachability: a bounded TCP (and, for `http://`, HTTP) probe of
//! `spec.endpoint.url`, and the credential Secret check.
//!
//! An `https://` endpoint is probed with a TCP connect to its host and port: enough to tell
//! DNS, routing and firewalls apart from a live listener without carrying a TLS stack and
//! trust store for third-party endpoints. An `http://` endpoint also gets a `HEAD` request,
//! sent by hyper's HTTP/1 client, and any HTTP response counts as reachable (the store may
//! want auth; it still answered). The `Host` header is the URL's authority: an IPv6 literal
//! keeps its brackets, and the port is kept unless it is the scheme's default (as curl sends
//! it). Each probe is bounded by `--probe-timeout`; all stores are probed every
//! `--probe-interval`.
//! The Secret check reads only metadata, and a 403 (the chart did not grant Secret reads)
//! means "unknown", reported once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::Store;
use kube::{Api, Client};
use layer_render::api::HevKind;
use layer_render::api::VectorStore;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use crate::readiness::conditions::human_duration;
pub use crate::readiness::endpoint::{ProbeState, Scheme, Target, parse_target};
use crate::readiness::vector_store::SecretState;
use crate::watch::{Dirty, Signal, mapping};

/// Probes one target within `timeout`.
pub async fn probe(target: &Target, timeout: Duration) -> ProbeState {
    match tokio::time::timeout(timeout, probe_inner(target)).await {
        Ok(Ok(())) => ProbeState::Reachable,
        Ok(Err(why)) => ProbeState::Unreachable(why),
        Err(_) => ProbeState::Unreachable(format!("no answer within {}", human_duration(timeout))),
    }
}

async fn probe_inner(target: &Target) -> Result<(), String> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("connect to {}: {}", target.address(), e.kind()))?;
    if target.scheme == Scheme::Https {
        return Ok(());
    }
    let request = http::Request::head(target.path.as_str())
        .header(http::header::HOST, target.host_header())
        .header(http::header::USER_AGENT, "layer-syncer")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("build HEAD {}: {e}", target.path))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http_problem(&e))?;
    // The connection is driven here rather than spawned, so the probe's timeout ends it too.
    // It may finish in the same poll that hands over the answer, so the answer is still read.
    let response = sender.send_request(request);
    tokio::pin!(response, connection);
    let answer = tokio::select! {
        biased;
        answer = &mut response => answer,
        closed = &mut connection => {
            closed.map_err(|e| http_problem(&e))?;
            response.await
        }
    };
    answer.map(drop).map_err(|e| http_problem(&e))
}

/// Why an HTTP exchange failed, in words.
fn http_problem(e: &hyper::Error) -> String {
    if e.is_parse() {
        return "the answer is not HTTP".to_string();
    }
    let mut why = format!("HEAD request: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        why.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    why
}

type StoreKey = (String, String);

/// Probe and Secret results, shared between the prober and the status index.
#[derive(Clone, Default)]
pub struct ProbeResults {
    inner: Arc<Mutex<Results>>,
    wake: Arc<Notify>,
}

#[derive(Default)]
struct Results {
    probes: BTreeMap<StoreKey, (String, ProbeState)>,
    secrets: BTreeMap<StoreKey, SecretState>,
    disabled: bool,
}

impl ProbeResults {
    /// Results for `--no-probe`: every store reports [`ProbeState::Disabled`].
    pub fn disabled() -> Self {
        let r = ProbeResults::default();
        if let Ok(mut inner) = r.inner.lock() {
            inner.disabled = true;
        }
        r
    }

    /// The probe state of a store's current URL; a new URL is pending (and wakes the prober).
    pub fn probe_state(&self, namespace: &str, name: &str, url: &str) -> ProbeState {
        let Ok(inner) = self.inner.lock() else {
            return ProbeState::Pending;
        };
        if inner.disabled {
            return ProbeState::Disabled;
        }
        match inner.probes.get(&(namespace.to_string(), name.to_string())) {
            Some((probed, state)) if probed == url => state.clone(),
            _ => {
                self.wake.notify_one();
                ProbeState::Pending
            }
        }
    }

    /// Whether the store's credential Secret exists.
    pub fn secret_state(&self, namespace: &str, name: &str) -> SecretState {
        self.inner
            .lock()
            .ok()
            .and_then(|i| {
                i.secrets
                    .get(&(namespace.to_string(), name.to_string()))
                    .cloned()
            })
            .unwrap_or(SecretState::Unknown)
    }

    /// Records results; returns whether anything changed.
    fn record(
        &self,
        key: StoreKey,
        url: String,
        probe: Option<ProbeState>,
        secret: SecretState,
    ) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        let mut changed = false;
        if let Some(state) = probe {
            let next = (url, state);
            changed |= inner.probes.get(&key) != Some(&next);
            inner.probes.insert(key.clone(), next);
        }
        changed |= inner.secrets.get(&key) != Some(&secret);
        inner.secrets.insert(key, secret);
        changed
    }
}

/// How the prober runs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Time between rounds.
    pub interval: Duration,
    /// Bound on one probe.
    pub timeout: Duration,
    /// `--no-probe`: check Secrets only.
    pub disabled: bool,
}

/// Probes every cached VectorStore every interval (and at once when a new URL shows up), and
/// signals the stores whose results changed.
pub async fn run_prober(
    client: Client,
    stores: Store<VectorStore>,
    results: ProbeResults,
    opts: ProbeOptions,
    tx: UnboundedSender<Signal>,
) {
    let mut secrets_forbidden_reported = false;
    loop {
        let snapshot = stores.state();
        let rounds = futures::stream::iter(snapshot.into_iter().map(|store| {
            let client = client.clone();
            let opts = opts.clone();
            async move {
                let ns = store.metadata.namespace.clone().unwrap_or_default();
                let name = store.metadata.name.clone().unwrap_or_default();
                let url = store.spec.endpoint.url.clone();
                let probe_state = if opts.disabled {
                    None
                } else {
                    Some(match parse_target(&url) {
                        Ok(target) => probe(&target, opts.timeout).await,
                        Err(why) => ProbeState::Unreachable(why),
                    })
                };
                let secret = match &store.spec.credential {
                    None => Ok(SecretState::Unknown),
                    Some(c) => {
                        let api: Api<Secret> = Api::namespaced(client, &ns);
                        match api.get_metadata_opt(&c.secret_ref.name).await {
                            Ok(Some(_)) => Ok(SecretState::Present),
                            Ok(None) => Ok(SecretState::Missing),
                            Err(kube::Error::Api(s)) if s.code == 403 => Err(()),
                            Err(_) => Ok(SecretState::Unknown),
                        }
                    }
                };
                (store, ns, name, url, probe_state, secret)
            }
        }))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
        for (store, ns, name, url, probe_state, secret) in rounds {
            let secret = secret.unwrap_or_else(|()| {
                if !secrets_forbidden_reported {
                    tracing::warn!(
                        "RBAC forbids reading Secrets; VectorStore credentials are not checked"
                    );
                    secrets_forbidden_reported = true;
                }
                SecretState::Unknown
            });
            if results.record((ns, name), url, probe_state, secret) {
                let key = mapping::cr_key(HevKind::VectorStore, &store.metadata);
                if tx.send(Signal::Dirty(Dirty::One(key))).is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(opts.interval) => {}
            () = results.wake.notified() => {
                // Coalesce a burst of new stores into one round.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn https_urls_default_to_443() {
        let t = parse_target("https://aws-us-east-1.turbopuffer.com").unwrap();
        assert_eq!(
            t,
            Target {
                scheme: Scheme::Https,
                host: "aws-us-east-1.turbopuffer.com".into(),
                port: 443,
                path: "/".into()
            }
        );
        assert_eq!(
            parse_target("http://search.layer:9200/health")
                .unwrap()
                .port,
            9200
        );
    }

    #[test]
    fn urls_without_host_or_with_other_schemes_are_rejected() {
        assert_eq!(
            parse_target("ftp://x").unwrap_err(),
            "scheme \"ftp\" is not http or https"
        );
        assert_eq!(parse_target("turbopuffer.com").unwrap_err(), "no scheme");
        assert!(parse_target("").is_err());
    }

    #[test]
    fn the_host_header_keeps_the_port_unless_it_is_the_schemes_default_and_the_path_is_origin_form()
    {
        let host = |url: &str| parse_target(url).unwrap().host_header();
        assert_eq!(host("http://search.layer:9200/health"), "search.layer:9200");
        assert_eq!(host("http://search.layer/"), "search.layer");
        assert_eq!(host("http://search.layer:80/"), "search.layer");
        assert_eq!(host("https://tpuf.example.com:443"), "tpuf.example.com");
        assert_eq!(
            host("https://tpuf.example.com:8443"),
            "tpuf.example.com:8443"
        );
        assert_eq!(host("http://[::1]:8080/"), "[::1]:8080");
        assert_eq!(host("http://[fd00::2]/"), "[fd00::2]");
        let path = |url: &str| parse_target(url).unwrap().path;
        assert_eq!(path("http://search.layer"), "/");
        assert_eq!(path("http://search.layer?deep=1"), "/?deep=1");
        assert_eq!(path("http://search.layer/health?deep=1"), "/health?deep=1");
        let v6 = parse_target("http://[::1]:8080/").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8080));
        assert_eq!(v6.address(), "[::1]:8080");
    }

    /// Accepts one connection on `listener`, reads the request head, answers `reply` and
    /// returns the head's request line and headers (names lowercased).
    fn answer_once(
        listener: tokio::net::TcpListener,
        reply: &'static [u8],
    ) -> tokio::task::JoinHandle<(String, Vec<(String, String)>)> {
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 256];
            while !head.ends_with(b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early: {head:?}");
                head.extend_from_slice(&buf[..n]);
            }
            sock.write_all(reply).await.unwrap();
            let head = String::from_utf8(head).unwrap();
            let mut lines = head.trim_end().split("\r\n");
            let request_line = lines.next().unwrap().to_string();
            let headers = lines
                .map(|l| {
                    let (k, v) = l.split_once(':').unwrap();
                    (k.to_ascii_lowercase(), v.trim().to_string())
                })
                .collect();
            (request_line, headers)
        })
    }

    fn host_headers(headers: &[(String, String)]) -> Vec<&str> {
        headers
            .iter()
            .filter(|(k, _)| k == "host")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[tokio::test]
    async fn an_http_listener_is_reachable_and_a_closed_port_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = answer_once(listener, b"HTTP/1.1 401 Unauthorized\r\n\r\n");
        let target = parse_target(&format!("http://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Reachable
        );
        let (request_line, headers) = server.await.unwrap();
        assert_eq!(request_line, "HEAD / HTTP/1.1");
        assert_eq!(host_headers(&headers), [format!("127.0.0.1:{port}")]);
        // The listener is gone: nothing answers on that port now.
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Unreachable(format!("connect to 127.0.0.1:{port}: connection refused"))
        );
    }

    #[tokio::test]
    async fn the_request_carries_the_path_and_query_of_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = answer_once(
            listener,
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n",
        );
        let target = parse_target(&format!("http://localhost:{port}/health?deep=1")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Reachable
        );
        let (request_line, headers) = server.await.unwrap();
        assert_eq!(request_line, "HEAD /health?deep=1 HTTP/1.1");
        assert_eq!(host_headers(&headers), [format!("localhost:{port}")]);
    }

    // IPv6 loopback works on the machines this suite runs on; a bind failure fails the test.
    #[tokio::test]
    async fn an_ipv6_literal_endpoint_is_reached_and_named_in_brackets() {
        let listener = tokio::net::TcpListener::bind("[::1]:0")
            .await
            .expect("IPv6 loopback [::1] must be available to test IPv6 endpoints");
        let port = listener.local_addr().unwrap().port();
        let server = answer_once(listener, b"HTTP/1.1 404 Not Found\r\n\r\n");
        let target = parse_target(&format!("http://[::1]:{port}/")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Reachable
        );
        let (request_line, headers) = server.await.unwrap();
        assert_eq!(request_line, "HEAD / HTTP/1.1");
        assert_eq!(host_headers(&headers), [format!("[::1]:{port}")]);
    }

    #[tokio::test]
    async fn an_answer_that_is_not_http_is_unreachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = answer_once(listener, b"SSH-2.0-OpenSSH_9.6\r\n");
        let target = parse_target(&format!("http://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Unreachable("the answer is not HTTP".into())
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_closed_without_an_answer_is_unreachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = answer_once(listener, b"");
        let target = parse_target(&format!("http://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Unreachable(
                "HEAD request: connection closed before message completed".into()
            )
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_https_endpoint_gets_a_connect_and_no_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            sock.read_to_end(&mut received).await.unwrap();
            received
        });
        let target = parse_target(&format!("https://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Reachable
        );
        assert_eq!(server.await.unwrap(), Vec::<u8>::new());
    }

    #[tokio::test]
    async fn a_silent_listener_times_out_within_the_bound() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _keep = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let target = parse_target(&format!("http://127.0.0.1:{port}")).unwrap();
        let start = std::time::Instant::now();
        let state = probe(&target, Duration::from_millis(200)).await;
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(
            state,
            ProbeState::Unreachable("no answer within 200ms".into())
        );
    }
}
