//! Linkage without ownerReferences: content hashes that tie children to their parent CR.
//!
//! Every child carries `layer.hev.dev/render-hash`, the hash of its own rendered content
//! without that annotation. Every hev layer CR carries `layer.hev.dev/spec-hash`, the hash of
//! its spec after defaults, and a workload CR carries `layer.hev.dev/children`, a compact
//! sorted map from each child's `Kind/name` to its render hash. The syncer compares them with
//! what is live to tell a stale render; it needs no profile to do so. Linking runs last, after
//! every other annotation is in place, so the hashes cover the bytes that are emitted.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::api::family::{
    ANNOTATION_CHILDREN, ANNOTATION_RENDER_HASH, ANNOTATION_SPEC_HASH, LABEL_MANAGED_BY,
    LABEL_OWNER_KIND, LABEL_OWNER_NAME, MANAGED_BY,
};
use crate::emit::{Object, Stage};
use crate::hash::{canonical_json, content_hash};
use crate::validate::objects::Sourced;

/// The spec hash of a CR's JSON: the hash of its `spec`.
pub fn spec_hash(cr: &Value) -> String {
    content_hash(cr.get("spec").unwrap_or(&Value::Null))
}

/// The render hash of a child's JSON: the hash of everything but that annotation.
pub fn render_hash(child: &Value) -> String {
    let mut copy = child.clone();
    if let Some(annotations) = copy
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(ANNOTATION_RENDER_HASH);
        if annotations.is_empty()
            && let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("annotations");
        }
    }
    content_hash(&copy)
}

fn annotations(value: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = value.get_mut("metadata")?.as_object_mut()?;
    meta.entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

fn label<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// The owner of a child: its namespace and the kind and name of its CR.
type Owner = (Option<String>, String, String);

/// The kind and name of the CR that an object is labelled as a child of.
fn owner_labels(value: &Value) -> Option<(&str, &str)> {
    match (
        label(value, LABEL_MANAGED_BY),
        label(value, LABEL_OWNER_KIND),
        label(value, LABEL_OWNER_NAME),
    ) {
        (Some(MANAGED_BY), Some(kind), Some(name)) => Some((kind, name)),
        _ => None,
    }
}

fn owner(object: &Object) -> Option<Owner> {
    let (kind, name) = owner_labels(&object.value)?;
    Some((
        object.key.namespace.clone(),
        kind.to_string(),
        name.to_string(),
    ))
}

/// The render hashes of children by owner: for each CR, `Kind/name` to hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Children(BTreeMap<Owner, BTreeMap<String, String>>);

impl Children {
    /// Stamps the render hash on every child among `objects` and collects the hashes. Children
    /// are objects labelled as managed by render with an owner.
    pub fn stamp(objects: &mut [Object]) -> Children {
        let mut children = Children::default();
        for object in objects {
            let Some(owner) = owner(object) else { continue };
            // A child carries no render-hash yet, so its content is hashed as it is.
            let hash = content_hash(&object.value);
            if let Some(map) = annotations(&mut object.value) {
                map.insert(ANNOTATION_RENDER_HASH.into(), Value::String(hash.clone()));
            }
            children
                .0
                .entry(owner)
                .or_default()
                .insert(format!("{}/{}", object.key.kind, object.key.name), hash);
        }
        children
    }
}

/// Copies of the passed-through objects labelled as children of a CR. Each is emitted on
/// its own, so its owner's family learns its hash from these.
pub fn strays(pass_through: &[Sourced<Value>]) -> Vec<Object> {
    pass_through
        .iter()
        .filter(|o| owner_labels(&o.object).is_some())
        .map(|o| Object {
            key: o.key.clone(),
            value: o.object.clone(),
        })
        .collect()
}

/// Stamps every hash in one family: a workload CR with the children render made for it, or
/// one object on its own. Every hash is local to its family, so families link independently
/// and can be written out as soon as they are linked. `outside` holds the children that are
/// not in their owner's family: passed-through objects labelled with an owner.
pub fn link(family: &mut [Object], outside: &Children) {
    let inside = Children::stamp(family);
    // Only the five kinds render reads: a passed-through Warehouse stays untouched.
    for object in family {
        if Stage::of(&object.key) != Stage::CustomResources {
            continue;
        }
        let hash = spec_hash(&object.value);
        let id = (
            object.key.namespace.clone(),
            object.key.kind.clone(),
            object.key.name.clone(),
        );
        let mut owned: Map<String, Value> = Map::new();
        for children in [&inside, outside] {
            for (k, v) in children.0.get(&id).into_iter().flatten() {
                owned.insert(k.clone(), Value::String(v.clone()));
            }
        }
        let Some(map) = annotations(&mut object.value) else {
            continue;
        };
        map.insert(ANNOTATION_SPEC_HASH.into(), Value::String(hash));
        if !owned.is_empty() {
            map.insert(
                ANNOTATION_CHILDREN.into(),
                Value::String(canonical_json(&Value::Object(owned))),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Vec<Object> {
        let labels = json!({LABEL_MANAGED_BY: MANAGED_BY, LABEL_OWNER_KIND: "Pipeline", LABEL_OWNER_NAME: "p"});
        vec![
            Object::from_value(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p-worker", "namespace": "n", "labels": labels}, "spec": {"x": 1}}),
            ),
            Object::from_value(
                json!({"apiVersion": "hevlayer.com/v1alpha1", "kind": "Pipeline", "metadata": {"name": "p", "namespace": "n"}, "spec": {"a": 1}}),
            ),
        ]
    }

    #[test]
    fn the_parent_records_each_child_hash() {
        let mut objs = objects();
        link(&mut objs, &Children::default());
        let child_hash = objs[0]
            .value
            .pointer("/metadata/annotations/layer.hev.dev~1render-hash")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        let children = objs[1]
            .value
            .pointer("/metadata/annotations/layer.hev.dev~1children")
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(
            children,
            format!("{{\"Deployment/p-worker\":\"{child_hash}\"}}")
        );
        assert_eq!(render_hash(&objs[0].value), child_hash);
    }

    #[test]
    fn a_child_change_changes_only_that_child_and_the_map() {
        let mut a = objects();
        let mut b = objects();
        b[0].value["spec"]["x"] = json!(2);
        link(&mut a, &Children::default());
        link(&mut b, &Children::default());
        assert_ne!(a[0].value, b[0].value);
        let spec = |o: &Object| {
            o.value
                .pointer("/metadata/annotations/layer.hev.dev~1spec-hash")
                .cloned()
        };
        assert_eq!(spec(&a[1]), spec(&b[1]));
        assert_ne!(a[1].value, b[1].value);
    }
}
