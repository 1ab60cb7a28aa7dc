//! The five hev layer custom resources as Rust types.
