//! `Function` (`hevlayer.com/v1alpha1`, namespaced): a user-defined function over rows that
//! already exist in an Index (upstream spec section 7).
//!
//! The gateway owns discovery, queueing, retries, leases and completion markers; the Function
//! names the namespaces (`targetNamespaces`, or Index labels through `indexSelector`), the
//! columns to fetch, the version marker and the triggers, and runs one worker Deployment with
//! the envelope shared with Pipelines ([`super::workload`]). Unlike on a Pipeline, `schedule` and
//! `retry` always exist: both have block defaults.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::Condition;
use super::free_form::{self, FreeForm};
use super::nulls::or_default;
use super::workload::{ManagedObject, Scaling, Schedule, Worker};

/// Desired state of a Function.
// Several `printcolumn(...)` entries repeat `type_ = ...`, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "hevlayer.com",
    version = "v1alpha1",
    kind = "Function",
    plural = "functions",
    singular = "function",
    namespaced,
    status = "FunctionStatus",
    derive = "PartialEq",
    doc = "A user-defined function over rows that already exist in one or more indexes, run by a worker Deployment that the gateway feeds.",
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(name = "Pool", type_ = "string", json_path = ".spec.scaling.pool"),
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.worker.image")
)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    /// Upstream namespaces to run over, by name.
    #[serde(default, deserialize_with = "or_default")]
    pub target_namespaces: Vec<String>,
    /// Upstream namespaces to run over, chosen by the labels of Index resources (for example
    /// `matchLabels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form::object")]
    pub index_selector: Option<FreeForm<LabelSelector>>,
    /// Columns fetched for each row; `id` is reserved and stands for the document id.
    #[serde(default, deserialize_with = "or_default")]
    pub inputs: Vec<String>,
    /// Completion marker value; bumping it re-enqueues every row.
    #[serde(
        default = "default_version",
        deserialize_with = "default_version_or_null"
    )]
    pub version: String,
    /// Turbopuffer filter (the array form is allowed), ANDed with the completion-marker
    /// predicate; do not add a version-marker predicate yourself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form::any")]
    pub filter: Option<Value>,
    /// Invalidation markers the function honours.
    #[serde(default, deserialize_with = "or_default")]
    pub invalidates: Vec<String>,
    /// What enqueues rows: `discovery`, `write` and/or `schedule`.
    #[serde(
        default = "default_triggers",
        deserialize_with = "default_triggers_or_null"
    )]
    pub triggers: Vec<Trigger>,
    /// Discovery and lease settings; `cron` applies to the `schedule` trigger only.
    #[serde(default, deserialize_with = "or_default")]
    pub schedule: Schedule,
    /// Retry policy for failed batches.
    #[serde(default, deserialize_with = "or_default")]
    pub retry: Retry,
    /// Scale the worker to zero.
    #[serde(default, deserialize_with = "or_default")]
    pub paused: bool,
    /// The worker container.
    pub worker: Worker,
    /// Pool, mode and replica range of the worker.
    pub scaling: Scaling,
    /// Group work items by their parent document.
    #[serde(default, deserialize_with = "or_default")]
    pub group_by_parent: bool,
    /// Queries each work item issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries_per_item: Option<u32>,
}

// Upstream schema defaults of this module's fields; `null` reads as the default too.
defaults! {
    default_version / default_version_or_null: String = "v1".to_string();
    default_triggers / default_triggers_or_null: Vec<Trigger> = vec![Trigger::Discovery];
    default_initial_backoff_seconds / default_initial_backoff_seconds_or_null: i32 = 5;
    default_max_attempts / default_max_attempts_or_null: i32 = 8;
    default_max_backoff_seconds / default_max_backoff_seconds_or_null: i32 = 300;
}

/// What enqueues rows for a Function.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Periodic discovery scans of the target namespaces.
    Discovery,
    /// Writes to the target namespaces.
    Write,
    /// The `schedule.cron` schedule.
    Schedule,
}

/// Retry policy for failed batches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// Backoff before the first retry, in seconds.
    #[serde(
        default = "default_initial_backoff_seconds",
        deserialize_with = "default_initial_backoff_seconds_or_null"
    )]
    pub initial_backoff_seconds: i32,
    /// Attempts before a row is given up on.
    #[serde(
        default = "default_max_attempts",
        deserialize_with = "default_max_attempts_or_null"
    )]
    pub max_attempts: i32,
    /// Longest backoff, in seconds.
    #[serde(
        default = "default_max_backoff_seconds",
        deserialize_with = "default_max_backoff_seconds_or_null"
    )]
    pub max_backoff_seconds: i32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            initial_backoff_seconds: default_initial_backoff_seconds(),
            max_attempts: default_max_attempts(),
            max_backoff_seconds: default_max_backoff_seconds(),
        }
    }
}

/// Observed state of a Function, written by the syncer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus {
    /// Namespaces resolved from `targetNamespaces` and `indexSelector`.
    #[serde(default, deserialize_with = "or_default")]
    pub active_namespaces: Vec<String>,
    /// Rows waiting; absent while paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<i64>,
    /// The child objects the worker's render produced.
    #[serde(default, deserialize_with = "or_default")]
    pub managed_objects: Vec<ManagedObject>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}
