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

use crate::emit::{Object, Stage};
use crate::hash::{canonical_json, content_hash};
use crate::workload::{
    ANNOTATION_CHILDREN, ANNOTATION_RENDER_HASH, ANNOTATION_SPEC_HASH, LABEL_MANAGED_BY,
    LABEL_OWNER_KIND, LABEL_OWNER_NAME, MANAGED_BY,
};

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
    value.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// The owner of a child: its namespace and the kind and name of its CR.
type Owner = (Option<String>, String, String);

fn owner(object: &Object) -> Option<Owner> {
    match (
        label(&object.value, LABEL_MANAGED_BY),
        label(&object.value, LABEL_OWNER_KIND),
        label(&object.value, LABEL_OWNER_NAME),
    ) {
        (Some(MANAGED_BY), Some(kind), Some(name)) => Some((
            object.key.namespace.clone(),
            kind.to_string(),
            name.to_string(),
        )),
        _ => None,
    }
}

/// Stamps every hash. Children are objects labelled as managed by render with an owner.
/// Hashing dominates and each object hashes on its own, so it runs on every core.
pub fn link(objects: &mut [Object]) {
    // Children carry no render-hash yet, so their content is hashed as it is.
    crate::par::for_each_mut(objects, |object| {
        if owner(object).is_some() {
            let hash = content_hash(&object.value);
            if let Some(map) = annotations(&mut object.value) {
                map.insert(ANNOTATION_RENDER_HASH.into(), Value::String(hash));
            }
        }
    });
    let mut children: BTreeMap<Owner, BTreeMap<String, String>> = BTreeMap::new();
    for object in objects.iter() {
        let Some(owner) = owner(object) else { continue };
        let hash = object
            .value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION_RENDER_HASH));
        if let Some(Value::String(hash)) = hash {
            children.entry(owner).or_default().insert(
                format!("{}/{}", object.key.kind, object.key.name),
                hash.clone(),
            );
        }
    }
    // Only the five kinds render reads: a passed-through Warehouse stays untouched.
    let children = &children;
    crate::par::for_each_mut(objects, |object| {
        if Stage::of(&object.key) != Stage::CustomResources {
            return;
        }
        let hash = spec_hash(&object.value);
        let id = (
            object.key.namespace.clone(),
            object.key.kind.clone(),
            object.key.name.clone(),
        );
        let owned = children.get(&id);
        let Some(map) = annotations(&mut object.value) else {
            return;
        };
        map.insert(ANNOTATION_SPEC_HASH.into(), Value::String(hash));
        if let Some(owned) = owned {
            let json: Map<String, Value> = owned
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            map.insert(
                ANNOTATION_CHILDREN.into(),
                Value::String(canonical_json(&Value::Object(json))),
            );
        }
    });
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
        link(&mut objs);
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
        link(&mut a);
        link(&mut b);
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
