//! Emission: deterministic YAML, in a total apply order, as a stream or a directory tree.
//!
//! The order is fixed (DESIGN.md section 5): EC2NodeClasses, NodePools, other passed-through
//! objects, Services, Deployments, TriggerAuthentications, ScaledObjects, and the hev layer
//! CRs last, because their health depends on their children. Ties break on group, version,
//! kind, namespace and name. Each object becomes YAML text as soon as it is final
//! ([`Emitted`]), so a large render holds text, not JSON trees. Emission returns text and
//! (path, bytes) pairs; only the binary writes files.

pub mod gitops;
pub mod provenance;
pub mod yaml;

use std::cmp::Ordering;

use serde_json::Value;

use crate::key::HEV_GROUP as GROUP;
use crate::key::ObjectKey;

/// One object ready to emit.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// Its identity.
    pub key: ObjectKey,
    /// Its content, as JSON.
    pub value: Value,
}

impl Object {
    /// An object from its JSON, reading the key from `apiVersion`, `kind` and `metadata`.
    pub fn from_value(value: Value) -> Object {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let meta = value.get("metadata");
        let key = ObjectKey::new(
            &text(value.get("apiVersion")),
            &text(value.get("kind")),
            meta.and_then(|m| m.get("namespace"))
                .and_then(Value::as_str),
            &text(meta.and_then(|m| m.get("name"))),
        );
        Object { key, value }
    }
}

/// One object as it is written: its identity and its YAML text.
#[derive(Clone, Debug, PartialEq)]
pub struct Emitted {
    /// Its identity.
    pub key: ObjectKey,
    /// Its YAML document, without the `---` separator.
    pub yaml: String,
}

impl From<Object> for Emitted {
    fn from(object: Object) -> Emitted {
        let yaml = yaml::to_string(&object.value);
        Emitted {
            key: object.key,
            yaml,
        }
    }
}

/// Anything that sorts into apply order by its key.
pub trait Keyed {
    /// The object's identity.
    fn key(&self) -> &ObjectKey;
}

impl Keyed for ObjectKey {
    fn key(&self) -> &ObjectKey {
        self
    }
}

impl Keyed for Object {
    fn key(&self) -> &ObjectKey {
        &self.key
    }
}

impl Keyed for Emitted {
    fn key(&self) -> &ObjectKey {
        &self.key
    }
}

/// The apply-order stage of an object; lower applies first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Karpenter EC2NodeClasses.
    NodeClasses,
    /// Karpenter NodePools.
    NodePools,
    /// Objects render does not know, passed through.
    PassThrough,
    /// Worker Services.
    Services,
    /// Worker Deployments.
    Deployments,
    /// KEDA TriggerAuthentications.
    TriggerAuthentications,
    /// KEDA ScaledObjects.
    ScaledObjects,
    /// The hev layer custom resources.
    CustomResources,
}

impl Stage {
    /// Every stage, in apply order.
    pub const ALL: [Stage; 8] = [
        Stage::NodeClasses,
        Stage::NodePools,
        Stage::PassThrough,
        Stage::Services,
        Stage::Deployments,
        Stage::TriggerAuthentications,
        Stage::ScaledObjects,
        Stage::CustomResources,
    ];

    /// The stage of an object.
    pub fn of(key: &ObjectKey) -> Stage {
        match (key.group.as_str(), key.kind.as_str()) {
            ("karpenter.k8s.aws", "EC2NodeClass") => Stage::NodeClasses,
            ("karpenter.sh", "NodePool") => Stage::NodePools,
            ("", "Service") => Stage::Services,
            ("apps", "Deployment") => Stage::Deployments,
            ("keda.sh", "TriggerAuthentication") => Stage::TriggerAuthentications,
            ("keda.sh", "ScaledObject") => Stage::ScaledObjects,
            // The five kinds render reads; other hevlayer.com kinds (Warehouse, ApiKey, Agent)
            // pass through, and apply before the workloads that read them.
            (GROUP, kind) if CUSTOM_RESOURCE_ORDER.contains(&kind) => Stage::CustomResources,
            _ => Stage::PassThrough,
        }
    }
}

/// Passed-through kinds that others depend on apply first, as in kustomize's legacy order.
const PASS_THROUGH_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "PersistentVolume",
    "PersistentVolumeClaim",
];

/// The hev layer kinds in the order they apply: pools and stores before what uses them.
const CUSTOM_RESOURCE_ORDER: &[&str] =
    &["InfraRules", "VectorStore", "Index", "Pipeline", "Function"];

fn sub_rank(stage: Stage, kind: &str) -> usize {
    let list = match stage {
        Stage::PassThrough => PASS_THROUGH_FIRST,
        Stage::CustomResources => CUSTOM_RESOURCE_ORDER,
        _ => return 0,
    };
    list.iter().position(|k| *k == kind).unwrap_or(list.len())
}

/// Where an object's kind applies: its stage, then its place within the stage.
fn rank(key: &ObjectKey) -> (Stage, usize) {
    let stage = Stage::of(key);
    (stage, sub_rank(stage, &key.kind))
}

fn tie_break(a: &ObjectKey, b: &ObjectKey) -> Ordering {
    (&a.group, &a.version, &a.kind, &a.namespace, &a.name).cmp(&(
        &b.group,
        &b.version,
        &b.kind,
        &b.namespace,
        &b.name,
    ))
}

/// Sorts objects into apply order.
pub fn sort<T: Keyed>(objects: &mut Vec<T>) {
    // Ranking matches strings: do it once per object, not twice per comparison.
    let ranks: Vec<(Stage, usize)> = objects.iter().map(|o| rank(o.key())).collect();
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by(|&a, &b| {
        ranks[a]
            .cmp(&ranks[b])
            .then_with(|| tie_break(objects[a].key(), objects[b].key()))
    });
    let mut slots: Vec<Option<T>> = std::mem::take(objects).into_iter().map(Some).collect();
    *objects = order.iter().filter_map(|&i| slots[i].take()).collect();
}

/// One YAML stream of every object, in the order given.
pub fn stream(objects: &[Emitted]) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and the YAML writer only writes UTF-8.
    let _ = write_stream(objects, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the stream of [`stream`] to `out`.
pub fn write_stream(objects: &[Emitted], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.write_all(b"---\n")?;
        }
        out.write_all(object.yaml.as_bytes())?;
    }
    Ok(())
}

/// The path of an object's file in an `--out` tree:
/// `<namespace>/<group>_<version>_<kind>_<name>.yaml`, the group left out for the core group,
/// and `_cluster/` for objects without a namespace.
pub fn file_path(key: &ObjectKey) -> String {
    let dir = key.namespace.as_deref().unwrap_or("_cluster");
    let group = if key.group.is_empty() {
        String::new()
    } else {
        format!("{}_", key.group)
    };
    format!(
        "{dir}/{group}{}_{}_{}.yaml",
        key.version, key.kind, key.name
    )
}

/// A file of an `--out` tree.
#[derive(Clone, Debug, PartialEq)]
pub struct OutFile {
    /// Its path in the tree, with `/`.
    pub path: String,
    /// Its text.
    pub text: String,
    /// The identity of the one object it holds, when render made that object: not for a
    /// kustomization or a stream of Flux Kustomizations. `check` takes it from here instead
    /// of reading the text back.
    pub object: Option<ObjectKey>,
}

impl OutFile {
    /// A file that holds no object of the render.
    pub fn other(path: impl Into<String>, text: String) -> Self {
        OutFile {
            path: path.into(),
            text,
            object: None,
        }
    }
}

impl From<Emitted> for OutFile {
    /// The object's own file, at [`file_path`].
    fn from(object: Emitted) -> Self {
        OutFile {
            path: file_path(&object.key),
            text: object.yaml,
            object: Some(object.key),
        }
    }
}

/// The files of an `--out` tree: one per object, plus `kustomization.yaml` listing them in
/// apply order. `sortOptions: fifo` keeps kustomize from re-sorting them.
pub fn tree(objects: Vec<Emitted>) -> Vec<OutFile> {
    let mut files: Vec<OutFile> = objects.into_iter().map(OutFile::from).collect();
    let resources: Vec<Value> = files
        .iter()
        .map(|f| Value::String(f.path.clone()))
        .collect();
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "sortOptions": {"order": "fifo"},
    });
    files.push(OutFile::other(
        "kustomization.yaml",
        yaml::to_string(&kustomization),
    ));
    files
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn key(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey::new(api_version, kind, ns, name)
    }

    #[test]
    fn apply_order_follows_the_design() {
        let mut keys = vec![
            key("hevlayer.com/v1alpha1", "Pipeline", Some("a"), "p"),
            key("keda.sh/v1alpha1", "ScaledObject", Some("a"), "p-worker"),
            key(
                "keda.sh/v1alpha1",
                "TriggerAuthentication",
                Some("a"),
                "p-worker",
            ),
            key("apps/v1", "Deployment", Some("a"), "p-worker"),
            key("v1", "Service", Some("a"), "p-worker"),
            key("v1", "ConfigMap", Some("a"), "c"),
            key("v1", "Namespace", None, "a"),
            key("karpenter.sh/v1", "NodePool", None, "worker-cpu"),
            key("karpenter.k8s.aws/v1", "EC2NodeClass", None, "worker-cpu"),
            key("hevlayer.com/v1alpha1", "InfraRules", None, "default"),
            key("hevlayer.com/v1", "Index", Some("a"), "i"),
        ];
        sort(&mut keys);
        let kinds: Vec<_> = keys.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "EC2NodeClass",
                "NodePool",
                "Namespace",
                "ConfigMap",
                "Service",
                "Deployment",
                "TriggerAuthentication",
                "ScaledObject",
                "InfraRules",
                "Index",
                "Pipeline"
            ]
        );
    }

    #[test]
    fn ties_break_on_namespace_then_name() {
        let mut keys = vec![
            key("apps/v1", "Deployment", Some("b"), "a"),
            key("apps/v1", "Deployment", Some("a"), "z"),
            key("apps/v1", "Deployment", Some("a"), "b"),
        ];
        sort(&mut keys);
        let names: Vec<_> = keys
            .iter()
            .map(|k| format!("{}/{}", k.namespace.as_deref().unwrap(), k.name))
            .collect();
        assert_eq!(names, ["a/b", "a/z", "b/a"]);
    }

    #[test]
    fn file_paths_follow_the_layout() {
        assert_eq!(
            file_path(&key("apps/v1", "Deployment", Some("shop"), "x")),
            "shop/apps_v1_Deployment_x.yaml"
        );
        assert_eq!(
            file_path(&key("v1", "Service", Some("shop"), "x")),
            "shop/v1_Service_x.yaml"
        );
        assert_eq!(
            file_path(&key("hevlayer.com/v1alpha1", "InfraRules", None, "default")),
            "_cluster/hevlayer.com_v1alpha1_InfraRules_default.yaml"
        );
    }

    #[test]
    fn the_kustomization_lists_files_in_apply_order() {
        let objects: Vec<Emitted> = [
            serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}),
        ]
        .into_iter()
        .map(|v| Object::from_value(v).into())
        .collect();
        let files = tree(objects);
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[2],
            OutFile::other(
                "kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- n/v1_Service_s.yaml\n- n/apps_v1_Deployment_d.yaml\nsortOptions:\n  order: fifo\n".to_string()
            )
        );
        assert_eq!(files[0].path, "n/v1_Service_s.yaml");
        assert_eq!(
            files[0].object,
            Some(ObjectKey::new("v1", "Service", Some("n"), "s"))
        );
    }
}
