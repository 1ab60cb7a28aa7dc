//! The worker Deployment (and the Service of a push worker).
//!
//! The pod gets the pool's placement (nodeSelector, tolerations, and resources on the worker
//! container), the environment contract and restricted security defaults; then
//! `worker.podSpec` is merged over it. Replicas follow the scaling mode: `fixed` runs
//! `replicas.min`, `disabled` or paused runs none, and `autoscale` leaves `spec.replicas` out
//! so KEDA alone owns it (a GitOps tool that also set it would fight KEDA on every sync).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::api::{ComputePool, ScalingMode};
use crate::expand::{env, podspec, security};
use crate::pools;
use crate::profile::Profile;
use crate::workload::Workload;

/// Container port of a push worker that sets no `worker.port`.
pub const DEFAULT_PUSH_PORT: i32 = 8080;
/// The readiness probe path of a push worker.
pub const READINESS_PATH: &str = "/health";
/// The name of the push worker's port, on the container and the Service.
pub const PORT_NAME: &str = "http";

/// Why a Deployment could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The pool's resources or tolerations are not valid Kubernetes objects.
    Pool(String),
    /// The merged pod spec is not a valid pod spec.
    PodSpec(String),
}

/// Replicas by mode; `None` when KEDA owns them.
pub fn replicas(w: &Workload<'_>) -> Option<i32> {
    match w.scaling.mode {
        ScalingMode::Autoscale => None,
        _ if w.paused => Some(0),
        ScalingMode::Fixed => Some(w.scaling.replicas.min),
        ScalingMode::Disabled => Some(0),
    }
}

fn meta(w: &Workload<'_>) -> ObjectMeta {
    ObjectMeta {
        name: Some(w.child_name()),
        namespace: Some(w.namespace.to_string()),
        labels: Some(w.labels()),
        ..ObjectMeta::default()
    }
}

fn push_port(w: &Workload<'_>) -> i32 {
    w.worker.port.unwrap_or(DEFAULT_PUSH_PORT)
}

/// The generated pod spec, before the user's patch.
fn base_pod_spec(
    w: &Workload<'_>,
    pool: &ComputePool,
    profile: &Profile,
    warehouse: Option<&Value>,
) -> Result<PodSpec, BuildError> {
    let resources = pools::resources(pool).map_err(BuildError::Pool)?;
    let tolerations = pools::tolerations(pool).map_err(BuildError::Pool)?;
    let mut container = Container {
        name: w.kind.container_name().to_string(),
        image: Some(w.worker.image.clone()),
        env: Some(env::worker_env(w, profile, warehouse)),
        resources,
        security_context: Some(security::container_security_context()),
        ..Container::default()
    };
    if w.is_push() {
        container.ports = Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: push_port(w),
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]);
        container.readiness_probe = Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some(READINESS_PATH.into()),
                port: IntOrString::String(PORT_NAME.into()),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(10),
            ..Probe::default()
        });
    }
    Ok(PodSpec {
        containers: vec![container],
        node_selector: pool.node_selector.clone(),
        tolerations,
        security_context: Some(security::pod_security_context()),
        automount_service_account_token: Some(false),
        ..PodSpec::default()
    })
}

/// The pod spec after the user's `worker.podSpec` patch.
pub fn pod_spec(
    w: &Workload<'_>,
    pool: &ComputePool,
    profile: &Profile,
    warehouse: Option<&Value>,
) -> Result<PodSpec, BuildError> {
    let base = base_pod_spec(w, pool, profile, warehouse)?;
    let Some(patch) = &w.worker.pod_spec else {
        return Ok(base);
    };
    let mut merged = serde_json::to_value(&base).map_err(|e| BuildError::PodSpec(e.to_string()))?;
    let patch = Value::Object(patch.clone().into_iter().collect());
    podspec::merge(&mut merged, &patch);
    serde_json::from_value(merged).map_err(|e| BuildError::PodSpec(e.to_string()))
}

/// The worker Deployment around a pod spec.
pub fn deployment(w: &Workload<'_>, pod: PodSpec) -> Deployment {
    let selector: BTreeMap<String, String> = w.selector_labels();
    Deployment {
        metadata: meta(w),
        spec: DeploymentSpec {
            replicas: replicas(w),
            selector: LabelSelector {
                match_labels: Some(selector),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(w.labels()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// The ClusterIP Service of a push worker.
pub fn service(w: &Workload<'_>) -> Service {
    Service {
        metadata: meta(w),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(w.selector_labels()),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: push_port(w),
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}
