//! Integration tests for `layer-render`: one binary, one module per topic.

// Tests may panic and unwrap: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::panic)]

mod argocd;
mod bench_peer;
mod chart;
mod ci_recipes;
mod confinement;
mod cron_windows;
mod diff;
mod docs;
mod gitops;
mod golden;
mod hostile;
mod karpenter;
mod keda;
mod render;
mod robustness;
mod security;
mod strategic_merge;
mod third_party;
mod tools;
mod usage;
mod walkthrough;
mod yaml_readers;
