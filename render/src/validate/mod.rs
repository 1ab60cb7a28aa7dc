//! Validation: the checks the API server would make, and the cross-object checks it cannot.
//!
//! Every function here is pure and returns the whole list of diagnostics it found.

pub mod schema;
