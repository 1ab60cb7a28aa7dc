//! VectorStore reachability: a bounded TCP (and, for `http://`, HTTP) probe of
//! `spec.endpoint.url`, and the credential Secret check.
//!
//! An `https://` endpoint is probed with a TCP connect to its host and port: enough to tell
//! DNS, routing and firewalls apart from a live listener without carrying a TLS stack and
//! trust store for third-party endpoints. An `http://` endpoint also gets a `HEAD` request, and
//! any HTTP status line counts as reachable (the store may want auth; it still answered). Each
//! probe is bounded by `--probe-timeout`; all stores are probed every `--probe-interval`.
//! The Secret check reads only metadata, and a 403 (the chart did not grant Secret reads)
//! means "unknown", reported once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::Store;
use kube::{Api, Client};
use layer_render::api::HevKind;
use layer_render::api::VectorStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use crate::readiness::conditions::human_duration;
use crate::readiness::vector_store::SecretState;
use crate::watch::{Dirty, Signal, mapping};

/// What the prober knows about one store's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeState {
    /// `--no-probe`.
    Disabled,
    /// Not probed yet.
    Pending,
    /// The last probe got an answer.
    Reachable,
    /// The last probe failed, and why.
    Unreachable(String),
}

/// Scheme of a probe target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: TCP connect plus `HEAD`.
    Http,
    /// `https://`: TCP connect.
    Https,
}

/// Where to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or address.
    pub host: String,
    /// Port (80/443 unless given).
    pub port: u16,
    /// Path and query for the `HEAD` request.
    pub path: String,
}

/// Parses `endpoint.url` into a probe target.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let uri: http::Uri = url
        .trim()
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => return Err(format!("scheme {other:?} is not http or https")),
        None => return Err("no scheme".to_string()),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or("no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_string());
    Ok(Target {
        scheme,
        host,
        port,
        path,
    })
}

/// Probes one target within `timeout`.
pub async fn probe(target: &Target, timeout: Duration) -> ProbeState {
    match tokio::time::timeout(timeout, probe_inner(target)).await {
        Ok(Ok(())) => ProbeState::Reachable,
        Ok(Err(why)) => ProbeState::Unreachable(why),
        Err(_) => ProbeState::Unreachable(format!("no answer within {}", human_duration(timeout))),
    }
}

async fn probe_inner(target: &Target) -> Result<(), String> {
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("connect to {}:{}: {}", target.host, target.port, e.kind()))?;
    if target.scheme == Scheme::Https {
        return Ok(());
    }
    let request = format!(
        "HEAD {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: layer-syncer\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send HEAD: {}", e.kind()))?;
    let mut head = [0u8; 5];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| format!("read answer: {}", e.kind()))?;
    if &head == b"HTTP/" {
        Ok(())
    } else {
        Err("the answer is not HTTP".to_string())
    }
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

    #[tokio::test]
    async fn an_http_listener_is_reachable_and_a_closed_port_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let n = sock.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HEAD / HTTP/1.1\r\n"));
            sock.write_all(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
                .await
                .unwrap();
        });
        let target = parse_target(&format!("http://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            probe(&target, Duration::from_secs(2)).await,
            ProbeState::Reachable
        );
        server.await.unwrap();
        // The listener is gone: nothing answers on that port now.
        let state = probe(&target, Duration::from_secs(2)).await;
        assert!(
            matches!(state, ProbeState::Unreachable(ref m) if m.contains("ConnectionRefused") || m.contains("connection refused")),
            "{state:?}"
        );
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
