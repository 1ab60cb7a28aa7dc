//! InfraRules status: `poolCount`, `documentCache.nodes`, and pool readiness from the
//! Karpenter NodePools when that CRD is installed.
//!
//! `poolCount` counts the pools InfraRules/default declares (`spec.computePools`), the pools
//! Pipelines and Functions can select. A pool is served by a NodePool when the pool's
//! workers could run on its nodes, judged by render's schedulability rule
//! ([`layer_render::karpenter::schedule::fitting`]) on the pool's placement
//! ([`layer_render::api::pools::placement`]): the same rule `layer-render --nodepools` checks every
//! worker with, so the two never disagree. A pool without a `nodeSelector` runs anywhere,
//! on Karpenter's nodes or any other, and needs no NodePool.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::DynamicObject;
use layer_render::api::conditions::status;
use layer_render::api::infra_rules::DocumentCacheStatus;
use layer_render::api::pools;
use layer_render::api::{ComputePool, Condition, InfraRules, InfraRulesStatus};
use layer_render::karpenter::NodePool;
use layer_render::karpenter::schedule;

use super::conditions::{READY, find};
use super::{Assessment, Reason, Verdict, stale_spec};

/// What InfraRules readiness reads besides the CR.
#[derive(Clone, Copy, Debug)]
pub struct InfraEnv<'a> {
    /// The document-cache StatefulSet, when it exists.
    pub document_cache: Option<&'a StatefulSet>,
    /// `namespace/name` of that StatefulSet, for messages.
    pub document_cache_ref: &'a str,
    /// The Karpenter NodePools; `None` when the CRD is not installed.
    pub node_pools: Option<&'a [&'a DynamicObject]>,
}

/// The status of InfraRules/default.
pub fn assess(cr: &InfraRules, env: &InfraEnv<'_>) -> Assessment<InfraRulesStatus> {
    let pools = &cr.spec.compute_pools;
    let nodes = env.document_cache.map(|sts| {
        let desired = sts.spec.replicas.unwrap_or(1);
        let ready = sts
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        (ready, desired)
    });
    let status = InfraRulesStatus {
        pool_count: pools.len(),
        document_cache: nodes.map(|(ready, desired)| DocumentCacheStatus {
            nodes: Some(format!("{ready}/{desired}")),
        }),
        ..InfraRulesStatus::default()
    };
    Assessment {
        verdict: verdict(cr, pools, nodes, env),
        status,
    }
}

fn verdict(
    cr: &InfraRules,
    pools: &[ComputePool],
    nodes: Option<(i32, i32)>,
    env: &InfraEnv<'_>,
) -> Verdict {
    if let Some(v) = stale_spec(cr, &cr.metadata, "InfraRules") {
        return v;
    }
    if cr.spec.document_cache.is_some() {
        match nodes {
            None => {
                return Verdict::new(
                    Reason::ChildMissing,
                    format!(
                        "InfraRules/default: spec.documentCache is set but StatefulSet {} does not exist. Enable the document cache in the layer chart, or remove spec.documentCache.",
                        env.document_cache_ref
                    ),
                );
            }
            Some((ready, desired)) if ready < desired => {
                return Verdict::new(
                    Reason::DocumentCacheNotReady,
                    format!(
                        "InfraRules/default: document cache StatefulSet {} has {ready}/{desired} ready replicas. Check its pods if this lasts.",
                        env.document_cache_ref
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let mut summary = format!("InfraRules/default: {} pool(s)", pools.len());
    if let Some(node_pools) = env.node_pools {
        let (known, ready): (Vec<NodePool>, Vec<bool>) = node_pools
            .iter()
            .filter_map(|np| read_node_pool(np))
            .unzip();
        // NodePools are cluster-scoped, so a name is one NodePool.
        let ready: BTreeSet<&str> = known
            .iter()
            .zip(ready)
            .filter(|(_, ready)| *ready)
            .map(|(np, _)| np.metadata.name.as_str())
            .collect();
        let mut missing = Vec::new();
        let mut unready = Vec::new();
        for pool in pools {
            if pool.node_selector.as_ref().is_none_or(|s| s.is_empty()) {
                continue;
            }
            // A pool render cannot read (E318 at render time) is served by nothing.
            let serving = pools::placement(pool)
                .map(|placement| schedule::fitting(&placement, &known))
                .unwrap_or_default();
            if serving.is_empty() {
                missing.push(pool.name.as_str());
                continue;
            }
            if !serving
                .iter()
                .any(|np| ready.contains(np.metadata.name.as_str()))
            {
                let names: Vec<&str> = serving.iter().map(|np| np.metadata.name.as_str()).collect();
                unready.push(format!("{} (NodePool {})", pool.name, names.join(", ")));
            }
        }
        if !missing.is_empty() {
            return Verdict::new(
                Reason::NodePoolMissing,
                format!(
                    "InfraRules/default: no Karpenter NodePool provides the nodes that pool(s) {} select. Enable workerKarpenter in the layer chart, or render and apply the NodePools.",
                    missing.join(", ")
                ),
            );
        }
        if !unready.is_empty() {
            return Verdict::new(
                Reason::NodePoolNotReady,
                format!(
                    "InfraRules/default: NodePools are not Ready for pool(s) {}. Check the NodePool and EC2NodeClass status (kubectl describe nodepool).",
                    unready.join("; ")
                ),
            );
        }
        summary.push_str(", each served by a Ready NodePool");
    }
    if let Some((ready, desired)) = nodes {
        summary.push_str(&format!("; document cache {ready}/{desired} ready"));
    }
    summary.push('.');
    Verdict::new(Reason::PoolsReady, summary)
}

/// A NodePool from the cache in render's type, and whether it is Ready; `None` when it is
/// not a NodePool render can read. Schedulability never reads `nodeClassRef`, so one that is
/// missing does not stop the rest from being judged.
fn read_node_pool(np: &DynamicObject) -> Option<(NodePool, bool)> {
    let mut spec = np.data.get("spec")?.clone();
    if let Some(template_spec) = spec
        .pointer_mut("/template/spec")
        .and_then(|v| v.as_object_mut())
    {
        template_spec
            .entry("nodeClassRef")
            .or_insert_with(|| serde_json::json!({"group": "", "kind": "", "name": ""}));
    }
    let value = serde_json::json!({
        "apiVersion": layer_render::karpenter::NODEPOOL_API_VERSION,
        "kind": layer_render::karpenter::NODEPOOL_KIND,
        "metadata": {"name": np.metadata.name.clone().unwrap_or_default()},
        "spec": spec,
    });
    let pool: NodePool = serde_json::from_value(value).ok()?;
    let conditions: Vec<Condition> = np
        .data
        .pointer("/status/conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let ready = find(&conditions, READY).is_some_and(|c| c.status == status::TRUE);
    Some((pool, ready))
}
