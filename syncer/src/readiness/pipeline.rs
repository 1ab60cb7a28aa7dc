//! Pipeline status: the shared workload checks ([`super::workload`]) and `managedObjects`.

use layer_render::api::family::Workload;
use layer_render::api::{Pipeline, PipelineStatus};

use super::workload::{self, Children, WorkloadEnv};
use super::{Assessment, stale_spec};

/// The status of a Pipeline from its live children.
pub fn assess(
    cr: &Pipeline,
    children: &Children<'_>,
    env: &WorkloadEnv<'_>,
) -> Assessment<PipelineStatus> {
    let w = Workload::of_pipeline(cr);
    let stale = stale_spec(cr, &cr.metadata, "Pipeline");
    Assessment {
        verdict: workload::assess(&w, &cr.metadata, stale, children, env),
        status: PipelineStatus {
            managed_objects: workload::managed_objects(&w),
            ..PipelineStatus::default()
        },
    }
}
