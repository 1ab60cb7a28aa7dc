//! `Pipeline` (`hevlayer.com/v1alpha1`, namespaced): worker-owned indexing of external data
//! into an upstream namespace (upstream spec section 6).
//!
//! A Pipeline runs one worker Deployment that stages rows into a gateway pipeline queue and
//! writes `target.namespace`. Its `sourceRef` describes the external source and reaches the
//! worker verbatim as `HEVLAYER_SOURCE_REF`; only its `pagination` entry is typed. The worker
//! and scaling envelope is shared with Functions ([`super::workload`]).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use super::free_form::FreeFormObject;
use super::nulls::or_default;
use super::workload::{ManagedObject, Scaling, Schedule, Worker};

/// Desired state of a Pipeline.
// Several `printcolumn(...)` entries repeat `type_ = ...`, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "hevlayer.com",
    version = "v1alpha1",
    kind = "Pipeline",
    plural = "pipelines",
    singular = "pipeline",
    namespaced,
    status = "PipelineStatus",
    derive = "PartialEq",
    doc = "Worker-owned indexing: external data becomes rows in an upstream namespace through a gateway pipeline queue and a worker Deployment.",
    printcolumn(
        name = "Target",
        type_ = "string",
        json_path = ".spec.target.namespace"
    ),
    printcolumn(name = "Pool", type_ = "string", json_path = ".spec.scaling.pool"),
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.worker.image")
)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    /// Where the pipeline writes.
    pub target: Target,
    /// Gateway pipeline (queue) the worker stages into and scales on; the resource name when
    /// omitted. Pipelines that set the same id share one queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// Description of the external source (queue, bucket, partner API, Hugging Face dataset,
    /// Warehouse reference...), passed to the worker verbatim as `HEVLAYER_SOURCE_REF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceRef>,
    /// Scale the worker to zero.
    #[serde(default, deserialize_with = "or_default")]
    pub paused: bool,
    /// Wake the worker on a cron schedule instead of on pending queue depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The worker container.
    pub worker: Worker,
    /// Pool, mode and replica range of the worker.
    pub scaling: Scaling,
}

/// Where a pipeline writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// Upstream (Turbopuffer) namespace.
    pub namespace: String,
}

/// Description of a pipeline's external source.
///
/// Free-form: every key is kept and passed to the worker. Common keys are `kind`,
/// `warehouseRef` (a Warehouse in the same namespace), `repo`, `dataset`, `config`, `split`,
/// `revision`, `cursor`, `mapping`, `chunk` and `queueUrl`. Only `pagination` has a schema.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    /// How the worker pages through a REST-style source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// Every other key, kept as is.
    #[serde(flatten)]
    pub rest: FreeFormObject,
}

/// How a worker pages through a source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// `offset`, `page` or `searchAfter`.
    pub kind: PaginationKind,
    /// Query parameter that carries the page, offset or cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_param: Option<String>,
    /// Items per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub page_size: Option<u32>,
    /// Query parameter that carries the page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size_param: Option<String>,
    /// First page number, for `page` pagination.
    #[serde(
        default = "default_start_page",
        deserialize_with = "default_start_page_or_null"
    )]
    pub start_page: u32,
    /// Accept a source that returns no items at all instead of failing the snapshot.
    #[serde(default, deserialize_with = "or_default")]
    pub allow_empty_snapshot: bool,
}

// Upstream schema defaults of this module's fields; `null` reads as the default too.
defaults! {
    default_start_page / default_start_page_or_null: u32 = 1;
}

/// Pagination style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PaginationKind {
    /// An item offset.
    Offset,
    /// A page number.
    Page,
    /// A cursor from the last item.
    SearchAfter,
}

/// Observed state of a Pipeline, written by the syncer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
    /// The child objects the worker's render produced.
    #[serde(default, deserialize_with = "or_default")]
    pub managed_objects: Vec<ManagedObject>,
}
