//! The worker Deployment (and the Service of a push worker).
//!
//! The pod gets the pool's placement (nodeSelector, tolerations, and resources on the worker
//! container), the environment contract and restricted security defaults; then
//! `worker.podSpec` is merged over it. Replicas follow the scaling mode: `fixed` runs
//! `replicas.min`, `disabled` or paused runs none, and `autoscale` leaves `spec.replicas` out
//! so KEDA alone owns it (a GitOps tool that also set it would fight KEDA on every sync).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value};

use crate::api::family::Workload;
use crate::api::pools;
use crate::api::{ComputePool, ScalingMode};
use crate::expand::{env, podspec, security};
use crate::field_path::FieldPath;
use crate::profile::Profile;

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
    /// The patch does not apply, or the merged pod spec is not a valid pod spec. `path` is
    /// where in the patch (`containers[0].env`), the root when no one place is to blame.
    PodSpec { path: FieldPath, message: String },
}

impl BuildError {
    /// The merged pod spec is not valid, for a reason no one place in the patch explains.
    fn invalid_pod(detail: impl fmt::Display) -> Self {
        Self::PodSpec {
            path: FieldPath::root(),
            message: format!("the merged pod spec is not valid: {detail}"),
        }
    }
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
    let resources = pools::resources(pool).map_err(BuildError::Pool)?.cloned();
    let tolerations = pools::tolerations(pool)
        .map_err(BuildError::Pool)?
        .map(<[_]>::to_vec);
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
    let mut merged = serde_json::to_value(&base).map_err(BuildError::invalid_pod)?;
    let patch: Map<String, Value> = patch.clone().into_iter().collect();
    if let Value::Object(map) = &mut merged {
        podspec::merge(map, &patch).map_err(|e| BuildError::PodSpec {
            path: e.path,
            message: format!("the patch does not apply: {}", e.message),
        })?;
    }
    if let Some(at) = podspec::leftover_directive(&merged) {
        return Err(BuildError::invalid_pod(format!(
            "its {at} is a directive kept as a field: kubectl applies none inside an entry \
             that the patch adds or replaces whole, and a misspelt one is no directive"
        )));
    }
    let pod: PodSpec = serde_json::from_value(merged).map_err(BuildError::invalid_pod)?;
    match env_with_value_and_source(&pod) {
        Some(problem) => Err(BuildError::invalid_pod(problem)),
        None => Ok(pod),
    }
}

/// An env var with both a non-empty `value` and `valueFrom`, which the API server rejects. It
/// happens when a patch entry gives `value` to an injected `valueFrom` var (or the reverse):
/// the entries merge by name.
fn env_with_value_and_source(pod: &PodSpec) -> Option<String> {
    let lists = [
        ("containers", Some(&pod.containers)),
        ("initContainers", pod.init_containers.as_ref()),
    ];
    let containers = lists.into_iter().flat_map(|(list, c)| {
        c.into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, c)| (list, i, &c.env))
    });
    let ephemeral = pod
        .ephemeral_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| ("ephemeralContainers", i, &c.env));
    containers.chain(ephemeral).find_map(|(list, i, env)| {
        let var = env.iter().flatten().find(|v| {
            v.value.as_deref().is_some_and(|s| !s.is_empty()) && v.value_from.is_some()
        })?;
        Some(format!(
            "{list}[{i}] env var {:?} has both value and valueFrom, which Kubernetes rejects; \
             the patch's entry merges into the one render sets, so give the other field null",
            var.name
        ))
    })
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
