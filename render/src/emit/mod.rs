//! Emission: deterministic YAML, in a total apply order, as a stream or a directory tree.

pub mod yaml;
