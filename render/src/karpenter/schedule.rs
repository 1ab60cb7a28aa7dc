//! The schedulability check: can each worker pod run on some Karpenter NodePool?
//!
//! Pure: final pod specs and typed NodePools in, verdicts out. A pod fits a NodePool when
//!
//! - its `nodeSelector` and one of its required node affinity terms can hold on the nodes the
//!   NodePool launches. Each label key has a set of possible values on those nodes: the
//!   template label's value, narrowed by the NodePool's requirements (`In`, `NotIn`, `Exists`,
//!   `DoesNotExist`, `Gt`, `Lt`, `Gte`, `Lte`); a well-known key the NodePool leaves open
//!   (Karpenter picks it from the instance, such as `karpenter.k8s.aws/instance-family`)
//!   may take any value; a custom key the NodePool never mentions is absent. The pod's
//!   requirements narrow the same set, and must leave something;
//! - it tolerates every `NoSchedule` and `NoExecute` taint of the NodePool (startup taints
//!   and `PreferNoSchedule` do not block scheduling);
//! - a request for a GPU resource (`*/gpu`) lands only on a GPU NodePool: one with the
//!   `nvidia.com/gpu` taint, the `layer.hev.dev/compute: gpu` label, or a requirement that
//!   admits GPU instances (GPU count, name or maker; category, family or type `g*`/`p*`).
//!
//! The instance catalog is not modelled: a requirement on a key the NodePool leaves open
//! counts as satisfiable even when no instance type the NodePool allows has that value.
//! `matchFields` terms are not checked. When no NodePool fits, the verdict names the closest
//! one (fewest problems, then name) and every problem with it.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::core::v1::{Affinity, PodSpec, Taint, Toleration};

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::field_path::FieldPath;
use crate::karpenter::labels::{self, COMPUTE, EC2_NODE_CLASS, GPU_TAINT, NODEPOOL};
use crate::karpenter::{NODEPOOL_API_VERSION, NODEPOOL_KIND, NodePool, Operator, Requirement};
use crate::key::ObjectKey;
use crate::load::Document;

/// Where a pod requirement comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `spec.nodeSelector`.
    NodeSelector,
    /// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    Affinity,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::NodeSelector => "nodeSelector",
            Origin::Affinity => "required node affinity",
        })
    }
}

/// One reason a pod does not fit a NodePool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A label requirement no node of the NodePool meets.
    Label {
        /// The pod's requirement, as `key=value` or `key Op [values]`.
        wanted: String,
        /// Where the pod asks for it.
        origin: Origin,
        /// What the NodePool says about the key, such as `key=value` or `key In [a, b]`;
        /// `None` when it never sets the key.
        has: Option<String>,
        /// The key.
        key: String,
    },
    /// A required node affinity with no term that can match (an empty term matches nothing).
    NoTerm,
    /// A NodePool taint the pod does not tolerate, as `key=value:Effect`.
    Taint(String),
    /// A GPU request on a NodePool without GPU instances.
    Gpu(String),
}

/// A pod that fits no NodePool, and why it does not fit the closest one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unschedulable {
    /// The closest NodePool; `None` when none is known.
    pub closest: Option<String>,
    /// Every problem with the closest NodePool.
    pub problems: Vec<Problem>,
}

impl Unschedulable {
    /// The problems as one sentence, naming the closest NodePool.
    pub fn describe(&self) -> String {
        let Some(np) = &self.closest else {
            return "no NodePool is known".into();
        };
        let parts: Vec<String> = self
            .problems
            .iter()
            .map(|p| match p {
                Problem::Label {
                    wanted,
                    origin,
                    has: Some(has),
                    ..
                } => format!("{origin} needs {wanted}, but {np} has {has}"),
                Problem::Label {
                    wanted,
                    origin,
                    has: None,
                    key,
                } => format!("{origin} needs {wanted}, but {np} does not set {key}"),
                Problem::NoTerm => {
                    "required node affinity has no term that can match (an empty term matches no node)".into()
                }
                Problem::Taint(t) => format!("taint {t} of {np} is not tolerated"),
                Problem::Gpu(resource) => {
                    format!("the pod requests {resource}, but {np} has no GPU instances")
                }
            })
            .collect();
        format!("closest is {np}: {}", parts.join("; "))
    }
}

/// A requirement of the pod on a node label.
#[derive(Clone, Debug)]
struct PodRequirement {
    key: String,
    operator: Option<Operator>,
    values: Vec<String>,
    origin: Origin,
    text: String,
}

/// The possible values of one label on the nodes of a NodePool.
#[derive(Clone, Debug)]
struct Domain {
    /// The label may be missing.
    absent: bool,
    /// The label may be present.
    present: bool,
    /// When present, one of these (`None`: any value).
    allowed: Option<BTreeSet<String>>,
    /// When present, none of these.
    excluded: BTreeSet<String>,
    /// Integer bounds, inclusive.
    min: Option<i64>,
    max: Option<i64>,
}

impl Domain {
    fn open() -> Domain {
        Domain {
            absent: true,
            present: true,
            allowed: None,
            excluded: BTreeSet::new(),
            min: None,
            max: None,
        }
    }

    fn missing() -> Domain {
        Domain {
            present: false,
            ..Domain::open()
        }
    }

    fn apply(&mut self, operator: Option<Operator>, values: &[String]) {
        let int = || values.first().and_then(|v| v.parse::<i64>().ok());
        let bound = |d: &mut Domain, lower: bool, v: Option<i64>| match v {
            Some(v) if lower => d.min = Some(d.min.map_or(v, |m| m.max(v))),
            Some(v) => d.max = Some(d.max.map_or(v, |m| m.min(v))),
            // A bound that is not an integer matches no label value.
            None => d.present = false,
        };
        match operator {
            Some(Operator::In) => {
                self.absent = false;
                let values: BTreeSet<String> = values.iter().cloned().collect();
                self.allowed = Some(match self.allowed.take() {
                    Some(allowed) => allowed.intersection(&values).cloned().collect(),
                    None => values,
                });
            }
            Some(Operator::NotIn) => self.excluded.extend(values.iter().cloned()),
            Some(Operator::Exists) => self.absent = false,
            Some(Operator::DoesNotExist) => self.present = false,
            Some(op @ (Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte)) => {
                self.absent = false;
                let v = int();
                match op {
                    Operator::Gt => bound(self, true, v.and_then(|v| v.checked_add(1))),
                    Operator::Gte => bound(self, true, v),
                    Operator::Lt => bound(self, false, v.and_then(|v| v.checked_sub(1))),
                    _ => bound(self, false, v),
                }
            }
            None => {
                self.absent = false;
                self.present = false;
            }
        }
    }

    fn fits(&self, value: &str) -> bool {
        if self.excluded.contains(value) {
            return false;
        }
        if self.min.is_none() && self.max.is_none() {
            return true;
        }
        value
            .parse::<i64>()
            .is_ok_and(|v| self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m))
    }

    fn is_empty(&self) -> bool {
        if self.absent {
            return false;
        }
        if !self.present {
            return true;
        }
        match &self.allowed {
            Some(allowed) => !allowed.iter().any(|v| self.fits(v)),
            None => {
                let lo = self.min.unwrap_or(i64::MIN);
                let hi = self.max.unwrap_or(i64::MAX);
                if lo > hi {
                    return true;
                }
                // Only a short integer range can be used up by exclusions.
                match hi.checked_sub(lo) {
                    Some(span) if span < 1024 => !(lo..=hi).any(|v| self.fits(&v.to_string())),
                    _ => false,
                }
            }
        }
    }
}

/// A NodePool, indexed by label key.
struct View<'a> {
    pool: &'a NodePool,
    labels: BTreeMap<String, &'a str>,
    requirements: BTreeMap<String, Vec<&'a Requirement>>,
}

impl<'a> View<'a> {
    fn new(pool: &'a NodePool) -> View<'a> {
        let labels = pool
            .spec
            .template
            .metadata
            .iter()
            .flat_map(|m| m.labels.iter())
            .map(|(k, v)| (labels::normalize(k).to_string(), v.as_str()))
            .collect();
        let mut requirements: BTreeMap<String, Vec<&Requirement>> = BTreeMap::new();
        for r in &pool.spec.template.spec.requirements {
            requirements
                .entry(labels::normalize(&r.key).to_string())
                .or_default()
                .push(r);
        }
        View {
            pool,
            labels,
            requirements,
        }
    }

    fn name(&self) -> &str {
        &self.pool.metadata.name
    }

    /// The value a key always has on this NodePool's nodes, for keys Karpenter sets itself.
    fn fixed(&self, key: &str) -> Option<&str> {
        match key {
            NODEPOOL => Some(self.name()),
            EC2_NODE_CLASS => Some(&self.pool.spec.template.spec.node_class_ref.name),
            _ => self.labels.get(key).copied(),
        }
    }

    fn domain(&self, key: &str) -> Domain {
        let mentioned = self.fixed(key).is_some() || self.requirements.contains_key(key);
        let mut d = if mentioned || labels::is_well_known(key) {
            Domain::open()
        } else {
            Domain::missing()
        };
        if let Some(v) = self.fixed(key) {
            d.apply(Some(Operator::In), &[v.to_string()]);
        }
        for r in self.requirements.get(key).into_iter().flatten() {
            d.apply(Some(r.operator), &r.values);
        }
        d
    }

    fn describe(&self, key: &str) -> Option<String> {
        let mut parts: Vec<String> = self
            .fixed(key)
            .map(|v| format!("{key}={v}"))
            .into_iter()
            .collect();
        parts.extend(
            self.requirements
                .get(key)
                .into_iter()
                .flatten()
                .map(|r| r.to_string()),
        );
        (!parts.is_empty()).then(|| parts.join(" and "))
    }

    fn label_problems(&self, wanted: &[PodRequirement]) -> Vec<Problem> {
        let mut by_key: BTreeMap<&str, Vec<&PodRequirement>> = BTreeMap::new();
        for r in wanted {
            by_key.entry(&r.key).or_default().push(r);
        }
        let mut problems = Vec::new();
        for (key, reqs) in by_key {
            let mut d = self.domain(key);
            for r in reqs {
                d.apply(r.operator, &r.values);
                if d.is_empty() {
                    let has = self.describe(key).or_else(|| {
                        labels::is_well_known(key).then(|| {
                            format!("{key} open, which the pod's other requirements on it rule out")
                        })
                    });
                    problems.push(Problem::Label {
                        wanted: r.text.clone(),
                        origin: r.origin,
                        has,
                        key: key.to_string(),
                    });
                    break;
                }
            }
        }
        problems
    }

    fn is_gpu(&self) -> bool {
        let spec = &self.pool.spec.template.spec;
        if spec.taints.iter().any(|t| t.key == GPU_TAINT)
            || self.labels.get(COMPUTE) == Some(&"gpu")
        {
            return true;
        }
        let gpu_family = |v: &str| v.starts_with('g') || v.starts_with('p');
        spec.requirements.iter().any(|r| {
            let key = labels::normalize(&r.key);
            let any = |f: &dyn Fn(&str) -> bool| r.values.iter().any(|v| f(v));
            match (key, r.operator) {
                (labels::INSTANCE_GPU_COUNT, Operator::In) => {
                    any(&|v| v.parse::<i64>().is_ok_and(|n| n > 0))
                }
                (labels::INSTANCE_GPU_COUNT, Operator::Gt) => {
                    any(&|v| v.parse::<i64>().is_ok_and(|n| n >= 0))
                }
                (labels::INSTANCE_GPU_COUNT, Operator::Gte) => {
                    any(&|v| v.parse::<i64>().is_ok_and(|n| n >= 1))
                }
                (
                    labels::INSTANCE_GPU_COUNT
                    | labels::INSTANCE_GPU_NAME
                    | labels::INSTANCE_GPU_MANUFACTURER,
                    Operator::Exists,
                ) => true,
                (labels::INSTANCE_GPU_NAME | labels::INSTANCE_GPU_MANUFACTURER, Operator::In) => {
                    true
                }
                (
                    labels::INSTANCE_CATEGORY | labels::INSTANCE_FAMILY | labels::INSTANCE_TYPE,
                    Operator::In,
                ) => any(&gpu_family),
                _ => false,
            }
        })
    }
}

fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// True when the toleration tolerates the taint (Kubernetes' `ToleratesTaint`).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let exists = t.operator.as_deref() == Some("Exists");
    let key = match t.key.as_deref() {
        None | Some("") => exists,
        Some(k) => k == taint.key,
    };
    let value = exists || t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
    effect && key && value
}

/// The pod's label requirements, one list per required node affinity term (one list in all
/// when it has no required affinity). An empty result means no term can match.
/// The part of a pod spec that decides where it can run. A large render keeps one per
/// worker until the check, so it holds only that.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    /// `nodeSelector`.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// `affinity`.
    pub affinity: Option<Affinity>,
    /// `tolerations`.
    pub tolerations: Option<Vec<Toleration>>,
    /// The first GPU resource any container asks for ([`gpu_request`]).
    pub gpu: Option<String>,
}

impl Placement {
    /// The placement of a pod.
    pub fn of(pod: &PodSpec) -> Placement {
        Placement {
            node_selector: pod.node_selector.clone(),
            affinity: pod.affinity.clone(),
            tolerations: pod.tolerations.clone(),
            gpu: gpu_request(pod),
        }
    }
}

fn alternatives(pod: &Placement) -> Vec<Vec<PodRequirement>> {
    let selector: Vec<PodRequirement> = pod
        .node_selector
        .iter()
        .flatten()
        .map(|(k, v)| PodRequirement {
            key: labels::normalize(k).to_string(),
            operator: Some(Operator::In),
            values: vec![v.clone()],
            origin: Origin::NodeSelector,
            text: format!("{k}={v}"),
        })
        .collect();
    let required = pod
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let Some(required) = required else {
        return vec![selector];
    };
    required
        .node_selector_terms
        .iter()
        // An empty term matches no node.
        .filter(|t| {
            t.match_expressions.as_ref().is_some_and(|e| !e.is_empty())
                || t.match_fields.as_ref().is_some_and(|f| !f.is_empty())
        })
        .map(|term| {
            let mut reqs = selector.clone();
            reqs.extend(term.match_expressions.iter().flatten().map(|e| {
                let values = e.values.clone().unwrap_or_default();
                let text = Requirement {
                    key: e.key.clone(),
                    operator: Operator::parse(&e.operator).unwrap_or(Operator::In),
                    values: values.clone(),
                    min_values: None,
                }
                .to_string();
                PodRequirement {
                    key: labels::normalize(&e.key).to_string(),
                    operator: Operator::parse(&e.operator),
                    values,
                    origin: Origin::Affinity,
                    text,
                }
            }));
            reqs
        })
        .collect()
}

/// The first GPU resource (`*/gpu`) any container requests or limits above zero.
pub fn gpu_request(pod: &PodSpec) -> Option<String> {
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten());
    containers
        .filter_map(|c| c.resources.as_ref())
        .flat_map(|r| r.requests.iter().flatten().chain(r.limits.iter().flatten()))
        .find(|(name, q)| name.ends_with("/gpu") && !is_zero(&q.0))
        .map(|(name, _)| name.clone())
}

fn is_zero(quantity: &str) -> bool {
    let number: String = quantity
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '+' || *c == '-')
        .collect();
    number.parse::<f64>().is_ok_and(|n| n == 0.0)
}

fn problems_with(
    pod: &Placement,
    alternatives: &[Vec<PodRequirement>],
    view: &View<'_>,
) -> Vec<Problem> {
    let mut problems = alternatives
        .iter()
        .map(|alt| view.label_problems(alt))
        .min_by_key(Vec::len)
        .unwrap_or_else(|| vec![Problem::NoTerm]);
    let tolerations = pod.tolerations.as_deref().unwrap_or_default();
    for taint in &view.pool.spec.template.spec.taints {
        let blocks = matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute");
        if blocks && !tolerations.iter().any(|t| tolerates(t, taint)) {
            problems.push(Problem::Taint(taint_text(taint)));
        }
    }
    if let Some(resource) = &pod.gpu
        && !view.is_gpu()
    {
        problems.push(Problem::Gpu(resource.clone()));
    }
    problems
}

/// Checks one pod against the NodePools: `Ok` when one fits.
pub fn check_pod(pod: &PodSpec, nodepools: &[NodePool]) -> Result<(), Unschedulable> {
    check_placement(&Placement::of(pod), nodepools)
}

/// Checks one pod's placement against the NodePools: `Ok` when one fits.
pub fn check_placement(pod: &Placement, nodepools: &[NodePool]) -> Result<(), Unschedulable> {
    let alternatives = alternatives(pod);
    let mut closest: Option<(usize, &str, Vec<Problem>)> = None;
    for np in nodepools {
        let view = View::new(np);
        let problems = problems_with(pod, &alternatives, &view);
        if problems.is_empty() {
            return Ok(());
        }
        let better = closest
            .as_ref()
            .is_none_or(|(n, name, _)| (problems.len(), np.metadata.name.as_str()) < (*n, *name));
        if better {
            closest = Some((problems.len(), &np.metadata.name, problems));
        }
    }
    Err(Unschedulable {
        closest: closest.as_ref().map(|c| c.1.to_string()),
        problems: closest.map(|c| c.2).unwrap_or_default(),
    })
}

/// The NodePools a placement fits, in the order given: how the syncer finds the NodePools
/// that serve a pool, by the same rule render checks every worker with.
pub fn fitting<'a>(pod: &Placement, nodepools: &'a [NodePool]) -> Vec<&'a NodePool> {
    let alternatives = alternatives(pod);
    nodepools
        .iter()
        .filter(|np| problems_with(pod, &alternatives, &View::new(np)).is_empty())
        .collect()
}

/// A rendered worker pod and where a diagnostic about it points.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerPod {
    /// The Deployment, as `namespace/name`.
    pub deployment: String,
    /// The compute pool it runs on.
    pub pool: String,
    /// Where its final pod spec can run.
    pub placement: Placement,
    /// The CR's source position.
    pub span: Option<Span>,
    /// The CR.
    pub object: ObjectKey,
    /// The field that chose the pool.
    pub field: FieldPath,
}

/// How an unschedulable worker is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An error: render knows the cluster's NodePools.
    Error,
    /// A warning: render knows only the chart's default NodePools.
    DefaultPoolsOnly,
    /// A warning: `--allow-unschedulable`.
    Allowed,
}

/// Checks every worker; one diagnostic per worker that fits no NodePool.
pub fn check_workers(workers: &[WorkerPod], nodepools: &[NodePool], mode: Mode) -> Vec<Diagnostic> {
    let mut names: Vec<&str> = nodepools.iter().map(|p| p.metadata.name.as_str()).collect();
    names.sort_unstable();
    // Each worker is checked on its own, on every core.
    workers.par_iter().map(|w| {
            let verdict = check_placement(&w.placement, nodepools).err()?;
            let (code, suffix) = match mode {
                Mode::Error => (Code::Unschedulable, ""),
                Mode::DefaultPoolsOnly => (
                    Code::UnschedulableWarning,
                    " (only the chart's default NodePools are known; give the cluster's with --nodepools)",
                ),
                Mode::Allowed => (Code::UnschedulableWarning, " (allowed by --allow-unschedulable)"),
            };
            let message = format!(
                "Deployment {} (pool {}) fits no known NodePool ({}); {}{suffix}",
                w.deployment,
                w.pool,
                names.join(", "),
                verdict.describe()
            );
            Some(
                Diagnostic::new(code, message)
                    .at_opt(w.span.clone())
                    .object(w.object.clone())
                    .field(w.field.clone()),
            )
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect()
}

/// Reads the `karpenter.sh/v1` NodePools among documents; other kinds are skipped.
pub fn read_nodepools<'a>(
    documents: impl IntoIterator<Item = &'a Document>,
) -> (Vec<NodePool>, Vec<Diagnostic>) {
    let mut pools = Vec::new();
    let mut out = Vec::new();
    for doc in documents {
        let group = doc
            .api_version()
            .and_then(|v| v.split_once('/'))
            .map(|(g, _)| g);
        if group != Some("karpenter.sh") || doc.kind() != Some(NODEPOOL_KIND) {
            continue;
        }
        let api_version = doc.api_version().unwrap_or_default();
        let object = ObjectKey::new(api_version, NODEPOOL_KIND, None, doc.name().unwrap_or("?"));
        if doc.api_version() != Some(NODEPOOL_API_VERSION) {
            out.push(
                Diagnostic::new(
                    Code::InvalidNodePool,
                    format!("only {NODEPOOL_API_VERSION} NodePools can be checked against"),
                )
                .at(doc.span_of(&FieldPath::keys(&["apiVersion"])))
                .object(object.clone()),
            );
            continue;
        }
        match serde_json::from_value::<NodePool>(doc.root.to_json()) {
            Ok(pool) => pools.push(pool),
            Err(err) => out.push(
                Diagnostic::new(
                    Code::InvalidNodePool,
                    format!("not a valid NodePool: {err}"),
                )
                .at(doc.span(doc.root.pos))
                .object(object),
            ),
        }
    }
    (pools, out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::karpenter::nodepools::default_worker_pools;
    use crate::profile::Karpenter;
    use serde_json::json;

    fn defaults() -> Vec<NodePool> {
        default_worker_pools(&Karpenter::default()).node_pools
    }

    fn pod(value: serde_json::Value) -> PodSpec {
        let mut value = value;
        value["containers"] = json!([{"name": "worker", "image": "w"}]);
        serde_json::from_value(value).unwrap()
    }

    fn nodepool(yaml: &str) -> NodePool {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn cpu_pod() -> serde_json::Value {
        json!({
            "nodeSelector": {"layer.hev.dev/node-role": "worker-cpu", "layer.hev.dev/compute": "cpu"},
            "tolerations": [{"key": "layer.hev.dev/node-role", "operator": "Equal", "value": "worker-cpu", "effect": "NoSchedule"}]
        })
    }

    #[test]
    fn the_builtin_cpu_pod_fits_worker_cpu() {
        assert_eq!(check_pod(&pod(cpu_pod()), &defaults()), Ok(()));
    }

    #[test]
    fn a_key_the_nodepool_leaves_open_is_satisfiable() {
        let mut p = cpu_pod();
        p["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["c7i"]}]}
        ]}}});
        assert_eq!(check_pod(&pod(p), &defaults()), Ok(()));
    }

    #[test]
    fn a_custom_key_the_nodepool_never_sets_is_missing() {
        let mut p = cpu_pod();
        p["nodeSelector"]["team"] = json!("search");
        let err = check_pod(&pod(p), &defaults()).unwrap_err();
        assert_eq!(err.closest.as_deref(), Some("worker-cpu"));
        assert_eq!(
            err.describe(),
            "closest is worker-cpu: nodeSelector needs team=search, but worker-cpu does not set team"
        );
    }

    #[test]
    fn a_requirement_the_nodepool_pins_otherwise_is_not_satisfiable() {
        let mut p = cpu_pod();
        p["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["c7i.large"]}]}
        ]}}});
        let err = check_pod(&pod(p), &defaults()).unwrap_err();
        assert_eq!(
            err.describe(),
            "closest is worker-cpu: required node affinity needs node.kubernetes.io/instance-type In [c7i.large], \
             but worker-cpu has node.kubernetes.io/instance-type In [m6a.large, m6a.xlarge]"
        );
    }

    #[test]
    fn an_affinity_that_excludes_every_nodepool_names_the_closest() {
        let mut p = cpu_pod();
        p["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "NotIn", "values": ["worker-cpu", "worker-gpu"]}]}
        ]}}});
        let err = check_pod(&pod(p), &defaults()).unwrap_err();
        assert_eq!(
            err.problems,
            [Problem::Label {
                wanted: "karpenter.sh/nodepool NotIn [worker-cpu, worker-gpu]".into(),
                origin: Origin::Affinity,
                has: Some("karpenter.sh/nodepool=worker-cpu".into()),
                key: "karpenter.sh/nodepool".into(),
            }]
        );
    }

    #[test]
    fn one_matching_affinity_term_is_enough() {
        let mut p = cpu_pod();
        p["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]},
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
        ]}}});
        assert_eq!(check_pod(&pod(p), &defaults()), Ok(()));
    }

    #[test]
    fn an_empty_affinity_term_matches_nothing() {
        let mut p = cpu_pod();
        p["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}});
        let err = check_pod(&pod(p), &defaults()).unwrap_err();
        assert_eq!(err.problems, [Problem::NoTerm]);
    }

    #[test]
    fn every_taint_must_be_tolerated() {
        let p = json!({"nodeSelector": {"layer.hev.dev/node-role": "worker-gpu"}, "tolerations": [
            {"key": "layer.hev.dev/node-role", "operator": "Equal", "value": "worker-gpu", "effect": "NoSchedule"}
        ]});
        let err = check_pod(&pod(p), &defaults()).unwrap_err();
        assert_eq!(err.closest.as_deref(), Some("worker-gpu"));
        assert_eq!(
            err.problems,
            [Problem::Taint("nvidia.com/gpu:NoSchedule".into())]
        );
    }

    #[test]
    fn a_placement_keeps_what_the_check_reads() {
        let mut p = pod(cpu_pod());
        p.init_containers = Some(vec![
            serde_json::from_value(
                json!({"name": "init", "image": "i", "resources": {"requests": {"amd.com/gpu": "1"}}}),
            )
            .unwrap(),
        ]);
        p.service_account_name = Some("worker".into());
        assert_eq!(
            Placement::of(&p),
            Placement {
                node_selector: p.node_selector.clone(),
                affinity: None,
                tolerations: p.tolerations.clone(),
                gpu: Some("amd.com/gpu".into()),
            }
        );
    }

    #[test]
    fn a_gpu_request_needs_a_gpu_nodepool() {
        let mut p = pod(cpu_pod());
        p.containers[0].resources =
            serde_json::from_value(json!({"limits": {"nvidia.com/gpu": "1"}})).unwrap();
        let err = check_pod(&p, &defaults()).unwrap_err();
        assert_eq!(err.problems, [Problem::Gpu("nvidia.com/gpu".into())]);
        p.containers[0].resources =
            serde_json::from_value(json!({"limits": {"nvidia.com/gpu": "0"}})).unwrap();
        assert_eq!(check_pod(&p, &defaults()), Ok(()));
    }

    #[test]
    fn gpu_nodepools_are_recognized_by_taint_label_or_instance_requirements() {
        let base = |reqs: &str| {
            nodepool(&format!(
                "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {{name: g}}\nspec:\n  template:\n    spec:\n      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: g}}\n      requirements: {reqs}\n"
            ))
        };
        let is_gpu = |np: &NodePool| View::new(np).is_gpu();
        assert!(is_gpu(&base(
            "[{key: karpenter.k8s.aws/instance-gpu-count, operator: Gt, values: ['0']}]"
        )));
        assert!(is_gpu(&base(
            "[{key: karpenter.k8s.aws/instance-category, operator: In, values: [c, g]}]"
        )));
        assert!(is_gpu(&base(
            "[{key: node.kubernetes.io/instance-type, operator: In, values: [p4d.24xlarge]}]"
        )));
        assert!(!is_gpu(&base(
            "[{key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m]}]"
        )));
        assert!(!is_gpu(&base("[]")));
    }

    #[test]
    fn numeric_requirements_meet_bounds() {
        let np = nodepool(
            "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: gen}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: gen}\n      requirements:\n      - {key: karpenter.k8s.aws/instance-generation, operator: Gte, values: ['6']}\n",
        );
        let affinity = |op: &str, v: &str| {
            pod(
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "karpenter.k8s.aws/instance-generation", "operator": op, "values": [v]}]}
                ]}}}}),
            )
        };
        assert_eq!(
            check_pod(&affinity("Gt", "6"), std::slice::from_ref(&np)),
            Ok(())
        );
        assert_eq!(
            check_pod(&affinity("In", "7"), std::slice::from_ref(&np)),
            Ok(())
        );
        assert!(
            check_pod(&affinity("Lt", "6"), std::slice::from_ref(&np))
                .is_err_and(|e| e.problems.len() == 1)
        );
        assert!(check_pod(&affinity("In", "5"), std::slice::from_ref(&np)).is_err());
    }

    #[test]
    fn a_custom_key_the_nodepool_requires_to_exist_takes_the_pods_value() {
        let np = nodepool(
            "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: teams}\nspec:\n  template:\n    spec:\n      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: teams}\n      requirements:\n      - {key: company.com/team, operator: Exists}\n",
        );
        let p = pod(json!({"nodeSelector": {"company.com/team": "search"}}));
        assert_eq!(check_pod(&p, &[np]), Ok(()));
    }

    #[test]
    fn the_closest_nodepool_has_the_fewest_problems() {
        let p = pod(
            json!({"nodeSelector": {"layer.hev.dev/node-role": "worker-gpu", "layer.hev.dev/compute": "gpu"}}),
        );
        let err = check_pod(&p, &defaults()).unwrap_err();
        assert_eq!(err.closest.as_deref(), Some("worker-gpu"));
        assert_eq!(err.problems.len(), 2);
    }

    #[test]
    fn workers_become_diagnostics_by_mode() {
        let worker = WorkerPod {
            deployment: "shop/embed-worker".into(),
            pool: "arm".into(),
            placement: Placement::of(&pod(
                json!({"nodeSelector": {"layer.hev.dev/node-role": "worker-arm"}}),
            )),
            span: None,
            object: ObjectKey::new("hevlayer.com/v1alpha1", "Pipeline", Some("shop"), "embed"),
            field: FieldPath::keys(&["spec", "scaling", "pool"]),
        };
        let errors = check_workers(std::slice::from_ref(&worker), &defaults(), Mode::Error);
        assert_eq!(
            errors[0].to_string(),
            "error[E600]: Pipeline/shop/embed: spec.scaling.pool: Deployment shop/embed-worker (pool arm) fits no known \
             NodePool (worker-cpu, worker-gpu); closest is worker-cpu: nodeSelector needs \
             layer.hev.dev/node-role=worker-arm, but worker-cpu has layer.hev.dev/node-role=worker-cpu; taint \
             layer.hev.dev/node-role=worker-cpu:NoSchedule of worker-cpu is not tolerated"
        );
        let warnings = check_workers(&[worker], &defaults(), Mode::Allowed);
        assert_eq!(warnings[0].code, Code::UnschedulableWarning);
        assert!(
            warnings[0]
                .message
                .ends_with("(allowed by --allow-unschedulable)")
        );
    }
}
