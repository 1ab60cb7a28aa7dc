//! VectorStore and Index checks, and which store an Index uses.
//!
//! Store resolution follows upstream's gateway resolver: exactly one `default: true` store in
//! the namespace wins; with no default, a lone store is the default; otherwise there is none.
//! [`resolve_store`] is shared with the syncer, which reports the same outcome in status.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::vector_store::{InboundAuthMode, StoreKind};
use crate::api::{Index, VectorStore};
use crate::diagnostic::{Code, Diagnostic};
use crate::field_path::FieldPath;
use crate::validate::objects::{Inputs, Sourced};

/// Why an Index has no store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreProblem {
    /// `storeRef` names a store that does not exist in the namespace.
    NotFound {
        store_ref: String,
        namespace: String,
    },
    /// No `storeRef`, and the namespace has no default store.
    NoDefault { namespace: String },
    /// No `storeRef`, and the namespace has several default stores.
    MultipleDefaults {
        namespace: String,
        names: Vec<String>,
    },
}

impl std::fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreProblem::NotFound {
                store_ref,
                namespace,
            } => {
                write!(
                    f,
                    "VectorStore {store_ref:?} not found in namespace {namespace}"
                )
            }
            StoreProblem::NoDefault { namespace } => {
                write!(
                    f,
                    "no default VectorStore found in namespace {namespace}; set storeRef or mark one store default: true"
                )
            }
            StoreProblem::MultipleDefaults { namespace, names } => write!(
                f,
                "multiple default VectorStores found in namespace {namespace}: {}",
                names.join(",")
            ),
        }
    }
}

/// The store an Index in `namespace` with `store_ref` uses, among `stores` of that namespace.
pub fn resolve_store<'a>(
    namespace: &str,
    store_ref: Option<&str>,
    stores: &[&'a VectorStore],
) -> Result<&'a VectorStore, StoreProblem> {
    if let Some(wanted) = store_ref {
        return stores
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(wanted))
            .copied()
            .ok_or_else(|| StoreProblem::NotFound {
                store_ref: wanted.to_string(),
                namespace: namespace.to_string(),
            });
    }
    let defaults: Vec<&&VectorStore> = stores.iter().filter(|s| s.spec.default).collect();
    match (defaults.as_slice(), stores) {
        ([one], _) => Ok(one),
        ([], [only]) => Ok(only),
        ([], _) => Err(StoreProblem::NoDefault {
            namespace: namespace.to_string(),
        }),
        (many, _) => {
            let mut names: Vec<String> = many
                .iter()
                .filter_map(|s| s.metadata.name.clone())
                .collect();
            names.sort();
            Err(StoreProblem::MultipleDefaults {
                namespace: namespace.to_string(),
                names,
            })
        }
    }
}

/// The upstream namespace an Index serves: `backend.namespace`, else the Index's name.
pub fn backend_namespace(index: &Index) -> &str {
    index
        .spec
        .backend
        .namespace
        .as_deref()
        .unwrap_or(index.metadata.name.as_deref().unwrap_or_default())
}

/// Checks every VectorStore on its own and the defaults of each namespace.
pub fn check_vector_stores(inputs: &Inputs) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut defaults: BTreeMap<&str, Vec<&Sourced<VectorStore>>> = BTreeMap::new();
    for store in &inputs.vector_stores {
        let spec = &store.object.spec;
        // A check asks whether a field it reads failed decoding (see FailedFields) where the
        // failed field would read as a stand-in or a default: a failed optional one is absent.
        let kind_sound = store.is_sound(&FieldPath::keys(&["spec", "kind"]));
        let mode_sound = store.is_sound(&FieldPath::keys(&["spec", "inboundAuth", "mode"]));
        if !spec.kind.is_implemented() && kind_sound {
            out.push(store.diagnostic(
                Code::StoreKindNotImplemented,
                &FieldPath::keys(&["spec", "kind"]),
                format!(
                    "spec.kind={} is reserved but not implemented; use turbopuffer or search",
                    spec.kind.as_str()
                ),
            ));
        }
        if spec.endpoint.url.trim().is_empty()
            && store.is_sound(&FieldPath::keys(&["spec", "endpoint", "url"]))
        {
            out.push(store.diagnostic(
                Code::BlankEndpoint,
                &FieldPath::keys(&["spec", "endpoint", "url"]),
                "must not be blank",
            ));
        }
        if let Some(auth) = &spec.inbound_auth {
            let keys = auth.keys.as_deref().unwrap_or_default();
            if auth.mode == InboundAuthMode::Keys
                && keys.is_empty()
                && mode_sound
                && store.is_sound(&FieldPath::keys(&["spec", "inboundAuth", "keys"]))
            {
                out.push(store.diagnostic(
                    Code::NoInboundKeys,
                    &FieldPath::keys(&["spec", "inboundAuth", "keys"]),
                    "inboundAuth.mode keys needs at least one key",
                ));
            }
        }
        let mode = spec
            .inbound_auth
            .as_ref()
            .map(|a| a.mode)
            .unwrap_or_default();
        if spec.kind == StoreKind::Search
            && mode == InboundAuthMode::DeriveFromStore
            && kind_sound
            && mode_sound
        {
            let field = if spec.inbound_auth.is_some() {
                &FieldPath::keys(&["spec", "inboundAuth", "mode"])
            } else {
                &FieldPath::keys(&["spec", "kind"])
            };
            out.push(store.diagnostic(
                Code::SearchDerivesFromStore,
                field,
                "a search store cannot derive inbound auth from the store; set inboundAuth.mode to keys or open",
            ));
        }
        if spec.default && store.is_sound(&FieldPath::keys(&["spec", "default"])) {
            defaults
                .entry(store.key.namespace.as_deref().unwrap_or_default())
                .or_default()
                .push(store);
        }
    }
    for (namespace, stores) in defaults {
        if stores.len() < 2 {
            continue;
        }
        let mut names: Vec<&str> = stores.iter().map(|s| s.key.name.as_str()).collect();
        names.sort_unstable();
        for store in stores {
            out.push(store.diagnostic(
                Code::MultipleDefaultStores,
                &FieldPath::keys(&["spec", "default"]),
                format!(
                    "multiple default VectorStores found in namespace {namespace}: {}",
                    names.join(",")
                ),
            ));
        }
    }
    out
}

/// Checks that every Index resolves to a store and that no two claim one backend namespace.
pub fn check_indexes(inputs: &Inputs) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut claims: BTreeMap<(&str, &str), Vec<&Sourced<Index>>> = BTreeMap::new();
    for index in &inputs.indexes {
        let namespace = index.key.namespace.as_deref().unwrap_or_default();
        let stores: Vec<&VectorStore> = inputs
            .vector_stores
            .iter()
            .filter(|s| s.key.namespace.as_deref() == Some(namespace))
            .map(|s| &s.object)
            .collect();
        let store_ref = index.object.spec.backend.store_ref.as_deref();
        let field = &if store_ref.is_some() {
            FieldPath::keys(&["spec", "backend", "storeRef"])
        } else {
            FieldPath::keys(&["spec", "backend"])
        };
        // Without storeRef the store is the default one, so every store's `default` counts.
        let resolution_sound = index.is_sound(&FieldPath::keys(&["spec", "backend", "storeRef"]))
            && (store_ref.is_some()
                || (inputs.vector_stores.iter())
                    .filter(|s| s.key.namespace.as_deref() == Some(namespace))
                    .all(|s| s.is_sound(&FieldPath::keys(&["spec", "default"]))));
        if stores.is_empty() {
            out.push(index.diagnostic(
                Code::StoreNotInInput,
                field,
                format!("no VectorStore in the input for namespace {namespace}, so the store cannot be checked (the chart's turbopuffer-default is assumed)"),
            ));
        } else if let Err(problem) = resolve_store(namespace, store_ref, &stores)
            && resolution_sound
        {
            let code = match problem {
                StoreProblem::NotFound { .. } => Code::UnknownStore,
                _ => Code::NoDefaultStore,
            };
            let known: BTreeSet<&str> = stores
                .iter()
                .filter_map(|s| s.metadata.name.as_deref())
                .collect();
            let hint = match &problem {
                StoreProblem::NotFound { store_ref, .. } => {
                    crate::validate::schema::closest(store_ref, known.iter().copied())
                        .map(|c| format!(" (did you mean {c:?}?)"))
                        .unwrap_or_else(|| {
                            format!(
                                " (stores here: {})",
                                known.into_iter().collect::<Vec<_>>().join(", ")
                            )
                        })
                }
                _ => String::new(),
            };
            out.push(index.diagnostic(code, field, format!("{problem}{hint}")));
        }
        if let Some(snapshot) = &index.object.spec.snapshot {
            for (i, field) in snapshot.facet_fields.iter().enumerate() {
                let path = FieldPath::keys(&["spec", "snapshot", "facetFields"]).index(i);
                if field.trim().is_empty() && index.is_sound(&path) {
                    out.push(index.diagnostic(
                        Code::EmptyFacetField,
                        &path,
                        "spec.snapshot.facetFields must not contain empty strings",
                    ));
                }
            }
        }
        let backend_sound = index.is_sound(&FieldPath::keys(&["spec", "backend", "namespace"]))
            && (index.object.spec.backend.namespace.is_some()
                || index.is_sound(&FieldPath::keys(&["metadata", "name"])));
        if backend_sound {
            claims
                .entry((namespace, backend_namespace(&index.object)))
                .or_default()
                .push(index);
        }
    }
    for ((_, backend), indexes) in claims {
        if indexes.len() < 2 {
            continue;
        }
        let mut names: Vec<&str> = indexes.iter().map(|i| i.key.name.as_str()).collect();
        names.sort_unstable();
        for index in indexes {
            let field = &if index.object.spec.backend.namespace.is_some() {
                FieldPath::keys(&["spec", "backend", "namespace"])
            } else {
                FieldPath::keys(&["metadata", "name"])
            };
            out.push(index.diagnostic(
                Code::DuplicateBackendNamespace,
                field,
                format!(
                    "multiple Index CRs resolve to backend namespace '{backend}': {}",
                    names.join(", ")
                ),
            ));
        }
    }
    out
}
