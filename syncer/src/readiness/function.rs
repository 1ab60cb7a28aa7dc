//! Function status: the shared workload checks ([`super::workload`]), `managedObjects` and
//! `activeNamespaces`.
//!
//! `activeNamespaces` is `targetNamespaces` plus the backend namespace of every Index whose
//! `metadata.labels` match `indexSelector`, sorted and deduplicated. `indexSelector` is a
//! Kubernetes label selector (`matchLabels`, `matchExpressions`) read against the Index's
//! object labels, the labels `kubectl get indexes -l` sees, not `spec.metadata.labels` (the
//! gateway's access metadata). An empty selector (`{}`) matches every Index, as in Kubernetes.
//! Indexes are matched in every namespace the syncer watches: upstream keeps Index CRs in the
//! release namespace while Functions live in application namespaces.

use std::collections::BTreeSet;

use kube::core::{Selector, SelectorExt};
use layer_render::api::family::Workload;
use layer_render::api::{Function, FunctionStatus, Index};
use layer_render::validate::stores::backend_namespace;

use super::workload::{self, Children, WorkloadEnv};
use super::{Assessment, Reason, Verdict, stale_spec};

/// The status of a Function from its live children and the Indexes it may select.
pub fn assess(
    cr: &Function,
    children: &Children<'_>,
    indexes: &[&Index],
    env: &WorkloadEnv<'_>,
) -> Assessment<FunctionStatus> {
    let w = Workload::of_function(cr);
    let (active, selector_problem) = active_namespaces(cr, indexes);
    let verdict = match workload::check_pool(&w, env) {
        Some(v) => v,
        None => match selector_problem {
            Some(v) => v,
            None => {
                let stale = stale_spec(cr, &cr.metadata, "Function");
                workload::assess(&w, &cr.metadata, stale, children, env)
            }
        },
    };
    Assessment {
        verdict,
        status: FunctionStatus {
            active_namespaces: active,
            managed_objects: workload::managed_objects(&w),
            ..FunctionStatus::default()
        },
    }
}

/// `targetNamespaces` plus the backend namespaces of the selected Indexes, and a verdict when
/// the selector cannot be read (then only `targetNamespaces` count).
pub fn active_namespaces(cr: &Function, indexes: &[&Index]) -> (Vec<String>, Option<Verdict>) {
    let mut out: BTreeSet<String> = cr.spec.target_namespaces.iter().cloned().collect();
    let mut problem = None;
    if let Some(selector) = &cr.spec.index_selector {
        let parsed = selector
            .get()
            .map_err(str::to_string)
            .and_then(|ls| Selector::try_from(ls.clone()).map_err(|e| e.to_string()));
        match parsed {
            Ok(selector) => {
                let none = std::collections::BTreeMap::new();
                for index in indexes {
                    let labels = index.metadata.labels.as_ref().unwrap_or(&none);
                    if selector.matches(labels) {
                        out.insert(backend_namespace(index).to_string());
                    }
                }
            }
            Err(e) => {
                problem = Some(Verdict::new(
                    Reason::InvalidIndexSelector,
                    format!(
                        "Function/{}: spec.indexSelector is not a valid label selector ({e}). Use matchLabels and/or matchExpressions (operators In, NotIn, Exists, DoesNotExist).",
                        cr.metadata.name.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    (out.into_iter().collect(), problem)
}
