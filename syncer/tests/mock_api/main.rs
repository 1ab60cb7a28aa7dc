//! The real watch -> readiness -> apply path against a fake API server behind a `tower-test`
//! mock (kube-rs `mock_tests.rs`, controller-rs `fixtures.rs`).
//!
//! [`fake`] answers lists, watches, status patches, Events and Leases as kube-apiserver does
//! (paths, query strings, SSA content types and field ownership, pagination, resourceVersions,
//! 404/405/409/410/415/422/429/5xx answers, a write latency) and records every request with the
//! client that sent it, so tests check exact paths, queries, content types, bodies and counts,
//! and that nothing but `/status`, Events and the Lease is ever mutated. [`harness`] runs the
//! syncer's own `sync` (and `sync_elected`, with a Lease) against it. [`basics`] covers the
//! healthy path, [`faults`] the API server misbehaving, [`writes`] concurrent, capped and
//! throttled writes, [`events`] the Events, [`leader`] two replicas and one Lease,
//! [`efficiency`] exact write counts over a thousand CRs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod basics;
mod efficiency;
mod events;
mod fake;
mod faults;
mod harness;
mod leader;
mod world;
mod writes;
