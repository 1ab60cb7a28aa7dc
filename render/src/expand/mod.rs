//! Expansion: each CR becomes what is applied. Pipelines and Functions get their worker
//! children; every hev layer CR is emitted itself, defaults applied and unknown fields
//! dropped; other objects pass through untouched. With Karpenter enabled in the profile, the
//! node roles that the pools select get their NodePools and EC2NodeClasses.
//!
//! Expansion runs only on input that validated, so a missing pool here is a bug, not bad
//! input; it is still reported as a diagnostic rather than a panic.

pub mod deployment;
pub mod env;
pub mod linkage;
pub mod podspec;
pub mod security;

use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::api::InfraRules;
use crate::api::family::Workload;
use crate::api::pools;
use crate::diagnostic::{Code, Diagnostic};
use crate::emit::Object;
use crate::field_path::FieldPath;
use crate::karpenter::schedule::{self, WorkerPod};
use crate::karpenter::{EC2_NODE_CLASS_KIND, NODEPOOL_KIND, NodePool, nodepools};
use crate::keda;
use crate::key::ObjectKey;
use crate::profile::Profile;
use crate::validate::objects::{Inputs, Sourced};
use crate::validate::workloads::default_infra_rules;

/// The kind of a Warehouse, which Pipelines reference by `sourceRef.warehouseRef`.
const WAREHOUSE_KIND: &str = "Warehouse";

/// What expansion produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expanded<T = Object> {
    /// Every object to emit, unsorted, each family as `finish` left it.
    pub objects: Vec<T>,
    /// What expansion found wrong.
    pub diagnostics: Vec<Diagnostic>,
    /// Every worker's final pod spec, for the schedulability check.
    pub workers: Vec<WorkerPod>,
    /// The NodePools in the output: rendered ones and those passed through from the input.
    pub node_pools: Vec<NodePool>,
    /// The families kept out of `objects` ([`expand_leaving_out`]).
    pub left_out: Vec<LeftOut<T>>,
}

/// A workload's family kept out of [`Expanded::objects`].
#[derive(Clone, Debug, PartialEq)]
pub struct LeftOut<T = Object> {
    /// The workload CR.
    pub key: ObjectKey,
    /// Its family as `finish` left it: its children, then its CR.
    pub objects: Vec<T>,
    /// Its worker pod; also in [`Expanded::workers`].
    pub worker: Option<WorkerPod>,
}

/// Expands the input, with the objects as they come out of expansion: not yet linked.
pub fn expand(inputs: Inputs, profile: &Profile) -> Expanded {
    expand_with(inputs, profile, &|family| family)
}

/// Expands the input and hands each family to `finish` as soon as it is built: a workload
/// CR with its children (the CR last), or any other object on its own. Families are built
/// on every core, so `finish` can link and write each one while it is fresh; the result
/// keeps input order. Each workload's input is freed as soon as its family is built, so
/// the output reuses that memory instead of adding to it.
pub fn expand_with<T, F>(inputs: Inputs, profile: &Profile, finish: &F) -> Expanded<T>
where
    T: Send,
    F: Fn(Vec<Object>) -> Vec<T> + Sync,
{
    expand_leaving_out(inputs, profile, finish, &HashSet::new())
}

/// [`expand_with`], except that the family of a workload in `leave_out` whose expansion found
/// nothing wrong goes to [`Expanded::left_out`] instead of [`Expanded::objects`]: for a caller
/// that knows the other side of a comparison has an equal family.
pub fn expand_leaving_out<T, F>(
    mut inputs: Inputs,
    profile: &Profile,
    finish: &F,
    leave_out: &HashSet<ObjectKey>,
) -> Expanded<T>
where
    T: Send,
    F: Fn(Vec<Object>) -> Vec<T> + Sync,
{
    let pools = pools::effective_pools(default_infra_rules(&inputs));
    let (pipelines, functions) = (
        std::mem::take(&mut inputs.pipelines),
        std::mem::take(&mut inputs.functions),
    );
    let inputs = &inputs;
    let warehouses: BTreeMap<(Option<&str>, &str), &Value> = inputs
        .pass_through
        .iter()
        .filter(|o| o.key.group == crate::key::HEV_GROUP && o.key.kind == WAREHOUSE_KIND)
        .map(|o| ((o.key.namespace.as_deref(), o.key.name.as_str()), &o.object))
        .collect();
    // Each workload expands on its own, so they spread over the cores.
    let context = (&pools[..], profile, &warehouses);
    let pipelines: Vec<_> = pipelines
        .into_par_iter()
        .map(|p| {
            let w = Workload::of_pipeline(&p.object);
            family(&p, &w, context, finish, leave_out)
        })
        .collect();
    let functions: Vec<_> = functions
        .into_par_iter()
        .map(|f| {
            let w = Workload::of_function(&f.object);
            family(&f, &w, context, finish, leave_out)
        })
        .collect();
    let families = || pipelines.iter().chain(&functions);
    let mut objects = Vec::with_capacity(
        families().map(|f| f.objects.len()).sum::<usize>()
            + inputs.vector_stores.len()
            + inputs.indexes.len()
            + inputs.infra_rules.len()
            + inputs.pass_through.len(),
    );
    let mut out = Vec::new();
    let mut workers = Vec::with_capacity(families().filter(|f| f.worker.is_some()).count());
    let mut left_out = Vec::new();
    for built in pipelines.into_iter().chain(functions) {
        objects.extend(built.objects);
        out.extend(built.diagnostics);
        left_out.extend(built.left_out);
        workers.extend(built.worker);
    }
    let alone = |object: Object| finish(vec![object]);
    let mut node_pools = Vec::new();
    if profile.karpenter.enabled {
        let infra_rules = inputs
            .infra_rules
            .iter()
            .find(|r| r.key.name == crate::api::infra_rules::INFRA_RULES_NAME);
        let (rendered, found) = node_objects(&pools, profile, infra_rules, inputs);
        out.extend(found);
        objects.extend(rendered.to_objects().into_iter().flat_map(alone));
        node_pools.extend(rendered.node_pools);
    }
    let (given, found) = schedule::read_nodepools(inputs.pass_through.iter().map(|o| &o.doc));
    node_pools.extend(given);
    out.extend(found);
    objects.extend(inputs.vector_stores.iter().map(cr_object).flat_map(alone));
    objects.extend(
        inputs
            .indexes
            .par_iter()
            .map(|i| alone(cr_object(i)))
            .collect::<Vec<_>>()
            .into_iter()
            .flatten(),
    );
    objects.extend(inputs.infra_rules.iter().map(cr_object).flat_map(alone));
    objects.extend(
        inputs
            .pass_through
            .par_iter()
            .map(|o| {
                alone(Object {
                    key: o.key.clone(),
                    value: o.object.clone(),
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten(),
    );
    Expanded {
        objects,
        diagnostics: out,
        workers,
        node_pools,
        left_out,
    }
}

/// The rendered NodePools and EC2NodeClasses, with diagnostics for pools that cannot have
/// one and for input objects of the same name.
fn node_objects(
    pools: &[crate::api::ComputePool],
    profile: &Profile,
    infra_rules: Option<&Sourced<InfraRules>>,
    inputs: &Inputs,
) -> (nodepools::NodeObjects, Vec<Diagnostic>) {
    let (rendered, problems) = nodepools::node_objects(pools, &profile.karpenter);
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| {
            let field = FieldPath::keys(&["spec", "computePools"])
                .index(p.pool)
                .join(&p.field);
            match infra_rules {
                Some(rules) => rules.diagnostic(p.code, &field, p.message),
                None => Diagnostic::new(p.code, p.message).field(field),
            }
        })
        .collect();
    let names = |list: Vec<&str>| list.into_iter().map(str::to_string).collect::<Vec<_>>();
    let pool_names = names(
        rendered
            .node_pools
            .iter()
            .map(|p| p.metadata.name.as_str())
            .collect(),
    );
    let class_names = names(
        rendered
            .node_classes
            .iter()
            .map(|c| c.metadata.name.as_str())
            .collect(),
    );
    for o in &inputs.pass_through {
        let rendered_too = match (o.key.group.as_str(), o.key.kind.as_str()) {
            ("karpenter.sh", NODEPOOL_KIND) => pool_names.contains(&o.key.name),
            ("karpenter.k8s.aws", EC2_NODE_CLASS_KIND) => class_names.contains(&o.key.name),
            _ => false,
        };
        if rendered_too {
            out.push(o.diagnostic(
                Code::NodePoolInInput,
                &FieldPath::keys(&["metadata", "name"]),
                format!(
                    "render also emits this {} for the compute pools (karpenter.enabled in the profile); remove one of the two",
                    o.key.kind
                ),
            ));
        }
    }
    (rendered, out)
}

/// A CR as emitted: its typed form serialized, so defaults are in and unknown fields out.
fn cr_object<T: Serialize>(src: &Sourced<T>) -> Object {
    let value = serde_json::to_value(&src.object).unwrap_or(Value::Null);
    Object {
        key: src.key.clone(),
        value,
    }
}

fn to_object<T: Serialize>(src_key: &crate::key::ObjectKey, child: &T) -> Option<Object> {
    let value = serde_json::to_value(child).ok()?;
    let object = Object::from_value(value);
    // Children live in their parent's namespace; from_value reads it back from metadata.
    debug_assert_eq!(object.key.namespace, src_key.namespace);
    Some(object)
}

/// What every workload's family is built from besides the workload: the compute pools, the
/// profile and the warehouses by namespace and name.
type Context<'c> = (
    &'c [crate::api::ComputePool],
    &'c Profile,
    &'c BTreeMap<(Option<&'c str>, &'c str), &'c Value>,
);

/// One workload's family, built.
struct Built<T> {
    /// Its children, then its CR, as `finish` left them; empty when left out.
    objects: Vec<T>,
    diagnostics: Vec<Diagnostic>,
    worker: Option<WorkerPod>,
    left_out: Option<LeftOut<T>>,
}

/// One workload's family (its children, then its CR) handed to `finish`, and kept apart when
/// left out (see [`expand_leaving_out`]); with the problems found and its worker pod.
fn family<S: Serialize, T, F>(
    src: &Sourced<S>,
    w: &Workload<'_>,
    (pools, profile, warehouses): Context<'_>,
    finish: &F,
    leave_out: &HashSet<ObjectKey>,
) -> Built<T>
where
    F: Fn(Vec<Object>) -> Vec<T>,
{
    let mut objects = Vec::new();
    let mut out = Vec::new();
    let worker = expand_workload(src, w, pools, profile, warehouses, &mut objects, &mut out);
    objects.push(cr_object(src));
    if out.is_empty() && leave_out.contains(&src.key) {
        return Built {
            left_out: Some(LeftOut {
                key: src.key.clone(),
                objects: finish(objects),
                worker: worker.clone(),
            }),
            objects: Vec::new(),
            diagnostics: out,
            worker,
        };
    }
    Built {
        objects: finish(objects),
        diagnostics: out,
        worker,
        left_out: None,
    }
}

fn expand_workload<T>(
    src: &Sourced<T>,
    w: &Workload<'_>,
    pools: &[crate::api::ComputePool],
    profile: &Profile,
    warehouses: &BTreeMap<(Option<&str>, &str), &Value>,
    objects: &mut Vec<Object>,
    out: &mut Vec<Diagnostic>,
) -> Option<WorkerPod> {
    // Validation has reported an unknown pool and the ceilings already; the lookup is theirs.
    let resolved = pools::resolve(w, pools, profile.max_replicas_ceiling);
    let Some((_, pool)) = resolved.pool else {
        out.push(src.diagnostic(
            Code::UnknownPool,
            &resolved.field,
            format!("unknown pool {:?}", resolved.requested),
        ));
        return None;
    };
    let warehouse = match env::warehouse_ref(w) {
        Some(name) => {
            match warehouses.get(&(Some(w.namespace), name)) {
                Some(found) => Some(env::warehouse_connection(found)),
                None => {
                    out.push(src.diagnostic(
                    Code::WarehouseNotInInput,
                    &FieldPath::keys(&["spec", "sourceRef", "warehouseRef"]),
                    format!("Warehouse {name:?} is not in the input, so HEVLAYER_WAREHOUSE is left out"),
                ));
                    None
                }
            }
        }
        None => None,
    };
    let pod = match deployment::pod_spec(w, pool, profile, warehouse.as_ref()) {
        Ok(pod) => pod,
        Err(deployment::BuildError::Pool(message)) => {
            out.push(src.diagnostic(Code::InvalidPool, &resolved.field, message));
            return None;
        }
        Err(deployment::BuildError::PodSpec { path, message }) => {
            let field = FieldPath::keys(&["spec", "worker", "podSpec"]).join(&path);
            out.push(src.diagnostic(Code::InvalidPodSpec, &field, message));
            return None;
        }
    };
    if w.worker.pod_spec.is_some() {
        for (field, why) in security::restricted_violations(&pod) {
            out.push(src.diagnostic(
                Code::PodSecurityRelaxed,
                &FieldPath::keys(&["spec", "worker", "podSpec"]),
                format!("{field}: {why}; the pod no longer meets Pod Security restricted"),
            ));
        }
    }
    let field = resolved.field;
    let worker = WorkerPod {
        deployment: format!("{}/{}", w.namespace, w.child_name()),
        pool: pool.name.clone(),
        placement: schedule::Placement::of(&pod),
        span: Some(src.doc.span_of(&field)),
        object: src.key.clone(),
        field,
    };
    if w.is_push() {
        objects.extend(to_object(&src.key, &deployment::service(w)));
    }
    objects.extend(to_object(&src.key, &deployment::deployment(w, pod)));
    if w.is_autoscaled() {
        objects.extend(to_object(
            &src.key,
            &keda::objects::trigger_authentication(w, profile),
        ));
        objects.extend(to_object(
            &src.key,
            &keda::objects::scaled_object(w, profile),
        ));
    }
    Some(worker)
}
