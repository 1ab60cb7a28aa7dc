//! The environment contract: what every worker container is told (upstream spec section 5.4).
//!
//! The order is fixed, so a later variable may refer to an earlier one with `$(NAME)`.
//! `worker.podSpec` may change or remove any entry by name (docs/render.md, "The podSpec merge").

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};
use serde_json::Value;

use crate::api::family::{Workload, WorkloadKind};
use crate::hash::canonical_json;
use crate::profile::Profile;

/// The worker's environment. `warehouse` is the referenced Warehouse's connection, when the
/// input has it.
pub fn worker_env(w: &Workload<'_>, profile: &Profile, warehouse: Option<&Value>) -> Vec<EnvVar> {
    let mut env = vec![
        plain("HEVLAYER_BASE_URL", &profile.gateway.base_url),
        EnvVar {
            name: "LAYER_GATEWAY_API_KEY".into(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: profile.gateway.api_secret.name.clone(),
                    key: profile.gateway.api_secret.key.clone(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
        },
    ];
    match (w.kind, w.pipeline, w.function) {
        (WorkloadKind::Pipeline, Some(p), _) => {
            env.push(plain(
                "HEVLAYER_PIPELINE_ID",
                w.pipeline_id().unwrap_or(w.name),
            ));
            env.push(plain("HEVLAYER_TARGET_NAMESPACE", &p.spec.target.namespace));
            if let Some(source) = &p.spec.source_ref {
                let json = serde_json::to_value(source).unwrap_or(Value::Null);
                env.push(plain("HEVLAYER_SOURCE_REF", &canonical_json(&json)));
            }
            if let Some(warehouse) = warehouse {
                env.push(plain("HEVLAYER_WAREHOUSE", &canonical_json(warehouse)));
            }
            env.push(plain(
                "HEVLAYER_BATCH_SIZE",
                &w.worker.batch_size.to_string(),
            ));
            if let Some(schedule) = w.schedule {
                env.push(plain(
                    "HEVLAYER_LEASE_SECONDS",
                    &schedule.lease_seconds.to_string(),
                ));
            }
        }
        (WorkloadKind::Function, _, Some(_)) => {
            env.push(plain("HEVLAYER_UDF_ID", w.name));
            env.push(plain(
                "HEVLAYER_UDF_BATCH_SIZE",
                &w.worker.batch_size.to_string(),
            ));
            if let Some(schedule) = w.schedule {
                env.push(plain(
                    "HEVLAYER_UDF_LEASE_SECONDS",
                    &schedule.lease_seconds.to_string(),
                ));
            }
        }
        _ => {}
    }
    env
}

fn plain(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        value_from: None,
    }
}

/// The `sourceRef.warehouseRef` of a Pipeline, when set.
pub fn warehouse_ref<'a>(w: &Workload<'a>) -> Option<&'a str> {
    w.pipeline?
        .spec
        .source_ref
        .as_ref()?
        .rest
        .get("warehouseRef")?
        .as_str()
}

/// A Warehouse's connection without credentials: its spec minus every credential field.
pub fn warehouse_connection(warehouse: &Value) -> Value {
    let mut spec = warehouse.get("spec").cloned().unwrap_or(Value::Null);
    if let Some(map) = spec.as_object_mut() {
        map.retain(|key, _| !is_credential_key(key));
    }
    let name = warehouse
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null);
    serde_json::json!({"name": name, "spec": spec})
}

fn is_credential_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [
        "credential",
        "secret",
        "token",
        "password",
        "apikey",
        "auth",
    ]
    .iter()
    .any(|word| lower.contains(word))
}
