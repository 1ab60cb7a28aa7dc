//! Which CRs a watch event touches. Children name their parent through the owner labels that
//! render stamps (`layer.hev.dev/owner-kind`, `layer.hev.dev/owner-name`): there are no
//! ownerReferences to follow.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use layer_render::api::HevKind;
use layer_render::key::ObjectKey;
use layer_render::workload::{LABEL_MANAGED_BY, LABEL_OWNER_KIND, LABEL_OWNER_NAME, MANAGED_BY};

/// A set of CRs to evaluate again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dirty {
    /// One CR.
    One(ObjectKey),
    /// Every CR of a kind in one namespace.
    Namespace(HevKind, String),
    /// Every CR of a kind.
    All(HevKind),
    /// Every CR (after a relist, a new CRD, a leadership change, or a periodic resync).
    Everything,
}

/// The key of a hev layer CR.
pub fn cr_key(kind: HevKind, meta: &ObjectMeta) -> ObjectKey {
    ObjectKey::new(
        kind.api_version(),
        kind.kind_str(),
        meta.namespace.as_deref().filter(|_| kind.is_namespaced()),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// What a change to a hev layer CR touches: itself, and the CRs whose status reads it.
pub fn of_cr(kind: HevKind, meta: &ObjectMeta) -> Vec<Dirty> {
    let key = cr_key(kind, meta);
    let ns = meta.namespace.clone().unwrap_or_default();
    match kind {
        // Default uniqueness spans the namespace's stores; its Indexes resolve to them.
        HevKind::VectorStore => vec![
            Dirty::Namespace(HevKind::VectorStore, ns.clone()),
            Dirty::Namespace(HevKind::Index, ns),
        ],
        // Backend-namespace conflicts span the namespace; any Function may select an Index.
        HevKind::Index => vec![
            Dirty::Namespace(HevKind::Index, ns),
            Dirty::All(HevKind::Function),
        ],
        // Pools decide every workload's pool check.
        HevKind::InfraRules => vec![
            Dirty::One(key),
            Dirty::All(HevKind::Pipeline),
            Dirty::All(HevKind::Function),
        ],
        HevKind::Pipeline | HevKind::Function => vec![Dirty::One(key)],
    }
}

/// The workload a rendered child belongs to, from its owner labels; `None` for objects that
/// render did not produce for a Pipeline or Function.
pub fn of_child(meta: &ObjectMeta) -> Option<Dirty> {
    let labels = meta.labels.as_ref()?;
    if labels.get(LABEL_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY) {
        return None;
    }
    let kind = match labels.get(LABEL_OWNER_KIND)?.as_str() {
        "Pipeline" => HevKind::Pipeline,
        "Function" => HevKind::Function,
        _ => return None,
    };
    let name = labels.get(LABEL_OWNER_NAME)?;
    Some(Dirty::One(ObjectKey::new(
        kind.api_version(),
        kind.kind_str(),
        meta.namespace.as_deref(),
        name,
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn meta(yaml: &str) -> ObjectMeta {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_child_maps_to_its_owner_in_its_namespace() {
        let m = meta(
            "{name: embed-worker, namespace: shop, labels: {app.kubernetes.io/managed-by: layer-render, layer.hev.dev/owner-kind: Function, layer.hev.dev/owner-name: embed}}",
        );
        assert_eq!(
            of_child(&m),
            Some(Dirty::One(ObjectKey::new(
                "hevlayer.com/v1alpha1",
                "Function",
                Some("shop"),
                "embed"
            )))
        );
    }

    #[test]
    fn an_object_render_did_not_make_maps_to_nothing() {
        let foreign = meta(
            "{name: x, namespace: shop, labels: {app.kubernetes.io/managed-by: helm, layer.hev.dev/owner-kind: Pipeline, layer.hev.dev/owner-name: x}}",
        );
        assert_eq!(of_child(&foreign), None);
        let unknown_owner = meta(
            "{name: x, namespace: shop, labels: {app.kubernetes.io/managed-by: layer-render, layer.hev.dev/owner-kind: Index, layer.hev.dev/owner-name: x}}",
        );
        assert_eq!(of_child(&unknown_owner), None);
        assert_eq!(of_child(&meta("{name: x}")), None);
    }

    #[test]
    fn infra_rules_touch_every_workload() {
        let dirty = of_cr(HevKind::InfraRules, &meta("{name: default}"));
        assert!(dirty.contains(&Dirty::All(HevKind::Pipeline)));
        assert!(dirty.contains(&Dirty::All(HevKind::Function)));
        assert_eq!(
            dirty[0],
            Dirty::One(ObjectKey::new(
                "hevlayer.com/v1alpha1",
                "InfraRules",
                None,
                "default"
            ))
        );
    }

    #[test]
    fn a_store_touches_its_namespaces_indexes() {
        let dirty = of_cr(HevKind::VectorStore, &meta("{name: tp, namespace: layer}"));
        assert!(dirty.contains(&Dirty::Namespace(HevKind::Index, "layer".into())));
    }
}
