//! `layer-render`: expand hev layer custom resources into plain, deterministic Kubernetes YAML.
//!
//! The pipeline runs one way: [`load`] reads documents with source positions, [`validate`]
//! checks them, [`expand`] turns each CR into its child objects and [`emit`] writes
//! deterministic YAML. [`diff`] compares two renders and [`check`] a committed tree with a fresh
//! render. Only `load` reads files and only the binary writes them.

pub mod api;
pub mod check;
pub mod diagnostic;
pub mod diff;
pub mod emit;
pub mod expand;
pub mod field_path;
pub mod hash;
pub mod karpenter;
pub mod keda;
pub mod key;
pub mod load;
pub mod profile;
pub mod render;
pub mod shell;
pub mod validate;
