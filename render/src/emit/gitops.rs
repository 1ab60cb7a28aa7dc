//! GitOps engines: Argo CD sync waves, and a Flux layout of ordered Kustomizations.
//!
//! Both follow the apply order of [`Stage`]: node classes and pools, other objects, Services,
//! Deployments, TriggerAuthentications, ScaledObjects, and the hev layer CRs last. The CRs
//! must come last because their health depends on their children: in an earlier wave an
//! unhealthy CR would hold back the waves that bring the children, and a fresh sync would never
//! finish.

use serde_json::{Value, json};

use crate::emit::{Emitted, Object, OutFile, Stage, yaml};
use crate::profile::Flux;

/// The Argo CD annotation that orders a sync.
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// The Argo CD wave of a stage. Objects render passes through stay in Argo's default wave 0
/// and are not touched: pools come before them, workloads after.
pub fn argo_wave(stage: Stage) -> Option<i32> {
    match stage {
        Stage::NodeClasses => Some(-2),
        Stage::NodePools => Some(-1),
        Stage::PassThrough => None,
        Stage::Services => Some(1),
        Stage::Deployments => Some(2),
        Stage::TriggerAuthentications => Some(3),
        Stage::ScaledObjects => Some(4),
        Stage::CustomResources => Some(5),
    }
}

/// Adds the sync-wave annotation to an object render produced; passed-through objects keep
/// theirs. It runs before linkage, so the render hash covers the wave.
pub fn annotate_argo(object: &mut Object) {
    let Some(wave) = argo_wave(Stage::of(&object.key)) else {
        return;
    };
    let Some(meta) = object
        .value
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if let Some(map) = annotations.as_object_mut() {
        map.insert(SYNC_WAVE.into(), Value::String(wave.to_string()));
    }
}

/// The three Flux Kustomizations, in dependency order, and the stages each applies.
pub const FLUX_GROUPS: [(&str, &[Stage]); 3] = [
    (
        "pools",
        &[Stage::NodeClasses, Stage::NodePools, Stage::PassThrough],
    ),
    (
        "workloads",
        &[
            Stage::Services,
            Stage::Deployments,
            Stage::TriggerAuthentications,
            Stage::ScaledObjects,
        ],
    ),
    ("resources", &[Stage::CustomResources]),
];

/// The name of the Flux Kustomization for a group.
pub fn flux_name(group: &str) -> String {
    format!("layer-{group}")
}

fn kustomization(resources: Vec<Value>) -> String {
    yaml::to_string(&json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "sortOptions": {"order": "fifo"},
    }))
}

/// The Flux layout of an `--out` tree: one directory per group with its own
/// `kustomization.yaml`, and at the top the Flux Kustomizations that apply them in order
/// (`dependsOn`, `wait: true` so each waits for the health of the one before). Point a Flux
/// Kustomization at the top directory, or add `layer-kustomizations.yaml` to an existing one.
pub fn flux_tree(objects: Vec<Emitted>, flux: &Flux) -> Vec<OutFile> {
    let mut grouped: [Vec<Emitted>; FLUX_GROUPS.len()] = Default::default();
    for object in objects {
        let stage = Stage::of(&object.key);
        if let Some(i) = FLUX_GROUPS.iter().position(|(_, s)| s.contains(&stage)) {
            grouped[i].push(object);
        }
    }
    let mut files = Vec::new();
    let mut flux_objects = Vec::new();
    let base = flux.path.trim_end_matches('/');
    for (i, ((group, _), objects)) in FLUX_GROUPS.iter().zip(grouped).enumerate() {
        let mut resources = Vec::new();
        for object in objects {
            let mut file = OutFile::from(object);
            resources.push(Value::String(file.path.clone()));
            file.path = format!("{group}/{}", file.path);
            files.push(file);
        }
        files.push(OutFile::other(
            format!("{group}/kustomization.yaml"),
            kustomization(resources),
        ));
        let mut spec = json!({
            "interval": "10m",
            "path": format!("{base}/{group}"),
            "prune": true,
            "wait": true,
            "timeout": "10m",
            "sourceRef": {
                "kind": flux.source_ref.kind,
                "name": flux.source_ref.name,
                "namespace": flux.source_ref.namespace,
            },
        });
        if i > 0 {
            spec["dependsOn"] = json!([{"name": flux_name(FLUX_GROUPS[i - 1].0)}]);
        }
        flux_objects.push(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": flux_name(group), "namespace": flux.source_ref.namespace},
            "spec": spec,
        }));
    }
    files.push(OutFile::other(
        "layer-kustomizations.yaml",
        yaml::to_stream(flux_objects.iter()),
    ));
    files.push(OutFile::other(
        "kustomization.yaml",
        kustomization(vec![json!("layer-kustomizations.yaml")]),
    ));
    files
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn waves_follow_the_apply_order_and_crs_come_last() {
        let waves: Vec<Option<i32>> = Stage::ALL.iter().map(|s| argo_wave(*s)).collect();
        let numbered: Vec<i32> = waves.iter().map(|w| w.unwrap_or(0)).collect();
        let mut sorted = numbered.clone();
        sorted.sort();
        assert_eq!(numbered, sorted, "waves must rise with the stage order");
        assert_eq!(numbered.last(), Some(&5));
        assert_eq!(
            numbered.iter().filter(|w| **w == 5).count(),
            1,
            "only the CRs are in the last wave"
        );
    }

    #[test]
    fn passed_through_objects_are_not_annotated() {
        let mut objects = [
            Object::from_value(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            ),
            Object::from_value(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}),
            ),
        ];
        objects.iter_mut().for_each(annotate_argo);
        assert_eq!(objects[0].value["metadata"].get("annotations"), None);
        assert_eq!(objects[1].value["metadata"]["annotations"][SYNC_WAVE], "2");
    }
}
