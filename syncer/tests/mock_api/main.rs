//! The real watch -> readiness -> apply path against a fake API server behind a `tower-test`
//! mock (kube-rs `mock_tests.rs`, controller-rs `fixtures.rs`).
//!
//! [`fake`] answers lists, watches and status patches as kube-apiserver does (paths, query
//! strings, SSA content types, pagination, resourceVersions, 404/405/409/410/415/422/5xx
//! answers) and records every request, so tests check exact paths, queries, content types,
//! bodies and counts, and that nothing but `/status` is ever mutated. [`harness`] runs the
//! syncer's own `sync` against it. [`basics`] covers the healthy path, [`faults`] the API
//! server misbehaving, [`efficiency`] exact write counts over a thousand CRs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod basics;
mod efficiency;
mod fake;
mod faults;
mod harness;
mod world;
