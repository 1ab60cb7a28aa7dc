//! Karpenter NodePools and EC2NodeClasses for the node roles that the compute pools select.
//!
//! A pool's node role is the NodePool its `nodeSelector` names: `karpenter.sh/nodepool: X`
//! means the NodePool `X`, else `layer.hev.dev/node-role: X` does; a pool with neither gets no
//! NodePool of its own (the schedulability check still tells whether one fits). Pools that
//! share a role share one NodePool and one EC2NodeClass of that name:
//!
//! - template labels are the selectors' custom keys; well-known keys that Karpenter rejects as
//!   template labels (`kubernetes.io/arch`, `node.kubernetes.io/instance-type`, ...) become
//!   `In` requirements, replacing the profile's requirement on the same key;
//! - taints are exactly what every pool of the role tolerates: `Equal` gives `key=value:Effect`,
//!   `Exists` gives `key:Effect` (no effect means `NoSchedule`; a toleration with
//!   `tolerationSeconds` or without a key tolerates nothing permanent and adds no taint);
//! - a role whose pools are `kind: gpu` takes the profile's GPU settings (GPU instance types)
//!   and always carries the `nvidia.com/gpu:NoSchedule` taint;
//! - requirements, limits, disruption and expiry come from the profile
//!   ([`Karpenter::settings_for`]); `consolidateAfter` is always written, since the AWS CRD
//!   requires it.
//!
//! For the three built-in pools this is exactly the chart's `worker-cpu` and `worker-gpu` pair
//! (upstream spec section 8.3); [`default_worker_pools`] is that pair, for the chart's tests
//! and for the schedulability check when no NodePool is known.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use crate::api::ComputePool;
use crate::api::family::{LABEL_MANAGED_BY, LABEL_PART_OF, MANAGED_BY, PART_OF};
use crate::api::pools;
use crate::diagnostic::Code;
use crate::emit::Object;
use crate::field_path::FieldPath;
use crate::karpenter::labels::{self, KeyClass};
use crate::karpenter::{
    AmiSelectorTerm, BlockDeviceMapping, Disruption, EC2_NODE_CLASS_API_VERSION,
    EC2_NODE_CLASS_GROUP, EC2_NODE_CLASS_KIND, Ebs, Ec2NodeClass, Ec2NodeClassSpec, Metadata,
    MetadataOptions, NODEPOOL_API_VERSION, NODEPOOL_KIND, NodeClaimTemplate, NodeClaimTemplateSpec,
    NodeClassRef, NodePool, NodePoolSpec, Requirement, TagSelectorTerm, TemplateMetadata,
};
use crate::profile::Karpenter;
use crate::validate::names;

/// The taint effect used when a toleration names none.
const DEFAULT_EFFECT: &str = "NoSchedule";
/// The EC2NodeClass tag that finds the cluster's subnets and security groups.
pub const DISCOVERY_TAG: &str = "karpenter.sh/discovery";

/// The NodePools and EC2NodeClasses of some node roles, sorted by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeObjects {
    /// One EC2NodeClass per role.
    pub node_classes: Vec<Ec2NodeClass>,
    /// One NodePool per role.
    pub node_pools: Vec<NodePool>,
}

impl NodeObjects {
    /// The objects, ready to emit.
    pub fn to_objects(&self) -> Vec<Object> {
        let classes = self
            .node_classes
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok());
        let pools = self
            .node_pools
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok());
        classes.chain(pools).map(Object::from_value).collect()
    }
}

/// Why pools cannot become NodePools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolProblem {
    /// Index of the pool in the list.
    pub pool: usize,
    /// The field inside the pool, such as `nodeSelector[kubernetes.io/hostname]`.
    pub field: FieldPath,
    /// [`Code::NodePoolConflict`] or [`Code::UnprovisionableSelector`].
    pub code: Code,
    /// What is wrong.
    pub message: String,
}

/// What the pools of one node role ask of it.
#[derive(Debug)]
struct Role {
    gpu: bool,
    /// (index, name) of the pools that select the role.
    pools: Vec<(usize, String)>,
    /// Template labels, with the pool that set each.
    labels: BTreeMap<String, (String, usize)>,
    /// Requirements on well-known keys (normalized), with the pool that set each.
    requirements: BTreeMap<String, (String, usize)>,
    /// What every pool tolerates so far.
    taints: Vec<Taint>,
}

/// The role a pool's selector names, and the selector key that names it.
pub fn node_role(pool: &ComputePool) -> Option<(&'static str, &str)> {
    let selector = pool.node_selector.as_ref()?;
    [labels::NODEPOOL, labels::NODE_ROLE]
        .into_iter()
        .find_map(|key| selector.get(key).map(|v| (key, v.as_str())))
}

/// The taint a toleration tolerates for good, if it names one.
pub fn taint_for(toleration: &Toleration) -> Option<Taint> {
    let key = toleration.key.as_deref().filter(|k| !k.is_empty())?;
    if toleration.toleration_seconds.is_some() {
        return None;
    }
    let effect = toleration
        .effect
        .clone()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| DEFAULT_EFFECT.into());
    let value = match toleration.operator.as_deref() {
        Some("Exists") => None,
        _ => toleration.value.clone().filter(|v| !v.is_empty()),
    };
    Some(Taint {
        key: key.to_string(),
        value,
        effect,
        time_added: None,
    })
}

/// A pool's tolerations. Tolerations that are not valid are reported at decode, each entry
/// at its own path, and nothing is written then; here they only taint nothing.
fn pool_tolerations(pool: &ComputePool) -> &[Toleration] {
    pools::tolerations(pool).ok().flatten().unwrap_or_default()
}

fn gpu_taint() -> Taint {
    Taint {
        key: labels::GPU_TAINT.into(),
        value: None,
        effect: DEFAULT_EFFECT.into(),
        time_added: None,
    }
}

/// Groups pools by role, reporting what cannot be expressed.
fn roles(pools: &[ComputePool]) -> (BTreeMap<String, Role>, Vec<PoolProblem>) {
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, pool) in pools.iter().enumerate() {
        let Some((role_key, name)) = node_role(pool) else {
            continue;
        };
        let mut problem = |field: FieldPath, code: Code, message: String| {
            problems.push(PoolProblem {
                pool: i,
                field,
                code,
                message,
            })
        };
        if let Err(why) = names::check_subdomain(name) {
            problem(
                FieldPath::keys(&["nodeSelector"]).entry(role_key),
                Code::UnprovisionableSelector,
                format!("{name:?} cannot name a NodePool: {why}"),
            );
            continue;
        }
        let gpu = pool.kind == "gpu";
        let taints: Vec<Taint> = pool_tolerations(pool)
            .iter()
            .filter_map(taint_for)
            .collect();
        let role = roles.entry(name.to_string()).or_insert_with(|| Role {
            gpu,
            pools: Vec::new(),
            labels: BTreeMap::new(),
            requirements: BTreeMap::new(),
            taints: taints.clone(),
        });
        if let Some((_, first)) = role.pools.first() {
            if role.gpu != gpu {
                problem(
                    FieldPath::keys(&["kind"]),
                    Code::NodePoolConflict,
                    format!(
                        "pool {:?} is kind {:?} but pool {first:?} selects the same NodePool {name:?} with kind {:?}; give them different node roles",
                        pool.name,
                        pool.kind,
                        if role.gpu { "gpu" } else { "cpu" }
                    ),
                );
            }
            // A taint stays only when every pool of the role tolerates it.
            role.taints.retain(|t| taints.contains(t));
        }
        role.pools.push((i, pool.name.clone()));
        for (key, value) in pool.node_selector.iter().flatten() {
            let field = FieldPath::keys(&["nodeSelector"]).entry(key);
            let target = match labels::classify(key) {
                KeyClass::NodePoolName => continue,
                KeyClass::Restricted => {
                    problem(
                        field,
                        Code::UnprovisionableSelector,
                        format!(
                            "{key:?} is a restricted label: no NodePool can put it on its nodes, so Karpenter cannot provision for this pool"
                        ),
                    );
                    continue;
                }
                KeyClass::Label => &mut role.labels,
                KeyClass::Requirement => &mut role.requirements,
            };
            let key = labels::normalize(key).to_string();
            match target.get(&key) {
                Some((other, j)) if other != value => problem(
                    field,
                    Code::NodePoolConflict,
                    format!(
                        "pool {:?} selects {key}={value} but pool {:?} selects {key}={other} on the same NodePool {name:?}",
                        pool.name, pools[*j].name
                    ),
                ),
                Some(_) => {}
                None => {
                    target.insert(key, (value.clone(), i));
                }
            }
        }
    }
    (roles, problems)
}

fn meta_labels(role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (LABEL_PART_OF.to_string(), PART_OF.to_string()),
        (labels::NODE_ROLE.to_string(), role.to_string()),
    ])
}

fn node_pool(name: &str, role: &Role, settings: &Karpenter) -> NodePool {
    let s = settings.settings_for(name, role.gpu);
    let mut requirements: Vec<Requirement> = s.requirements;
    for (key, (value, _)) in &role.requirements {
        let pinned = Requirement::is_in(key, &[value.as_str()]);
        match requirements
            .iter_mut()
            .find(|r| labels::normalize(&r.key) == key)
        {
            Some(existing) => *existing = pinned,
            None => requirements.push(pinned),
        }
    }
    let mut taints = role.taints.clone();
    if role.gpu && !taints.iter().any(|t| t.key == labels::GPU_TAINT) {
        taints.push(gpu_taint());
    }
    let template_labels: BTreeMap<String, String> = role
        .labels
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    NodePool {
        api_version: NODEPOOL_API_VERSION.into(),
        kind: NODEPOOL_KIND.into(),
        metadata: Metadata {
            name: name.to_string(),
            labels: meta_labels(name),
        },
        spec: NodePoolSpec {
            template: NodeClaimTemplate {
                metadata: (!template_labels.is_empty()).then_some(TemplateMetadata {
                    labels: template_labels,
                }),
                spec: NodeClaimTemplateSpec {
                    node_class_ref: NodeClassRef {
                        group: EC2_NODE_CLASS_GROUP.into(),
                        kind: EC2_NODE_CLASS_KIND.into(),
                        name: name.to_string(),
                    },
                    requirements,
                    taints,
                    startup_taints: Vec::new(),
                    expire_after: Some(s.expire_after),
                },
            },
            disruption: Some(Disruption {
                consolidation_policy: Some(s.consolidation_policy),
                consolidate_after: Some(s.consolidate_after),
                budgets: s.budgets,
            }),
            limits: s.limits,
            weight: None,
        },
    }
}

fn node_class(name: &str, gpu: bool, settings: &Karpenter) -> Ec2NodeClass {
    let s = settings.settings_for(name, gpu);
    let (ami_family, term) = if settings.ami_alias.is_empty() {
        let ssm = settings.ssm_parameter(gpu).to_string();
        (
            Some("AL2023".to_string()),
            AmiSelectorTerm {
                alias: None,
                ssm_parameter: Some(ssm),
            },
        )
    } else {
        let alias = settings.ami_alias.clone();
        (
            None,
            AmiSelectorTerm {
                alias: Some(alias),
                ssm_parameter: None,
            },
        )
    };
    let discovery = || {
        vec![TagSelectorTerm {
            tags: BTreeMap::from([(DISCOVERY_TAG.to_string(), settings.cluster_name.clone())]),
        }]
    };
    let non_empty = |v: &String| (!v.is_empty()).then(|| v.clone());
    Ec2NodeClass {
        api_version: EC2_NODE_CLASS_API_VERSION.into(),
        kind: EC2_NODE_CLASS_KIND.into(),
        metadata: Metadata {
            name: name.to_string(),
            labels: meta_labels(name),
        },
        spec: Ec2NodeClassSpec {
            ami_family,
            ami_selector_terms: vec![term],
            role: non_empty(&settings.role),
            instance_profile: non_empty(&settings.instance_profile),
            subnet_selector_terms: discovery(),
            security_group_selector_terms: discovery(),
            block_device_mappings: vec![BlockDeviceMapping {
                device_name: "/dev/xvda".into(),
                ebs: Ebs {
                    volume_size: s.volume_size,
                    volume_type: "gp3".into(),
                    iops: 3000,
                    throughput: 125,
                    encrypted: true,
                },
            }],
            metadata_options: Some(MetadataOptions {
                http_tokens: "required".into(),
                http_put_response_hop_limit: 1,
            }),
            tags: settings.tags.clone(),
        },
    }
}

/// The NodePools and EC2NodeClasses for the roles the pools select, and what could not be
/// expressed. A role with a problem is left out.
pub fn node_objects(
    pools: &[ComputePool],
    settings: &Karpenter,
) -> (NodeObjects, Vec<PoolProblem>) {
    let (roles, problems) = roles(pools);
    let broken: Vec<usize> = problems.iter().map(|p| p.pool).collect();
    let mut objects = NodeObjects::default();
    for (name, role) in &roles {
        if role.pools.iter().any(|(i, _)| broken.contains(i)) {
            continue;
        }
        objects
            .node_classes
            .push(node_class(name, role.gpu, settings));
        objects.node_pools.push(node_pool(name, role, settings));
    }
    (objects, problems)
}

/// The chart's `worker-cpu` and `worker-gpu` NodePools and EC2NodeClasses for the given
/// settings: what render emits for the built-in pools. One source for render, its
/// schedulability check and the chart's tests.
pub fn default_worker_pools(settings: &Karpenter) -> NodeObjects {
    node_objects(&pools::builtin_pools(), settings).0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Karpenter {
        Karpenter {
            enabled: true,
            cluster_name: "demo".into(),
            instance_profile: "KarpenterNodeInstanceProfile-demo".into(),
            ..Karpenter::default()
        }
    }

    fn pool(value: serde_json::Value) -> ComputePool {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_default_pools_are_the_charts_worker_pair() {
        let objects = default_worker_pools(&settings());
        let pools = serde_json::to_value(&objects.node_pools).unwrap();
        assert_eq!(
            pools[1],
            json!({
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "metadata": {"name": "worker-gpu", "labels": {
                    "app.kubernetes.io/managed-by": "layer-render",
                    "app.kubernetes.io/part-of": "hev-layer",
                    "layer.hev.dev/node-role": "worker-gpu"
                }},
                "spec": {
                    "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "2m", "budgets": [{"nodes": "100%"}]},
                    "limits": {"cpu": "32", "memory": "256Gi", "nodes": "4"},
                    "template": {
                        "metadata": {"labels": {"layer.hev.dev/compute": "gpu", "layer.hev.dev/node-role": "worker-gpu"}},
                        "spec": {
                            "expireAfter": "24h",
                            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "worker-gpu"},
                            "requirements": [
                                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge"]}
                            ],
                            "taints": [
                                {"key": "layer.hev.dev/node-role", "value": "worker-gpu", "effect": "NoSchedule"},
                                {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
                            ]
                        }
                    }
                }
            })
        );
        let names: Vec<_> = objects
            .node_pools
            .iter()
            .map(|p| p.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["worker-cpu", "worker-gpu"]);
        let cpu = &objects.node_pools[0].spec;
        assert_eq!(cpu.limits["nodes"], "8");
        assert_eq!(cpu.template.spec.taints.len(), 1);
    }

    #[test]
    fn the_default_node_classes_are_the_charts() {
        let objects = default_worker_pools(&settings());
        let cpu = serde_json::to_value(&objects.node_classes[0]).unwrap();
        assert_eq!(
            cpu["spec"],
            json!({
                "amiFamily": "AL2023",
                "amiSelectorTerms": [{"ssmParameter": "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/image_id"}],
                "instanceProfile": "KarpenterNodeInstanceProfile-demo",
                "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
                "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
                "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "60Gi", "volumeType": "gp3", "iops": 3000, "throughput": 125, "encrypted": true}}],
                "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                "tags": {"Environment": "production", "ManagedBy": "karpenter", "Project": "hevlayer"}
            })
        );
        let gpu = &objects.node_classes[1].spec;
        assert_eq!(gpu.block_device_mappings[0].ebs.volume_size, "100Gi");
        assert!(
            gpu.ami_selector_terms[0]
                .ssm_parameter
                .as_deref()
                .unwrap()
                .contains("/nvidia/")
        );
    }

    #[test]
    fn an_alias_replaces_the_ssm_parameters_and_the_family() {
        let s = Karpenter {
            ami_alias: "al2023@latest".into(),
            role: "KarpenterNodeRole-demo".into(),
            instance_profile: String::new(),
            ..settings()
        };
        let class = &default_worker_pools(&s).node_classes[0].spec;
        assert_eq!(class.ami_family, None);
        assert_eq!(
            class.ami_selector_terms[0].alias.as_deref(),
            Some("al2023@latest")
        );
        assert_eq!(class.role.as_deref(), Some("KarpenterNodeRole-demo"));
        assert_eq!(class.instance_profile, None);
    }

    #[test]
    fn well_known_selector_keys_become_requirements_and_the_nodepool_key_names_the_pool() {
        let p = pool(json!({
            "name": "arm", "kind": "cpu", "maxReplicasPerWorkload": 4,
            "nodeSelector": {"karpenter.sh/nodepool": "arm", "beta.kubernetes.io/arch": "arm64", "team": "search"},
            "tolerations": [{"key": "team", "operator": "Exists"}]
        }));
        let (objects, problems) = node_objects(&[p], &settings());
        assert_eq!(problems, []);
        let np = &objects.node_pools[0];
        assert_eq!(np.metadata.name, "arm");
        assert_eq!(
            np.spec.template.metadata.as_ref().unwrap().labels,
            BTreeMap::from([("team".to_string(), "search".to_string())])
        );
        let reqs: Vec<String> = np
            .spec
            .template
            .spec
            .requirements
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            reqs,
            [
                "kubernetes.io/arch In [arm64]",
                "kubernetes.io/os In [linux]",
                "karpenter.sh/capacity-type In [on-demand]",
                "node.kubernetes.io/instance-type In [m6a.large, m6a.xlarge]"
            ]
        );
        assert_eq!(
            serde_json::to_value(&np.spec.template.spec.taints).unwrap(),
            json!([{"key": "team", "effect": "NoSchedule"}])
        );
    }

    #[test]
    fn taints_are_what_every_pool_of_the_role_tolerates() {
        let tol = |v: serde_json::Value| v;
        let a = pool(json!({
            "name": "a", "kind": "cpu", "maxReplicasPerWorkload": 4,
            "nodeSelector": {"layer.hev.dev/node-role": "shared"},
            "tolerations": [
                tol(json!({"key": "layer.hev.dev/node-role", "operator": "Equal", "value": "shared", "effect": "NoSchedule"})),
                tol(json!({"key": "batch", "operator": "Exists", "effect": "NoExecute"})),
                tol(json!({"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30})),
                tol(json!({"operator": "Exists"}))
            ]
        }));
        let b = pool(json!({
            "name": "b", "kind": "cpu", "maxReplicasPerWorkload": 4,
            "nodeSelector": {"layer.hev.dev/node-role": "shared"},
            "tolerations": [{"key": "layer.hev.dev/node-role", "value": "shared"}]
        }));
        let (objects, problems) = node_objects(&[a, b], &settings());
        assert_eq!(problems, []);
        assert_eq!(
            serde_json::to_value(&objects.node_pools[0].spec.template.spec.taints).unwrap(),
            json!([{"key": "layer.hev.dev/node-role", "value": "shared", "effect": "NoSchedule"}])
        );
    }

    #[test]
    fn a_gpu_role_always_has_the_gpu_taint() {
        let p = pool(json!({
            "name": "inference", "kind": "gpu", "maxReplicasPerWorkload": 2,
            "nodeSelector": {"layer.hev.dev/node-role": "worker-inference"}
        }));
        let (objects, _) = node_objects(&[p], &settings());
        let taints = &objects.node_pools[0].spec.template.spec.taints;
        assert_eq!(taints, &[gpu_taint()]);
        assert_eq!(
            objects.node_classes[0].spec.block_device_mappings[0]
                .ebs
                .volume_size,
            "100Gi"
        );
    }

    #[test]
    fn conflicting_pools_on_one_role_are_reported_and_left_out() {
        let a = pool(
            json!({"name": "a", "kind": "cpu", "maxReplicasPerWorkload": 1, "nodeSelector": {"layer.hev.dev/node-role": "x", "tier": "1"}}),
        );
        let b = pool(
            json!({"name": "b", "kind": "gpu", "maxReplicasPerWorkload": 1, "nodeSelector": {"layer.hev.dev/node-role": "x", "tier": "2"}}),
        );
        let (objects, problems) = node_objects(&[a, b], &settings());
        assert_eq!(objects, NodeObjects::default());
        let found: Vec<(usize, String, Code)> = problems
            .iter()
            .map(|p| (p.pool, p.field.to_string(), p.code))
            .collect();
        assert_eq!(
            found,
            [
                (1, "kind".to_string(), Code::NodePoolConflict),
                (1, "nodeSelector[tier]".to_string(), Code::NodePoolConflict)
            ]
        );
    }

    #[test]
    fn a_restricted_selector_key_cannot_be_provisioned() {
        let p = pool(
            json!({"name": "pinned", "kind": "cpu", "maxReplicasPerWorkload": 1, "nodeSelector": {"layer.hev.dev/node-role": "x", "kubernetes.io/hostname": "n1"}}),
        );
        let (objects, problems) = node_objects(&[p], &settings());
        assert!(objects.node_pools.is_empty());
        assert_eq!(problems[0].code, Code::UnprovisionableSelector);
        assert_eq!(
            problems[0].field.to_string(),
            "nodeSelector[kubernetes.io/hostname]"
        );
    }

    #[test]
    fn a_pool_without_a_role_gets_no_nodepool() {
        let p = pool(
            json!({"name": "any", "kind": "cpu", "maxReplicasPerWorkload": 1, "nodeSelector": {"team": "a"}}),
        );
        assert_eq!(
            node_objects(&[p], &settings()),
            (NodeObjects::default(), vec![])
        );
    }
}
