//! The status index: evaluates CRs against the caches, skips statuses that would not change,
//! and returns the rest as [`Update`]s for the writer.
//!
//! Modelled on linkerd's `k8s/status/src/index.rs`: it runs synchronously on cached state and
//! never calls the API. A status is skipped when it equals the live one with timestamps
//! ignored, or when it equals the update already sent for the same cached object version (the
//! watch has not caught up with our write yet). Statuses are compared as their kind's typed
//! status; one evaluation ([`StatusIndex::evaluate`]) serves the five kinds, each of which
//! says through [`Evaluate`] where it is cached, how it is assessed and which status fields
//! belong to other writers.
//!
//! Three rules keep writes to one per change:
//! - VectorStores are evaluated before Indexes ([`evaluation_rank`]), and an Index reads the
//!   status just sent for its store rather than the one the watch has not delivered yet, so
//!   a store and its Indexes settle in one round.
//! - A write answered 404 ([`StatusIndex::mark_gone`]) is not sent again while the cache
//!   still holds that version of the CR: it was deleted and the watch will say so.
//! - When the live status catches up with a sent update, the key is reported
//!   ([`StatusIndex::take_settled`]) so the writer can drop a retry it no longer needs.
//!
//! The index keeps state only for CRs in the caches: a deleted CR is forgotten when its
//! deletion is seen, and a full evaluation forgets CRs a relist no longer returns.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::DynamicObject;
use kube::runtime::reflector::{ObjectRef, Store};
use layer_render::api::family::{LABEL_OWNER_KIND, LABEL_OWNER_NAME, child_name};
use layer_render::api::pools;
use layer_render::api::{
    ComputePool, Condition, Function, FunctionStatus, HevKind, Index, IndexStatus, InfraRules,
    InfraRulesStatus, Pipeline, PipelineStatus, VectorStore, VectorStoreStatus,
};
use layer_render::key::ObjectKey;
use serde::Serialize;

use super::Update;
use super::events::Summary;
use crate::metrics::Metrics;
use crate::probe::ProbeResults;
use crate::readiness::infra_rules::InfraEnv;
use crate::readiness::workload::{Children, WorkloadEnv};
use crate::readiness::{
    self, Assessment, Clock, HevStatus, Progress, function, index, infra_rules, pipeline,
    vector_store,
};
use crate::watch::mapping::cr_key;
use crate::watch::{Caches, Dirty, Watched};

/// What the index needs besides the caches.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// `--stall-after`.
    pub stall_after: std::time::Duration,
    /// `--max-replicas-ceiling`.
    pub max_replicas_ceiling: i32,
    /// Namespace of the document-cache StatefulSet.
    pub document_cache_namespace: String,
    /// Name of the document-cache StatefulSet.
    pub document_cache_name: String,
}

/// A status sent and not seen back through the watch yet, as its kind's type.
enum Sent {
    VectorStore(VectorStoreStatus),
    Index(IndexStatus),
    InfraRules(InfraRulesStatus),
    Pipeline(PipelineStatus),
    Function(FunctionStatus),
}

struct Pending {
    status: Sent,
    resource_version: Option<String>,
    /// When the writer reported it written (its echo is then due).
    written_at: Option<Instant>,
    /// The write was answered 404: the CR is gone, at least at this resource version.
    gone: bool,
}

/// One hev layer kind as the index evaluates it.
trait Evaluate: Resource<DynamicType = ()> + Clone + 'static {
    /// The kind's status.
    type Status: HevStatus;
    /// The kind.
    const KIND: HevKind;
    /// The kind's cache.
    fn cache(caches: &Caches) -> &Store<Self>;
    /// The status fields and verdict of the CR `key` names, from the caches.
    fn assess(&self, key: &ObjectKey, index: &StatusIndex) -> Assessment<Self::Status>;
    /// The live status as compared: without the fields other writers own.
    fn live(&self) -> Self::Status;
    /// A status of this kind, to remember as sent.
    fn sent(status: Self::Status) -> Sent;
    /// The sent status, when it is of this kind.
    fn sent_mut(sent: &mut Sent) -> Option<&mut Self::Status>;
}

impl Evaluate for VectorStore {
    type Status = VectorStoreStatus;
    const KIND: HevKind = HevKind::VectorStore;

    fn cache(caches: &Caches) -> &Store<Self> {
        &caches.vector_stores
    }

    fn assess(&self, key: &ObjectKey, ix: &StatusIndex) -> Assessment<VectorStoreStatus> {
        let ns = key.namespace.as_deref().unwrap_or_default();
        let all = ix.caches.vector_stores.state();
        let neighbours: Vec<_> = all
            .iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
            .map(|s| &**s)
            .collect();
        let probe = ix
            .probes
            .probe_state(ns, &key.name, &self.spec.endpoint.url);
        let secret = ix.probes.secret_state(ns, &key.name);
        vector_store::assess(self, &neighbours, &probe, &secret)
    }

    fn live(&self) -> VectorStoreStatus {
        self.status.clone().unwrap_or_default()
    }

    fn sent(status: VectorStoreStatus) -> Sent {
        Sent::VectorStore(status)
    }

    fn sent_mut(sent: &mut Sent) -> Option<&mut VectorStoreStatus> {
        match sent {
            Sent::VectorStore(s) => Some(s),
            _ => None,
        }
    }
}

impl Evaluate for Index {
    type Status = IndexStatus;
    const KIND: HevKind = HevKind::Index;

    fn cache(caches: &Caches) -> &Store<Self> {
        &caches.indexes
    }

    fn assess(&self, key: &ObjectKey, ix: &StatusIndex) -> Assessment<IndexStatus> {
        let ns = key.namespace.as_deref().unwrap_or_default();
        let all_indexes = ix.caches.indexes.state();
        let peers: Vec<_> = all_indexes
            .iter()
            .filter(|i| i.metadata.namespace.as_deref() == Some(ns))
            .map(|i| &**i)
            .collect();
        let all_stores = ix.caches.vector_stores.state();
        // A store whose status was just sent counts with that status: the Index then settles
        // in the same round instead of waiting for the watch to deliver the store's write.
        let stores: Vec<VectorStore> = all_stores
            .iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
            .map(|s| ix.with_sent_status(s))
            .collect();
        let stores: Vec<&VectorStore> = stores.iter().collect();
        index::assess(self, &peers, &stores)
    }

    fn live(&self) -> IndexStatus {
        // metadata and snapshot are the gateway's.
        IndexStatus {
            metadata: None,
            snapshot: None,
            ..self.status.clone().unwrap_or_default()
        }
    }

    fn sent(status: IndexStatus) -> Sent {
        Sent::Index(status)
    }

    fn sent_mut(sent: &mut Sent) -> Option<&mut IndexStatus> {
        match sent {
            Sent::Index(s) => Some(s),
            _ => None,
        }
    }
}

impl Evaluate for InfraRules {
    type Status = InfraRulesStatus;
    const KIND: HevKind = HevKind::InfraRules;

    fn cache(caches: &Caches) -> &Store<Self> {
        &caches.infra_rules
    }

    fn assess(&self, _key: &ObjectKey, ix: &StatusIndex) -> Assessment<InfraRulesStatus> {
        let opts = &ix.opts;
        let sts = ix
            .caches
            .stateful_sets
            .get(&ObjectRef::new(&opts.document_cache_name).within(&opts.document_cache_namespace));
        let node_pools = ix.caches.node_pools.state();
        let node_pool_refs: Vec<&DynamicObject> = node_pools.iter().map(|n| &**n).collect();
        let document_cache_ref = format!(
            "{}/{}",
            opts.document_cache_namespace, opts.document_cache_name
        );
        let env = InfraEnv {
            document_cache: sts.as_deref(),
            document_cache_ref: &document_cache_ref,
            node_pools: ix.karpenter_installed.then_some(node_pool_refs.as_slice()),
        };
        infra_rules::assess(self, &env)
    }

    fn live(&self) -> InfraRulesStatus {
        // embedders and ocr are reported by whoever serves them.
        InfraRulesStatus {
            embedders: None,
            ocr: None,
            ..self.status.clone().unwrap_or_default()
        }
    }

    fn sent(status: InfraRulesStatus) -> Sent {
        Sent::InfraRules(status)
    }

    fn sent_mut(sent: &mut Sent) -> Option<&mut InfraRulesStatus> {
        match sent {
            Sent::InfraRules(s) => Some(s),
            _ => None,
        }
    }
}

impl Evaluate for Pipeline {
    type Status = PipelineStatus;
    const KIND: HevKind = HevKind::Pipeline;

    fn cache(caches: &Caches) -> &Store<Self> {
        &caches.pipelines
    }

    fn assess(&self, key: &ObjectKey, ix: &StatusIndex) -> Assessment<PipelineStatus> {
        let pools = ix.pools();
        let mut held = Held::default();
        let children = ix.children("Pipeline", key, &mut held);
        pipeline::assess(self, &children, &ix.workload_env(&pools))
    }

    fn live(&self) -> PipelineStatus {
        self.status.clone().unwrap_or_default()
    }

    fn sent(status: PipelineStatus) -> Sent {
        Sent::Pipeline(status)
    }

    fn sent_mut(sent: &mut Sent) -> Option<&mut PipelineStatus> {
        match sent {
            Sent::Pipeline(s) => Some(s),
            _ => None,
        }
    }
}

impl Evaluate for Function {
    type Status = FunctionStatus;
    const KIND: HevKind = HevKind::Function;

    fn cache(caches: &Caches) -> &Store<Self> {
        &caches.functions
    }

    fn assess(&self, key: &ObjectKey, ix: &StatusIndex) -> Assessment<FunctionStatus> {
        let pools = ix.pools();
        // Only a Function with an indexSelector reads the Indexes.
        let indexes = if self.spec.index_selector.is_some() {
            ix.caches.indexes.state()
        } else {
            Vec::new()
        };
        let index_refs: Vec<_> = indexes.iter().map(|i| &**i).collect();
        let mut held = Held::default();
        let children = ix.children("Function", key, &mut held);
        function::assess(self, &children, &index_refs, &ix.workload_env(&pools))
    }

    fn live(&self) -> FunctionStatus {
        // queueDepth belongs to whoever reads the gateway.
        FunctionStatus {
            queue_depth: None,
            ..self.status.clone().unwrap_or_default()
        }
    }

    fn sent(status: FunctionStatus) -> Sent {
        Sent::Function(status)
    }

    fn sent_mut(sent: &mut Sent) -> Option<&mut FunctionStatus> {
        match sent {
            Sent::Function(s) => Some(s),
            _ => None,
        }
    }
}

/// The server-side apply body of a status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyBody<'a, S> {
    api_version: &'a str,
    kind: &'a str,
    status: &'a S,
}

/// The order in which CRs are evaluated in one round: VectorStores, then the Indexes that
/// resolve to them, then everything else.
pub fn evaluation_rank(key: &ObjectKey) -> u8 {
    match key.kind.as_str() {
        "VectorStore" => 0,
        "Index" => 1,
        _ => 2,
    }
}

/// Cached state in, status updates out.
pub struct StatusIndex {
    caches: Caches,
    probes: ProbeResults,
    opts: IndexOptions,
    metrics: Metrics,
    keda_installed: bool,
    karpenter_installed: bool,
    progress: HashMap<ObjectKey, Progress>,
    pending: HashMap<ObjectKey, Pending>,
    settled: Vec<ObjectKey>,
}

impl StatusIndex {
    /// An index over `caches`. KEDA and Karpenter count as installed until a watcher says
    /// their CRD is missing.
    pub fn new(caches: Caches, probes: ProbeResults, opts: IndexOptions, metrics: Metrics) -> Self {
        StatusIndex {
            caches,
            probes,
            opts,
            metrics,
            keda_installed: true,
            karpenter_installed: true,
            progress: HashMap::new(),
            pending: HashMap::new(),
            settled: Vec::new(),
        }
    }

    /// Records whether an optional resource's CRD is installed.
    pub fn set_installed(&mut self, what: Watched, installed: bool) {
        match what {
            Watched::ScaledObject | Watched::TriggerAuthentication => {
                self.keda_installed = installed
            }
            Watched::NodePool => self.karpenter_installed = installed,
            _ => {}
        }
    }

    /// Forgets the update sent for `key`, so the next evaluation sends it again (after a
    /// failed write, or when this replica becomes the leader).
    pub fn forget_pending(&mut self, key: &ObjectKey) {
        self.pending.remove(key);
    }

    /// Records that the writer applied the update sent for `key`.
    pub fn mark_written(&mut self, key: &ObjectKey, now: Instant) {
        if let Some(p) = self.pending.get_mut(key) {
            p.written_at = Some(now);
        }
    }

    /// Whether the status sent for `key` is still on its way: not written yet (queued, in
    /// flight or retried), or written less than `window` before `now` and not seen back
    /// through the watch yet.
    pub fn on_its_way(&self, key: &ObjectKey, now: Instant, window: std::time::Duration) -> bool {
        self.pending.get(key).is_some_and(|p| {
            !p.gone
                && p.written_at
                    .is_none_or(|at| now.saturating_duration_since(at) < window)
        })
    }

    /// Forgets every sent update.
    pub fn forget_all_pending(&mut self) {
        self.pending.clear();
    }

    /// Records that the write for `key` was answered 404: the CR is gone. Its status is not
    /// sent again until the cache holds another version of it (or forgets it).
    pub fn mark_gone(&mut self, key: &ObjectKey) {
        if let Some(p) = self.pending.get_mut(key) {
            p.gone = true;
        }
    }

    /// The keys whose live status caught up with the update sent for them since the last
    /// call: any write still queued or retried for them is no longer needed.
    pub fn take_settled(&mut self) -> Vec<ObjectKey> {
        std::mem::take(&mut self.settled)
    }

    /// Forgets every CR not in `present` (after a full evaluation: a relist may have hidden
    /// deletions, whose CRs would otherwise be remembered forever).
    pub fn retain(&mut self, present: &HashSet<&ObjectKey>) {
        self.progress.retain(|k, _| present.contains(k));
        self.pending.retain(|k, _| present.contains(k));
    }

    /// How many CRs the index keeps state for. Every CR with a sent update has a stall clock
    /// too (both are set by [`StatusIndex::evaluate`] and dropped together), so this is the
    /// number of clocks: counted in constant time, as it is after every round.
    pub fn tracked(&self) -> usize {
        self.progress.len()
    }

    /// The CRs a [`Dirty`] names, resolved against the caches.
    pub fn expand(&self, dirty: &Dirty) -> Vec<ObjectKey> {
        let c = &self.caches;
        let keys_of = |kind: HevKind, ns: Option<&str>| -> Vec<ObjectKey> {
            match kind {
                HevKind::VectorStore => keys(&c.vector_stores, kind, ns),
                HevKind::Index => keys(&c.indexes, kind, ns),
                HevKind::InfraRules => keys(&c.infra_rules, kind, ns),
                HevKind::Pipeline => keys(&c.pipelines, kind, ns),
                HevKind::Function => keys(&c.functions, kind, ns),
            }
        };
        match dirty {
            Dirty::One(key) => vec![key.clone()],
            Dirty::Namespace(kind, ns) => keys_of(*kind, Some(ns)),
            Dirty::All(kind) => keys_of(*kind, None),
            Dirty::Everything => HevKind::ALL
                .into_iter()
                .flat_map(|k| keys_of(k, None))
                .collect(),
        }
    }

    /// Evaluates one CR at `now`; `Some` when its status must be written.
    pub fn evaluate(&mut self, key: &ObjectKey, now: Timestamp) -> Option<Update> {
        match HevKind::from_type_meta(&key.api_version(), &key.kind)? {
            HevKind::VectorStore => self.evaluate_as::<VectorStore>(key, now),
            HevKind::Index => self.evaluate_as::<Index>(key, now),
            HevKind::InfraRules => self.evaluate_as::<InfraRules>(key, now),
            HevKind::Pipeline => self.evaluate_as::<Pipeline>(key, now),
            HevKind::Function => self.evaluate_as::<Function>(key, now),
        }
    }

    fn evaluate_as<K: Evaluate>(&mut self, key: &ObjectKey, now: Timestamp) -> Option<Update> {
        let started = Instant::now();
        let Some(cr) = K::cache(&self.caches).get(&object_ref(key)) else {
            // Deleted: nothing to write, nothing to remember.
            self.progress.remove(key);
            self.pending.remove(key);
            return None;
        };
        let assessment = cr.assess(key, self);
        let mut live = cr.live();
        let clock = Clock {
            now,
            stall_after: self.opts.stall_after,
        };
        let meta = cr.meta();
        let (mut desired, progress) = readiness::finish(
            assessment,
            meta.generation,
            live.conditions(),
            self.progress.get(key),
            clock,
        );
        self.progress.insert(key.clone(), progress);
        let kind = K::KIND.kind_str();
        self.metrics
            .reconciled(kind, started.elapsed().as_secs_f64());
        if let Some(p) = self.pending.get(key)
            && p.gone
            && p.resource_version == meta.resource_version
        {
            // Deleted while its status was written; the watch has not said so yet.
            self.metrics.skipped(kind);
            return None;
        }
        if same_ignoring_times(&mut live, &mut desired) {
            if self.pending.remove(key).is_some() {
                self.settled.push(key.clone());
            }
            self.metrics.skipped(kind);
            return None;
        }
        if let Some(p) = self.pending.get_mut(key)
            && p.resource_version == meta.resource_version
            && K::sent_mut(&mut p.status)
                .is_some_and(|sent| same_ignoring_times(sent, &mut desired))
        {
            self.metrics.skipped(kind);
            return None;
        }
        // What the server holds before this write: the update sent last, else the live status.
        let before = match self
            .pending
            .get_mut(key)
            .filter(|p| !p.gone)
            .and_then(|p| K::sent_mut(&mut p.status))
        {
            Some(sent) => Summary::of_conditions(sent.conditions()),
            None => Summary::of_conditions(live.conditions()),
        };
        let body = match serde_json::to_value(ApplyBody {
            api_version: K::KIND.api_version(),
            kind,
            status: &desired,
        }) {
            Ok(body) => body,
            Err(err) => {
                // Statuses are plain data; this would be a bug in a status type.
                tracing::error!(object = %key, error = %err, "status not serializable; not written");
                return None;
            }
        };
        self.pending.insert(
            key.clone(),
            Pending {
                status: K::sent(desired),
                resource_version: meta.resource_version.clone(),
                written_at: None,
                gone: false,
            },
        );
        Some(Update {
            key: key.clone(),
            uid: meta.uid.clone(),
            body,
            before,
        })
    }

    /// The store with the status last sent for it, when that write is still in flight.
    fn with_sent_status(&self, store: &VectorStore) -> VectorStore {
        let mut store = store.clone();
        let key = cr_key(HevKind::VectorStore, &store.metadata);
        if let Some(Pending {
            status: Sent::VectorStore(status),
            gone: false,
            ..
        }) = self.pending.get(&key)
        {
            store.status = Some(status.clone());
        }
        store
    }

    fn workload_env<'a>(&self, pools: &'a [ComputePool]) -> WorkloadEnv<'a> {
        WorkloadEnv {
            pools,
            max_replicas_ceiling: self.opts.max_replicas_ceiling,
            keda_installed: self.keda_installed,
        }
    }

    fn pools(&self) -> Vec<ComputePool> {
        let rules = self.caches.infra_rules.get(&ObjectRef::new(
            layer_render::api::infra_rules::INFRA_RULES_NAME,
        ));
        pools::effective_pools(rules.as_deref())
    }

    fn children<'a>(&self, kind: &str, key: &ObjectKey, held: &'a mut Held) -> Children<'a> {
        let (ns, name) = (
            key.namespace.as_deref().unwrap_or_default(),
            key.name.as_str(),
        );
        let child = child_name(name);
        let owned = |meta: &kube::core::ObjectMeta| {
            let labels = meta.labels.as_ref();
            labels
                .and_then(|l| l.get(LABEL_OWNER_KIND))
                .map(String::as_str)
                == Some(kind)
                && labels
                    .and_then(|l| l.get(LABEL_OWNER_NAME))
                    .map(String::as_str)
                    == Some(name)
        };
        let c = &self.caches;
        held.deployment = c
            .deployments
            .get(&ObjectRef::new(&child).within(ns))
            .filter(|o| owned(&o.metadata));
        held.service = c
            .services
            .get(&ObjectRef::<Service>::new(&child).within(ns))
            .filter(|o| owned(&o.metadata));
        held.scaled_object = c
            .scaled_objects
            .get(&ObjectRef::new_with(&child, crate::watch::scaled_object_resource()).within(ns))
            .filter(|o| owned(&o.metadata));
        held.trigger_authentication = c
            .trigger_authentications
            .get(
                &ObjectRef::new_with(&child, crate::watch::trigger_authentication_resource())
                    .within(ns),
            )
            .filter(|o| owned(&o.metadata));
        Children {
            service: held.service.as_deref(),
            deployment: held.deployment.as_deref(),
            trigger_authentication: held.trigger_authentication.as_deref(),
            scaled_object: held.scaled_object.as_deref(),
        }
    }
}

/// Owned copies of one workload's children, so [`Children`] can borrow them.
#[derive(Default)]
struct Held {
    deployment: Option<std::sync::Arc<k8s_openapi::api::apps::v1::Deployment>>,
    service: Option<std::sync::Arc<Service>>,
    scaled_object: Option<std::sync::Arc<DynamicObject>>,
    trigger_authentication: Option<std::sync::Arc<DynamicObject>>,
}

/// The keys of the cached CRs of `kind`, in `ns` when given.
fn keys<K: Resource + Clone>(store: &Store<K>, kind: HevKind, ns: Option<&str>) -> Vec<ObjectKey>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .iter()
        .map(|o| o.meta())
        .filter(|m| ns.is_none() || m.namespace.as_deref() == ns)
        .map(|m| cr_key(kind, m))
        .collect()
}

/// The reference of the cached CR `key` names.
fn object_ref<K: Resource<DynamicType = ()>>(key: &ObjectKey) -> ObjectRef<K> {
    let r = ObjectRef::new(&key.name);
    match &key.namespace {
        Some(ns) => r.within(ns),
        None => r,
    }
}

/// Whether two statuses are equal once every condition's `lastTransitionTime` is ignored. The
/// conditions are set aside for the comparison of the other fields and put back, so neither
/// status is copied.
fn same_ignoring_times<S: HevStatus>(a: &mut S, b: &mut S) -> bool {
    let x = std::mem::take(a.conditions_mut());
    let y = std::mem::take(b.conditions_mut());
    let same = a == b && x.len() == y.len() && x.iter().zip(&y).all(|(c, d)| same_condition(c, d));
    *a.conditions_mut() = x;
    *b.conditions_mut() = y;
    same
}

/// Whether two conditions are equal but for `lastTransitionTime`.
fn same_condition(a: &Condition, b: &Condition) -> bool {
    // Spelled out so that a new field of Condition is compared unless said otherwise here.
    let Condition {
        type_,
        status,
        reason,
        message,
        last_transition_time: _,
    } = a;
    *type_ == b.type_ && *status == b.status && *reason == b.reason && *message == b.message
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use kube::runtime::watcher::Event;
    use serde_json::json;

    use super::*;
    use crate::readiness::fixtures::*;
    use crate::watch::caches;

    fn options() -> IndexOptions {
        IndexOptions {
            stall_after: std::time::Duration::from_secs(600),
            max_replicas_ceiling: 100,
            document_cache_namespace: "layer".into(),
            document_cache_name: "layer-document-cache".into(),
        }
    }

    fn key() -> ObjectKey {
        ObjectKey::new("hevlayer.com/v1alpha1", "Pipeline", Some("shop"), "embed")
    }

    #[test]
    fn an_update_is_sent_once_until_the_cache_moves_or_the_write_is_dropped() {
        let (caches, mut w) = caches();
        let r = rendered(PIPELINE);
        let mut cr = r.pipeline("embed");
        cr.metadata.resource_version = Some("1".into());
        w.pipelines.apply_watcher_event(&Event::Apply(cr.clone()));
        w.deployments
            .apply_watcher_event(&Event::Apply(r.deployment("embed-worker", 1)));
        w.scaled_objects
            .apply_watcher_event(&Event::Apply(r.scaled_object("embed-worker", "True")));
        w.trigger_authentications
            .apply_watcher_event(&Event::Apply(r.trigger_authentication("embed-worker")));
        let mut index =
            StatusIndex::new(caches, ProbeResults::disabled(), options(), Metrics::new());
        let first = index.evaluate(&key(), clock().now).unwrap();
        assert_eq!(first.key, key());
        assert_eq!(first.body["status"]["conditions"][0]["reason"], "Available");
        // Same cache a second later: the write is in flight, nothing new to send.
        assert_eq!(index.evaluate(&key(), later(1).now), None);
        // The writer gave up on it: sent again.
        index.forget_pending(&key());
        assert!(index.evaluate(&key(), later(2).now).is_some());
        // The watch delivers the written status: nothing to send.
        let mut written: Pipeline = cr.clone();
        written.status =
            Some(serde_json::from_value::<PipelineStatus>(first.body["status"].clone()).unwrap());
        written.metadata.resource_version = Some("2".into());
        w.pipelines
            .apply_watcher_event(&Event::Apply(written.clone()));
        assert_eq!(index.evaluate(&key(), later(3).now), None);
        // A child goes away: the next update says so.
        w.scaled_objects
            .apply_watcher_event(&Event::Delete(r.scaled_object("embed-worker", "True")));
        let missing = index.evaluate(&key(), later(4).now).unwrap();
        assert_eq!(
            missing.body["status"]["conditions"][0]["reason"],
            "ChildMissing"
        );
        // The CR is deleted: nothing to write.
        w.pipelines.apply_watcher_event(&Event::Delete(written));
        assert_eq!(index.evaluate(&key(), later(5).now), None);
    }

    #[test]
    fn a_child_of_another_owner_with_the_same_name_does_not_count() {
        let (caches, mut w) = caches();
        let r = rendered(PIPELINE);
        w.pipelines
            .apply_watcher_event(&Event::Apply(r.pipeline("embed")));
        let mut foreign = r.deployment("embed-worker", 1);
        foreign
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(LABEL_OWNER_KIND.into(), "Function".into());
        w.deployments.apply_watcher_event(&Event::Apply(foreign));
        w.scaled_objects
            .apply_watcher_event(&Event::Apply(r.scaled_object("embed-worker", "True")));
        w.trigger_authentications
            .apply_watcher_event(&Event::Apply(r.trigger_authentication("embed-worker")));
        let mut index =
            StatusIndex::new(caches, ProbeResults::disabled(), options(), Metrics::new());
        let u = index.evaluate(&key(), clock().now).unwrap();
        assert_eq!(u.body["status"]["conditions"][0]["reason"], "ChildMissing");
        assert!(
            u.body["status"]["conditions"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Deployment/embed-worker not found")
        );
    }

    #[test]
    fn dirty_sets_resolve_against_the_caches() {
        let (caches, mut w) = caches();
        let mut a = rendered(INDEX).index("products");
        w.indexes.apply_watcher_event(&Event::Apply(a.clone()));
        a.metadata.namespace = Some("other".into());
        w.indexes.apply_watcher_event(&Event::Apply(a));
        let index = StatusIndex::new(caches, ProbeResults::disabled(), options(), Metrics::new());
        let keys = index.expand(&Dirty::Namespace(HevKind::Index, "layer".into()));
        assert_eq!(
            keys,
            [ObjectKey::new(
                "hevlayer.com/v1",
                "Index",
                Some("layer"),
                "products"
            )]
        );
        assert_eq!(index.expand(&Dirty::All(HevKind::Index)).len(), 2);
        assert_eq!(index.expand(&Dirty::Everything).len(), 2);
    }

    #[test]
    fn statuses_compare_without_their_transition_times() {
        let status = |generation: i64, ready: &str, time: Option<&str>| -> VectorStoreStatus {
            serde_json::from_value(json!({"observedGeneration": generation, "reachable": true,
                "conditions": [{"type": "Ready", "status": ready, "reason": "Available",
                    "lastTransitionTime": time}]}))
            .unwrap()
        };
        let a = status(1, "True", Some("2025-01-01T00:00:00Z"));
        let b = status(1, "True", Some("2026-01-01T00:00:00Z"));
        let c = status(1, "True", None);
        let d = status(2, "True", None);
        let e = status(1, "False", None);
        let mut f = c.clone();
        f.reachable = Some(false);
        let mut g = c.clone();
        g.conditions[0].message = Some("up".into());
        let mut h = c.clone();
        h.conditions.push(c.conditions[0].clone());
        for (x, y) in [(&a, &b), (&a, &c), (&c, &b)] {
            let (mut x2, mut y2) = (x.clone(), y.clone());
            assert!(same_ignoring_times(&mut x2, &mut y2));
            // Both are left as they were.
            assert_eq!((&x2, &y2), (x, y));
        }
        for (x, y) in [(&a, &d), (&a, &e), (&c, &f), (&c, &g), (&c, &h)] {
            let (mut x2, mut y2) = (x.clone(), y.clone());
            assert!(!same_ignoring_times(&mut x2, &mut y2), "{x:?} {y:?}");
            assert_eq!((&x2, &y2), (x, y));
        }
    }

    /// The embed Pipeline and its children, ready, in fresh caches.
    fn ready_pipeline() -> (StatusIndex, crate::watch::Writers, Pipeline) {
        let (caches, mut w) = caches();
        let r = rendered(PIPELINE);
        let mut cr = r.pipeline("embed");
        cr.metadata.resource_version = Some("1".into());
        w.pipelines.apply_watcher_event(&Event::Apply(cr.clone()));
        w.deployments
            .apply_watcher_event(&Event::Apply(r.deployment("embed-worker", 1)));
        w.scaled_objects
            .apply_watcher_event(&Event::Apply(r.scaled_object("embed-worker", "True")));
        w.trigger_authentications
            .apply_watcher_event(&Event::Apply(r.trigger_authentication("embed-worker")));
        let index = StatusIndex::new(caches, ProbeResults::disabled(), options(), Metrics::new());
        (index, w, cr)
    }

    #[test]
    fn an_index_is_written_once_when_its_store_is_written_in_the_same_round() {
        // Regression: Indexes were evaluated against the store's live status, which had not
        // caught up with the store's own write yet, so every Index was first written
        // StoreNotReady, then StoreReady.
        let (caches, mut w) = caches();
        let store = rendered(STORE).vector_store("turbopuffer-default");
        w.vector_stores
            .apply_watcher_event(&Event::Apply(store.clone()));
        w.indexes
            .apply_watcher_event(&Event::Apply(rendered(INDEX).index("products")));
        let mut index =
            StatusIndex::new(caches, ProbeResults::disabled(), options(), Metrics::new());
        let mut keys = index.expand(&Dirty::Everything);
        keys.sort_by_key(evaluation_rank);
        assert_eq!(
            keys.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>(),
            ["VectorStore", "Index"]
        );
        let store_update = index.evaluate(&keys[0], clock().now).unwrap();
        assert_eq!(
            store_update.body["status"]["conditions"][0]["status"],
            "True"
        );
        let index_update = index.evaluate(&keys[1], clock().now).unwrap();
        assert_eq!(
            index_update.body["status"]["conditions"][0]["reason"],
            "StoreReady"
        );
        // The store's write comes back through the watch: the Index has nothing new to say.
        let mut written = store;
        written.status = Some(serde_json::from_value(store_update.body["status"].clone()).unwrap());
        written.metadata.resource_version = Some("2".into());
        w.vector_stores.apply_watcher_event(&Event::Apply(written));
        assert_eq!(index.evaluate(&keys[0], later(1).now), None);
        assert_eq!(index.evaluate(&keys[1], later(1).now), None);
    }

    #[test]
    fn a_write_answered_404_is_not_sent_again_until_the_cache_holds_another_version() {
        let (mut index, mut w, cr) = ready_pipeline();
        assert!(index.evaluate(&key(), clock().now).is_some());
        index.mark_gone(&key());
        // Its children are pruned before the watch reports the CR deleted: still nothing.
        let r = rendered(PIPELINE);
        w.deployments
            .apply_watcher_event(&Event::Delete(r.deployment("embed-worker", 1)));
        assert_eq!(index.evaluate(&key(), later(1).now), None);
        assert_eq!(index.tracked(), 1);
        // Recreated under the same name: a new version, written again.
        let mut again = cr.clone();
        again.metadata.resource_version = Some("7".into());
        w.pipelines
            .apply_watcher_event(&Event::Apply(again.clone()));
        let u = index.evaluate(&key(), later(2).now).unwrap();
        assert_eq!(u.body["status"]["conditions"][0]["reason"], "ChildMissing");
        // Deleted: forgotten.
        w.pipelines.apply_watcher_event(&Event::Delete(again));
        assert_eq!(index.evaluate(&key(), later(3).now), None);
        assert_eq!(index.tracked(), 0);
    }

    #[test]
    fn a_full_evaluation_forgets_crs_the_caches_no_longer_hold() {
        let (mut index, mut w, cr) = ready_pipeline();
        assert!(index.evaluate(&key(), clock().now).is_some());
        assert_eq!(index.tracked(), 1);
        // A relist that no longer returns the CR replaces the cache without a Delete event.
        w.pipelines.apply_watcher_event(&Event::Init);
        w.pipelines.apply_watcher_event(&Event::InitDone);
        let keys = index.expand(&Dirty::Everything);
        assert!(keys.is_empty());
        index.retain(&keys.iter().collect());
        assert_eq!(index.tracked(), 0);
        drop(cr);
    }

    #[test]
    fn a_status_is_on_its_way_until_written_then_for_one_window_until_its_echo() {
        let (mut index, mut w, cr) = ready_pipeline();
        let window = std::time::Duration::from_secs(30);
        let now = Instant::now();
        assert!(!index.on_its_way(&key(), now, window));
        let sent = index.evaluate(&key(), clock().now).unwrap();
        // Queued or retried, however long: on its way.
        assert!(index.on_its_way(&key(), now + 10 * window, window));
        index.mark_written(&key(), now);
        assert!(index.on_its_way(&key(), now, window));
        // Written, and no echo for a whole window: evaluated again.
        assert!(!index.on_its_way(&key(), now + window, window));
        // Its echo settles it.
        let mut written = cr;
        written.status = Some(serde_json::from_value(sent.body["status"].clone()).unwrap());
        written.metadata.resource_version = Some("2".into());
        w.pipelines.apply_watcher_event(&Event::Apply(written));
        assert_eq!(index.evaluate(&key(), later(1).now), None);
        assert!(!index.on_its_way(&key(), now, window));
    }

    #[test]
    fn a_live_status_that_caught_up_with_the_sent_one_is_reported_settled() {
        let (mut index, mut w, cr) = ready_pipeline();
        let sent = index.evaluate(&key(), clock().now).unwrap();
        assert_eq!(index.take_settled(), []);
        let mut written = cr;
        written.status = Some(serde_json::from_value(sent.body["status"].clone()).unwrap());
        written.metadata.resource_version = Some("2".into());
        w.pipelines.apply_watcher_event(&Event::Apply(written));
        assert_eq!(index.evaluate(&key(), later(1).now), None);
        assert_eq!(index.take_settled(), [key()]);
        assert_eq!(index.take_settled(), []);
        // Nothing was in flight any more: a second unchanged evaluation settles nothing.
        assert_eq!(index.evaluate(&key(), later(2).now), None);
        assert_eq!(index.take_settled(), []);
    }
}
