//! Test builders: CRs and their children rendered by the real `layer-render` pipeline, then
//! given the live state (rollout, KEDA, probe) a cluster would add.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::jiff::Timestamp;
use kube::api::DynamicObject;
use layer_render::api::{Function, Index, InfraRules, Pipeline, VectorStore};
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render_json};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Clock;

/// The clock of most tests.
pub fn clock() -> Clock {
    Clock {
        now: "2025-06-01T12:00:00Z".parse::<Timestamp>().unwrap(),
        stall_after: Duration::from_secs(600),
    }
}

/// `clock()` moved on by `secs`.
pub fn later(secs: u64) -> Clock {
    let c = clock();
    Clock {
        now: c.now + Duration::from_secs(secs),
        ..c
    }
}

/// Parses inline YAML.
pub fn yaml<T: DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Everything one `layer-render` run emits for `input`, as JSON.
pub struct Rendered {
    /// The objects in apply order.
    pub objects: Vec<Value>,
}

/// Renders `input` with the default profile; panics on any error.
pub fn rendered(input: &str) -> Rendered {
    let loaded = load_str("input.yaml", input, &Limits::default());
    let out = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions {
            namespace: "shop".into(),
            ..RenderOptions::default()
        },
    );
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    Rendered {
        objects: out.objects.into_iter().map(|o| o.value).collect(),
    }
}

impl Rendered {
    fn find(&self, kind: &str, name: &str) -> Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
    }

    fn typed<T: DeserializeOwned>(&self, kind: &str, name: &str) -> T {
        serde_json::from_value(self.find(kind, name)).unwrap()
    }

    /// The rendered Pipeline, as the API server returns it (generation 1).
    pub fn pipeline(&self, name: &str) -> Pipeline {
        let mut p: Pipeline = self.typed("Pipeline", name);
        p.metadata.generation = Some(1);
        p
    }

    /// The rendered Function (generation 1).
    pub fn function(&self, name: &str) -> Function {
        let mut f: Function = self.typed("Function", name);
        f.metadata.generation = Some(1);
        f
    }

    /// The Function `name` as `kubectl apply` could leave it: its `indexSelector` replaced
    /// by `selector` (YAML), one that render refuses but the free-form CRD admits.
    pub fn function_with_selector(&self, name: &str, selector: &str) -> Function {
        let mut f = self.function(name);
        f.spec.index_selector = Some(yaml(selector));
        f
    }

    /// The rendered VectorStore (generation 1).
    pub fn vector_store(&self, name: &str) -> VectorStore {
        let mut s: VectorStore = self.typed("VectorStore", name);
        s.metadata.generation = Some(1);
        s
    }

    /// The rendered Index (generation 1).
    pub fn index(&self, name: &str) -> Index {
        let mut i: Index = self.typed("Index", name);
        i.metadata.generation = Some(1);
        i
    }

    /// The rendered InfraRules/default (generation 1).
    pub fn infra_rules(&self) -> InfraRules {
        let mut r: InfraRules = self.typed("InfraRules", "default");
        r.metadata.generation = Some(1);
        r
    }

    /// The rendered worker Deployment, rolled out with `available` replicas available.
    pub fn deployment(&self, name: &str, available: i32) -> Deployment {
        let mut d: Deployment = self.typed("Deployment", name);
        let desired = d.spec.replicas.unwrap_or(1);
        rolled_out(&mut d, desired, available);
        d
    }

    /// The rendered Service.
    pub fn service(&self, name: &str) -> Service {
        self.typed("Service", name)
    }

    /// The rendered ScaledObject, with KEDA's `Ready` condition at `ready`.
    pub fn scaled_object(&self, name: &str, ready: &str) -> DynamicObject {
        let mut so: DynamicObject = self.typed("ScaledObject", name);
        so.data["status"] = json!({"conditions": [
            {"type": "Ready", "status": ready, "reason": if ready == "True" { "ScaledObjectReady" } else { "ScaledObjectCheckFailed" }, "message": if ready == "True" { "ScaledObject is defined correctly and is ready for scaling" } else { "failed to ensure HPA is correctly created for ScaledObject" }},
            {"type": "Active", "status": "False"}
        ]});
        so
    }

    /// The rendered TriggerAuthentication.
    pub fn trigger_authentication(&self, name: &str) -> DynamicObject {
        self.typed("TriggerAuthentication", name)
    }
}

/// Sets a Deployment's live state: `desired` replicas (as KEDA or the spec set them), every
/// one on the current template, `available` of them available, generation 1 observed.
pub fn rolled_out(d: &mut Deployment, desired: i32, available: i32) {
    d.metadata.generation = Some(1);
    d.spec.replicas = Some(desired);
    d.status = Some(yaml(&format!(
        "{{observedGeneration: 1, replicas: {desired}, updatedReplicas: {desired}, readyReplicas: {available}, availableReplicas: {available}, conditions: [{{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}}]}}"
    )));
}

/// A document-cache StatefulSet with `ready` of `desired` replicas ready.
pub fn document_cache(ready: i32, desired: i32) -> StatefulSet {
    yaml(&format!(
        "{{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: layer-document-cache, namespace: layer}}, spec: {{replicas: {desired}, serviceName: layer-document-cache, selector: {{matchLabels: {{app: dc}}}}, template: {{metadata: {{labels: {{app: dc}}}}}}}}, status: {{replicas: {desired}, readyReplicas: {ready}}}}}"
    ))
}

/// The chart's `worker-cpu` or `worker-gpu` Karpenter NodePool with its Ready condition.
pub fn node_pool(role: &str, ready: &str) -> DynamicObject {
    let compute = if role == "worker-gpu" { "gpu" } else { "cpu" };
    yaml(&format!(
        r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {{name: {role}}}
spec:
  template:
    metadata:
      labels: {{layer.hev.dev/node-role: {role}, layer.hev.dev/compute: {compute}}}
    spec:
      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: {role}}}
      requirements:
        - {{key: kubernetes.io/arch, operator: In, values: [amd64]}}
status:
  conditions:
    - {{type: Ready, status: "{ready}", reason: "{reason}"}}
"#,
        reason = if ready == "True" {
            "Ready"
        } else {
            "NodeClassNotReady"
        }
    ))
}

/// An autoscaled pull Pipeline on the default pool.
pub const PIPELINE: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: embed, namespace: shop}
spec:
  target: {namespace: products}
  worker: {image: "ghcr.io/hev/embed:1.2.0"}
  scaling: {replicas: {min: 1, max: 4}}
"#;

/// A fixed push Function selecting Indexes labelled `app: shop`.
pub const FUNCTION: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata: {name: classify, namespace: shop}
spec:
  targetNamespaces: [events]
  indexSelector: {matchLabels: {app: shop}}
  worker: {image: "ghcr.io/hev/classify:3", dispatch: push, port: 8080}
  scaling: {mode: fixed, replicas: {min: 2, max: 2}}
"#;

/// A default turbopuffer store with a credential.
pub const STORE: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: VectorStore
metadata: {name: turbopuffer-default, namespace: layer}
spec:
  kind: turbopuffer
  default: true
  endpoint: {url: "https://aws-us-east-1.turbopuffer.com", region: aws-us-east-1}
  credential: {secretRef: {name: layer, key: turbopuffer-api-key}}
"#;

/// An Index on the default store, labelled `app: shop`.
pub const INDEX: &str = r#"
apiVersion: hevlayer.com/v1
kind: Index
metadata: {name: products, namespace: layer, labels: {app: shop}}
spec:
  backend: {namespace: amazon-products}
"#;

/// InfraRules/default with the three stock pools and a document cache.
pub const INFRA_RULES: &str = r#"
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata: {name: default}
spec:
  computePools:
    - name: cpu
      kind: cpu
      maxReplicasPerWorkload: 32
      nodeSelector: {layer.hev.dev/compute: cpu, layer.hev.dev/node-role: worker-cpu}
    - name: cpu-large
      kind: cpu
      maxReplicasPerWorkload: 8
      nodeSelector: {layer.hev.dev/compute: cpu, layer.hev.dev/node-role: worker-cpu}
    - name: gpu
      kind: gpu
      maxReplicasPerWorkload: 4
      nodeSelector: {layer.hev.dev/compute: gpu, layer.hev.dev/node-role: worker-gpu}
  documentCache:
    capGiB: 64
    replicationFactor: 1
    scaling: {mode: fixed, nodes: {min: 1, max: 1}}
"#;
