//! KEDA semantics the KEDA validator does not check: every ScaledObject in the goldens targets
//! a Deployment rendered beside it, keeps min below max, has thresholds KEDA can parse, a
//! TriggerAuthentication that exists, unique trigger names, and cron windows that KEDA's cron
//! parser accepts (tests/cron_windows.rs checks when they are active).

use std::collections::BTreeSet;

use layer_render::load::{Limits, load_bytes};
use serde_json::Value;

use crate::golden::cases;

fn golden_objects() -> Vec<(String, Value)> {
    let mut objects = Vec::new();
    for case in cases("render") {
        let path = case.join("expected.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        for doc in load_bytes(&name, text.as_bytes(), &Limits::default()).documents {
            objects.push((name.clone(), doc.root.to_json()));
        }
    }
    objects
}

fn key(v: &Value) -> (String, String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

fn is_cron_field(field: &str, low: u32, high: u32) -> bool {
    field == "*"
        || field.split(',').all(|item| {
            let range = item.split('/').next().unwrap_or_default();
            range == "*"
                || range
                    .split('-')
                    .all(|n| n.parse::<u32>().is_ok_and(|n| (low..=high).contains(&n)))
        })
}

#[test]
fn every_scaled_object_is_consistent_with_its_siblings() {
    let objects = golden_objects();
    let present: BTreeSet<_> = objects
        .iter()
        .map(|(case, v)| (case.clone(), key(v)))
        .collect();
    let mut checked = 0;
    for (case, so) in objects.iter().filter(|(_, v)| v["kind"] == "ScaledObject") {
        checked += 1;
        let (_, namespace, name) = key(so);
        let spec = &so["spec"];
        let min = spec["minReplicaCount"].as_i64().unwrap();
        let max = spec["maxReplicaCount"].as_i64().unwrap();
        assert!(
            0 <= min && min <= max && max >= 1,
            "{case} {name}: min {min} max {max}"
        );
        assert!(spec["cooldownPeriod"].as_i64().unwrap() >= 0);
        assert!(spec["pollingInterval"].as_i64().unwrap() >= 1);
        let target = spec["scaleTargetRef"]["name"].as_str().unwrap().to_string();
        assert!(
            present.contains(&(
                case.clone(),
                ("Deployment".into(), namespace.clone(), target.clone())
            )),
            "{case} {name}: target Deployment {target} is not rendered"
        );
        let triggers = spec["triggers"].as_array().unwrap();
        assert!(!triggers.is_empty());
        let names: BTreeSet<&str> = triggers
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names.len(),
            triggers.len(),
            "{case} {name}: trigger names repeat"
        );
        for trigger in triggers {
            let meta = &trigger["metadata"];
            match trigger["type"].as_str().unwrap() {
                "prometheus" => {
                    let threshold: f64 = meta["threshold"].as_str().unwrap().parse().unwrap();
                    assert!(threshold > 0.0, "{case} {name}: threshold {threshold}");
                    let activation: f64 = meta["activationThreshold"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(activation >= 0.0);
                    assert!(meta["serverAddress"].as_str().unwrap().starts_with("http"));
                    assert_eq!(meta["authModes"], "bearer");
                    let query = meta["query"].as_str().unwrap();
                    assert!(
                        query.ends_with(" or vector(0)") && query.starts_with("sum("),
                        "{query}"
                    );
                    let auth = trigger["authenticationRef"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    assert!(
                        present.contains(&(
                            case.clone(),
                            (
                                "TriggerAuthentication".into(),
                                namespace.clone(),
                                auth.clone()
                            )
                        )),
                        "{case} {name}: TriggerAuthentication {auth} is not rendered"
                    );
                }
                "cron" => {
                    assert_eq!(meta["timezone"], "Etc/UTC");
                    for field in ["start", "end"] {
                        let cron = meta[field].as_str().unwrap();
                        let parts: Vec<&str> = cron.split(' ').collect();
                        assert_eq!(parts.len(), 5, "{cron}");
                        assert!(parts[0].parse::<u32>().is_ok_and(|m| m < 60), "{cron}");
                        assert!(is_cron_field(parts[1], 0, 23), "{cron}");
                    }
                    let desired: i64 = meta["desiredReplicas"].as_str().unwrap().parse().unwrap();
                    assert!(
                        desired >= 1 && desired <= max,
                        "{case} {name}: desired {desired}"
                    );
                    assert_ne!(meta["start"], meta["end"]);
                }
                other => panic!("{case} {name}: unexpected trigger type {other}"),
            }
        }
    }
    assert!(checked >= 8, "only {checked} ScaledObjects in the goldens");
}

#[test]
fn every_trigger_authentication_reads_a_bearer_token_from_a_secret() {
    let objects = golden_objects();
    let tas: Vec<_> = objects
        .iter()
        .filter(|(_, v)| v["kind"] == "TriggerAuthentication")
        .collect();
    assert!(!tas.is_empty());
    for (case, ta) in tas {
        let refs = ta["spec"]["secretTargetRef"].as_array().unwrap();
        assert_eq!(refs.len(), 1, "{case}");
        assert_eq!(refs[0]["parameter"], "bearerToken");
        assert!(!refs[0]["name"].as_str().unwrap().is_empty());
        assert!(!refs[0]["key"].as_str().unwrap().is_empty());
    }
}

#[test]
fn autoscaled_deployments_never_set_replicas() {
    let objects = golden_objects();
    let scaled: BTreeSet<_> = objects
        .iter()
        .filter(|(_, v)| v["kind"] == "ScaledObject")
        .map(|(case, v)| {
            (
                case.clone(),
                v["metadata"]["namespace"].to_string(),
                v["spec"]["scaleTargetRef"]["name"].to_string(),
            )
        })
        .collect();
    let mut seen = 0;
    for (case, d) in objects.iter().filter(|(_, v)| v["kind"] == "Deployment") {
        let id = (
            case.clone(),
            d["metadata"]["namespace"].to_string(),
            d["metadata"]["name"].to_string(),
        );
        if scaled.contains(&id) {
            seen += 1;
            assert!(
                d["spec"].get("replicas").is_none(),
                "{case}: {id:?} sets replicas while KEDA owns them"
            );
        } else {
            assert!(
                d["spec"]["replicas"].is_i64(),
                "{case}: {id:?} has no ScaledObject and no replicas"
            );
        }
    }
    assert!(seen >= 8);
}
