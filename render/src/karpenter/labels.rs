//! Node label keys as Karpenter sees them: which a NodePool may set as template labels, which
//! are well known (Karpenter derives them from the instance it launches), and the deprecated
//! beta spellings it rewrites.
//!
//! The lists follow the AWS provider's NodePool CRD (CEL rules on `template.metadata.labels`
//! and `requirements[].key`) and Karpenter's `pkg/apis/v1/labels.go` (`WellKnownLabels`,
//! `RestrictedLabelDomains`, `LabelDomainExceptions`, `NormalizedLabels`).

/// The label that names the NodePool a node came from.
pub const NODEPOOL: &str = "karpenter.sh/nodepool";
/// The label that names a pool's node role; worker NodePools taint their nodes with it too
/// (upstream spec section 1.3).
pub const NODE_ROLE: &str = "layer.hev.dev/node-role";
/// The label worker pools put on their nodes: `cpu` or `gpu` (upstream spec section 1.3).
pub const COMPUTE: &str = "layer.hev.dev/compute";
/// The taint key of NVIDIA GPU nodes, and the resource GPU pods request.
pub const GPU_TAINT: &str = "nvidia.com/gpu";
/// The NodeClaim a node was launched for (a tag Karpenter reserves).
pub const NODECLAIM: &str = "karpenter.sh/nodeclaim";
/// The label that names the EC2NodeClass a node came from (also a tag Karpenter reserves).
pub const EC2_NODE_CLASS: &str = "karpenter.k8s.aws/ec2nodeclass";
/// The node's host name: always present, never settable.
pub const HOSTNAME: &str = "kubernetes.io/hostname";
/// Capacity type (`on-demand`, `spot`, `reserved`).
pub const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
/// The instance type.
pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// The instance family, such as `m6a`.
pub const INSTANCE_FAMILY: &str = "karpenter.k8s.aws/instance-family";
/// The instance category, such as `m` or `g`.
pub const INSTANCE_CATEGORY: &str = "karpenter.k8s.aws/instance-category";
/// Number of GPUs on the instance.
pub const INSTANCE_GPU_COUNT: &str = "karpenter.k8s.aws/instance-gpu-count";
/// GPU model, such as `a10g`.
pub const INSTANCE_GPU_NAME: &str = "karpenter.k8s.aws/instance-gpu-name";
/// GPU maker, such as `nvidia`.
pub const INSTANCE_GPU_MANUFACTURER: &str = "karpenter.k8s.aws/instance-gpu-manufacturer";
/// CPU architecture.
pub const ARCH: &str = "kubernetes.io/arch";
/// Operating system.
pub const OS: &str = "kubernetes.io/os";

/// Keys Karpenter knows values for without a NodePool naming them: it reads them from the
/// instance types it can launch. `karpenter.k8s.aws/*` are the AWS provider's allow-list.
const WELL_KNOWN: &[&str] = &[
    NODEPOOL,
    CAPACITY_TYPE,
    ARCH,
    OS,
    INSTANCE_TYPE,
    "node.kubernetes.io/windows-build",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.k8s.aws/zone-id",
    "karpenter.k8s.aws/instance-tenancy",
    "karpenter.k8s.aws/capacity-reservation-type",
    "karpenter.k8s.aws/capacity-reservation-id",
    "karpenter.k8s.aws/capacity-reservation-interruptible",
    EC2_NODE_CLASS,
    "karpenter.k8s.aws/instance-encryption-in-transit-supported",
    INSTANCE_CATEGORY,
    "karpenter.k8s.aws/instance-hypervisor",
    INSTANCE_FAMILY,
    "karpenter.k8s.aws/instance-generation",
    "karpenter.k8s.aws/instance-local-nvme",
    "karpenter.k8s.aws/instance-size",
    "karpenter.k8s.aws/instance-cpu",
    "karpenter.k8s.aws/instance-cpu-manufacturer",
    "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz",
    "karpenter.k8s.aws/instance-memory",
    "karpenter.k8s.aws/instance-ebs-bandwidth",
    "karpenter.k8s.aws/instance-network-bandwidth",
    INSTANCE_GPU_NAME,
    INSTANCE_GPU_MANUFACTURER,
    INSTANCE_GPU_COUNT,
    "karpenter.k8s.aws/instance-gpu-memory",
    "karpenter.k8s.aws/instance-accelerator-name",
    "karpenter.k8s.aws/instance-accelerator-manufacturer",
    "karpenter.k8s.aws/instance-accelerator-count",
    "karpenter.k8s.aws/instance-capability-flex",
    "karpenter.k8s.aws/placement-group-id",
    "karpenter.k8s.aws/placement-group-partition",
];

/// Label domains a NodePool may not set labels in, except for well-known keys.
const RESTRICTED_DOMAINS: &[&str] = &[
    "kubernetes.io",
    "k8s.io",
    "karpenter.sh",
    "karpenter.k8s.aws",
];

/// Subdomains of a restricted domain that are open to everyone.
const DOMAIN_EXCEPTIONS: &[&str] = &[
    "kops.k8s.io",
    "node.kubernetes.io",
    "node-restriction.kubernetes.io",
];

/// Deprecated keys and the keys Karpenter reads them as.
const NORMALIZED: &[(&str, &str)] = &[
    ("beta.kubernetes.io/arch", ARCH),
    ("beta.kubernetes.io/os", OS),
    ("beta.kubernetes.io/instance-type", INSTANCE_TYPE),
    (
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/zone",
    ),
    (
        "failure-domain.beta.kubernetes.io/region",
        "topology.kubernetes.io/region",
    ),
];

/// The key Karpenter reads `key` as: beta spellings become the stable ones.
pub fn normalize(key: &str) -> &str {
    NORMALIZED
        .iter()
        .find(|(old, _)| *old == key)
        .map_or(key, |(_, new)| new)
}

/// True when Karpenter knows the key's values from the instance types, so a NodePool that
/// does not mention the key leaves it open.
pub fn is_well_known(key: &str) -> bool {
    let key = normalize(key);
    key == HOSTNAME || WELL_KNOWN.contains(&key)
}

fn domain(key: &str) -> Option<&str> {
    key.split_once('/').map(|(domain, _)| domain)
}

fn in_domain(domain: &str, parent: &str) -> bool {
    domain == parent || domain.ends_with(&format!(".{parent}"))
}

/// How a pool's `nodeSelector` key is carried on a NodePool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyClass {
    /// `karpenter.sh/nodepool`: the value is the NodePool's name.
    NodePoolName,
    /// A custom key: a template label.
    Label,
    /// A well-known key: a requirement (Karpenter rejects it as a template label, or derives
    /// it from the instance).
    Requirement,
    /// A key no NodePool can put on its nodes (`kubernetes.io/hostname`, or another key in a
    /// restricted domain).
    Restricted,
}

/// Classifies a selector key for a NodePool.
pub fn classify(key: &str) -> KeyClass {
    let key = normalize(key);
    if key == NODEPOOL {
        return KeyClass::NodePoolName;
    }
    if key == HOSTNAME {
        return KeyClass::Restricted;
    }
    if WELL_KNOWN.contains(&key) {
        return KeyClass::Requirement;
    }
    match domain(key) {
        Some(d)
            if RESTRICTED_DOMAINS.iter().any(|r| in_domain(d, r))
                && !DOMAIN_EXCEPTIONS.iter().any(|e| in_domain(d, e)) =>
        {
            KeyClass::Restricted
        }
        _ => KeyClass::Label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_keys_are_template_labels() {
        assert_eq!(classify("layer.hev.dev/node-role"), KeyClass::Label);
        assert_eq!(classify("team"), KeyClass::Label);
        assert_eq!(classify("node.kubernetes.io/lifecycle"), KeyClass::Label);
        assert_eq!(classify("ops.kops.k8s.io/x"), KeyClass::Label);
    }

    #[test]
    fn well_known_keys_become_requirements() {
        for key in [
            "kubernetes.io/arch",
            "beta.kubernetes.io/arch",
            "node.kubernetes.io/instance-type",
            "topology.kubernetes.io/zone",
            "karpenter.sh/capacity-type",
            "karpenter.k8s.aws/instance-family",
        ] {
            assert_eq!(classify(key), KeyClass::Requirement, "{key}");
        }
    }

    #[test]
    fn restricted_keys_cannot_be_provisioned() {
        for key in [
            "kubernetes.io/hostname",
            "karpenter.sh/custom",
            "example.karpenter.sh/x",
            "karpenter.k8s.aws/not-a-label",
            "kubernetes.io/role",
            "k8s.io/x",
        ] {
            assert_eq!(classify(key), KeyClass::Restricted, "{key}");
        }
    }

    #[test]
    fn the_nodepool_key_names_the_nodepool() {
        assert_eq!(classify("karpenter.sh/nodepool"), KeyClass::NodePoolName);
    }

    #[test]
    fn well_known_includes_the_hostname_and_beta_keys() {
        assert!(is_well_known("kubernetes.io/hostname"));
        assert!(is_well_known("failure-domain.beta.kubernetes.io/zone"));
        assert!(!is_well_known("layer.hev.dev/node-role"));
    }
}
