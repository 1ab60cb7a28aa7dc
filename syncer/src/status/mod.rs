//! Status writes: the [`index`] decides what to write, the [`controller`] feeds it watch
//! signals and the clock, and the [`writer`] applies each update to the status subresource,
//! several at a time ([`rate_limit`] caps them when asked), then publishes the [`events`] a
//! change of `Ready` or `Stalled` calls for.
//!
//! Writes are server-side applies (`application/apply-patch+yaml`) of
//! `{apiVersion, kind, status}` to `.../<plural>/<name>/status` with
//! `fieldManager=layer-syncer` and `force=true`: the syncer is the only intended owner of the
//! fields it writes, so a conflict with a stray manager is resolved in its favour. Fields it
//! does not write (a Function's `queueDepth`, an Index's `metadata`/`snapshot`, InfraRules
//! `embedders`/`ocr`) stay with their owners.

pub mod controller;
pub mod events;
pub mod index;
pub mod rate_limit;
pub mod writer;

use layer_render::key::ObjectKey;
use serde_json::Value;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "layer-syncer";

/// One status to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The CR.
    pub key: ObjectKey,
    /// The CR's uid, for the Events about it.
    pub uid: Option<String>,
    /// The apply body: `{apiVersion, kind, status}`.
    pub body: Value,
    /// `Ready` and `Stalled` as the server holds them before this write: what an Event
    /// compares with.
    pub before: events::Summary,
}

/// What the controller tells the writer.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Apply this status (replacing any older one still queued for the same CR).
    Apply(Update),
    /// The live status already equals the newest one computed for this CR: drop whatever is
    /// still queued or waiting for a retry for it.
    Cancel(ObjectKey),
}

/// What the writer reports back to the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// Applied.
    Written(ObjectKey),
    /// Answered 404: the CR was deleted (the watch has not said so yet).
    Gone(ObjectKey),
    /// Given up (a permanent error, or this replica lost the lease): the index must not
    /// assume the write happened.
    Dropped(ObjectKey),
}
