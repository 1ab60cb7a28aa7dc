//! The workload envelope that Pipelines and Functions share (upstream spec section 5).
//!
//! `spec.worker` says what runs (image, batch size, dispatch, pod spec patch), `spec.scaling`
//! where and how many (pool, mode, replica range) and `spec.schedule` when a scheduled worker
//! wakes. InfraRules embedders and OCR servers reuse [`Scaling`]. `status.managedObjects` lists
//! the child objects with [`ManagedObject`].

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::free_form::{self, FreeFormObject};
use super::nulls::or_default;

/// The worker container and how the gateway hands it work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    /// Container image of the worker.
    pub image: String,
    /// Rows or work items per batch (Function workers read it as `HEVLAYER_UDF_BATCH_SIZE`).
    #[serde(
        default = "default_batch_size",
        deserialize_with = "default_batch_size_or_null"
    )]
    pub batch_size: i32,
    /// Timeout of one worker call, in seconds.
    #[serde(
        default = "default_timeout_seconds",
        deserialize_with = "default_timeout_seconds_or_null"
    )]
    pub timeout_seconds: i32,
    /// Compute class; picks the stock pool of the same name when `scaling.pool` is not set.
    #[serde(default, deserialize_with = "or_default")]
    pub compute_class: ComputeClass,
    /// How the worker gets work: `pull` (the SDK claims batches from the gateway) or `push` (the
    /// gateway calls the worker over HTTP, which adds a Service and a readiness probe).
    #[serde(default, deserialize_with = "or_default")]
    pub dispatch: Dispatch,
    /// Container port of a `push` worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// External endpoint of a `push` worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Pod-level patch merged over the generated pod spec (for example `affinity`, or a
    /// container named `worker` or `udf` with extra `env` or a `command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form::object")]
    pub pod_spec: Option<FreeFormObject>,
}

// Upstream schema defaults of this module's fields; `null` reads as the default too.
defaults! {
    default_batch_size / default_batch_size_or_null: i32 = 32;
    default_timeout_seconds / default_timeout_seconds_or_null: i32 = 30;
    default_discovery_interval_seconds / default_discovery_interval_seconds_or_null: i32 = 60;
    default_lease_seconds / default_lease_seconds_or_null: i32 = 120;
    default_max_concurrent_scans / default_max_concurrent_scans_or_null: i32 = 4;
    default_max_in_flight_batches / default_max_in_flight_batches_or_null: i32 = 8;
}

/// Compute class of a worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ComputeClass {
    /// CPU worker (stock pool `cpu`).
    #[default]
    Cpu,
    /// GPU worker (stock pool `gpu`).
    Gpu,
}

impl ComputeClass {
    /// The upstream spelling, which is also the name of the stock pool.
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeClass::Cpu => "cpu",
            ComputeClass::Gpu => "gpu",
        }
    }
}

/// How a worker receives work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Dispatch {
    /// The worker claims batches from the gateway; only a Deployment is created.
    #[default]
    Pull,
    /// The gateway calls the worker's HTTP `/run`; a Service and a readiness probe are added.
    Push,
}

/// Where a worker runs and how many replicas it has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scaling {
    /// Compute pool from `InfraRules/default` (or the built-in pools). When omitted,
    /// `worker.computeClass` picks the stock pool of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `autoscale` (KEDA scales between `replicas.min` and `replicas.max`), `fixed`
    /// (`replicas.min` replicas) or `disabled` (no replicas).
    #[serde(default, deserialize_with = "or_default")]
    pub mode: ScalingMode,
    /// Replica range.
    pub replicas: Replicas,
    /// Seconds to keep an idle worker warm before scaling back to zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_window_seconds: Option<i32>,
}

/// How a worker's replica count is managed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScalingMode {
    /// KEDA scales the worker on queue depth between `replicas.min` and `replicas.max`.
    #[default]
    Autoscale,
    /// Exactly `replicas.min` replicas.
    Fixed,
    /// No replicas.
    Disabled,
}

/// A replica range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new("self.min <= self.max").message("replicas.min must not be greater than replicas.max"))]
pub struct Replicas {
    /// Fewest replicas; set 1 to keep a cold-start-heavy worker warm.
    #[serde(default, deserialize_with = "or_default")]
    pub min: i32,
    /// Most replicas; at most the pool's `maxReplicasPerWorkload`.
    pub max: i32,
}

/// When a scheduled worker wakes and how it scans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Five-field cron expression, in UTC; the minute field must be a single integer. On a
    /// Pipeline it wakes the worker on this schedule instead of on queue depth; on a Function it
    /// applies to the `schedule` trigger only (hourly, `0 * * * *`, when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(CRON_RULE).message(CRON_MESSAGE))]
    pub cron: Option<String>,
    /// Seconds between discovery scans.
    #[serde(
        default = "default_discovery_interval_seconds",
        deserialize_with = "default_discovery_interval_seconds_or_null"
    )]
    pub discovery_interval_seconds: i32,
    /// Lease length of one batch, in seconds; also sizes the wake-up window of a cron schedule.
    #[serde(
        default = "default_lease_seconds",
        deserialize_with = "default_lease_seconds_or_null"
    )]
    pub lease_seconds: i32,
    /// Most scans running at once.
    #[serde(
        default = "default_max_concurrent_scans",
        deserialize_with = "default_max_concurrent_scans_or_null"
    )]
    pub max_concurrent_scans: i32,
    /// Most batches in flight at once.
    #[serde(
        default = "default_max_in_flight_batches",
        deserialize_with = "default_max_in_flight_batches_or_null"
    )]
    pub max_in_flight_batches: i32,
}

/// CEL rule on `schedule.cron`: five space-separated fields whose first (the minute) is one
/// integer from 0 to 59.
pub(crate) const CRON_RULE: &str = "self.matches('^[0-5]?[0-9]( +[^ ]+){4}$')";
/// Message of [`CRON_RULE`].
pub(crate) const CRON_MESSAGE: &str = "schedule.cron must have five space-separated fields and its minute field must be a single integer from 0 to 59";

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            cron: None,
            discovery_interval_seconds: default_discovery_interval_seconds(),
            lease_seconds: default_lease_seconds(),
            max_concurrent_scans: default_max_concurrent_scans(),
            max_in_flight_batches: default_max_in_flight_batches(),
        }
    }
}

/// A reference to one object that the workload's render produced.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ManagedObject {
    /// API version of the object, such as `apps/v1`.
    pub api_version: String,
    /// Kind of the object, such as `Deployment`.
    pub kind: String,
    /// Name of the object, in the workload's namespace.
    pub name: String,
}
