//! Pipeline and Function checks: the pool, the replica ceilings, the schedule and the names
//! of the children they will get.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use crate::api::family::{self, ChildRef, MAX_WORKLOAD_NAME, Workload};
use crate::api::pools;
use crate::api::{ComputePool, InfraRules};
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::field_path::FieldPath;
use crate::keda::cron;
use crate::key::ObjectKey;
use crate::load::Document;
use crate::profile::Profile;
use crate::validate::failed::FailedFields;
use crate::validate::names;
use crate::validate::objects::{Inputs, Sourced};
use crate::validate::schema::closest;

/// Checks InfraRules: the name and unique, usable pools.
pub fn check_infra_rules(inputs: &Inputs) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rules in &inputs.infra_rules {
        if rules.key.name != "default" && rules.is_sound(&FieldPath::keys(&["metadata", "name"])) {
            out.push(rules.diagnostic(
                Code::InfraRulesName,
                &FieldPath::keys(&["metadata", "name"]),
                format!("InfraRules must be named default, not {:?}", rules.key.name),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, pool) in rules.object.spec.compute_pools.iter().enumerate() {
            let name_sound = rules.is_sound(
                &FieldPath::keys(&["spec", "computePools"])
                    .index(i)
                    .key("name"),
            );
            if name_sound && !seen.insert(pool.name.as_str()) {
                out.push(
                    rules.diagnostic(
                        Code::DuplicatePool,
                        &FieldPath::keys(&["spec", "computePools"])
                            .index(i)
                            .key("name"),
                        format!("pool {:?} is defined twice", pool.name),
                    ),
                );
            }
            if pool.max_replicas_per_workload < 1
                && rules.is_sound(
                    &FieldPath::keys(&["spec", "computePools"])
                        .index(i)
                        .key("maxReplicasPerWorkload"),
                )
            {
                out.push(
                    rules.diagnostic(
                        Code::InvalidPool,
                        &FieldPath::keys(&["spec", "computePools"])
                            .index(i)
                            .key("maxReplicasPerWorkload"),
                        "must be at least 1",
                    ),
                );
            }
        }
    }
    out
}

/// The InfraRules object whose pools apply: the one named `default`.
pub fn default_infra_rules(inputs: &Inputs) -> Option<&InfraRules> {
    sourced_infra_rules(inputs).map(|r| &r.object)
}

fn sourced_infra_rules(inputs: &Inputs) -> Option<&Sourced<InfraRules>> {
    inputs.infra_rules.iter().find(|r| r.key.name == "default")
}

/// The pools in effect, and the InfraRules they come from when the input has it.
struct Pools<'a> {
    pools: Vec<ComputePool>,
    rules: Option<&'a Sourced<InfraRules>>,
}

impl Pools<'_> {
    /// True when every pool name is as written, so a name not found is truly unknown.
    fn is_every_name_sound(&self) -> bool {
        self.rules.is_none_or(|r| {
            r.is_sound(
                &FieldPath::keys(&["spec", "computePools"])
                    .any_index()
                    .key("name"),
            )
        })
    }

    /// True when the name of the pool at `index` is as written.
    fn is_name_sound(&self, index: usize) -> bool {
        (self.rules).is_none_or(|r| {
            r.is_sound(
                &FieldPath::keys(&["spec", "computePools"])
                    .index(index)
                    .key("name"),
            )
        })
    }

    /// True when the ceiling of the pool at `index` is as written.
    fn is_ceiling_sound(&self, index: usize) -> bool {
        self.rules.is_none_or(|r| {
            r.is_sound(
                &FieldPath::keys(&["spec", "computePools"])
                    .index(index)
                    .key("maxReplicasPerWorkload"),
            )
        })
    }
}

/// Checks every Pipeline and Function against the pools in effect and the profile.
pub fn check_workloads(inputs: &Inputs, profile: &Profile) -> Vec<Diagnostic> {
    let rules = sourced_infra_rules(inputs);
    let pools = Pools {
        pools: pools::effective_pools(rules.map(|r| &r.object)),
        rules,
    };
    let mut out = Vec::new();
    for p in &inputs.pipelines {
        check_workload(
            p,
            &Workload::of_pipeline(&p.object),
            &pools,
            profile,
            &mut out,
        );
    }
    for f in &inputs.functions {
        check_workload(
            f,
            &Workload::of_function(&f.object),
            &pools,
            profile,
            &mut out,
        );
    }
    out
}

/// Objects render would make twice. A Pipeline and a Function of one name in one namespace
/// both get the Deployment `<name>-worker`: each is told, naming the other (renaming either
/// one fixes both). An input object that is one of a workload's children is told too; one
/// without a namespace is applied to `namespace`, as `kubectl apply -n` would.
pub fn check_child_identities(inputs: &Inputs, namespace: &str) -> Vec<Diagnostic> {
    let name = FieldPath::keys(&["metadata", "name"]);
    let workloads = (inputs.pipelines.iter())
        .filter(|p| p.is_sound(&name))
        .map(|p| Claim::new(p, Workload::of_pipeline(&p.object)))
        .chain(
            (inputs.functions.iter())
                .filter(|f| f.is_sound(&name))
                .map(|f| Claim::new(f, Workload::of_function(&f.object))),
        );
    // Children are named after their workload, so only workloads of one name in one
    // namespace share any, and then at most two: two of one kind are refused at decoding.
    let mut by_name: HashMap<(&str, &str), (Claim<'_>, Option<Claim<'_>>)> =
        HashMap::with_capacity(inputs.pipelines.len() + inputs.functions.len());
    for claim in workloads {
        let at = (
            claim.key.namespace.as_deref().unwrap_or(namespace),
            claim.workload.name,
        );
        match by_name.entry(at) {
            Entry::Occupied(mut first) => first.get_mut().1 = Some(claim),
            Entry::Vacant(slot) => {
                slot.insert((claim, None));
            }
        }
    }
    let mut out = Vec::new();
    for claims in by_name.values() {
        if let (a, Some(b)) = claims {
            let deployment = a.child_key(&a.workload.deployment());
            for (this, that) in [(a, b), (b, a)] {
                out.push(this.diagnostic(
                    &name,
                    format!(
                        "render would make {deployment} for both this {} and {} at {}; rename one of them",
                        this.key.kind,
                        that.key.display_ref(),
                        that.span()
                    ),
                ));
            }
        }
    }
    for object in &inputs.pass_through {
        let Some(workload) = family::workload_name_of_child(&object.key.name) else {
            continue;
        };
        // Where `kubectl apply -n` puts it when it names no namespace.
        let mut key = object.key.clone();
        let at = key
            .namespace
            .get_or_insert_with(|| namespace.into())
            .clone();
        let Some((a, b)) = by_name.get(&(at.as_str(), workload)) else {
            continue;
        };
        for owner in std::iter::once(a).chain(b) {
            let is_child = (owner.children().iter())
                .any(|child| owner.child_key(child).identity() == key.identity());
            if is_child {
                out.push(object.diagnostic(
                    Code::DuplicateObject,
                    &name,
                    format!(
                        "render also emits this {} for {} at {}; remove one of the two",
                        key.kind,
                        owner.key.display_ref(),
                        owner.span()
                    ),
                ));
            }
        }
    }
    // The map's order is not the input's.
    out.sort_by(|a, b| (&a.span, &a.message).cmp(&(&b.span, &b.message)));
    out
}

/// A workload and the document it was read from, for [`check_child_identities`].
struct Claim<'a> {
    doc: &'a Document,
    key: &'a ObjectKey,
    workload: Workload<'a>,
    failed: &'a FailedFields,
}

impl<'a> Claim<'a> {
    fn new<T>(src: &'a Sourced<T>, workload: Workload<'a>) -> Self {
        Claim {
            doc: &src.doc,
            key: &src.key,
            workload,
            failed: &src.failed,
        }
    }

    /// The children it is known to get. When a field that decides which it gets failed
    /// decoding, only the Deployment, which every workload gets, is known.
    fn children(&self) -> Vec<ChildRef> {
        let decides = [["spec", "worker", "dispatch"], ["spec", "scaling", "mode"]];
        if decides
            .iter()
            .any(|field| self.failed.touches(&FieldPath::keys(field)))
        {
            vec![self.workload.deployment()]
        } else {
            self.workload.expected_children()
        }
    }

    /// A child's key: children live in their workload's namespace.
    fn child_key(&self, child: &ChildRef) -> ObjectKey {
        ObjectKey::new(
            child.api_version,
            child.kind,
            self.key.namespace.as_deref(),
            &child.name,
        )
    }

    fn span(&self) -> Span {
        self.doc.span(self.doc.root.pos)
    }

    fn diagnostic(&self, field: &FieldPath, message: String) -> Diagnostic {
        Diagnostic::new(Code::DuplicateObject, message)
            .at(self.doc.span_of(field))
            .object(self.key.clone())
            .field(field.clone())
    }
}

fn check_workload<T>(
    src: &Sourced<T>,
    w: &Workload<'_>,
    pools: &Pools<'_>,
    profile: &Profile,
    out: &mut Vec<Diagnostic>,
) {
    // A check asks whether a field it reads failed decoding (see FailedFields) where the
    // failed field would read as a stand-in or a default: a failed optional one is just absent.
    if !src.is_sound(&FieldPath::keys(&["metadata", "name"])) {
        // An invalid name is reported once, by decoding.
    } else if w.name.len() > MAX_WORKLOAD_NAME {
        out.push(src.diagnostic(
            Code::NameTooLong,
            &FieldPath::keys(&["metadata", "name"]),
            format!(
                "name is {} characters; at most {MAX_WORKLOAD_NAME} leave room for the child name {:?} (63 at most)",
                w.name.len(),
                w.child_name()
            ),
        ));
    } else if w.is_push() && !w.name.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.push(src.diagnostic(
            Code::InvalidName,
            &FieldPath::keys(&["metadata", "name"]),
            "a push worker's Service name must start with a letter",
        ));
    }
    if let Some(id) = w.pipeline.and_then(|p| p.spec.pipeline_id.as_deref())
        && let Err(problem) = names::check_label_value(id)
    {
        out.push(src.diagnostic(
            Code::InvalidLabelValue,
            &FieldPath::keys(&["spec", "pipelineId"]),
            format!(
                "pipelineId is used as the label {}: {problem}",
                crate::api::family::LABEL_PIPELINE_ID
            ),
        ));
    }
    let replicas = &w.scaling.replicas;
    let max_sound = src.is_sound(&FieldPath::keys(&["spec", "scaling", "replicas", "max"]));
    if replicas.min > replicas.max
        && src.is_sound(&FieldPath::keys(&["spec", "scaling", "replicas"]))
    {
        out.push(src.diagnostic(
            Code::ReplicaRange,
            &FieldPath::keys(&["spec", "scaling", "replicas", "min"]),
            format!(
                "replicas.min ({}) must not be greater than replicas.max ({})",
                replicas.min, replicas.max
            ),
        ));
    }
    let resolved = pools::resolve(w, &pools.pools, profile.max_replicas_ceiling);
    let (pool_name, pool_field) = (resolved.requested, &resolved.field);
    // A failed `scaling.pool` falls back to the compute class: that is not what was asked.
    let request_sound =
        src.is_sound(&FieldPath::keys(&["spec", "scaling", "pool"])) && src.is_sound(pool_field);
    match resolved.pool {
        _ if !request_sound => {}
        // A pool whose name failed may or may not be the one asked for.
        Some((i, _)) if !pools.is_name_sound(i) => {}
        None if !pools.is_every_name_sound() => {}
        None => {
            let known: Vec<&str> = pools.pools.iter().map(|p| p.name.as_str()).collect();
            let hint = closest(pool_name, known.iter().copied())
                .map(|c| format!(" (did you mean {c:?}?)"))
                .unwrap_or_default();
            out.push(src.diagnostic(
                Code::UnknownPool,
                pool_field,
                format!(
                    "unknown pool {pool_name:?}; known pools: {}{hint}",
                    known.join(", ")
                ),
            ));
        }
        Some((i, pool)) => {
            if resolved.above_pool.is_some() && max_sound && pools.is_ceiling_sound(i) {
                out.push(src.diagnostic(
                    Code::PoolCeiling,
                    &FieldPath::keys(&["spec", "scaling", "replicas", "max"]),
                    format!(
                        "replicas.max ({}) is above pool {:?}'s maxReplicasPerWorkload ({})",
                        replicas.max, pool.name, pool.max_replicas_per_workload
                    ),
                ));
            }
        }
    }
    if resolved.above_install.is_some() && max_sound {
        out.push(src.diagnostic(
            Code::ProfileCeiling,
            &FieldPath::keys(&["spec", "scaling", "replicas", "max"]),
            format!(
                "replicas.max ({}) is above the profile's maxReplicasCeiling ({})",
                replicas.max, profile.max_replicas_ceiling
            ),
        ));
    }
    // Every cron must parse; one that KEDA will run must also have an exact encoding.
    let wake = w.wake_schedule().filter(|_| w.is_autoscaled());
    if let Some(expr) = w.schedule.and_then(|s| s.cron.as_deref())
        && let Err(problem) = cron::parse(expr).and_then(|c| match wake {
            Some((_, window)) => c.triggers(window).map(|_| ()),
            None => Ok(()),
        })
    {
        out.push(src.diagnostic(
            Code::InvalidCron,
            &FieldPath::keys(&["spec", "schedule", "cron"]),
            problem,
        ));
    }
    if let Some(port) = w.worker.port
        && !(1..=65535).contains(&port)
    {
        out.push(src.diagnostic(
            Code::InvalidPort,
            &FieldPath::keys(&["spec", "worker", "port"]),
            format!("port {port} is outside 1..65535"),
        ));
    }
}
