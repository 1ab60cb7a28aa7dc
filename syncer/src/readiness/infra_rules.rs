//! InfraRules status: `poolCount`, `documentCache.nodes`, and pool readiness from the
//! Karpenter NodePools when that CRD is installed.
//!
//! `poolCount` counts the pools InfraRules/default declares (`spec.computePools`), the pools
//! Pipelines and Functions can select. A pool is served by a NodePool when every entry of its
//! `nodeSelector` holds on the NodePool's nodes: `karpenter.sh/nodepool: X` names the NodePool,
//! any other key must be a template label with that value or a requirement that allows it.
//! A pool without a `nodeSelector` runs anywhere and needs no NodePool.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::DynamicObject;
use layer_render::api::conditions::status;
use layer_render::api::infra_rules::DocumentCacheStatus;
use layer_render::api::{ComputePool, Condition, InfraRules, InfraRulesStatus};
use serde::Deserialize;

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
        let views: Vec<NodePoolView> = node_pools.iter().map(|np| NodePoolView::of(np)).collect();
        let mut missing = Vec::new();
        let mut unready = Vec::new();
        for pool in pools {
            let Some(selector) = pool.node_selector.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let serving: Vec<&NodePoolView> =
                views.iter().filter(|v| v.provides(selector)).collect();
            if serving.is_empty() {
                missing.push(pool.name.as_str());
            } else if !serving.iter().any(|v| v.ready) {
                let names: Vec<&str> = serving.iter().map(|v| v.name.as_str()).collect();
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

/// The parts of a Karpenter NodePool that decide which pools it serves.
#[derive(Clone, Debug, Default)]
struct NodePoolView {
    name: String,
    labels: BTreeMap<String, String>,
    requirements: Vec<Requirement>,
    ready: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct Requirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

impl NodePoolView {
    fn of(np: &DynamicObject) -> Self {
        let template = np.data.pointer("/spec/template");
        let labels = template
            .and_then(|t| t.pointer("/metadata/labels"))
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default();
        let requirements = template
            .and_then(|t| t.pointer("/spec/requirements"))
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        let conditions: Vec<Condition> = np
            .data
            .pointer("/status/conditions")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default();
        NodePoolView {
            name: np.metadata.name.clone().unwrap_or_default(),
            labels,
            requirements,
            ready: find(&conditions, READY).is_some_and(|c| c.status == status::TRUE),
        }
    }

    fn provides(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(key, value)| {
            if key == "karpenter.sh/nodepool" {
                return &self.name == value;
            }
            if self.labels.get(key) == Some(value) {
                return true;
            }
            self.requirements.iter().any(|r| {
                r.key == *key
                    && match r.operator.as_str() {
                        "In" => r.values.contains(value),
                        "Exists" => true,
                        _ => false,
                    }
            })
        })
    }
}
