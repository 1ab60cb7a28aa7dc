//! Which CRs a watch event touches. Children name their parent through the owner labels that
//! render stamps (`layer.hev.dev/owner-kind`, `layer.hev.dev/owner-name`): there are no
//! ownerReferences to follow.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use layer_render::api::HevKind;
use layer_render::api::family::{LABEL_MANAGED_BY, LABEL_OWNER_KIND, LABEL_OWNER_NAME, MANAGED_BY};
use layer_render::key::ObjectKey;

/// A set of CRs to evaluate again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// What a change to a CR touches when only its status changed (most often the syncer's own
/// write coming back): itself, and for a VectorStore the Indexes that read its `Ready`.
pub fn of_status(kind: HevKind, meta: &ObjectMeta) -> Vec<Dirty> {
    let key = cr_key(kind, meta);
    match kind {
        HevKind::VectorStore => vec![
            Dirty::One(key),
            Dirty::Namespace(HevKind::Index, meta.namespace.clone().unwrap_or_default()),
        ],
        _ => vec![Dirty::One(key)],
    }
}

/// Remembers what other CRs read of each CR of one kind (its spec, through `generation`, and
/// its labels), so that an event changing neither touches only what [`of_status`] says.
/// Without it, every status written to an Index re-evaluated every Function, and one
/// written to InfraRules/default every workload.
#[derive(Debug, Default)]
pub struct Dependents {
    seen: HashMap<ObjectKey, Fingerprint>,
}

/// What other CRs read of a CR: its `generation` (the spec) and its labels.
type Fingerprint = (Option<i64>, Option<BTreeMap<String, String>>);

impl Dependents {
    /// What an applied (or, with `deleted`, deleted) CR touches.
    pub fn touched(&mut self, kind: HevKind, meta: &ObjectMeta, deleted: bool) -> Vec<Dirty> {
        let key = cr_key(kind, meta);
        let changed = if deleted {
            self.seen.remove(&key);
            true
        } else {
            let print = (meta.generation, meta.labels.clone());
            self.seen.insert(key, print.clone()) != Some(print)
        };
        if changed {
            of_cr(kind, meta)
        } else {
            of_status(kind, meta)
        }
    }

    /// Forgets everything (on a relist, which may hide deletions): the next event of each CR
    /// touches its dependents once more.
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

/// The smallest list of [`Dirty`] sets that covers `dirty`: duplicates dropped, CRs and
/// namespaces covered by a whole kind dropped, everything when anything says everything.
/// Hundreds of Index events in one round used to expand every Function hundreds of times.
pub fn coalesce(dirty: &[Dirty]) -> Vec<Dirty> {
    if dirty.contains(&Dirty::Everything) {
        return vec![Dirty::Everything];
    }
    let whole: HashSet<HevKind> = dirty
        .iter()
        .filter_map(|d| match d {
            Dirty::All(kind) => Some(*kind),
            _ => None,
        })
        .collect();
    let namespaces: HashSet<(HevKind, &str)> = dirty
        .iter()
        .filter_map(|d| match d {
            Dirty::Namespace(kind, ns) if !whole.contains(kind) => Some((*kind, ns.as_str())),
            _ => None,
        })
        .collect();
    let mut seen = HashSet::new();
    dirty
        .iter()
        .filter(|d| match d {
            Dirty::One(key) => {
                HevKind::from_type_meta(&key.api_version(), &key.kind).is_none_or(|kind| {
                    !whole.contains(&kind)
                        && !namespaces
                            .contains(&(kind, key.namespace.as_deref().unwrap_or_default()))
                })
            }
            _ => true,
        })
        .filter(|d| seen.insert(*d))
        .cloned()
        .collect()
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

    fn pipeline(name: &str) -> Dirty {
        Dirty::One(ObjectKey::new(
            "hevlayer.com/v1alpha1",
            "Pipeline",
            Some("shop"),
            name,
        ))
    }

    #[test]
    fn dirty_sets_coalesce_to_the_fewest_that_cover_them() {
        let index_ns = Dirty::Namespace(HevKind::Index, "layer".into());
        let index = Dirty::One(ObjectKey::new(
            "hevlayer.com/v1",
            "Index",
            Some("layer"),
            "products",
        ));
        let functions = Dirty::All(HevKind::Function);
        let function = Dirty::One(ObjectKey::new(
            "hevlayer.com/v1alpha1",
            "Function",
            Some("shop"),
            "classify",
        ));
        let many: Vec<Dirty> = std::iter::repeat_n(
            [index.clone(), index_ns.clone(), functions.clone(), function],
            500,
        )
        .flatten()
        .chain([pipeline("a"), pipeline("b"), pipeline("a")])
        .collect();
        assert_eq!(
            coalesce(&many),
            [index_ns, functions, pipeline("a"), pipeline("b")]
        );
        assert_eq!(
            coalesce(&[pipeline("a"), Dirty::Everything]),
            [Dirty::Everything]
        );
    }

    #[test]
    fn a_status_only_change_touches_only_the_cr_itself() {
        let mut deps = Dependents::default();
        let index = meta("{name: products, namespace: layer, generation: 1, labels: {app: shop}}");
        let all = of_cr(HevKind::Index, &index);
        assert!(all.contains(&Dirty::All(HevKind::Function)));
        // First seen: its dependents.
        assert_eq!(deps.touched(HevKind::Index, &index, false), all);
        // Same generation and labels (a status write): itself only.
        let own = deps.touched(HevKind::Index, &index, false);
        assert_eq!(own, [Dirty::One(cr_key(HevKind::Index, &index))]);
        // A new label, a new spec, a deletion, a relist: the dependents again.
        let relabelled =
            meta("{name: products, namespace: layer, generation: 1, labels: {app: web}}");
        assert_eq!(deps.touched(HevKind::Index, &relabelled, false), all);
        let respecced =
            meta("{name: products, namespace: layer, generation: 2, labels: {app: web}}");
        assert_eq!(deps.touched(HevKind::Index, &respecced, false), all);
        assert_eq!(deps.touched(HevKind::Index, &respecced, false), own);
        deps.clear();
        assert_eq!(deps.touched(HevKind::Index, &respecced, false), all);
        assert_eq!(deps.touched(HevKind::Index, &respecced, true), all);
        // A store's status is read by its namespace's Indexes.
        let store = meta("{name: tp, namespace: layer, generation: 1}");
        deps.touched(HevKind::VectorStore, &store, false);
        assert!(
            deps.touched(HevKind::VectorStore, &store, false)
                .contains(&Dirty::Namespace(HevKind::Index, "layer".into()))
        );
    }

    #[test]
    fn a_store_touches_its_namespaces_indexes() {
        let dirty = of_cr(HevKind::VectorStore, &meta("{name: tp, namespace: layer}"));
        assert!(dirty.contains(&Dirty::Namespace(HevKind::Index, "layer".into())));
    }
}
