//! Object identity: one `ObjectKey` for emit, diff and the syncer.
//!
//! Identity is (group, version, kind, namespace, name), like kustomize's `resid`. It ignores
//! `resourceVersion`, `uid` and everything else that the API server changes.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

/// The API group of the hev layer custom resources.
pub const HEV_GROUP: &str = "hevlayer.com";

/// The identity of one Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// API group; empty for the core group.
    pub group: String,
    /// API version without the group, such as `v1`.
    pub version: String,
    /// Kind, such as `Deployment`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// What makes two objects the same object: the key without its version, as the API server
/// and `diff` see it (moving a HorizontalPodAutoscaler to `autoscaling/v2` keeps the object).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identity<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

/// Whether an object kept apart from a comparison (because it is equal on both sides) shares
/// its identity with another one kept apart, or with one of `others`: then the comparison
/// must see them all, to report the duplicate.
pub fn shares_identity<'a>(
    apart: impl IntoIterator<Item = &'a ObjectKey>,
    others: impl IntoIterator<Item = &'a ObjectKey>,
) -> bool {
    let mut seen = HashSet::new();
    !apart.into_iter().all(|key| seen.insert(key.identity()))
        || others.into_iter().any(|key| seen.contains(&key.identity()))
}

impl ObjectKey {
    /// The object's identity: its key without the version.
    pub fn identity(&self) -> Identity<'_> {
        Identity {
            group: &self.group,
            kind: &self.kind,
            namespace: self.namespace.as_deref(),
            name: &self.name,
        }
    }

    /// A key from an `apiVersion` string (`group/version` or `version`), kind, namespace and name.
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        let (group, version) = split_api_version(api_version);
        ObjectKey {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// An object known by its kind alone: its name is missing, or not one Kubernetes could
    /// hold. It shows as `Kind`.
    pub fn kind_only(kind: &str) -> Self {
        ObjectKey::new("", kind, None, "")
    }

    /// The `apiVersion` string: `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Kind/namespace/name`, or `Kind/name` when cluster-scoped: the form diagnostics use;
    /// `Kind` for a key known by its kind alone ([`ObjectKey::kind_only`]).
    pub fn display_ref(&self) -> String {
        match (&self.namespace, self.name.is_empty()) {
            (_, true) => self.kind.clone(),
            (Some(ns), false) => format!("{}/{}/{}", self.kind, ns, self.name),
            (None, false) => format!("{}/{}", self.kind, self.name),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_ref())
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_group_has_no_slash() {
        let key = ObjectKey::new("v1", "Service", Some("shop"), "embed-worker");
        assert_eq!(key.group, "");
        assert_eq!(key.api_version(), "v1");
        assert_eq!(key.to_string(), "Service/shop/embed-worker");
    }

    #[test]
    fn cluster_scoped_ref_has_no_namespace() {
        let key = ObjectKey::new("hevlayer.com/v1alpha1", "InfraRules", None, "default");
        assert_eq!(key.group, "hevlayer.com");
        assert_eq!(key.version, "v1alpha1");
        assert_eq!(key.display_ref(), "InfraRules/default");
    }

    #[test]
    fn a_key_without_a_name_shows_its_kind() {
        assert_eq!(ObjectKey::kind_only("Pipeline").to_string(), "Pipeline");
    }
}
