//! Readiness: pure functions from (CR, observed children, related CRs) to the CR's status.
//!
//! No client, no async, no clock: the caller passes the objects it has cached and `now`. Each
//! kind has one file whose `assess` function returns an [`Assessment`]: the kind's status
//! fields plus a [`Verdict`] (the worst finding). [`finish`] then turns the verdict into the
//! `Ready`/`Reconciling`/`Stalled` triple, escalating to `Stalled` when the [`Progress`] clock
//! has run past `--stall-after`, and merges it over the live conditions. Linkage (spec hash,
//! children map), child names, store resolution and pools come from `layer_render`.

pub mod conditions;
pub mod endpoint;
pub mod function;
pub mod index;
pub mod infra_rules;
pub mod pipeline;
pub mod vector_store;
pub mod workload;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use layer_render::api::family::{ANNOTATION_CHILDREN, ANNOTATION_SPEC_HASH};
use layer_render::api::{
    Condition, FunctionStatus, IndexStatus, InfraRulesStatus, PipelineStatus, VectorStoreStatus,
};
use layer_render::expand::linkage::spec_hash;
use serde::Serialize;

pub use conditions::{Phase, Progress, Reason, Verdict};

/// The time inputs of an evaluation.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now.
    pub now: Timestamp,
    /// How long a stall-able state may last without progress (`--stall-after`).
    pub stall_after: Duration,
}

/// A kind's status fields and the verdict behind its conditions, before the merge.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment<S> {
    /// The worst finding.
    pub verdict: Verdict,
    /// The status, with empty conditions and no observed generation.
    pub status: S,
}

/// The parts of a status that [`finish`] fills in, shared by the five kinds.
pub trait HevStatus: Clone + Default + PartialEq + Serialize {
    /// The conditions.
    fn conditions(&self) -> &[Condition];
    /// The conditions, to change in place.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// Sets the conditions and the generation they describe.
    fn set_outcome(&mut self, conditions: Vec<Condition>, generation: Option<i64>);
}

macro_rules! hev_status {
    ($($t:ty),*) => {$(
        impl HevStatus for $t {
            fn conditions(&self) -> &[Condition] {
                &self.conditions
            }
            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                &mut self.conditions
            }
            fn set_outcome(&mut self, conditions: Vec<Condition>, generation: Option<i64>) {
                self.conditions = conditions;
                self.observed_generation = generation;
            }
        }
    )*};
}

hev_status!(
    PipelineStatus,
    FunctionStatus,
    IndexStatus,
    InfraRulesStatus,
    VectorStoreStatus
);

/// The final status: the assessment's fields, `observedGeneration`, and the condition triple
/// merged over `live` (the CR's current conditions). Returns the progress clock to keep.
pub fn finish<S: HevStatus>(
    assessment: Assessment<S>,
    generation: Option<i64>,
    live: &[Condition],
    prev_progress: Option<&Progress>,
    clock: Clock,
) -> (S, Progress) {
    let Assessment {
        verdict,
        mut status,
    } = assessment;
    let progress = Progress::advance(prev_progress, live, &verdict, clock.now, clock.stall_after);
    let overdue = progress.is_overdue(clock.now, clock.stall_after);
    let phase = conditions::phase(verdict.reason, overdue);
    let conditions =
        conditions::make_conditions(&verdict, phase, clock.stall_after, live, clock.now);
    status.set_outcome(conditions, generation);
    (status, progress)
}

/// `RenderStale` when the CR carries a spec hash and its live spec (read back through the typed
/// CR, so defaults are applied the way render applied them) no longer hashes to it.
pub fn stale_spec<K: Serialize>(cr: &K, meta: &ObjectMeta, kind: &str) -> Option<Verdict> {
    let recorded = annotation(meta, ANNOTATION_SPEC_HASH)?;
    let live = serde_json::to_value(cr).ok().map(|v| spec_hash(&v))?;
    (live != recorded).then(|| {
        Verdict::new(
            Reason::RenderStale,
            format!(
                "{kind}/{} was changed outside layer-render: its spec no longer matches the {ANNOTATION_SPEC_HASH} annotation. Revert the manual edit, or change the CR in Git, re-render and let Argo CD or Flux apply it.",
                meta.name.as_deref().unwrap_or_default()
            ),
        )
    })
}

/// The parent's `children` annotation as a map, `Err` when it is not a JSON string map.
pub fn children_map(meta: &ObjectMeta) -> Option<Result<BTreeMap<String, String>, String>> {
    let raw = annotation(meta, ANNOTATION_CHILDREN)?;
    Some(serde_json::from_str(raw).map_err(|e| e.to_string()))
}

/// One annotation's value.
pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// A CR's `namespace/name`, or `name` when cluster-scoped, for messages.
pub fn display_name(meta: &ObjectMeta) -> String {
    match &meta.namespace {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
        None => meta.name.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
