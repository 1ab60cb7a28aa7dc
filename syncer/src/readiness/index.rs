//! Index status: Ready when its store resolves (render's [`resolve_store`]) to a Ready
//! VectorStore and no other Index in the namespace serves the same backend namespace
//! (render's [`backend_namespace`]).

use layer_render::api::{Index, IndexStatus, VectorStore};
use layer_render::validate::stores::{StoreProblem, backend_namespace, resolve_store};

use super::conditions::{READY, find};
use super::{Assessment, Reason, Verdict, stale_spec};

/// The status of an Index. `peers` are the Indexes of its namespace (itself included) and
/// `stores` the VectorStores of its namespace.
pub fn assess(cr: &Index, peers: &[&Index], stores: &[&VectorStore]) -> Assessment<IndexStatus> {
    Assessment {
        verdict: verdict(cr, peers, stores),
        status: IndexStatus::default(),
    }
}

fn verdict(cr: &Index, peers: &[&Index], stores: &[&VectorStore]) -> Verdict {
    let name = cr.metadata.name.as_deref().unwrap_or_default();
    let namespace = cr.metadata.namespace.as_deref().unwrap_or_default();
    let backend = backend_namespace(cr);
    let mut claimants: Vec<&str> = peers
        .iter()
        .filter(|p| backend_namespace(p) == backend)
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    claimants.sort_unstable();
    claimants.dedup();
    if claimants.len() > 1 {
        return Verdict::new(
            Reason::BackendNamespaceConflict,
            format!(
                "multiple Index CRs resolve to backend namespace '{backend}': {}. Give each Index its own spec.backend.namespace, or delete the duplicate.",
                claimants.join(", ")
            ),
        );
    }
    let store = match resolve_store(namespace, cr.spec.backend.store_ref.as_deref(), stores) {
        Ok(store) => store,
        Err(problem) => {
            let reason = match problem {
                StoreProblem::NotFound { .. } => Reason::StoreNotFound,
                StoreProblem::NoDefault { .. } => Reason::NoDefaultStore,
                StoreProblem::MultipleDefaults { .. } => Reason::MultipleDefaultStores,
            };
            let todo = match reason {
                Reason::StoreNotFound => " Create the VectorStore, or fix spec.backend.storeRef.",
                Reason::MultipleDefaultStores => " Keep default: true on exactly one.",
                _ => "",
            };
            return Verdict::new(reason, format!("Index/{name}: {problem}.{todo}"));
        }
    };
    if let Some(v) = stale_spec(cr, &cr.metadata, "Index") {
        return v;
    }
    let store_name = store.metadata.name.as_deref().unwrap_or_default();
    let ready = store
        .status
        .as_ref()
        .and_then(|s| find(&s.conditions, READY))
        .filter(|c| c.status == layer_render::api::conditions::status::TRUE);
    match ready {
        Some(_) => Verdict::new(
            Reason::StoreReady,
            format!(
                "Index/{name}: backend namespace {backend} on VectorStore {store_name}, which is Ready."
            ),
        ),
        None => {
            let why = store
                .status
                .as_ref()
                .and_then(|s| find(&s.conditions, READY))
                .and_then(|c| c.message.clone())
                .unwrap_or_else(|| "no Ready condition yet".to_string());
            Verdict::new(
                Reason::StoreNotReady,
                format!(
                    "Index/{name}: VectorStore {store_name} is not Ready ({why}). Fix the store; the Index follows."
                ),
            )
        }
    }
}
