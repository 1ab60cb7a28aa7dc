//! KEDA objects for autoscaled workloads: a ScaledObject and its TriggerAuthentication.
//!
//! The queue trigger is Prometheus on the gateway's metrics with a bearer token from the
//! gateway API Secret. A Pipeline scales on its pending stage count; a Function on
//! `layer_udf_queue_depth`. A `schedule.cron` adds KEDA `cron` triggers that hold
//! `max(1, replicas.min)` replicas for the wake-up window (and replaces the queue trigger on a
//! Pipeline). A paused workload keeps its ScaledObject, paused at zero replicas.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::family::{Workload, WorkloadKind};
use crate::keda::cron;
use crate::profile::Profile;

/// `keda.sh/v1alpha1`.
pub const API_VERSION: &str = "keda.sh/v1alpha1";
/// KEDA's pause annotation: hold the target at this many replicas.
pub const PAUSED_REPLICAS_ANNOTATION: &str = "autoscaling.keda.sh/paused-replicas";
/// How often KEDA polls the trigger, in seconds (KEDA's default, written out).
pub const POLLING_INTERVAL_SECONDS: i32 = 30;
/// Seconds KEDA waits after the last activity before scaling to zero, when the workload sets
/// no `warmWindowSeconds` (KEDA's default, written out).
pub const DEFAULT_COOLDOWN_SECONDS: i32 = 300;
/// Queue items per replica for a Pipeline (upstream's observed threshold).
pub const PIPELINE_THRESHOLD: &str = "1000";
/// The timezone of every cron trigger: upstream schedules are UTC.
pub const CRON_TIMEZONE: &str = "Etc/UTC";

/// Object metadata, as much as render sets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Meta {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations (left out when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A KEDA ScaledObject.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObject {
    /// `keda.sh/v1alpha1`.
    pub api_version: &'static str,
    /// `ScaledObject`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: ScaledObjectSpec,
}

/// The ScaledObject spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpec {
    /// The Deployment to scale.
    pub scale_target_ref: ScaleTargetRef,
    /// Fewest replicas.
    pub min_replica_count: i32,
    /// Most replicas.
    pub max_replica_count: i32,
    /// Trigger polling interval in seconds.
    pub polling_interval: i32,
    /// Seconds before scaling to zero after the last activity.
    pub cooldown_period: i32,
    /// Triggers.
    pub triggers: Vec<ScaleTrigger>,
}

/// The scale target: a Deployment by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTargetRef {
    /// `apps/v1`.
    pub api_version: &'static str,
    /// `Deployment`.
    pub kind: &'static str,
    /// The Deployment's name.
    pub name: String,
}

/// One KEDA trigger.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTrigger {
    /// Scaler type: `prometheus` or `cron`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// Trigger name, unique in the ScaledObject.
    pub name: String,
    /// The TriggerAuthentication for scalers that need one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_ref: Option<AuthenticationRef>,
    /// Scaler settings (KEDA wants every value as a string).
    pub metadata: BTreeMap<&'static str, String>,
}

/// A reference to a TriggerAuthentication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthenticationRef {
    /// Its name.
    pub name: String,
}

/// A KEDA TriggerAuthentication.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAuthentication {
    /// `keda.sh/v1alpha1`.
    pub api_version: &'static str,
    /// `TriggerAuthentication`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: TriggerAuthenticationSpec,
}

/// The TriggerAuthentication spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAuthenticationSpec {
    /// Secret keys to scaler parameters.
    pub secret_target_ref: Vec<SecretTargetRef>,
}

/// One Secret key mapped to a scaler parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SecretTargetRef {
    /// Scaler parameter, `bearerToken`.
    pub parameter: &'static str,
    /// Secret name.
    pub name: String,
    /// Key in the Secret.
    pub key: String,
}

/// The PromQL query for a workload's queue depth.
pub fn queue_query(w: &Workload<'_>) -> String {
    match w.kind {
        WorkloadKind::Pipeline => format!(
            "sum(layer_pipeline_stage_count{{pipeline_id=\"{}\",stage=\"pending\"}}) or vector(0)",
            w.pipeline_id().unwrap_or(w.name)
        ),
        WorkloadKind::Function => {
            format!(
                "sum(layer_udf_queue_depth{{udf=\"{}\"}}) or vector(0)",
                w.name
            )
        }
    }
}

/// Queue items per replica: upstream's observed 1000 for Pipelines, one batch for Functions.
pub fn threshold(w: &Workload<'_>) -> String {
    match w.kind {
        WorkloadKind::Pipeline => PIPELINE_THRESHOLD.to_string(),
        WorkloadKind::Function => w.worker.batch_size.max(1).to_string(),
    }
}

fn queue_trigger(w: &Workload<'_>, profile: &Profile) -> ScaleTrigger {
    let metadata = BTreeMap::from([
        ("serverAddress", profile.metrics.server_address.clone()),
        ("query", queue_query(w)),
        ("threshold", threshold(w)),
        ("activationThreshold", "0".to_string()),
        ("authModes", "bearer".to_string()),
    ]);
    ScaleTrigger {
        type_: "prometheus",
        name: "queue-depth".to_string(),
        authentication_ref: Some(AuthenticationRef {
            name: w.child_name(),
        }),
        metadata,
    }
}

/// The cron triggers of a workload's schedule, named `schedule`, `schedule-2`...
fn cron_triggers(w: &Workload<'_>) -> Vec<ScaleTrigger> {
    // Validation refused schedules that do not parse or have no exact encoding.
    let Some(Ok(triggers)) = w
        .wake_schedule()
        .map(|(expr, window)| cron::parse(expr).and_then(|c| c.triggers(window)))
    else {
        return Vec::new();
    };
    triggers
        .into_iter()
        .enumerate()
        .map(|(i, t)| ScaleTrigger {
            type_: "cron",
            name: match i {
                0 => "schedule".to_string(),
                i => format!("schedule-{}", i + 1),
            },
            authentication_ref: None,
            metadata: BTreeMap::from([
                ("timezone", CRON_TIMEZONE.to_string()),
                ("start", t.start),
                ("end", t.end),
                ("desiredReplicas", w.scaling.replicas.min.max(1).to_string()),
            ]),
        })
        .collect()
}

/// The ScaledObject of an autoscaled workload.
pub fn scaled_object(w: &Workload<'_>, profile: &Profile) -> ScaledObject {
    let cron = cron_triggers(w);
    let mut triggers = Vec::new();
    if w.kind == WorkloadKind::Function || cron.is_empty() {
        triggers.push(queue_trigger(w, profile));
    }
    triggers.extend(cron);
    let mut annotations = BTreeMap::new();
    if w.paused {
        annotations.insert(PAUSED_REPLICAS_ANNOTATION.to_string(), "0".to_string());
    }
    ScaledObject {
        api_version: API_VERSION,
        kind: "ScaledObject",
        metadata: Meta {
            name: w.child_name(),
            namespace: w.namespace.to_string(),
            labels: w.labels(),
            annotations,
        },
        spec: ScaledObjectSpec {
            scale_target_ref: ScaleTargetRef {
                api_version: "apps/v1",
                kind: "Deployment",
                name: w.child_name(),
            },
            min_replica_count: w.scaling.replicas.min,
            max_replica_count: w.scaling.replicas.max,
            polling_interval: POLLING_INTERVAL_SECONDS,
            cooldown_period: w
                .scaling
                .warm_window_seconds
                .unwrap_or(DEFAULT_COOLDOWN_SECONDS),
            triggers,
        },
    }
}

/// The TriggerAuthentication that gives the Prometheus trigger its bearer token.
pub fn trigger_authentication(w: &Workload<'_>, profile: &Profile) -> TriggerAuthentication {
    TriggerAuthentication {
        api_version: API_VERSION,
        kind: "TriggerAuthentication",
        metadata: Meta {
            name: w.child_name(),
            namespace: w.namespace.to_string(),
            labels: w.labels(),
            annotations: BTreeMap::new(),
        },
        spec: TriggerAuthenticationSpec {
            secret_target_ref: vec![SecretTargetRef {
                parameter: "bearerToken",
                name: profile.gateway.api_secret.name.clone(),
                key: profile.gateway.api_secret.key.clone(),
            }],
        },
    }
}
