//! What Pipelines and Functions share: pool and ceiling checks, the expected children (from
//! render's [`Workload::expected_children`]), their render hashes, and the worker rollout.
//!
//! Checks run worst first and the first finding wins: a spec error a person must fix
//! (`UnknownPool`, `CeilingExceeded`), then linkage (`RenderStale` of the CR, `ChildMissing`,
//! `RenderStale` of a child), then `Paused`/`Disabled`, then the rollout and KEDA.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::DynamicObject;
use layer_render::api::conditions::status;
use layer_render::api::family::{ANNOTATION_RENDER_HASH, ChildRef, Workload};
use layer_render::api::pools;
use layer_render::api::{ComputePool, Condition, ManagedObject, ScalingMode};

use super::conditions::{READY, find};
use super::{Reason, Verdict, annotation, children_map};

/// What a workload's checks need besides the CR and its children.
#[derive(Clone, Copy, Debug)]
pub struct WorkloadEnv<'a> {
    /// The pools in effect: `InfraRules/default`'s when it exists, else render's built-in ones.
    pub pools: &'a [ComputePool],
    /// The install's replica ceiling (`--max-replicas-ceiling`, the profile's
    /// `maxReplicasCeiling`).
    pub max_replicas_ceiling: i32,
    /// Whether the KEDA CRDs are installed (ScaledObjects can exist at all).
    pub keda_installed: bool,
}

/// The live children of one workload, found by owner labels; `None` when absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Children<'a> {
    /// `v1 Service <name>-worker` (push dispatch).
    pub service: Option<&'a Service>,
    /// `apps/v1 Deployment <name>-worker`.
    pub deployment: Option<&'a Deployment>,
    /// `keda.sh/v1alpha1 TriggerAuthentication <name>-worker` (autoscale).
    pub trigger_authentication: Option<&'a DynamicObject>,
    /// `keda.sh/v1alpha1 ScaledObject <name>-worker` (autoscale).
    pub scaled_object: Option<&'a DynamicObject>,
}

impl Children<'_> {
    fn annotations_of(&self, kind: &str) -> Option<Option<&str>> {
        match kind {
            "Service" => self
                .service
                .map(|o| annotation(&o.metadata, ANNOTATION_RENDER_HASH)),
            "Deployment" => self
                .deployment
                .map(|o| annotation(&o.metadata, ANNOTATION_RENDER_HASH)),
            "TriggerAuthentication" => self
                .trigger_authentication
                .map(|o| annotation(&o.metadata, ANNOTATION_RENDER_HASH)),
            "ScaledObject" => self
                .scaled_object
                .map(|o| annotation(&o.metadata, ANNOTATION_RENDER_HASH)),
            _ => None,
        }
    }
}

/// `status.managedObjects`: every child the workload should have.
pub fn managed_objects(w: &Workload<'_>) -> Vec<ManagedObject> {
    w.expected_children()
        .into_iter()
        .map(|c: ChildRef| ManagedObject {
            api_version: c.api_version.to_string(),
            kind: c.kind.to_string(),
            name: c.name,
        })
        .collect()
}

/// The pool and ceiling checks: `Stalled` at once, since only a spec change fixes them.
pub fn check_pool(w: &Workload<'_>, env: &WorkloadEnv<'_>) -> Option<Verdict> {
    let kind = w.kind.kind_str();
    let name = w.name;
    let resolved = pools::resolve(w, env.pools, env.max_replicas_ceiling);
    let (pool_name, field) = (resolved.requested, resolved.field);
    let max = w.scaling.replicas.max;
    match (resolved.pool, resolved.above_pool) {
        (None, _) => {
            let known: Vec<&str> = env.pools.iter().map(|p| p.name.as_str()).collect();
            return Some(Verdict::new(
                Reason::UnknownPool,
                format!(
                    "{kind}/{name}: {field} selects pool {pool_name:?}, which InfraRules/default does not define (known pools: {}). Pick one of them, or add the pool to InfraRules/default, then re-render.",
                    known.join(", ")
                ),
            ));
        }
        (Some(_), Some(ceiling)) => {
            return Some(Verdict::new(
                Reason::CeilingExceeded,
                format!(
                    "{kind}/{name}: spec.scaling.replicas.max ({max}) is above pool {pool_name:?}'s maxReplicasPerWorkload ({ceiling}). Lower replicas.max or raise the pool's limit in InfraRules/default, then re-render.",
                ),
            ));
        }
        (Some(_), None) => {}
    }
    if let Some(ceiling) = resolved.above_install {
        return Some(Verdict::new(
            Reason::CeilingExceeded,
            format!(
                "{kind}/{name}: spec.scaling.replicas.max ({max}) is above the install's ceiling ({ceiling}, --max-replicas-ceiling). Lower replicas.max, then re-render.",
            ),
        ));
    }
    None
}

/// Presence and render hashes of the expected children.
pub fn check_children(
    w: &Workload<'_>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    children: &Children<'_>,
    env: &WorkloadEnv<'_>,
) -> Option<Verdict> {
    let kind = w.kind.kind_str();
    let expected = w.expected_children();
    let missing: Vec<String> = expected
        .iter()
        .filter(|c| children.annotations_of(c.kind).is_none())
        .map(ChildRef::map_key)
        .collect();
    if !missing.is_empty() {
        let keda_missing = !env.keda_installed
            && expected
                .iter()
                .any(|c| c.api_version.starts_with("keda.sh/"));
        let hint = if keda_missing {
            " KEDA is not installed in this cluster (no keda.sh CRDs): install KEDA, or set scaling.mode to fixed."
        } else {
            " Apply the rendered objects (sync the Argo CD application or reconcile the Flux Kustomization); if they were pruned, re-render from Git."
        };
        return Some(Verdict::new(
            Reason::ChildMissing,
            format!(
                "{kind}/{}: {} not found in namespace {}.{hint}",
                w.name,
                missing.join(", "),
                w.namespace
            ),
        ));
    }
    let map = match children_map(meta)? {
        Ok(map) => map,
        Err(e) => {
            return Some(Verdict::new(
                Reason::RenderStale,
                format!(
                    "{kind}/{}: the layer.hev.dev/children annotation is not a JSON map ({e}). Re-render from Git and apply.",
                    w.name
                ),
            ));
        }
    };
    let stale: Vec<String> = expected
        .iter()
        .filter(|c| {
            let live = children.annotations_of(c.kind).flatten();
            live != map.get(&c.map_key()).map(String::as_str)
        })
        .map(ChildRef::map_key)
        .collect();
    (!stale.is_empty()).then(|| {
        Verdict::new(
            Reason::RenderStale,
            format!(
                "{kind}/{}: {} {} from a different render than the {kind} (layer.hev.dev/render-hash differs from the parent's children map). Apply the CR and its children from the same render: re-render from Git and sync both.",
                w.name,
                stale.join(", "),
                if stale.len() == 1 { "comes" } else { "come" },
            ),
        )
    })
}

/// `Paused` and `Disabled`: Ready on purpose with no replicas.
pub fn check_intent(w: &Workload<'_>) -> Option<Verdict> {
    let kind = w.kind.kind_str();
    if w.paused {
        return Some(Verdict::new(
            Reason::Paused,
            format!(
                "{kind} spec.paused=true; deployment {} scaled to zero. Set spec.paused=false to resume.",
                w.child_name()
            ),
        ));
    }
    if w.scaling.mode == ScalingMode::Disabled {
        return Some(Verdict::new(
            Reason::Disabled,
            format!(
                "{kind} spec.scaling.mode=disabled; deployment {} has no replicas. Set scaling.mode to autoscale or fixed to run it.",
                w.child_name()
            ),
        ));
    }
    None
}

/// Whether the Deployment rolled out its current template: the controller saw the current
/// generation, every desired replica runs the current template, no old replica is left, and at
/// least one replica is available unless it is scaled to zero. Available below desired is fine:
/// that is a KEDA scale-up in progress, not a rollout.
pub fn check_rollout(w: &Workload<'_>, deployment: &Deployment) -> Verdict {
    let name = w.child_name();
    let generation = deployment.metadata.generation.unwrap_or(0);
    let desired = deployment.spec.replicas.unwrap_or(1);
    let st = deployment.status.clone().unwrap_or_default();
    let deadline_exceeded = st.conditions.iter().flatten().any(|c| {
        c.type_.as_deref() == Some("Progressing")
            && c.status.as_deref() == Some(status::FALSE)
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return Verdict::new(
            Reason::RolloutFailed,
            format!(
                "Deployment {name} exceeded its progress deadline. Check its pods (kubectl -n {} describe deployment {name}; image, resources, pool capacity) and fix the worker spec.",
                w.namespace
            ),
        );
    }
    if st.observed_generation.unwrap_or(0) < generation {
        return Verdict::new(
            Reason::RollingOut,
            format!(
                "Deployment {name}: waiting for the controller to observe generation {generation}."
            ),
        );
    }
    let updated = st.updated_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < desired {
        return Verdict::new(
            Reason::RollingOut,
            format!("Deployment {name}: {updated} of {desired} replicas run the current template."),
        );
    }
    if total > updated {
        return Verdict::new(
            Reason::RollingOut,
            format!(
                "Deployment {name}: {} old replica(s) still terminating.",
                total - updated
            ),
        );
    }
    if desired > 0 && available == 0 {
        return Verdict::new(
            Reason::WorkerUnavailable,
            format!(
                "Deployment {name}: 0 of {desired} replicas available. Check the worker pods (kubectl -n {} get pods -l layer.hev.dev/owner-name={}): crash loops, image pulls, or no node in the pool.",
                w.namespace, w.name
            ),
        );
    }
    Verdict::new(
        Reason::Available,
        if desired == 0 {
            format!("Deployment {name} rolled out; scaled to zero until there is work.")
        } else {
            format!("Deployment {name} rolled out; {available} of {desired} replicas available.")
        },
    )
}

/// KEDA's `Ready` condition on the ScaledObject.
pub fn check_scaler(w: &Workload<'_>, scaled_object: &DynamicObject) -> Option<Verdict> {
    let conditions = keda_conditions(scaled_object);
    let ready = find(&conditions, READY);
    match ready {
        Some(c) if c.status == status::TRUE => None,
        Some(c) => Some(Verdict::new(
            Reason::ScalerNotReady,
            format!(
                "ScaledObject {}: KEDA reports Ready={} ({}: {}). Check the trigger and its TriggerAuthentication (the gateway API Secret must exist in namespace {}).",
                w.child_name(),
                c.status,
                c.reason.as_deref().unwrap_or("no reason"),
                c.message.as_deref().unwrap_or("no message"),
                w.namespace
            ),
        )),
        None => Some(Verdict::new(
            Reason::ScalerNotReady,
            format!(
                "ScaledObject {}: KEDA has not reported a Ready condition yet. If this lasts, check that the KEDA operator is running.",
                w.child_name()
            ),
        )),
    }
}

/// `status.conditions` of a KEDA object; none when absent or malformed.
pub fn keda_conditions(obj: &DynamicObject) -> Vec<Condition> {
    obj.data
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default()
}

/// Every workload check in order; the first finding wins.
pub fn assess(
    w: &Workload<'_>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    stale_spec: Option<Verdict>,
    children: &Children<'_>,
    env: &WorkloadEnv<'_>,
) -> Verdict {
    if let Some(v) = check_pool(w, env) {
        return v;
    }
    if let Some(v) = stale_spec {
        return v;
    }
    if let Some(v) = check_children(w, meta, children, env) {
        return v;
    }
    if let Some(v) = check_intent(w) {
        return v;
    }
    let Some(deployment) = children.deployment else {
        // check_children reported it; kept total for the type checker.
        return Verdict::new(Reason::ChildMissing, "Deployment missing");
    };
    let rollout = check_rollout(w, deployment);
    if rollout.reason != Reason::Available {
        return rollout;
    }
    if w.is_autoscaled()
        && let Some(v) = children.scaled_object.and_then(|so| check_scaler(w, so))
    {
        return v;
    }
    rollout
}
