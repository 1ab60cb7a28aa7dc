//! Readiness tests: one file per kind, ok/fail pairs over objects rendered by the real
//! `layer-render`, plus the cross-cutting properties and the scenario list that the Argo CD
//! health check and the docs are checked against.
#![allow(clippy::unwrap_used, clippy::panic)]

mod argocd_health;
mod infra;
mod placement;
mod properties;
pub(crate) mod scenarios;
mod stores;
mod workloads;

use layer_render::api::Condition;

use super::conditions::{READY, RECONCILING, STALLED, find};

/// `(Ready, Reconciling, Stalled, reason)` of a condition list.
pub(crate) fn triple(conditions: &[Condition]) -> (String, String, String, String) {
    let status = |t: &str| {
        find(conditions, t)
            .map(|c| c.status.clone())
            .unwrap_or_default()
    };
    (
        status(READY),
        status(RECONCILING),
        status(STALLED),
        find(conditions, READY)
            .and_then(|c| c.reason.clone())
            .unwrap_or_default(),
    )
}

/// The triple as `&str`s, for terse asserts.
pub(crate) fn t(r: &str, rec: &str, st: &str, reason: &str) -> (String, String, String, String) {
    (r.into(), rec.into(), st.into(), reason.into())
}

/// The Ready message.
pub(crate) fn message(conditions: &[Condition]) -> String {
    find(conditions, READY)
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}

/// Readiness is pure: no module under `readiness/` imports one that does I/O.
#[test]
fn readiness_imports_no_io_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/readiness");
    let mut files = vec![dir.clone()];
    let mut offenders = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for module in [
            "probe", "client", "http", "run", "watch", "leader", "metrics", "status",
        ] {
            if text.contains(&format!("crate::{module}::"))
                || text.contains(&format!("crate::{module};"))
            {
                offenders.push(format!("{} uses crate::{module}", path.display()));
            }
        }
    }
    assert_eq!(offenders, Vec::<String>::new());
}
