//! Karpenter's `karpenter.sh/v1` NodePool and `karpenter.k8s.aws/v1` EC2NodeClass, as typed
//! values: what render emits, what the profile configures, and what the schedulability check
//! reads (from render's own output and from `--nodepools` files).
//!
//! Only the fields render writes or reads are modelled. Reading is lenient (unknown fields are
//! ignored, quantities may be numbers), so a NodePool exported from a cluster reads as is.
//! The operators `Gte`/`Lte` and the `Balanced` consolidation policy exist only from the
//! Karpenter versions in [`GTE_LTE_SINCE`] and [`BALANCED_SINCE`]; the profile check refuses them
//! for an older `versions.karpenter`.

pub mod labels;
pub mod nodepools;
pub mod schedule;
pub mod settings;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Taint;
use serde::{Deserialize, Deserializer, Serialize};

/// `karpenter.sh/v1`.
pub const NODEPOOL_API_VERSION: &str = "karpenter.sh/v1";
/// `karpenter.k8s.aws/v1`.
pub const EC2_NODE_CLASS_API_VERSION: &str = "karpenter.k8s.aws/v1";
/// The EC2NodeClass API group, as a NodePool's `nodeClassRef.group`.
pub const EC2_NODE_CLASS_GROUP: &str = "karpenter.k8s.aws";
/// `NodePool`.
pub const NODEPOOL_KIND: &str = "NodePool";
/// `EC2NodeClass`.
pub const EC2_NODE_CLASS_KIND: &str = "EC2NodeClass";

/// The first Karpenter version with the `Gte` and `Lte` requirement operators
/// (kubernetes-sigs/karpenter#2674, released in v1.9.0).
pub const GTE_LTE_SINCE: (u32, u32) = (1, 9);
/// The first Karpenter version with `consolidationPolicy: Balanced`
/// (kubernetes-sigs/karpenter#2962, released in v1.14.0).
pub const BALANCED_SINCE: (u32, u32) = (1, 14);

/// Name and labels, as much metadata as render writes or reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Name.
    pub name: String,
    /// Labels (left out when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A Karpenter NodePool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    /// `karpenter.sh/v1`.
    pub api_version: String,
    /// `NodePool`.
    pub kind: String,
    /// Metadata.
    pub metadata: Metadata,
    /// Spec.
    pub spec: NodePoolSpec,
}

/// The NodePool spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    /// What every node is launched from.
    pub template: NodeClaimTemplate,
    /// When Karpenter may remove nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<Disruption>,
    /// Capacity bounds (`cpu`, `memory`, `nodes`, ...).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "quantity_map"
    )]
    pub limits: BTreeMap<String, String>,
    /// Priority among NodePools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// The node template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplate {
    /// Labels (and annotations, ignored) put on every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// Node properties.
    pub spec: NodeClaimTemplateSpec,
}

/// The node template's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateMetadata {
    /// Labels every node gets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The node template's spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaimTemplateSpec {
    /// The EC2NodeClass.
    pub node_class_ref: NodeClassRef,
    /// Constraints on the nodes' well-known and custom labels.
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    /// Taints every node carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Taints removed after start-up; pods need not tolerate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup_taints: Vec<Taint>,
    /// How long a node lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<String>,
}

/// A reference to the node class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeClassRef {
    /// `karpenter.k8s.aws`.
    pub group: String,
    /// `EC2NodeClass`.
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// A requirement operator. `Gte` and `Lte` are Karpenter's own (see [`GTE_LTE_SINCE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// The label has one of the values.
    In,
    /// The label is absent or has none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label is an integer above the value.
    Gt,
    /// The label is an integer below the value.
    Lt,
    /// The label is an integer at or above the value.
    Gte,
    /// The label is an integer at or below the value.
    Lte,
}

impl Operator {
    /// Parses a Kubernetes or Karpenter operator name.
    pub fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            "Gte" => Operator::Gte,
            "Lte" => Operator::Lte,
            _ => return None,
        })
    }

    /// True for the operators that need [`GTE_LTE_SINCE`].
    pub fn is_gte_lte(self) -> bool {
        matches!(self, Operator::Gte | Operator::Lte)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A NodePool requirement on a node label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// How the label relates to the values.
    pub operator: Operator,
    /// The values (none for `Exists` and `DoesNotExist`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// At least this many distinct values must remain possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_values: Option<i32>,
}

impl Requirement {
    /// `key In [values]`.
    pub fn is_in(key: &str, values: &[&str]) -> Requirement {
        Requirement {
            key: key.to_string(),
            operator: Operator::In,
            values: values.iter().map(|v| v.to_string()).collect(),
            min_values: None,
        }
    }
}

impl fmt::Display for Requirement {
    /// `key In [a, b]`, `key Exists`, `key Gt 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operator {
            Operator::Exists | Operator::DoesNotExist => {
                write!(f, "{} {}", self.key, self.operator)
            }
            Operator::In | Operator::NotIn => {
                write!(
                    f,
                    "{} {} [{}]",
                    self.key,
                    self.operator,
                    self.values.join(", ")
                )
            }
            _ => write!(
                f,
                "{} {} {}",
                self.key,
                self.operator,
                self.values.join(", ")
            ),
        }
    }
}

/// How Karpenter consolidates nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsolidationPolicy {
    /// Only empty nodes.
    WhenEmpty,
    /// Empty or underused nodes.
    WhenEmptyOrUnderutilized,
    /// Weighs savings against disruption (see [`BALANCED_SINCE`]).
    Balanced,
}

/// The NodePool's disruption settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disruption {
    /// Which nodes may be consolidated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consolidation_policy: Option<ConsolidationPolicy>,
    /// How long a node must stay consolidatable first. The AWS CRD requires it, so render
    /// always writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consolidate_after: Option<String>,
    /// How many nodes may be disrupted at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<Budget>,
}

/// A disruption budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// A node count or a percentage, such as `100%`.
    pub nodes: String,
    /// The disruption reasons it applies to (all when left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// When it starts (cron); needs `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How long it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// A Karpenter EC2NodeClass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ec2NodeClass {
    /// `karpenter.k8s.aws/v1`.
    pub api_version: String,
    /// `EC2NodeClass`.
    pub kind: String,
    /// Metadata.
    pub metadata: Metadata,
    /// Spec.
    pub spec: Ec2NodeClassSpec,
}

/// The EC2NodeClass spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ec2NodeClassSpec {
    /// `AL2023` with SSM parameters; left out with an alias, which implies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_family: Option<String>,
    /// Which AMI.
    pub ami_selector_terms: Vec<AmiSelectorTerm>,
    /// The node IAM role (exclusive with `instanceProfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The node instance profile (exclusive with `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Subnets, by discovery tag.
    pub subnet_selector_terms: Vec<TagSelectorTerm>,
    /// Security groups, by discovery tag.
    pub security_group_selector_terms: Vec<TagSelectorTerm>,
    /// The root volume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_device_mappings: Vec<BlockDeviceMapping>,
    /// Instance metadata service settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_options: Option<MetadataOptions>,
    /// EC2 tags on every instance.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One AMI selector term: an alias or an SSM parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmiSelectorTerm {
    /// Such as `al2023@latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// An SSM parameter holding the AMI id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_parameter: Option<String>,
}

/// A selector term by tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSelectorTerm {
    /// The tags to match.
    pub tags: BTreeMap<String, String>,
}

/// A block device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDeviceMapping {
    /// Such as `/dev/xvda`.
    pub device_name: String,
    /// The EBS volume.
    pub ebs: Ebs,
}

/// An EBS volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ebs {
    /// Size, such as `60Gi`.
    pub volume_size: String,
    /// Such as `gp3`.
    pub volume_type: String,
    /// Provisioned IOPS.
    pub iops: i64,
    /// Throughput in MiB/s.
    pub throughput: i64,
    /// Encrypted at rest.
    pub encrypted: bool,
}

/// Instance metadata service settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOptions {
    /// `required`: IMDSv2 only.
    pub http_tokens: String,
    /// Hops a metadata response may take; 1 keeps it from pods on the pod network.
    pub http_put_response_hop_limit: i64,
}

/// Reads a map whose values are quantities written as strings or numbers.
fn quantity_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Quantity {
        Text(String),
        Int(i64),
        Float(f64),
    }
    let map = Option::<BTreeMap<String, Quantity>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Quantity::Text(s) => s,
                Quantity::Int(i) => i.to_string(),
                Quantity::Float(f) => f.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// Parses a `major.minor` version, such as `1.14` (a patch part is ignored).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let text = text.trim().trim_start_matches('v');
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    match parts.next() {
        None => Some((major, minor)),
        Some(patch) => patch.parse::<u32>().ok().map(|_| (major, minor)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_nodepool_from_a_cluster_reads_leniently() {
        let pool: NodePool = serde_json::from_value(serde_json::json!({
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodePool",
            "metadata": {"name": "cpu", "uid": "x", "annotations": {"a": "b"}},
            "spec": {
                "limits": {"cpu": 64, "memory": "256Gi"},
                "template": {"spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "requirements": [{"key": "karpenter.k8s.aws/instance-generation", "operator": "Gte", "values": ["6"]}],
                    "kubelet": {"maxPods": 110}
                }}
            },
            "status": {"nodes": 3}
        }))
        .unwrap();
        assert_eq!(pool.spec.limits["cpu"], "64");
        assert_eq!(
            pool.spec.template.spec.requirements[0].to_string(),
            "karpenter.k8s.aws/instance-generation Gte 6"
        );
    }

    #[test]
    fn versions_parse_as_major_minor() {
        assert_eq!(parse_version("1.14"), Some((1, 14)));
        assert_eq!(parse_version("v1.9.2"), Some((1, 9)));
        assert_eq!(parse_version("1"), None);
        assert_eq!(parse_version("1.x"), None);
        assert!(parse_version("1.8") < Some(GTE_LTE_SINCE));
    }
}
