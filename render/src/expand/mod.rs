//! Expansion: each CR becomes what is applied. Pipelines and Functions get their worker
//! children; every hev layer CR is emitted itself, defaults applied and unknown fields
//! dropped; other objects pass through untouched.
//!
//! Expansion runs only on input that validated, so a missing pool here is a bug, not bad
//! input; it is still reported as a diagnostic rather than a panic.

pub mod deployment;
pub mod env;
pub mod keda;
pub mod linkage;
pub mod podspec;
pub mod security;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::emit::Object;
use crate::pools;
use crate::profile::Profile;
use crate::validate::objects::{Inputs, Sourced};
use crate::validate::workloads::default_infra_rules;
use crate::workload::Workload;

/// The kind of a Warehouse, which Pipelines reference by `sourceRef.warehouseRef`.
const WAREHOUSE_KIND: &str = "Warehouse";

/// Every object to emit, unsorted and not yet linked, and the warnings expansion found.
pub fn expand(inputs: &Inputs, profile: &Profile) -> (Vec<Object>, Vec<Diagnostic>) {
    let pools = pools::effective_pools(default_infra_rules(inputs));
    let warehouses: BTreeMap<(Option<&str>, &str), &Value> = inputs
        .pass_through
        .iter()
        .filter(|o| o.key.group == crate::key::HEV_GROUP && o.key.kind == WAREHOUSE_KIND)
        .map(|o| ((o.key.namespace.as_deref(), o.key.name.as_str()), &o.object))
        .collect();
    let mut objects = Vec::new();
    let mut out = Vec::new();

    for p in &inputs.pipelines {
        let w = Workload::of_pipeline(&p.object);
        expand_workload(p, &w, &pools, profile, &warehouses, &mut objects, &mut out);
        objects.push(cr_object(p));
    }
    for f in &inputs.functions {
        let w = Workload::of_function(&f.object);
        expand_workload(f, &w, &pools, profile, &warehouses, &mut objects, &mut out);
        objects.push(cr_object(f));
    }
    objects.extend(inputs.vector_stores.iter().map(cr_object));
    objects.extend(inputs.indexes.iter().map(cr_object));
    objects.extend(inputs.infra_rules.iter().map(cr_object));
    objects.extend(inputs.pass_through.iter().map(|o| Object {
        key: o.key.clone(),
        value: o.object.clone(),
    }));
    (objects, out)
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

fn expand_workload<T>(
    src: &Sourced<T>,
    w: &Workload<'_>,
    pools: &[crate::api::ComputePool],
    profile: &Profile,
    warehouses: &BTreeMap<(Option<&str>, &str), &Value>,
    objects: &mut Vec<Object>,
    out: &mut Vec<Diagnostic>,
) {
    let pool_name = pools::requested_pool(w.scaling, w.worker);
    let Some(pool) = pools::find(pools, pool_name) else {
        out.push(src.diagnostic(
            Code::UnknownPool,
            pools::pool_field(w.scaling),
            format!("unknown pool {pool_name:?}"),
        ));
        return;
    };
    let warehouse = match env::warehouse_ref(w) {
        Some(name) => {
            match warehouses.get(&(Some(w.namespace), name)) {
                Some(found) => Some(env::warehouse_connection(found)),
                None => {
                    out.push(src.diagnostic(
                    Code::WarehouseNotInInput,
                    "spec.sourceRef.warehouseRef",
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
            out.push(src.diagnostic(Code::InvalidPool, pools::pool_field(w.scaling), message));
            return;
        }
        Err(deployment::BuildError::PodSpec(message)) => {
            out.push(src.diagnostic(
                Code::InvalidPodSpec,
                "spec.worker.podSpec",
                format!("the merged pod spec is not valid: {message}"),
            ));
            return;
        }
    };
    if w.worker.pod_spec.is_some() {
        for (field, why) in security::restricted_violations(&pod) {
            out.push(src.diagnostic(
                Code::PodSecurityRelaxed,
                "spec.worker.podSpec",
                format!("{field}: {why}; the pod no longer meets Pod Security restricted"),
            ));
        }
    }
    if w.is_push() {
        objects.extend(to_object(&src.key, &deployment::service(w)));
    }
    objects.extend(to_object(&src.key, &deployment::deployment(w, pod)));
    if w.is_autoscaled() {
        objects.extend(to_object(
            &src.key,
            &keda::trigger_authentication(w, profile),
        ));
        objects.extend(to_object(&src.key, &keda::scaled_object(w, profile)));
    }
}
