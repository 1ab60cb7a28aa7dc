//! What the caches keep of each watched object: only what readiness reads.
//!
//! The caches hold every watched object for as long as it exists, so their size is the
//! syncer's memory. Each object loses, before it is cached, the fields no status is computed
//! from: `metadata.managedFields` (often larger than the object) and the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (a second copy of the object,
//! written by client-side apply: Argo CD's default) on everything; and, on children, the pod
//! template and anything else readiness does not read. A Deployment keeps its metadata,
//! `spec.replicas` and `status`; a StatefulSet its `spec.replicas` and `status`; a
//! ScaledObject its `status`; Services and TriggerAuthentications their metadata. CRs keep
//! their spec (its hash is checked against `layer.hev.dev/spec-hash`) and NodePools theirs
//! (their template labels and requirements decide which pools they serve).

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use kube::api::DynamicObject;
use kube::core::ObjectMeta;

/// The client-side apply annotation: a full copy of the object as last applied.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops the metadata no status reads.
pub fn meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// A Deployment without its pod template.
pub fn deployment(d: &mut Deployment) {
    meta(&mut d.metadata);
    d.spec.template = PodTemplateSpec::default();
}

/// A StatefulSet without its pod template and volume claim templates.
pub fn stateful_set(s: &mut StatefulSet) {
    meta(&mut s.metadata);
    s.spec.template = PodTemplateSpec::default();
    s.spec.volume_claim_templates = None;
}

/// A Service's metadata only.
pub fn service(s: &mut Service) {
    meta(&mut s.metadata);
    s.spec = None;
    s.status = None;
}

/// A ScaledObject's metadata and status.
pub fn scaled_object(o: &mut DynamicObject) {
    meta(&mut o.metadata);
    if let Some(data) = o.data.as_object_mut() {
        data.retain(|k, _| k == "status");
    }
}

/// A TriggerAuthentication's metadata only.
pub fn metadata_only(o: &mut DynamicObject) {
    meta(&mut o.metadata);
    o.data = serde_json::Value::Object(serde_json::Map::new());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use kube::Resource;
    use layer_render::api::family::ANNOTATION_RENDER_HASH;
    use serde_json::json;

    use super::*;
    use crate::readiness::fixtures::*;

    fn with_server_fields<K: Resource>(mut o: K) -> K {
        let meta = o.meta_mut();
        meta.managed_fields = Some(vec![yaml(
            "{manager: argocd-controller, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {f:metadata: {}}}",
        )]);
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(LAST_APPLIED.into(), "{\"big\": \"copy\"}".into());
        o
    }

    #[test]
    fn a_pruned_deployment_keeps_what_the_rollout_check_reads() {
        let r = rendered(PIPELINE);
        let full = with_server_fields(r.deployment("embed-worker", 1));
        assert!(
            !full
                .spec
                .template
                .spec
                .as_ref()
                .unwrap()
                .containers
                .is_empty()
        );
        let mut pruned = full.clone();
        deployment(&mut pruned);
        assert_eq!(pruned.spec.template, PodTemplateSpec::default());
        assert_eq!(pruned.metadata.managed_fields, None);
        let annotations = pruned.metadata.annotations.as_ref().unwrap();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(
            annotations.get(ANNOTATION_RENDER_HASH),
            full.metadata
                .annotations
                .as_ref()
                .unwrap()
                .get(ANNOTATION_RENDER_HASH)
        );
        assert_eq!(pruned.metadata.labels, full.metadata.labels);
        assert_eq!(pruned.metadata.generation, full.metadata.generation);
        assert_eq!(pruned.spec.replicas, full.spec.replicas);
        assert_eq!(pruned.status, full.status);
        // Readiness gives the same answer on both.
        let cr = r.pipeline("embed");
        let env = crate::readiness::workload::WorkloadEnv {
            pools: &layer_render::api::pools::effective_pools(None),
            max_replicas_ceiling: 100,
            keda_installed: true,
        };
        let so = r.scaled_object("embed-worker", "True");
        let ta = r.trigger_authentication("embed-worker");
        let mut so_pruned = with_server_fields(so.clone());
        scaled_object(&mut so_pruned);
        let mut ta_pruned = with_server_fields(ta.clone());
        metadata_only(&mut ta_pruned);
        let verdict = |d, so, ta| {
            let children = crate::readiness::workload::Children {
                service: None,
                deployment: Some(d),
                trigger_authentication: Some(ta),
                scaled_object: Some(so),
            };
            crate::readiness::pipeline::assess(&cr, &children, &env).verdict
        };
        assert_eq!(
            verdict(&pruned, &so_pruned, &ta_pruned),
            verdict(&full, &so, &ta)
        );
        assert_eq!(
            verdict(&pruned, &so_pruned, &ta_pruned).reason,
            crate::readiness::Reason::Available
        );
    }

    #[test]
    fn pruned_keda_objects_and_services_keep_metadata_and_status() {
        let mut so = with_server_fields(DynamicObject {
            types: None,
            metadata: yaml("{name: a, annotations: {layer.hev.dev/render-hash: h}}"),
            data: json!({"spec": {"scaleTargetRef": {"name": "a"}}, "status": {"conditions": []}}),
        });
        scaled_object(&mut so);
        assert_eq!(so.data, json!({"status": {"conditions": []}}));
        assert_eq!(
            so.metadata.annotations.unwrap().keys().collect::<Vec<_>>(),
            ["layer.hev.dev/render-hash"]
        );
        let mut svc: Service = with_server_fields(yaml(
            "{metadata: {name: a, labels: {x: y}}, spec: {ports: [{port: 80}]}}",
        ));
        service(&mut svc);
        assert_eq!(svc.spec, None);
        assert_eq!(svc.metadata.labels.unwrap()["x"], "y");
        let mut sts = document_cache(1, 2);
        stateful_set(&mut sts);
        assert_eq!(sts.spec.replicas, Some(2));
        assert_eq!(sts.status.unwrap().ready_replicas, Some(1));
    }
}
