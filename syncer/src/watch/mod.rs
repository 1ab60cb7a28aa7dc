//! Watches: kube-runtime reflectors that keep one cache per watched resource, and a channel of
//! [`Signal`]s that says which CRs to evaluate again.
//!
//! Watched: the five hev layer kinds; Deployments, Services, ScaledObjects and
//! TriggerAuthentications labelled `app.kubernetes.io/managed-by=layer-render`; the
//! document-cache StatefulSet (by name, in the release namespace); Karpenter NodePools. A
//! resource whose CRD is missing (KEDA or Karpenter not installed) answers 404: that is
//! reported once and the watcher keeps retrying with backoff, so installing the CRD later
//! works without a restart. `--namespace` restricts the namespaced watches to one namespace.
//!
//! Failed lists and watches are retried with kube-runtime's [`DefaultBackoff`] (jittered,
//! exponential, as client-go's reflector), or the faster policy a test passes.
//! A watch that ends (the server's timeout, a cut connection, a truncated event) resumes from
//! the last resourceVersion seen; a `410 Gone` relists, and a relist re-evaluates every CR
//! (it may hide deletions). Objects are [`prune`]d before they are cached.

pub mod mapping;
pub mod prune;

use backon::ExponentialBuilder;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Service;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{Store, store::Writer};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, DefaultBackoff, Event, ExponentialBackoff};
use kube::{Api, Client, Resource};
use layer_render::api::family::{LABEL_MANAGED_BY, MANAGED_BY};
use layer_render::api::{Function, HevKind, Index, InfraRules, Pipeline, VectorStore};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hash::Hash;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
pub use mapping::Dirty;

/// One watched resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Watched {
    /// `hevlayer.com` VectorStores.
    VectorStore,
    /// `hevlayer.com` Indexes.
    Index,
    /// `hevlayer.com` InfraRules (cluster-scoped).
    InfraRules,
    /// `hevlayer.com` Pipelines.
    Pipeline,
    /// `hevlayer.com` Functions.
    Function,
    /// Rendered Deployments.
    Deployment,
    /// Rendered Services.
    Service,
    /// Rendered KEDA ScaledObjects.
    ScaledObject,
    /// Rendered KEDA TriggerAuthentications.
    TriggerAuthentication,
    /// The document-cache StatefulSet.
    StatefulSet,
    /// Karpenter NodePools (cluster-scoped).
    NodePool,
}

impl Watched {
    /// Every watched resource.
    pub const ALL: [Watched; 11] = [
        Watched::VectorStore,
        Watched::Index,
        Watched::InfraRules,
        Watched::Pipeline,
        Watched::Function,
        Watched::Deployment,
        Watched::Service,
        Watched::ScaledObject,
        Watched::TriggerAuthentication,
        Watched::StatefulSet,
        Watched::NodePool,
    ];

    /// Whether the resource may be absent from the cluster (a third-party CRD).
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            Watched::ScaledObject | Watched::TriggerAuthentication | Watched::NodePool
        )
    }

    /// A low-cardinality name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Watched::VectorStore => "vectorstores",
            Watched::Index => "indexes",
            Watched::InfraRules => "infrarules",
            Watched::Pipeline => "pipelines",
            Watched::Function => "functions",
            Watched::Deployment => "deployments",
            Watched::Service => "services",
            Watched::ScaledObject => "scaledobjects",
            Watched::TriggerAuthentication => "triggerauthentications",
            Watched::StatefulSet => "statefulsets",
            Watched::NodePool => "nodepools",
        }
    }
}

/// What watchers (and the prober) tell the status index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Evaluate these CRs again.
    Dirty(Dirty),
    /// The resource's cache holds a complete list.
    Synced(Watched),
    /// The resource's CRD is not installed (404 on list).
    Missing(Watched),
}

/// `keda.sh/v1alpha1 ScaledObject`.
pub fn scaled_object_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject"),
        "scaledobjects",
    )
}

/// `keda.sh/v1alpha1 TriggerAuthentication`.
pub fn trigger_authentication_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("keda.sh", "v1alpha1", "TriggerAuthentication"),
        "triggerauthentications",
    )
}

/// `karpenter.sh/v1 NodePool`.
pub fn node_pool_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("karpenter.sh", "v1", "NodePool"),
        "nodepools",
    )
}

/// Read handles on every cache.
#[derive(Clone)]
pub struct Caches {
    /// VectorStores.
    pub vector_stores: Store<VectorStore>,
    /// Indexes.
    pub indexes: Store<Index>,
    /// InfraRules.
    pub infra_rules: Store<InfraRules>,
    /// Pipelines.
    pub pipelines: Store<Pipeline>,
    /// Functions.
    pub functions: Store<Function>,
    /// Rendered Deployments.
    pub deployments: Store<Deployment>,
    /// Rendered Services.
    pub services: Store<Service>,
    /// Rendered ScaledObjects.
    pub scaled_objects: Store<DynamicObject>,
    /// Rendered TriggerAuthentications.
    pub trigger_authentications: Store<DynamicObject>,
    /// The document-cache StatefulSet.
    pub stateful_sets: Store<StatefulSet>,
    /// Karpenter NodePools.
    pub node_pools: Store<DynamicObject>,
}

/// The write ends of every cache, for the watchers (or for tests that fill caches offline).
pub struct Writers {
    /// VectorStores.
    pub vector_stores: Writer<VectorStore>,
    /// Indexes.
    pub indexes: Writer<Index>,
    /// InfraRules.
    pub infra_rules: Writer<InfraRules>,
    /// Pipelines.
    pub pipelines: Writer<Pipeline>,
    /// Functions.
    pub functions: Writer<Function>,
    /// Rendered Deployments.
    pub deployments: Writer<Deployment>,
    /// Rendered Services.
    pub services: Writer<Service>,
    /// Rendered ScaledObjects.
    pub scaled_objects: Writer<DynamicObject>,
    /// Rendered TriggerAuthentications.
    pub trigger_authentications: Writer<DynamicObject>,
    /// The document-cache StatefulSet.
    pub stateful_sets: Writer<StatefulSet>,
    /// Karpenter NodePools.
    pub node_pools: Writer<DynamicObject>,
}

/// Empty caches and their writers.
pub fn caches() -> (Caches, Writers) {
    let writers = Writers {
        vector_stores: Writer::default(),
        indexes: Writer::default(),
        infra_rules: Writer::default(),
        pipelines: Writer::default(),
        functions: Writer::default(),
        deployments: Writer::default(),
        services: Writer::default(),
        scaled_objects: Writer::new(scaled_object_resource()),
        trigger_authentications: Writer::new(trigger_authentication_resource()),
        stateful_sets: Writer::default(),
        node_pools: Writer::new(node_pool_resource()),
    };
    let caches = Caches {
        vector_stores: writers.vector_stores.as_reader(),
        indexes: writers.indexes.as_reader(),
        infra_rules: writers.infra_rules.as_reader(),
        pipelines: writers.pipelines.as_reader(),
        functions: writers.functions.as_reader(),
        deployments: writers.deployments.as_reader(),
        services: writers.services.as_reader(),
        scaled_objects: writers.scaled_objects.as_reader(),
        trigger_authentications: writers.trigger_authentications.as_reader(),
        stateful_sets: writers.stateful_sets.as_reader(),
        node_pools: writers.node_pools.as_reader(),
    };
    (caches, writers)
}

/// Where to watch.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Restrict namespaced watches to this namespace.
    pub namespace: Option<String>,
    /// Namespace of the document-cache StatefulSet.
    pub document_cache_namespace: String,
    /// Name of the document-cache StatefulSet.
    pub document_cache_name: String,
    /// The retry policy after a failed list or watch: `None` is kube-runtime's
    /// [`DefaultBackoff`] (800 ms doubling to 30 s, jittered, starting over after two minutes
    /// without failures). Tests pass a faster one; it starts over at every event received.
    pub backoff: Option<ExponentialBuilder>,
}

/// The watchers' [`Backoff`] for `policy` (see [`WatchOptions::backoff`]).
fn watch_backoff(policy: Option<ExponentialBuilder>) -> Box<dyn Backoff> {
    match policy {
        None => Box::new(DefaultBackoff::default()),
        // backon's builder gives up after three retries unless told otherwise; a watcher never
        // gives up.
        Some(b) => Box::new(ExponentialBackoff::from(b.without_max_times())),
    }
}

/// Starts one watcher task per resource; each fills its cache and sends [`Signal`]s.
pub fn spawn_watchers(
    client: &Client,
    opts: &WatchOptions,
    writers: Writers,
    tx: UnboundedSender<Signal>,
    metrics: Metrics,
) -> Vec<JoinHandle<()>> {
    let ns = opts.namespace.as_deref();
    let rendered = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    let plain = watcher::Config::default;
    let cr = |kind: HevKind| {
        let mut dependents = mapping::Dependents::default();
        move |seen: Seen<'_>| match seen {
            Seen::Applied(meta) => dependents.touched(kind, meta, false),
            Seen::Deleted(meta) => dependents.touched(kind, meta, true),
            Seen::Listed(meta) => {
                dependents.touched(kind, meta, false);
                Vec::new()
            }
            Seen::Relisted => {
                dependents.clear();
                Vec::new()
            }
        }
    };
    let child = |seen: Seen<'_>| match seen {
        Seen::Applied(meta) | Seen::Deleted(meta) => mapping::of_child(meta).into_iter().collect(),
        Seen::Listed(_) | Seen::Relisted => Vec::new(),
    };
    let infra = |seen: Seen<'_>| match seen {
        Seen::Applied(_) | Seen::Deleted(_) => vec![Dirty::All(HevKind::InfraRules)],
        Seen::Listed(_) | Seen::Relisted => Vec::new(),
    };
    let ctx = (tx, metrics, opts.backoff);
    vec![
        spawn(
            Watched::VectorStore,
            scoped(client, ns),
            plain(),
            writers.vector_stores,
            cr(HevKind::VectorStore),
            |o: &mut VectorStore| prune::meta(&mut o.metadata),
            ctx.clone(),
        ),
        spawn(
            Watched::Index,
            scoped(client, ns),
            plain(),
            writers.indexes,
            cr(HevKind::Index),
            |o: &mut Index| prune::meta(&mut o.metadata),
            ctx.clone(),
        ),
        spawn(
            Watched::InfraRules,
            Api::all(client.clone()),
            plain(),
            writers.infra_rules,
            cr(HevKind::InfraRules),
            |o: &mut InfraRules| prune::meta(&mut o.metadata),
            ctx.clone(),
        ),
        spawn(
            Watched::Pipeline,
            scoped(client, ns),
            plain(),
            writers.pipelines,
            cr(HevKind::Pipeline),
            |o: &mut Pipeline| prune::meta(&mut o.metadata),
            ctx.clone(),
        ),
        spawn(
            Watched::Function,
            scoped(client, ns),
            plain(),
            writers.functions,
            cr(HevKind::Function),
            |o: &mut Function| prune::meta(&mut o.metadata),
            ctx.clone(),
        ),
        spawn(
            Watched::Deployment,
            scoped(client, ns),
            rendered.clone(),
            writers.deployments,
            child,
            prune::deployment,
            ctx.clone(),
        ),
        spawn(
            Watched::Service,
            scoped(client, ns),
            rendered.clone(),
            writers.services,
            child,
            prune::service,
            ctx.clone(),
        ),
        spawn(
            Watched::ScaledObject,
            scoped_dynamic(client, ns, &scaled_object_resource()),
            rendered.clone(),
            writers.scaled_objects,
            child,
            prune::scaled_object,
            ctx.clone(),
        ),
        spawn(
            Watched::TriggerAuthentication,
            scoped_dynamic(client, ns, &trigger_authentication_resource()),
            rendered,
            writers.trigger_authentications,
            child,
            prune::metadata_only,
            ctx.clone(),
        ),
        spawn(
            Watched::StatefulSet,
            Api::namespaced(client.clone(), &opts.document_cache_namespace),
            watcher::Config::default()
                .fields(&format!("metadata.name={}", opts.document_cache_name)),
            writers.stateful_sets,
            infra,
            prune::stateful_set,
            ctx.clone(),
        ),
        spawn(
            Watched::NodePool,
            Api::all_with(client.clone(), &node_pool_resource()),
            plain(),
            writers.node_pools,
            infra,
            |o: &mut DynamicObject| prune::meta(&mut o.metadata),
            ctx,
        ),
    ]
}

fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn scoped_dynamic(client: &Client, ns: Option<&str>, ar: &ApiResource) -> Api<DynamicObject> {
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// What a watcher saw, for the function that says which CRs it touches.
enum Seen<'a> {
    /// An object was created or changed.
    Applied(&'a kube::core::ObjectMeta),
    /// An object was deleted.
    Deleted(&'a kube::core::ObjectMeta),
    /// An object came in a (re)list: the full evaluation after the list covers it, but what
    /// other CRs read of it is remembered, so that its next event touches only what changed.
    Listed(&'a kube::core::ObjectMeta),
    /// A relist started (it may hide deletions).
    Relisted,
}

fn spawn<K, F, P>(
    what: Watched,
    api: Api<K>,
    config: watcher::Config,
    mut writer: Writer<K>,
    mut map: F,
    prune: P,
    (tx, metrics, backoff): (UnboundedSender<Signal>, Metrics, Option<ExponentialBuilder>),
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
    F: FnMut(Seen<'_>) -> Vec<Dirty> + Send + 'static,
    P: FnMut(&mut K) + Send + 'static,
{
    tokio::spawn(async move {
        let stream = watcher::watcher(api, config)
            .backoff(watch_backoff(backoff))
            .modify(prune)
            .inspect(move |item| {
                if let Ok(event) = item {
                    writer.apply_watcher_event(event);
                }
            });
        let mut stream = std::pin::pin!(stream);
        let mut reported_missing = false;
        let mut synced = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(Event::Apply(obj)) if synced => {
                    for dirty in map(Seen::Applied(obj.meta())) {
                        if tx.send(Signal::Dirty(dirty)).is_err() {
                            return;
                        }
                    }
                }
                Ok(Event::Delete(obj)) if synced => {
                    for dirty in map(Seen::Deleted(obj.meta())) {
                        if tx.send(Signal::Dirty(dirty)).is_err() {
                            return;
                        }
                    }
                }
                Ok(Event::Init) => {
                    map(Seen::Relisted);
                }
                Ok(Event::InitApply(obj)) => {
                    map(Seen::Listed(obj.meta()));
                }
                Ok(Event::InitDone) => {
                    synced = true;
                    if reported_missing {
                        tracing::info!(resource = what.as_str(), "CRD is installed now; watching");
                        reported_missing = false;
                    }
                    // A relist may hide deletions: evaluate everything on the new cache.
                    let _ = tx.send(Signal::Synced(what));
                    let _ = tx.send(Signal::Dirty(Dirty::Everything));
                }
                Ok(_) => {}
                Err(err) if is_not_found(&err) && what.is_optional() => {
                    if !reported_missing {
                        tracing::warn!(
                            resource = what.as_str(),
                            "CRD not installed; tolerated (objects of this kind count as absent). Retrying in the background."
                        );
                        reported_missing = true;
                        let _ = tx.send(Signal::Missing(what));
                    }
                }
                Err(err) => {
                    metrics.watch_error(what.as_str());
                    tracing::warn!(resource = what.as_str(), error = %err, "watch failed; retrying with backoff");
                }
            }
        }
    })
}

fn is_not_found(err: &watcher::Error) -> bool {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status)) => status.code == 404,
        _ => false,
    }
}

/// Whether `/readyz` may say ready: every required resource synced, every optional one synced
/// or known missing.
pub fn all_synced(states: &std::collections::BTreeMap<Watched, Signal>) -> bool {
    Watched::ALL.iter().all(|w| match states.get(w) {
        Some(Signal::Synced(_)) => true,
        Some(Signal::Missing(_)) => w.is_optional(),
        _ => false,
    })
}
