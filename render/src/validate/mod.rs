//! Validation: the checks the API server would make, and the cross-object checks it cannot.
//!
//! Every function here is pure and returns the whole list of diagnostics it found.

pub mod failed;
pub mod names;
pub mod objects;
pub mod salvage;
pub mod schema;
pub mod stores;
pub mod workloads;

use crate::diagnostic::Diagnostic;
use crate::profile::Profile;
use objects::Inputs;

/// Every cross-object check over decoded inputs. `namespace` is the one an object without
/// one is applied to (`--namespace`, as `kubectl apply -n`).
pub fn check_all(inputs: &Inputs, profile: &Profile, namespace: &str) -> Vec<Diagnostic> {
    let mut out = stores::check_vector_stores(inputs);
    out.extend(stores::check_indexes(inputs));
    out.extend(workloads::check_infra_rules(inputs));
    out.extend(workloads::check_workloads(inputs, profile));
    out.extend(workloads::check_child_identities(inputs, namespace));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
