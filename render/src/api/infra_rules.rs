//! `InfraRules` (`hevlayer.com/v1alpha1`, cluster-scoped): the cluster-wide policy for
//! Layer-managed infrastructure (upstream spec section 4).
//!
//! There is exactly one object, named `default` (a CEL rule on the root enforces the name).
//! Its `computePools` are what Pipelines and Functions pick with `scaling.pool`; without the
//! object, render uses the three built-in pools. `documentCache` is declarative intent that the
//! syncer reports on; `embedders` and `ocr` are the newer model-serving entries.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use super::free_form::{self, FreeForm};
use super::nulls::or_default;
use super::workload::Scaling;

/// The only name an InfraRules object may have.
pub const INFRA_RULES_NAME: &str = "default";

/// Desired state of the cluster's InfraRules.
// Several `printcolumn(...)` entries repeat `type_ = ...`, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "hevlayer.com",
    version = "v1alpha1",
    kind = "InfraRules",
    plural = "infrarules",
    singular = "infrarules",
    status = "InfraRulesStatus",
    derive = "PartialEq",
    doc = "The cluster-wide policy for hev layer infrastructure: the compute pools that Pipelines and Functions run on, the document cache and model servers. Exactly one object, named default.",
    validation = Rule::new(NAME_RULE).message(NAME_MESSAGE),
    printcolumn(name = "Pools", type_ = "integer", json_path = ".status.poolCount"),
    printcolumn(name = "CacheNodes", type_ = "string", json_path = ".status.documentCache.nodes")
)]
#[serde(rename_all = "camelCase")]
pub struct InfraRulesSpec {
    /// Compute pools that workloads pick with `spec.scaling.pool`.
    #[serde(default, deserialize_with = "or_default")]
    pub compute_pools: Vec<ComputePool>,
    /// Document cache sizing and scaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_cache: Option<DocumentCache>,
    /// Embedding servers: containers serving OpenAI-compatible embeddings and `GET /health`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedders: Option<Vec<Embedder>>,
    /// OCR servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<Vec<OcrServer>>,
}

/// CEL rule on the InfraRules root: the object is named `default`.
pub(crate) const NAME_RULE: &str = "self.metadata.name == 'default'";
/// Message of [`NAME_RULE`].
pub(crate) const NAME_MESSAGE: &str = "InfraRules must be named default";

/// A compute pool: where a workload's pods run and how large it may grow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComputePool {
    /// Pool name, referenced by `spec.scaling.pool`.
    pub name: String,
    /// Pool class, such as `cpu` or `gpu`.
    pub kind: String,
    /// Most replicas one Pipeline or Function may ask for on this pool.
    pub max_replicas_per_workload: i32,
    /// GPU model; descriptive only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
    /// Node labels the worker pods select.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations added to the worker pods (Kubernetes `Toleration` objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form::object_list")]
    pub tolerations: Option<FreeForm<Vec<Toleration>>>,
    /// Resources of the worker container (a Kubernetes `ResourceRequirements` object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form::object")]
    pub resources: Option<FreeForm<ResourceRequirements>>,
}

/// Document cache sizing and scaling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentCache {
    /// Cache capacity, in GiB.
    #[serde(rename = "capGiB")]
    pub cap_gib: u64,
    /// Copies of each cached entry.
    pub replication_factor: i32,
    /// How the cache nodes scale.
    pub scaling: DocumentCacheScaling,
}

/// How the document cache nodes scale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentCacheScaling {
    /// `autoscale` or `fixed`.
    #[serde(default, deserialize_with = "or_default")]
    pub mode: DocumentCacheMode,
    /// Node range.
    pub nodes: NodeRange,
}

/// How the document cache's node count is managed (no `disabled`: the cache is mandatory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentCacheMode {
    /// Scale between `nodes.min` and `nodes.max`.
    #[default]
    Autoscale,
    /// A fixed node count.
    Fixed,
}

/// A node-count range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new("self.min <= self.max").message("documentCache.scaling.nodes.min must not be greater than nodes.max"))]
pub struct NodeRange {
    /// Fewest nodes.
    pub min: i32,
    /// Most nodes.
    pub max: i32,
}

/// An embedding server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Embedder {
    /// Embedder name.
    pub name: String,
    /// Model the server serves.
    pub model: String,
    /// Container image of the server.
    pub image: String,
    /// Embedding dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<u32>,
    /// Longest input, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u32>,
    /// Container port.
    #[serde(
        default = "default_server_port",
        deserialize_with = "default_server_port_or_null"
    )]
    pub port: i32,
    /// Pool and replica range.
    pub scaling: Scaling,
}

/// An OCR server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcrServer {
    /// OCR server name.
    pub name: String,
    /// OCR backend.
    pub backend: String,
    /// Container image of the server.
    pub image: String,
    /// Container port.
    #[serde(
        default = "default_server_port",
        deserialize_with = "default_server_port_or_null"
    )]
    pub port: i32,
    /// Pool and replica range.
    pub scaling: Scaling,
}

// Upstream schema defaults of this module's fields; `null` reads as the default too.
defaults! {
    default_server_port / default_server_port_or_null: i32 = 8080;
}

/// Observed state of the InfraRules, written by the syncer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfraRulesStatus {
    /// Number of compute pools in effect.
    #[serde(default, deserialize_with = "or_default")]
    pub pool_count: usize,
    /// Document cache state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_cache: Option<DocumentCacheStatus>,
    /// Embedding server state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedders: Option<Vec<EmbedderStatus>>,
    /// OCR server state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<Vec<OcrServerStatus>>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}

/// Document cache state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentCacheStatus {
    /// Ready and desired cache nodes, such as `1/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<String>,
}

/// State of one embedding server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedderStatus {
    /// Embedder name, as in `spec.embedders`.
    pub name: String,
    /// Model served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Image running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// URL the gateway calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Digest of the running image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}

/// State of one OCR server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcrServerStatus {
    /// OCR server name, as in `spec.ocr`.
    pub name: String,
    /// OCR backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Image running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// URL the gateway calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Digest of the running image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}
