//! InfraRules readiness: pool count, document cache and NodePools, in ok/fail pairs.

use kube::api::DynamicObject;
use layer_render::api::{InfraRules, InfraRulesStatus};

use super::{message, t, triple};
use crate::readiness::finish;
use crate::readiness::fixtures::*;
use crate::readiness::infra_rules::{self, InfraEnv};

fn status(cr: &InfraRules, env: &InfraEnv<'_>) -> InfraRulesStatus {
    finish(
        infra_rules::assess(cr, env),
        cr.metadata.generation,
        &[],
        None,
        clock(),
    )
    .0
}

fn env<'a>(
    sts: Option<&'a k8s_openapi::api::apps::v1::StatefulSet>,
    node_pools: Option<&'a [&'a DynamicObject]>,
) -> InfraEnv<'a> {
    InfraEnv {
        document_cache: sts,
        document_cache_ref: "layer/layer-document-cache",
        node_pools,
    }
}

#[test]
fn pools_with_ready_node_pools_and_cache_are_ready() {
    let r = rendered(INFRA_RULES).infra_rules();
    let dc = document_cache(1, 1);
    let (cpu, gpu) = (
        node_pool("worker-cpu", "True"),
        node_pool("worker-gpu", "True"),
    );
    let pools = [&cpu, &gpu];
    let s = status(&r, &env(Some(&dc), Some(&pools)));
    assert_eq!(
        triple(&s.conditions),
        t("True", "False", "False", "PoolsReady")
    );
    assert_eq!(s.pool_count, 3);
    assert_eq!(s.document_cache.unwrap().nodes.as_deref(), Some("1/1"));
    assert_eq!(
        message(&s.conditions),
        "InfraRules/default: 3 pool(s), each served by a Ready NodePool; document cache 1/1 ready."
    );
}

#[test]
fn without_karpenter_node_pools_are_not_checked() {
    let r = rendered(INFRA_RULES).infra_rules();
    let dc = document_cache(1, 1);
    let s = status(&r, &env(Some(&dc), None));
    assert_eq!(
        triple(&s.conditions),
        t("True", "False", "False", "PoolsReady")
    );
    // With Karpenter installed and no NodePool at all, every selecting pool is missing one.
    let s = status(&r, &env(Some(&dc), Some(&[])));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "NodePoolMissing")
    );
}

#[test]
fn a_pool_without_a_node_pool_reconciles() {
    let r = rendered(INFRA_RULES).infra_rules();
    let dc = document_cache(1, 1);
    let cpu = node_pool("worker-cpu", "True");
    let pools = [&cpu];
    let s = status(&r, &env(Some(&dc), Some(&pools)));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "NodePoolMissing")
    );
    assert!(message(&s.conditions).contains("pool(s) gpu select"));
}

#[test]
fn a_node_pool_that_is_not_ready_reconciles() {
    let r = rendered(INFRA_RULES).infra_rules();
    let dc = document_cache(1, 1);
    let (cpu, gpu) = (
        node_pool("worker-cpu", "True"),
        node_pool("worker-gpu", "False"),
    );
    let pools = [&cpu, &gpu];
    let s = status(&r, &env(Some(&dc), Some(&pools)));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "NodePoolNotReady")
    );
    assert!(message(&s.conditions).contains("gpu (NodePool worker-gpu)"));
}

#[test]
fn a_pool_selecting_a_node_pool_by_name_is_served_by_it() {
    let r: InfraRules = yaml(
        "{apiVersion: hevlayer.com/v1alpha1, kind: InfraRules, metadata: {name: default}, spec: {computePools: [{name: cpu, kind: cpu, maxReplicasPerWorkload: 20, nodeSelector: {karpenter.sh/nodepool: worker-cpu}}]}}",
    );
    let cpu = node_pool("worker-cpu", "True");
    let pools = [&cpu];
    let s = status(&r, &env(None, Some(&pools)));
    assert_eq!(triple(&s.conditions).3, "PoolsReady");
    assert_eq!(s.pool_count, 1);
    assert_eq!(s.document_cache, None);
    let gpu = node_pool("worker-gpu", "True");
    let pools = [&gpu];
    assert_eq!(
        triple(&status(&r, &env(None, Some(&pools))).conditions).3,
        "NodePoolMissing"
    );
}

#[test]
fn the_document_cache_reports_ready_over_desired_and_gates_readiness_when_declared() {
    let r = rendered(INFRA_RULES).infra_rules();
    let dc = document_cache(0, 1);
    let s = status(&r, &env(Some(&dc), None));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "DocumentCacheNotReady")
    );
    assert_eq!(s.document_cache.unwrap().nodes.as_deref(), Some("0/1"));
    let s = status(&r, &env(None, None));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "ChildMissing")
    );
    assert!(
        message(&s.conditions).contains("StatefulSet layer/layer-document-cache does not exist")
    );
    // Without spec.documentCache an absent StatefulSet is fine.
    let without = INFRA_RULES.split("  documentCache:").next().unwrap();
    let no_cache = rendered(without).infra_rules();
    let s = status(&no_cache, &env(None, None));
    assert_eq!(
        triple(&s.conditions),
        t("True", "False", "False", "PoolsReady")
    );
    assert_eq!(s.document_cache, None);
}

#[test]
fn infra_rules_edited_outside_render_are_stale() {
    let mut r = rendered(INFRA_RULES).infra_rules();
    r.spec.compute_pools[0].max_replicas_per_workload = 64;
    let dc = document_cache(1, 1);
    let s = status(&r, &env(Some(&dc), None));
    assert_eq!(
        triple(&s.conditions),
        t("False", "True", "False", "RenderStale")
    );
}
