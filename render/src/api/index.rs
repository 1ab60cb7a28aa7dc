//! `Index` (`hevlayer.com/v1`, namespaced): one upstream namespace exposed through the gateway
//! (upstream spec section 3).
//!
//! An Index picks the upstream namespace and its VectorStore, and sets the gateway's policy for
//! it: snapshots, scan fan-out, cache posture, consistency, embedding profile and access
//! metadata. The gateway reads the spec; render emits it with defaults applied and creates no
//! children. Index is the only kind served at `v1`.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use super::nulls::or_default;

/// Desired state of an Index.
// Several `printcolumn(...)` entries repeat `type_ = ...`, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "hevlayer.com",
    version = "v1",
    kind = "Index",
    plural = "indexes",
    singular = "index",
    namespaced,
    status = "IndexStatus",
    derive = "PartialEq",
    doc = "One upstream namespace exposed through the hev layer gateway: its store, snapshot policy, scan fan-out, cache posture, consistency and access metadata.",
    printcolumn(name = "Store", type_ = "string", json_path = ".spec.backend.storeRef"),
    printcolumn(
        name = "Metric",
        type_ = "string",
        json_path = ".spec.backend.distanceMetric"
    ),
    printcolumn(name = "Cache", type_ = "string", json_path = ".spec.cache.mode")
)]
#[serde(rename_all = "camelCase")]
pub struct IndexSpec {
    /// Which upstream namespace, on which store.
    pub backend: Backend,
    /// Blob serving from the document cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs: Option<Blobs>,
    /// Gateway cache posture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// Read consistency: `eventual`, or `strong` (reads at the stable watermark).
    #[serde(default, deserialize_with = "or_default")]
    pub consistency: Consistency,
    /// Embedding profile of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Embedding>,
    /// Access metadata: labels, annotations and tags.
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: IndexMetadata,
    /// Origin-scan fan-out.
    // Upstream's published schema makes `scan` and `search` nullable with no default of their
    // own: the API server stores them only when the manifest has them, and absent they mean
    // their inner defaults (`IndexSpec::scan()`, `IndexSpec::search()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Scan>,
    /// Search features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    /// Automatic facet snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

/// Which upstream namespace, on which store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    /// VectorStore in the Index's namespace; the namespace's default store when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<String>,
    /// Upstream namespace; the Index's `metadata.name` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Distance metric, such as `cosine_distance` or `euclidean_squared`.
    #[serde(
        default = "default_distance_metric",
        deserialize_with = "default_distance_metric_or_null"
    )]
    pub distance_metric: String,
}

impl IndexSpec {
    /// The scan settings in effect: `spec.scan`, or its defaults when the manifest has none.
    pub fn scan(&self) -> Scan {
        self.scan.clone().unwrap_or_default()
    }

    /// The search features in effect: `spec.search`, or its defaults when the manifest has none.
    pub fn search(&self) -> Search {
        self.search.clone().unwrap_or_default()
    }
}

// Upstream schema defaults of this module's fields; `null` reads as the default too.
defaults! {
    default_distance_metric / default_distance_metric_or_null: String = "cosine_distance".to_string();
    default_scan_threads / default_scan_threads_or_null: i32 = 8;
    default_snapshot_interval / default_snapshot_interval_or_null: String = "5m".to_string();
    default_snapshot_retention / default_snapshot_retention_or_null: String = "never".to_string();
}

/// Blob serving from the document cache.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Blobs {
    /// Attributes whose values reference blobs served from the document cache.
    #[serde(default, deserialize_with = "or_default")]
    pub reference_attributes: Vec<String>,
}

/// Gateway cache posture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    /// How long cached entries live, such as `24h`.
    pub ttl: String,
    /// Cache cap for this index, in GiB.
    #[serde(rename = "capGiB", default, skip_serializing_if = "Option::is_none")]
    pub cap_gib: Option<u64>,
    /// `standard` or `staging`.
    #[serde(default, deserialize_with = "or_default")]
    pub mode: CacheMode,
}

/// Cache mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Normal caching.
    #[default]
    Standard,
    /// Staging posture.
    Staging,
}

/// Read consistency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// Eventually consistent reads.
    #[default]
    Eventual,
    /// Reads at the upstream stable watermark.
    Strong,
}

/// Embedding profile of the namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Embedding {
    /// Embedding model name.
    pub model: String,
    /// Vector normalization.
    pub normalization: String,
    /// Vector dimensions.
    pub output_dim: u32,
}

/// Access metadata of the index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexMetadata {
    /// Annotations.
    #[serde(default, deserialize_with = "or_default")]
    pub annotations: BTreeMap<String, String>,
    /// Labels; Functions can select indexes by them.
    #[serde(default, deserialize_with = "or_default")]
    pub labels: BTreeMap<String, String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Origin-scan fan-out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scan {
    /// Default scan threads for the namespace; the gateway clamps it and a request may override it.
    #[serde(
        default = "default_scan_threads",
        deserialize_with = "default_scan_threads_or_null"
    )]
    pub threads: i32,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            threads: default_scan_threads(),
        }
    }
}

/// Search features.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    /// Enable full-text search.
    #[serde(default, deserialize_with = "or_default")]
    pub full_text: bool,
}

/// Automatic facet snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Fields materialized into durable facet snapshots; empty disables the automatic writer.
    #[serde(default, deserialize_with = "or_default")]
    pub facet_fields: Vec<String>,
    /// Minimum spacing between automatic snapshot writes, such as `5m`.
    #[serde(
        default = "default_snapshot_interval",
        deserialize_with = "default_snapshot_interval_or_null"
    )]
    pub interval: String,
    /// `never` keeps every snapshot body; a duration such as `30d` prunes older bodies but keeps
    /// the latest.
    #[serde(
        default = "default_snapshot_retention",
        deserialize_with = "default_snapshot_retention_or_null"
    )]
    pub retention: String,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            facet_fields: Vec::new(),
            interval: default_snapshot_interval(),
            retention: default_snapshot_retention(),
        }
    }
}

/// Observed state of an Index, written by the syncer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Metadata sync state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataSyncStatus>,
    /// Snapshot scheduling state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotStatus>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}

/// Metadata sync state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataSyncStatus {
    /// Whether the access metadata is synced.
    pub synced: bool,
    /// Revision last synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_revision: Option<String>,
}

/// Snapshot scheduling state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotStatus {
    /// RFC 3339 time of the last snapshot run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// RFC 3339 time of the last successful snapshot run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
}
