//! Wiring: the client, the watchers, the prober, the controller, the writer, the HTTP server,
//! the Lease and the shutdown on SIGTERM. [`sync`] and [`sync_elected`] (with the Lease) are
//! the parts the mock API server tests run.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::{mpsc, watch};

use crate::cli::Options;
use crate::http::{HttpState, serve};
use crate::leader::Election;
use crate::metrics::Metrics;
use crate::probe::{ProbeOptions, ProbeResults, run_prober};
use crate::status::controller::{ControllerIo, run_controller};
use crate::status::events::{BudgetOptions, Recorders};
use crate::status::index::{IndexOptions, StatusIndex};
use crate::status::rate_limit::RateLimit;
use crate::status::writer::{Backoff, WriterIo, WriterOptions, run_writer};
use crate::watch::{WatchOptions, caches, spawn_watchers};

/// How long a shutdown waits for queued status writes.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the syncer could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig could not be read.
    #[error("reading the kubeconfig failed")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    /// No usable cluster configuration.
    #[error("no cluster configuration (not in a cluster, and no usable kubeconfig)")]
    InferConfig(#[source] kube::config::InferConfigError),
    /// The client could not be built.
    #[error("building the Kubernetes client failed")]
    Client(#[source] kube::Error),
    /// The HTTP address could not be bound.
    #[error("binding the http address {addr} failed")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Lease could not be set up.
    #[error("setting up leader election failed")]
    Lease(#[source] kube_lease_manager::LeaseManagerError),
    /// The SIGTERM handler could not be installed.
    #[error("installing the signal handler failed")]
    Signal(#[source] std::io::Error),
}

/// Everything [`sync`] needs besides the client.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Where to watch.
    pub watch: WatchOptions,
    /// Evaluation settings.
    pub index: IndexOptions,
    /// Probe settings.
    pub probe: ProbeOptions,
    /// Periodic re-evaluation.
    pub resync: Duration,
    /// Write retry backoff.
    pub backoff: Backoff,
    /// Writes in flight at once (`--max-concurrent-writes`).
    pub max_concurrent_writes: usize,
    /// Client-side cap on writes per second, 0 for none (`--write-qps`).
    pub write_qps: f64,
    /// Its burst (`--write-burst`).
    pub write_burst: u32,
    /// This replica's name: the Events' `reportingInstance` and the Lease holder identity.
    pub identity: String,
    /// Each CR's Event allowance.
    pub event_budget: BudgetOptions,
}

impl SyncConfig {
    /// The configuration the flags describe, with the release namespace and this replica's
    /// identity resolved.
    pub fn from_options(opts: &Options, release_namespace: &str, identity: &str) -> Self {
        let cli = &opts.cli;
        SyncConfig {
            watch: WatchOptions {
                namespace: cli.namespace.clone(),
                document_cache_namespace: release_namespace.to_string(),
                document_cache_name: cli.document_cache_statefulset.clone(),
                backoff: None,
            },
            index: IndexOptions {
                stall_after: cli.stall_after,
                max_replicas_ceiling: cli.max_replicas_ceiling,
                document_cache_namespace: release_namespace.to_string(),
                document_cache_name: cli.document_cache_statefulset.clone(),
            },
            probe: ProbeOptions {
                interval: cli.probe_interval,
                timeout: cli.probe_timeout,
                disabled: cli.no_probe,
            },
            resync: cli.resync_interval,
            backoff: Backoff::default(),
            max_concurrent_writes: cli.max_concurrent_writes,
            write_qps: cli.write_qps,
            write_burst: cli.write_burst,
            identity: identity.to_string(),
            event_budget: BudgetOptions::default(),
        }
    }
}

/// This replica's name: `$POD_NAME`, else the host name, else one from the process id.
pub fn identity() -> String {
    std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("layer-syncer-{}", std::process::id()))
}

/// Watches, evaluates and writes until `shutdown` resolves, then lets queued writes drain for
/// up to [`DRAIN_TIMEOUT`].
pub async fn sync(
    client: Client,
    config: SyncConfig,
    leader: watch::Receiver<bool>,
    ready: Arc<AtomicBool>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()>,
) {
    let (caches, writers) = caches();
    let (signal_tx, signal_rx) = mpsc::unbounded_channel();
    let (update_tx, update_rx) = mpsc::unbounded_channel();
    let (feedback_tx, feedback_rx) = mpsc::unbounded_channel();
    let (waiting_tx, waiting_rx) = watch::channel(0);
    let watchers = spawn_watchers(
        &client,
        &config.watch,
        writers,
        signal_tx.clone(),
        metrics.clone(),
    );
    let probes = if config.probe.disabled {
        ProbeResults::disabled()
    } else {
        ProbeResults::default()
    };
    let prober = tokio::spawn(run_prober(
        client.clone(),
        caches.vector_stores.clone(),
        probes.clone(),
        config.probe.clone(),
        signal_tx,
    ));
    let writer = tokio::spawn(run_writer(
        WriterIo {
            events: Recorders::new(client.clone(), config.identity.clone()),
            client,
            updates: update_rx,
            feedback: feedback_tx,
            leader: leader.clone(),
            waiting: waiting_tx,
            metrics: metrics.clone(),
        },
        WriterOptions {
            max_in_flight: config.max_concurrent_writes.max(1),
            backoff: config.backoff,
            rate: RateLimit::new(config.write_qps, config.write_burst).map(Arc::new),
            budget: config.event_budget,
        },
    ));
    let stop_writer = writer.abort_handle();
    let index = StatusIndex::new(caches, probes, config.index, metrics.clone());
    run_controller(
        index,
        ControllerIo {
            signals: signal_rx,
            feedback: feedback_rx,
            updates: update_tx,
            writer_waiting: waiting_rx,
            leader,
            ready,
            resync: config.resync,
            metrics: metrics.clone(),
        },
        shutdown,
    )
    .await;
    for w in &watchers {
        w.abort();
    }
    prober.abort();
    // The controller dropped the update sender: the writer drains its queue and returns. One
    // that does not is stopped, so nothing is written once this returns (and the Lease is
    // released).
    if tokio::time::timeout(DRAIN_TIMEOUT, writer).await.is_err() {
        tracing::warn!("queued status writes did not drain in time");
        stop_writer.abort();
    }
}

/// [`sync`], with leader election when `election` is given: competes for the Lease, writes
/// only while holding it, and releases it once the writes have drained.
pub async fn sync_elected(
    client: Client,
    config: SyncConfig,
    election: Option<Election>,
    ready: Arc<AtomicBool>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let (always, always_rx) = crate::leader::always();
    let (leader, lease_task) = match election {
        Some(election) => {
            tracing::info!(lease = %election.lease_name, namespace = %election.namespace, identity = %election.identity, "leader election on");
            let (rx, task) = crate::leader::elect(client.clone(), &election)
                .await
                .map_err(Error::Lease)?;
            (rx, Some(task))
        }
        None => (always_rx, None),
    };
    sync(client, config, leader, ready, metrics, shutdown).await;
    drop(always);
    // Dropping every leadership receiver makes the lease manager release the Lease.
    if let Some(task) = lease_task {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    Ok(())
}

async fn client(opts: &Options) -> Result<Client, Error> {
    let cli = &opts.cli;
    let config = if cli.kubeconfig.is_none() && cli.context.is_none() {
        Config::infer().await.map_err(Error::InferConfig)?
    } else {
        let kubeconfig = match &cli.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(Error::Kubeconfig)?;
        let options = KubeConfigOptions {
            context: cli.context.clone(),
            ..KubeConfigOptions::default()
        };
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(Error::Kubeconfig)?
    };
    crate::client::build(config, cli.api_timeout).map_err(Error::Client)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminated() -> Result<impl Future<Output = ()>, Error> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(Error::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupt: shutting down"),
        }
    })
}

/// Runs the syncer until SIGTERM.
pub async fn run(opts: Options) -> Result<(), Error> {
    let client = client(&opts).await?;
    let cli = &opts.cli;
    let release_namespace = cli
        .release_namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| client.default_namespace().to_string());
    let metrics = Metrics::new();
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(cli.http_addr)
        .await
        .map_err(|source| Error::Bind {
            addr: cli.http_addr,
            source,
        })?;
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(serve(
        listener,
        HttpState {
            ready: ready.clone(),
            metrics: metrics.clone(),
        },
        async {
            let _ = http_stopped.await;
        },
    ));
    let shutdown = terminated().await?;
    let identity = identity();
    let election = cli.leader_elect.then(|| Election {
        namespace: release_namespace.clone(),
        lease_name: cli.lease_name.clone(),
        identity: identity.clone(),
        duration: cli.lease_duration,
        renew_before: cli.lease_renew_before,
    });
    tracing::info!(
        namespace = cli.namespace.as_deref().unwrap_or("<all>"),
        %release_namespace,
        %identity,
        "layer-syncer starting"
    );
    let config = SyncConfig::from_options(&opts, &release_namespace, &identity);
    let result = sync_elected(client, config, election, ready, metrics, shutdown).await;
    let _ = stop_http.send(());
    let _ = http.await;
    result?;
    tracing::info!("layer-syncer stopped");
    Ok(())
}
