//! `layer-syncer`: the in-cluster writer of hev layer CR status.
//!
//! It watches the five hev layer kinds and the objects `layer-render` produced for them, and
//! writes only `status` on the CRs, through server-side apply on the status subresource. It
//! creates, changes and deletes nothing else. The layers run one way: [`watch`] keeps caches
//! and says which CRs an event touches; [`readiness`] turns a CR and what is cached into its
//! status with pure functions; [`status`] skips unchanged statuses and applies the rest.
//! [`probe`], [`http`] and [`leader`] are the operational parts, [`client`] bounds every API
//! request by `--api-timeout`, and [`cli`] holds the flags.

pub mod cli;
pub mod client;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod probe;
pub mod readiness;
pub mod run;
pub mod status;
pub mod watch;
