//! The status condition item shared by every hev layer kind (upstream spec section 1.2).
//!
//! Upstream's item is looser than `metav1.Condition`: only `type` and `status` are required,
//! `reason`, `message` and `lastTransitionTime` may be absent, and nothing constrains the
//! values. The syncer fills them with standard semantics (`status` is `True`, `False` or
//! `Unknown`, `reason` is CamelCase); this type only carries them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One status condition, such as `Ready`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, such as `Ready`, `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase machine-readable reason for the last transition, such as `Paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339 time at which `status` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// The `status` values of a condition, spelled as Kubernetes spells them.
pub mod status {
    /// The condition holds.
    pub const TRUE: &str = "True";
    /// The condition does not hold.
    pub const FALSE: &str = "False";
    /// Not known yet.
    pub const UNKNOWN: &str = "Unknown";
}
