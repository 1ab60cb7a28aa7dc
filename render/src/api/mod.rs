//! The five hev layer custom resources as Rust types, and their CRDs.
//!
//! One file per kind holds its spec, status and enums: [`vector_store`], [`index`],
//! [`infra_rules`], [`pipeline`] and [`function`]. [`workload`] holds the worker and scaling
//! envelope that Pipelines and Functions share, and [`conditions`] the status condition item.
//!
//! The types follow the upstream product's CRDs field for field, so a manifest written for the
//! upstream operator parses unchanged: the same camelCase names, integer widths, enum spellings,
//! nullability and required fields. Every schema default is also a serde default, so
//! deserializing a manifest applies exactly the defaults the API server would, and serializing
//! it again writes every defaulted field and skips every absent optional one (never `null`).
//! The CRDs are generated from these types (`kube::CustomResource`), with the cross-field rules
//! that one object can show as CEL `x-kubernetes-validations`.
//!
//! [`HevKind`] names the five kinds for code that handles untyped documents.

// First, so that its `defaults!` macro is in scope in the kind modules.
#[macro_use]
mod nulls;

pub mod conditions;
pub mod discover;
pub mod family;
mod free_form;
pub mod function;
pub mod index;
pub mod infra_rules;
pub mod pipeline;
pub mod pools;
pub mod vector_store;
pub mod workload;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use conditions::Condition;
pub(crate) use free_form::QUANTITY;
pub use free_form::{FreeForm, FreeFormObject, decode_schema};
pub use function::{Function, FunctionSpec, FunctionStatus, Retry, Trigger};
pub use index::{Index, IndexSpec, IndexStatus, Scan, Search};
pub use infra_rules::{ComputePool, InfraRules, InfraRulesSpec, InfraRulesStatus};
pub use pipeline::{Pipeline, PipelineSpec, PipelineStatus, SourceRef};
pub use vector_store::{VectorStore, VectorStoreSpec, VectorStoreStatus};
pub use workload::{
    ComputeClass, Dispatch, ManagedObject, Replicas, Scaling, ScalingMode, Schedule, Worker,
};

/// The API group of the five kinds.
pub const GROUP: &str = "hevlayer.com";

/// One of the five hev layer kinds.
///
/// The declaration order (VectorStore, Index, InfraRules, Pipeline, Function) is the order of
/// [`HevKind::ALL`] and of [`crds`]: stores first, then what reads them, then the policy, then
/// the two workloads. It follows the upstream docs' list of the five CRDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HevKind {
    /// `VectorStore`, `hevlayer.com/v1alpha1`, namespaced.
    VectorStore,
    /// `Index`, `hevlayer.com/v1`, namespaced.
    Index,
    /// `InfraRules`, `hevlayer.com/v1alpha1`, cluster-scoped.
    InfraRules,
    /// `Pipeline`, `hevlayer.com/v1alpha1`, namespaced.
    Pipeline,
    /// `Function`, `hevlayer.com/v1alpha1`, namespaced.
    Function,
}

impl HevKind {
    /// Every kind, in the stable order of [`crds`].
    pub const ALL: [HevKind; 5] = [
        HevKind::VectorStore,
        HevKind::Index,
        HevKind::InfraRules,
        HevKind::Pipeline,
        HevKind::Function,
    ];

    /// The kind named by a document's `apiVersion` and `kind`, when the group is
    /// `hevlayer.com` and the kind is one of the five.
    ///
    /// The version is not checked: a document with the right group and kind but another
    /// version still names the kind, so the caller can report the wrong version (compare with
    /// [`HevKind::served_version`]) instead of passing the document through as unknown.
    pub fn from_type_meta(api_version: &str, kind: &str) -> Option<HevKind> {
        let (group, _version) = api_version.split_once('/')?;
        if group != GROUP {
            return None;
        }
        HevKind::ALL.into_iter().find(|k| k.kind_str() == kind)
    }

    /// The kind as written in `kind:`.
    pub fn kind_str(self) -> &'static str {
        match self {
            HevKind::VectorStore => "VectorStore",
            HevKind::Index => "Index",
            HevKind::InfraRules => "InfraRules",
            HevKind::Pipeline => "Pipeline",
            HevKind::Function => "Function",
        }
    }

    /// The one version the CRD serves (and stores): `v1` for Index, `v1alpha1` for the others.
    pub fn served_version(self) -> &'static str {
        match self {
            HevKind::Index => "v1",
            _ => "v1alpha1",
        }
    }

    /// The full `apiVersion`, such as `hevlayer.com/v1alpha1`.
    pub fn api_version(self) -> &'static str {
        match self {
            HevKind::Index => "hevlayer.com/v1",
            _ => "hevlayer.com/v1alpha1",
        }
    }

    /// Whether objects of this kind live in a namespace (all but InfraRules).
    pub fn is_namespaced(self) -> bool {
        !matches!(self, HevKind::InfraRules)
    }

    /// The CRD generated from this kind's Rust types.
    pub fn crd(self) -> CustomResourceDefinition {
        match self {
            HevKind::VectorStore => VectorStore::crd(),
            HevKind::Index => Index::crd(),
            HevKind::InfraRules => InfraRules::crd(),
            HevKind::Pipeline => Pipeline::crd(),
            HevKind::Function => Function::crd(),
        }
    }
}

/// The five CRDs, in the order of [`HevKind::ALL`].
pub fn crds() -> Vec<CustomResourceDefinition> {
    HevKind::ALL.into_iter().map(HevKind::crd).collect()
}

/// The `openAPIV3Schema` of a kind's CRD as JSON, for checking untyped input against it.
pub fn crd_schema(kind: HevKind) -> serde_json::Value {
    kind.crd()
        .spec
        .versions
        .into_iter()
        .next()
        .and_then(|v| v.schema)
        .and_then(|s| s.open_api_v3_schema)
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests;
