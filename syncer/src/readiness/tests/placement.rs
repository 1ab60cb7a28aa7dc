//! One placement rule: each (pool, NodePool) case goes through `layer-render --nodepools`
//! (does a worker on the pool fit?) and through the syncer's InfraRules readiness (does a
//! NodePool serve the pool?), and the two must give the case's verdict.

use kube::api::DynamicObject;
use layer_render::api::InfraRules;
use layer_render::diagnostic::Code;
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render_json};
use serde_json::{Value, json};

use super::triple;
use crate::readiness::finish;
use crate::readiness::fixtures::*;
use crate::readiness::infra_rules::{self, InfraEnv};

/// (case, the pool's fields after `name` and `kind`, the NodePool's `spec.template`, fits).
const CASES: &[(&str, &str, &str, bool)] = &[
    (
        "an open well-known key: Karpenter picks the family within the category",
        "nodeSelector: {karpenter.k8s.aws/instance-family: g5}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
        "spec:
        requirements:
          - {key: karpenter.k8s.aws/instance-category, operator: In, values: [g]}
          - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ['4']}
        taints: [{key: nvidia.com/gpu, effect: NoSchedule}]",
        true,
    ),
    (
        "a taint the pool does not tolerate",
        "nodeSelector: {layer.hev.dev/node-role: worker-batch}",
        "metadata: {labels: {layer.hev.dev/node-role: worker-batch}}
      spec:
        taints: [{key: layer.hev.dev/node-role, value: worker-batch, effect: NoSchedule}]",
        false,
    ),
    (
        "the same taint, tolerated",
        "nodeSelector: {layer.hev.dev/node-role: worker-batch}
      tolerations: [{key: layer.hev.dev/node-role, operator: Equal, value: worker-batch, effect: NoSchedule}]",
        "metadata: {labels: {layer.hev.dev/node-role: worker-batch}}
      spec:
        taints: [{key: layer.hev.dev/node-role, value: worker-batch, effect: NoSchedule}]",
        true,
    ),
    (
        "a PreferNoSchedule taint does not block",
        "nodeSelector: {team: search}",
        "metadata: {labels: {team: search}}
      spec:
        taints: [{key: dedicated, value: search, effect: PreferNoSchedule}]",
        true,
    ),
    (
        "a template label with another value",
        "nodeSelector: {layer.hev.dev/node-role: worker-cpu}",
        "metadata: {labels: {layer.hev.dev/node-role: worker-gpu}}
      spec: {}",
        false,
    ),
    (
        "In admits the value",
        "nodeSelector: {team: search}",
        "spec:
        requirements: [{key: team, operator: In, values: [search, ads]}]",
        true,
    ),
    (
        "NotIn excludes the value",
        "nodeSelector: {kubernetes.io/arch: arm64}",
        "spec:
        requirements: [{key: kubernetes.io/arch, operator: NotIn, values: [arm64]}]",
        false,
    ),
    (
        "NotIn leaves other values",
        "nodeSelector: {kubernetes.io/arch: amd64}",
        "spec:
        requirements: [{key: kubernetes.io/arch, operator: NotIn, values: [arm64]}]",
        true,
    ),
    (
        "Exists admits any value",
        "nodeSelector: {team: search}",
        "spec:
        requirements: [{key: team, operator: Exists}]",
        true,
    ),
    (
        "DoesNotExist excludes every value",
        "nodeSelector: {team: search}",
        "spec:
        requirements: [{key: team, operator: DoesNotExist}]",
        false,
    ),
    (
        "Gt below the value",
        "nodeSelector: {karpenter.k8s.aws/instance-cpu: '32'}",
        "spec:
        requirements: [{key: karpenter.k8s.aws/instance-cpu, operator: Gt, values: ['16']}]",
        true,
    ),
    (
        "Gt above the value",
        "nodeSelector: {karpenter.k8s.aws/instance-cpu: '8'}",
        "spec:
        requirements: [{key: karpenter.k8s.aws/instance-cpu, operator: Gt, values: ['16']}]",
        false,
    ),
    (
        "Lt above the value",
        "nodeSelector: {karpenter.k8s.aws/instance-cpu: '8'}",
        "spec:
        requirements: [{key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ['16']}]",
        true,
    ),
    (
        "a custom key the NodePool never mentions is absent",
        "nodeSelector: {team: search}",
        "spec: {}",
        false,
    ),
    (
        "an open well-known key the NodePool never mentions",
        "nodeSelector: {kubernetes.io/arch: arm64}",
        "spec: {}",
        true,
    ),
    (
        "the NodePool by name",
        "nodeSelector: {karpenter.sh/nodepool: batch}",
        "spec: {}",
        true,
    ),
    (
        "another NodePool's name",
        "nodeSelector: {karpenter.sh/nodepool: other}",
        "spec: {}",
        false,
    ),
    (
        "a GPU request on a NodePool without GPU instances",
        "nodeSelector: {team: search}
      resources: {limits: {nvidia.com/gpu: '1'}}",
        "metadata: {labels: {team: search}}
      spec: {}",
        false,
    ),
    (
        "a GPU request on a GPU NodePool",
        "nodeSelector: {team: search}
      resources: {limits: {nvidia.com/gpu: '1'}}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
        "metadata: {labels: {team: search}}
      spec:
        requirements: [{key: karpenter.k8s.aws/instance-gpu-count, operator: Gt, values: ['0']}]
        taints: [{key: nvidia.com/gpu, effect: NoSchedule}]",
        true,
    ),
];

/// A case's YAML: its continuation lines are indented by 6 in the table.
fn block(text: &str) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    let dedented: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { l.get(6..).unwrap_or("") })
        .collect();
    yaml(&dedented.join("\n"))
}

/// InfraRules/default with the one pool `batch`, as JSON text (which is YAML).
fn infra_rules(pool: &str) -> String {
    let mut entry = block(pool);
    entry["name"] = json!("batch");
    entry["kind"] = json!("cpu");
    entry["maxReplicasPerWorkload"] = json!(4);
    json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "InfraRules",
        "metadata": {"name": "default"},
        "spec": {"computePools": [entry]},
    })
    .to_string()
}

/// The NodePool `batch` with `template` and `status`, as JSON text.
fn node_pool(template: &str, status: Value) -> String {
    let mut template = block(template);
    template["spec"]["nodeClassRef"] =
        json!({"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "batch"});
    json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "batch"},
        "spec": {"template": template},
        "status": status,
    })
    .to_string()
}

/// Whether render finds the Pipeline's worker schedulable on the NodePool.
fn render_fits(pool: &str, template: &str) -> bool {
    let input = format!(
        "{}\n---
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {{name: embed, namespace: shop}}
spec:
  target: {{namespace: products}}
  worker: {{image: 'ghcr.io/hev/embed:1'}}
  scaling: {{pool: batch, replicas: {{min: 1, max: 2}}}}
",
        infra_rules(pool)
    );
    let loaded = load_str("input.yaml", &input, &Limits::default());
    let nodepools = load_str(
        "pools.yaml",
        &node_pool(template, json!({})),
        &Limits::default(),
    );
    assert_eq!(nodepools.diagnostics, vec![]);
    let out = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions {
            nodepools: nodepools.documents,
            ..RenderOptions::default()
        },
    );
    let unschedulable = out
        .diagnostics
        .iter()
        .any(|d| d.code == Code::Unschedulable);
    let others: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.code != Code::Unschedulable)
        .map(ToString::to_string)
        .collect();
    assert_eq!(others, Vec::<String>::new(), "{input}");
    !unschedulable
}

/// Whether the syncer finds the pool served by the Ready NodePool.
fn syncer_fits(pool: &str, template: &str) -> bool {
    let cr: InfraRules = yaml(&infra_rules(pool));
    let ready = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]});
    let np: DynamicObject = yaml(&node_pool(template, ready));
    let pools = [&np];
    let env = InfraEnv {
        document_cache: None,
        document_cache_ref: "layer/layer-document-cache",
        node_pools: Some(&pools),
    };
    let status = finish(
        infra_rules::assess(&cr, &env),
        cr.metadata.generation,
        &[],
        None,
        clock(),
    )
    .0;
    match triple(&status.conditions).3.as_str() {
        "PoolsReady" => true,
        "NodePoolMissing" => false,
        other => panic!("unexpected reason {other}"),
    }
}

#[test]
fn render_and_the_syncer_agree_on_every_placement_case() {
    let mut wrong = Vec::new();
    for (case, pool, template, fits) in CASES {
        let (render, syncer) = (render_fits(pool, template), syncer_fits(pool, template));
        if render != *fits || syncer != *fits {
            wrong.push(format!(
                "{case}: expected {fits}, render says {render}, the syncer {syncer}"
            ));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}
