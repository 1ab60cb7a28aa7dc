//! The profile's `karpenter` section: node class settings, and per compute kind and node role
//! NodePool settings, with the built-in defaults that reproduce the chart's `worker-cpu` and
//! `worker-gpu` pools (upstream spec section 8.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::karpenter::labels;
use crate::karpenter::{Budget, ConsolidationPolicy, Requirement};

/// Karpenter node pool emission settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Karpenter {
    /// Emit NodePools and EC2NodeClasses.
    pub enabled: bool,
    /// The EKS cluster name (discovery tags).
    pub cluster_name: String,
    /// The node IAM role.
    pub role: String,
    /// The node instance profile.
    pub instance_profile: String,
    /// An AMI alias such as `al2023@latest`; when set, used instead of the SSM parameters.
    pub ami_alias: String,
    /// SSM parameters for the AMI, per compute kind.
    pub ami_ssm_parameter: AmiSsmParameter,
    /// EC2 tags on every node.
    pub tags: BTreeMap<String, String>,
    /// NodePool settings of node roles whose pools are `kind: cpu`.
    pub cpu: NodeSettings,
    /// NodePool settings of node roles whose pools are `kind: gpu`.
    pub gpu: NodeSettings,
    /// Per node role overrides; a field left out keeps the role's `cpu` or `gpu` value.
    pub roles: BTreeMap<String, NodeSettings>,
}

/// The NodePool settings of a compute kind or a node role. A field left out keeps the value
/// of the level below: role, then kind, then the built-in kind default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSettings {
    /// Instance requirements (architecture, capacity type, instance types, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirements: Option<Vec<Requirement>>,
    /// NodePool limits (`cpu`, `memory`, `nodes`); a whole map replaces the one below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<BTreeMap<String, String>>,
    /// `WhenEmpty`, `WhenEmptyOrUnderutilized` or `Balanced` (Karpenter 1.14+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consolidation_policy: Option<ConsolidationPolicy>,
    /// How long a node waits before consolidation, such as `2m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consolidate_after: Option<String>,
    /// Disruption budgets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budgets: Option<Vec<Budget>>,
    /// How long a node lives, such as `24h`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<String>,
    /// Root volume size, such as `60Gi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<String>,
}

/// Node settings with every field decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedNodeSettings {
    /// Instance requirements.
    pub requirements: Vec<Requirement>,
    /// NodePool limits.
    pub limits: BTreeMap<String, String>,
    /// Consolidation policy.
    pub consolidation_policy: ConsolidationPolicy,
    /// Consolidation delay.
    pub consolidate_after: String,
    /// Disruption budgets.
    pub budgets: Vec<Budget>,
    /// Node lifetime.
    pub expire_after: String,
    /// Root volume size.
    pub volume_size: String,
}

/// SSM parameters that name the node AMI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AmiSsmParameter {
    /// For CPU roles.
    pub cpu: String,
    /// For GPU roles.
    pub gpu: String,
}

impl Default for AmiSsmParameter {
    fn default() -> Self {
        AmiSsmParameter {
            cpu: "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/image_id".into(),
            gpu: "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/recommended/image_id".into(),
        }
    }
}

/// Tags the chart puts on every worker node (upstream spec section 8.3). Upstream does not
/// publish its `Environment` value; set your own in the profile.
const DEFAULT_TAGS: &[(&str, &str)] = &[
    ("Environment", "production"),
    ("ManagedBy", "karpenter"),
    ("Project", "hevlayer"),
];

impl Default for Karpenter {
    fn default() -> Self {
        Karpenter {
            enabled: false,
            cluster_name: String::new(),
            role: String::new(),
            instance_profile: String::new(),
            ami_alias: String::new(),
            ami_ssm_parameter: AmiSsmParameter::default(),
            tags: DEFAULT_TAGS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cpu: NodeSettings::builtin(false),
            gpu: NodeSettings::builtin(true),
            roles: BTreeMap::new(),
        }
    }
}

impl NodeSettings {
    /// The chart's settings for the `worker-cpu` (`gpu` false) or `worker-gpu` pool.
    pub fn builtin(gpu: bool) -> NodeSettings {
        let instance_types: &[&str] = if gpu {
            &["g5.xlarge"]
        } else {
            &["m6a.large", "m6a.xlarge"]
        };
        let limits: &[(&str, &str)] = if gpu {
            &[("cpu", "32"), ("memory", "256Gi"), ("nodes", "4")]
        } else {
            &[("cpu", "64"), ("memory", "256Gi"), ("nodes", "8")]
        };
        NodeSettings {
            requirements: Some(vec![
                Requirement::is_in(labels::ARCH, &["amd64"]),
                Requirement::is_in(labels::OS, &["linux"]),
                Requirement::is_in(labels::CAPACITY_TYPE, &["on-demand"]),
                Requirement::is_in(labels::INSTANCE_TYPE, instance_types),
            ]),
            limits: Some(
                limits
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            consolidation_policy: Some(ConsolidationPolicy::WhenEmpty),
            consolidate_after: Some("2m".into()),
            budgets: Some(vec![Budget {
                nodes: "100%".into(),
                reasons: Vec::new(),
                schedule: None,
                duration: None,
            }]),
            expire_after: Some("24h".into()),
            volume_size: Some(if gpu { "100Gi" } else { "60Gi" }.into()),
        }
    }

    /// Each field from the first level that sets it.
    fn resolve(levels: &[&NodeSettings]) -> ResolvedNodeSettings {
        fn first<T: Clone>(
            levels: &[&NodeSettings],
            get: impl Fn(&NodeSettings) -> Option<&T>,
        ) -> Option<T> {
            levels.iter().find_map(|l| get(l)).cloned()
        }
        ResolvedNodeSettings {
            requirements: first(levels, |l| l.requirements.as_ref()).unwrap_or_default(),
            limits: first(levels, |l| l.limits.as_ref()).unwrap_or_default(),
            consolidation_policy: first(levels, |l| l.consolidation_policy.as_ref())
                .unwrap_or(ConsolidationPolicy::WhenEmpty),
            consolidate_after: first(levels, |l| l.consolidate_after.as_ref()).unwrap_or_default(),
            budgets: first(levels, |l| l.budgets.as_ref()).unwrap_or_default(),
            expire_after: first(levels, |l| l.expire_after.as_ref()).unwrap_or_default(),
            volume_size: first(levels, |l| l.volume_size.as_ref()).unwrap_or_default(),
        }
    }
}

impl Karpenter {
    /// The settings of a node role: its `roles` entry, then its kind's block, then the
    /// built-in default for its kind.
    pub fn settings_for(&self, role: &str, gpu: bool) -> ResolvedNodeSettings {
        let builtin = NodeSettings::builtin(gpu);
        let kind = if gpu { &self.gpu } else { &self.cpu };
        match self.roles.get(role) {
            Some(over) => NodeSettings::resolve(&[over, kind, &builtin]),
            None => NodeSettings::resolve(&[kind, &builtin]),
        }
    }

    /// The AMI SSM parameter for a kind.
    pub fn ssm_parameter(&self, gpu: bool) -> &str {
        if gpu {
            &self.ami_ssm_parameter.gpu
        } else {
            &self.ami_ssm_parameter.cpu
        }
    }
}

/// AMI alias families the EC2NodeClass CRD accepts.
const ALIAS_FAMILIES: &[&str] = &[
    "al2",
    "al2023",
    "bottlerocket",
    "windows2019",
    "windows2022",
    "windows2025",
];

/// Why a profile value is unusable: (field, message).
pub(crate) type Problem = (String, String);

impl Karpenter {
    /// Checks the section against the Karpenter version the profile names. Node class
    /// settings are checked only when emission is on; NodePool settings always, since the
    /// schedulability check reads them too.
    pub(crate) fn check(&self, karpenter_version: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let version = crate::karpenter::parse_version(karpenter_version);
        if version.is_none() {
            out.push((
                "versions.karpenter".into(),
                format!("{karpenter_version:?} is not a major.minor version such as \"1.14\""),
            ));
        }
        let blocks = [
            ("karpenter.cpu".to_string(), &self.cpu),
            ("karpenter.gpu".to_string(), &self.gpu),
        ];
        let roles = self
            .roles
            .iter()
            .map(|(name, s)| (format!("karpenter.roles.{name}"), s));
        for (field, settings) in blocks.into_iter().chain(roles) {
            check_settings(&field, settings, version, karpenter_version, &mut out);
        }
        if self.enabled {
            self.check_node_class(&mut out);
        }
        out
    }

    fn check_node_class(&self, out: &mut Vec<Problem>) {
        let mut bad =
            |field: &str, message: String| out.push((format!("karpenter.{field}"), message));
        if self.cluster_name.trim().is_empty() {
            bad(
                "clusterName",
                "must be set when karpenter.enabled is true".into(),
            );
        }
        match (self.role.is_empty(), self.instance_profile.is_empty()) {
            (true, true) => bad("role", "set exactly one of role and instanceProfile".into()),
            (false, false) => bad(
                "instanceProfile",
                "set exactly one of role and instanceProfile".into(),
            ),
            _ => {}
        }
        if self.ami_alias.is_empty() {
            for (kind, value) in [
                ("cpu", &self.ami_ssm_parameter.cpu),
                ("gpu", &self.ami_ssm_parameter.gpu),
            ] {
                if value.trim().is_empty() {
                    bad(
                        &format!("amiSsmParameter.{kind}"),
                        "must be set when amiAlias is empty".into(),
                    );
                }
            }
        } else {
            match self.ami_alias.split_once('@') {
                Some((f, v)) if ALIAS_FAMILIES.contains(&f) && !v.is_empty() => {}
                _ => bad(
                    "amiAlias",
                    format!(
                        "{:?} is not family@version with a family of {}",
                        self.ami_alias,
                        ALIAS_FAMILIES.join(", ")
                    ),
                ),
            }
        }
        for key in self.tags.keys() {
            if key.is_empty()
                || key == "eks:eks-cluster-name"
                || key.starts_with("kubernetes.io/cluster")
                || [labels::NODEPOOL, labels::NODECLAIM, labels::EC2_NODE_CLASS]
                    .contains(&key.as_str())
            {
                bad(
                    &format!("tags.{key}"),
                    "is a tag key Karpenter reserves".into(),
                );
            }
        }
    }
}

fn check_settings(
    field: &str,
    s: &NodeSettings,
    version: Option<(u32, u32)>,
    version_text: &str,
    out: &mut Vec<Problem>,
) {
    use crate::karpenter::labels::{KeyClass, classify};
    use crate::karpenter::{BALANCED_SINCE, GTE_LTE_SINCE, Operator};

    let mut bad = |path: String, message: String| out.push((format!("{field}.{path}"), message));
    let older = |since: (u32, u32)| version.is_some_and(|v| v < since);
    for (i, r) in s.requirements.iter().flatten().enumerate() {
        let at = format!("requirements[{i}]");
        match classify(&r.key) {
            KeyClass::NodePoolName | KeyClass::Restricted => {
                bad(
                    format!("{at}.key"),
                    format!(
                        "{:?} is a restricted label; a NodePool cannot require it",
                        r.key
                    ),
                );
            }
            KeyClass::Label | KeyClass::Requirement => {}
        }
        let counts = match r.operator {
            Operator::In | Operator::NotIn => (!r.values.is_empty())
                .then_some(())
                .ok_or("needs at least one value"),
            Operator::Exists | Operator::DoesNotExist => {
                r.values.is_empty().then_some(()).ok_or("takes no values")
            }
            _ => match r.values.as_slice() {
                [v] if v.parse::<u64>().is_ok() => Ok(()),
                _ => Err("needs exactly one non-negative integer value"),
            },
        };
        if let Err(why) = counts {
            bad(
                format!("{at}.values"),
                format!("operator {} {why}", r.operator),
            );
        }
        if r.operator.is_gte_lte() && older(GTE_LTE_SINCE) {
            bad(
                format!("{at}.operator"),
                format!(
                    "{} needs Karpenter {}.{} or newer, but versions.karpenter is {version_text}; use {} instead",
                    r.operator,
                    GTE_LTE_SINCE.0,
                    GTE_LTE_SINCE.1,
                    if r.operator == Operator::Gte {
                        "Gt with the value minus one"
                    } else {
                        "Lt with the value plus one"
                    }
                ),
            );
        }
    }
    if s.consolidation_policy == Some(ConsolidationPolicy::Balanced) && older(BALANCED_SINCE) {
        bad(
            "consolidationPolicy".into(),
            format!(
                "Balanced needs Karpenter {}.{} or newer, but versions.karpenter is {version_text}",
                BALANCED_SINCE.0, BALANCED_SINCE.1
            ),
        );
    }
    for (name, value) in [
        ("consolidateAfter", &s.consolidate_after),
        ("expireAfter", &s.expire_after),
    ] {
        if let Some(value) = value
            && !is_duration(value)
        {
            bad(
                name.into(),
                format!("{value:?} is not a duration such as 30s, 2m, 24h or Never"),
            );
        }
    }
    for (i, b) in s.budgets.iter().flatten().enumerate() {
        if !is_budget_nodes(&b.nodes) {
            bad(
                format!("budgets[{i}].nodes"),
                format!(
                    "{:?} is not a node count or a percentage up to 100%",
                    b.nodes
                ),
            );
        }
        if b.schedule.is_some() != b.duration.is_some() {
            bad(
                format!("budgets[{i}]"),
                "schedule and duration go together".into(),
            );
        }
    }
    for (key, value) in s.limits.iter().flatten() {
        if !is_quantity(value) {
            bad(
                format!("limits.{key}"),
                format!("{value:?} is not a quantity"),
            );
        }
    }
    if let Some(size) = &s.volume_size
        && !is_quantity(size)
    {
        bad("volumeSize".into(), format!("{size:?} is not a quantity"));
    }
}

/// `^(([0-9]+(s|m|h))+|Never)$`, the NodePool duration pattern.
fn is_duration(text: &str) -> bool {
    if text == "Never" {
        return true;
    }
    let mut digits = 0;
    let mut parts = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => digits += 1,
            's' | 'm' | 'h' if digits > 0 => {
                digits = 0;
                parts += 1;
            }
            _ => return false,
        }
    }
    digits == 0 && parts > 0
}

/// `^((100|[0-9]{1,2})%|[0-9]+)$`, the budget `nodes` pattern.
fn is_budget_nodes(text: &str) -> bool {
    match text.strip_suffix('%') {
        Some(pct) => {
            (1..=3).contains(&pct.len())
                && pct.bytes().all(|b| b.is_ascii_digit())
                && pct.parse::<u32>().is_ok_and(|n| n <= 100)
        }
        None => !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// A Kubernetes quantity: a decimal number with an optional binary or decimal suffix.
fn is_quantity(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(split);
    let number_ok = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|exp| !exp.is_empty() && exp.bytes().all(|b| b.is_ascii_digit()));
    number_ok && suffix_ok
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_nodepool_pattern() {
        for ok in ["2m", "24h", "1h30m", "Never", "0s"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "2", "m", "2d", "never", "1.5h"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn budget_nodes_are_counts_or_percentages() {
        for ok in ["100%", "0%", "10%", "5", "0"] {
            assert!(is_budget_nodes(ok), "{ok}");
        }
        for bad in ["101%", "%", "1000%", "x", ""] {
            assert!(!is_budget_nodes(bad), "{bad}");
        }
    }

    #[test]
    fn quantities_parse() {
        for ok in ["64", "256Gi", "0.5", "100m", "1e3", "+1"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "Gi", "1GB", "1..2", "."] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn a_role_override_keeps_the_kind_values_it_leaves_out() {
        let mut k = Karpenter::default();
        k.roles.insert(
            "worker-big".into(),
            NodeSettings {
                expire_after: Some("48h".into()),
                ..NodeSettings::default()
            },
        );
        let s = k.settings_for("worker-big", true);
        assert_eq!(s.expire_after, "48h");
        assert_eq!(s.volume_size, "100Gi");
        assert_eq!(s.requirements[3].values, ["g5.xlarge"]);
    }

    #[test]
    fn a_partial_kind_block_keeps_the_builtin_values() {
        let k = Karpenter {
            gpu: NodeSettings {
                consolidate_after: Some("5m".into()),
                ..NodeSettings::default()
            },
            ..Karpenter::default()
        };
        let s = k.settings_for("worker-gpu", true);
        assert_eq!(s.consolidate_after, "5m");
        assert_eq!(s.limits["nodes"], "4");
    }

    #[test]
    fn version_gated_settings_need_a_new_enough_karpenter() {
        let k = Karpenter {
            cpu: NodeSettings {
                consolidation_policy: Some(ConsolidationPolicy::Balanced),
                requirements: Some(vec![Requirement {
                    key: "karpenter.k8s.aws/instance-generation".into(),
                    operator: crate::karpenter::Operator::Gte,
                    values: vec!["6".into()],
                    min_values: None,
                }]),
                ..NodeSettings::default()
            },
            ..Karpenter::default()
        };
        assert_eq!(k.check("1.14"), Vec::<Problem>::new());
        let fields: Vec<String> = k.check("1.8").into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "karpenter.cpu.requirements[0].operator",
                "karpenter.cpu.consolidationPolicy"
            ]
        );
        assert_eq!(k.check("1.9").len(), 1);
    }

    #[test]
    fn an_enabled_section_needs_its_node_class_settings() {
        let k = Karpenter {
            enabled: true,
            ..Karpenter::default()
        };
        let fields: Vec<String> = k.check("1.14").into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["karpenter.clusterName", "karpenter.role"]);
    }
}
