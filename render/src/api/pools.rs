//! Compute pools: the built-in three, and which pool a workload runs on.
//!
//! Pools come from `InfraRules/default` when the input has it, else from the built-in pools
//! `cpu`, `cpu-large` and `gpu`, exactly as upstream documents them (upstream spec section
//! 4.3). The chart's `InfraRules/default` is this same list; a test holds them equal.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements, Toleration};
use serde_json::{Value, json};

use crate::api::family::Workload;
use crate::api::{ComputePool, FreeForm, InfraRules, Scaling, Worker};
use crate::field_path::FieldPath;
use crate::karpenter::labels::{COMPUTE, GPU_TAINT, NODE_ROLE};
use crate::karpenter::schedule::Placement;

/// The built-in pools, as upstream's InfraRules example and Helm values define them.
pub fn builtin_pools() -> Vec<ComputePool> {
    let cpu_selector = labels(&[(COMPUTE, "cpu"), (NODE_ROLE, "worker-cpu")]);
    let cpu_tolerations = vec![toleration(NODE_ROLE, "Equal", Some("worker-cpu"))];
    let gpu_selector = labels(&[(COMPUTE, "gpu"), (NODE_ROLE, "worker-gpu")]);
    let gpu_tolerations = vec![
        toleration(NODE_ROLE, "Equal", Some("worker-gpu")),
        toleration(GPU_TAINT, "Exists", None),
    ];
    vec![
        pool(
            "cpu",
            "cpu",
            32,
            cpu_selector.clone(),
            cpu_tolerations.clone(),
            json!({"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}),
        ),
        pool(
            "cpu-large",
            "cpu",
            8,
            cpu_selector,
            cpu_tolerations,
            json!({
                "requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "35Gi"},
                "limits": {"cpu": "4", "memory": "4Gi", "ephemeral-storage": "40Gi"}
            }),
        ),
        pool(
            "gpu",
            "gpu",
            4,
            gpu_selector,
            gpu_tolerations,
            json!({
                "requests": {"cpu": "250m", "memory": "4Gi", "nvidia.com/gpu": "1"},
                "limits": {"cpu": "2", "memory": "10Gi", "nvidia.com/gpu": "1"}
            }),
        ),
    ]
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn toleration(key: &str, operator: &str, value: Option<&str>) -> Value {
    let mut t = json!({"effect": "NoSchedule", "key": key, "operator": operator});
    if let Some(value) = value {
        t["value"] = json!(value);
    }
    t
}

fn pool(
    name: &str,
    kind: &str,
    max: i32,
    node_selector: BTreeMap<String, String>,
    tolerations: Vec<Value>,
    resources: Value,
) -> ComputePool {
    ComputePool {
        name: name.to_string(),
        kind: kind.to_string(),
        max_replicas_per_workload: max,
        gpu_type: None,
        node_selector: Some(node_selector),
        tolerations: Some(FreeForm::new(Value::Array(tolerations))),
        resources: Some(FreeForm::new(resources)),
    }
}

/// A pool's tolerations, read when the pool was.
pub fn tolerations(pool: &ComputePool) -> Result<Option<&[Toleration]>, String> {
    pool.tolerations
        .as_ref()
        .map(|t| t.get().map(Vec::as_slice))
        .transpose()
        .map_err(|e| format!("pool {:?} tolerations: {e}", pool.name))
}

/// A pool's worker container resources, read when the pool was.
pub fn resources(pool: &ComputePool) -> Result<Option<&ResourceRequirements>, String> {
    pool.resources
        .as_ref()
        .map(FreeForm::get)
        .transpose()
        .map_err(|e| format!("pool {:?} resources: {e}", pool.name))
}

/// Where a pool's workers can run before any `worker.podSpec`: its `nodeSelector`, its
/// tolerations and the GPU its resources ask for. The syncer judges a pool by this, with the
/// rule render checks each worker's final pod spec by ([`crate::karpenter::schedule`]).
pub fn placement(pool: &ComputePool) -> Result<Placement, String> {
    let pod = PodSpec {
        containers: vec![Container {
            resources: resources(pool)?.cloned(),
            ..Container::default()
        }],
        node_selector: pool.node_selector.clone(),
        tolerations: tolerations(pool)?.map(<[_]>::to_vec),
        ..PodSpec::default()
    };
    Ok(Placement::of(&pod))
}

/// The pools in effect: `InfraRules/default`'s when given, else the built-in ones.
pub fn effective_pools(infra_rules: Option<&InfraRules>) -> Vec<ComputePool> {
    match infra_rules {
        Some(rules) => rules.spec.compute_pools.clone(),
        None => builtin_pools(),
    }
}

/// The pool name a workload asks for: `scaling.pool`, else `worker.computeClass`.
pub fn requested_pool<'a>(scaling: &'a Scaling, worker: &Worker) -> &'a str {
    scaling
        .pool
        .as_deref()
        .unwrap_or(worker.compute_class.as_str())
}

/// The field that chose the pool, for diagnostics.
pub fn pool_field(scaling: &Scaling) -> FieldPath {
    if scaling.pool.is_some() {
        FieldPath::keys(&["spec", "scaling", "pool"])
    } else {
        FieldPath::keys(&["spec", "worker", "computeClass"])
    }
}

/// A workload's pool request, resolved: the one rule validate, expand and the syncer share
/// for which pool a workload runs on and the two ceilings on its `replicas.max`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved<'a> {
    /// The pool name asked for ([`requested_pool`]).
    pub requested: &'a str,
    /// The field that asked for it ([`pool_field`]).
    pub field: FieldPath,
    /// The pool and its index, when one has that name.
    pub pool: Option<(usize, &'a ComputePool)>,
    /// The pool's `maxReplicasPerWorkload`, when `replicas.max` is above it.
    pub above_pool: Option<i32>,
    /// The install's ceiling, when `replicas.max` is above it.
    pub above_install: Option<i32>,
}

/// Resolves a workload's pool among `pools`, and checks `replicas.max` against the pool's
/// ceiling and the install's (`maxReplicasCeiling`).
pub fn resolve<'a>(
    w: &Workload<'a>,
    pools: &'a [ComputePool],
    install_ceiling: i32,
) -> Resolved<'a> {
    let requested = requested_pool(w.scaling, w.worker);
    let max = w.scaling.replicas.max;
    let pool = pools.iter().enumerate().find(|(_, p)| p.name == requested);
    Resolved {
        requested,
        field: pool_field(w.scaling),
        pool,
        above_pool: pool
            .map(|(_, p)| p.max_replicas_per_workload)
            .filter(|ceiling| max > *ceiling),
        above_install: (max > install_ceiling).then_some(install_ceiling),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn pipeline(scaling: &str) -> crate::api::Pipeline {
        serde_saphyr::from_str(&format!(
            "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {{name: p, namespace: shop}}\nspec:\n  target: {{namespace: t}}\n  worker: {{image: i}}\n  scaling: {scaling}\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_workload_resolves_its_pool_and_both_ceilings_in_one_place() {
        let pools = builtin_pools();
        let p = pipeline("{pool: gpu, replicas: {max: 5}}");
        let r = resolve(&Workload::of_pipeline(&p), &pools, 100);
        assert_eq!(
            (r.requested, r.field.to_string().as_str()),
            ("gpu", "spec.scaling.pool")
        );
        assert_eq!(r.pool.map(|(i, p)| (i, p.name.as_str())), Some((2, "gpu")));
        assert_eq!((r.above_pool, r.above_install), (Some(4), None));

        let p = pipeline("{replicas: {max: 5}}");
        let r = resolve(&Workload::of_pipeline(&p), &pools, 4);
        assert_eq!(
            (r.requested, r.field.to_string().as_str()),
            ("cpu", "spec.worker.computeClass")
        );
        assert_eq!((r.above_pool, r.above_install), (None, Some(4)));

        let p = pipeline("{pool: gpux, replicas: {max: 500}}");
        let r = resolve(&Workload::of_pipeline(&p), &pools, 100);
        assert_eq!(r.pool, None);
        assert_eq!((r.above_pool, r.above_install), (None, Some(100)));
    }

    #[test]
    fn builtin_pools_match_upstream() {
        let pools = builtin_pools();
        let names: Vec<_> = pools
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.kind.as_str(),
                    p.max_replicas_per_workload,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("cpu", "cpu", 32),
                ("cpu-large", "cpu", 8),
                ("gpu", "gpu", 4)
            ]
        );
        let gpu = serde_json::to_value(&pools[2]).unwrap_or_default();
        assert_eq!(
            gpu,
            json!({
                "name": "gpu", "kind": "gpu", "maxReplicasPerWorkload": 4,
                "nodeSelector": {"layer.hev.dev/compute": "gpu", "layer.hev.dev/node-role": "worker-gpu"},
                "tolerations": [
                    {"effect": "NoSchedule", "key": "layer.hev.dev/node-role", "operator": "Equal", "value": "worker-gpu"},
                    {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
                ],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "4Gi", "nvidia.com/gpu": "1"},
                    "limits": {"cpu": "2", "memory": "10Gi", "nvidia.com/gpu": "1"}
                }
            })
        );
    }
}
