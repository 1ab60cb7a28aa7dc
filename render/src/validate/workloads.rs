//! Pipeline and Function checks: the pool, the replica ceilings, the schedule and the names
//! of the children they will get.

use std::collections::BTreeSet;

use crate::api::family::{MAX_WORKLOAD_NAME, Workload};
use crate::api::pools;
use crate::api::{ComputePool, InfraRules};
use crate::diagnostic::{Code, Diagnostic};
use crate::field_path::FieldPath;
use crate::keda::cron;
use crate::profile::Profile;
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
