//! The fake's Leases and Events, answered as kube-apiserver does for the requests
//! kube-lease-manager and kube-runtime's event recorder send.
//!
//! - **Leases**: `GET` (404 when missing), `POST` (`409 AlreadyExists` when taken), `PUT`
//!   (replace; `409 Conflict` for a stale `metadata.resourceVersion`) and `PATCH`: server-side
//!   apply (`application/apply-patch+yaml`, `fieldManager` required) keeps an owner per spec
//!   field, and an apply that changes a field another manager owns is a `409 Conflict` unless
//!   forced, which is what keeps two replicas from both taking a free Lease; strategic and
//!   merge patches merge (`null` removes a field) and take the fields they set. A patch
//!   carrying a stale `metadata.resourceVersion` is a `409 Conflict`.
//! - **Events** (`events.k8s.io/v1`): `POST` validates and stores (`409 AlreadyExists` for a
//!   taken name), a merge or strategic `PATCH` updates one (its `series`), `404` when missing.
//!   Validation follows the API server's for new Events: `eventTime`, `reportingController`,
//!   `reportingInstance`, `action` and `reason` required (at most 128 characters), `note` at most
//!   1 kB, `type` Normal or Warning, a series counts at least 2, and the Event lives in its
//!   object's namespace (`default` for a cluster-scoped one).

use std::collections::BTreeMap;

use http::StatusCode;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{Key, Recorded, Reply, State, Target, apply_manager, failure, full, list};

pub const LEASES: &str = "/apis/coordination.k8s.io/v1/leases";
pub const EVENTS: &str = "/apis/events.k8s.io/v1/events";

/// Who set a Lease field: the field manager, and whether by apply (which may take it back
/// away by leaving it out) or by an update (a patch or a replace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    manager: String,
    applied: bool,
}

/// The holder of an unexpired Lease, if any (`renewTime + leaseDurationSeconds` after now).
pub fn holder(st: &State) -> Option<String> {
    let leases = st.collections.get(LEASES)?;
    let now = Timestamp::now();
    leases.objects.values().find_map(|lease| {
        let spec = &lease["spec"];
        let holder = spec["holderIdentity"].as_str()?;
        let renewed: Timestamp = spec["renewTime"].as_str()?.parse().ok()?;
        let duration = spec["leaseDurationSeconds"].as_f64()?;
        (now.duration_since(renewed).as_secs_f64() < duration).then(|| holder.to_string())
    })
}

/// JSON merge patch (RFC 7386): `null` removes, objects merge, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Some(fields) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in fields {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn conflict(r: &mut Recorded, resource: &str, name: &str) -> Reply {
    r.answered = 409;
    Reply::Now(failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        ),
    ))
}

fn not_found(r: &mut Recorded, resource: &str, name: &str) -> Reply {
    r.answered = 404;
    Reply::Now(failure(
        404,
        "NotFound",
        &format!("{resource} \"{name}\" not found"),
    ))
}

fn already_exists(r: &mut Recorded, resource: &str, name: &str) -> Reply {
    r.answered = 409;
    Reply::Now(failure(
        409,
        "AlreadyExists",
        &format!("{resource} \"{name}\" already exists"),
    ))
}

fn unsupported_media(r: &mut Recorded) -> Reply {
    r.answered = 415;
    Reply::Now(failure(
        415,
        "UnsupportedMediaType",
        &format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {}",
            r.content_type
        ),
    ))
}

fn is_merge(content_type: &str) -> bool {
    content_type == "application/merge-patch+json"
        || content_type == "application/strategic-merge-patch+json"
}

/// Whether `body` names a resourceVersion other than the stored object's.
fn stale(body: &Value, stored: &Value) -> bool {
    body["metadata"]["resourceVersion"]
        .as_str()
        .is_some_and(|rv| Some(rv) != stored["metadata"]["resourceVersion"].as_str())
}

/// Answers a request for a Lease or an Event.
pub fn answer(
    st: &mut State,
    r: &mut Recorded,
    target: &Target,
    params: &BTreeMap<String, String>,
    bytes: &[u8],
) -> Reply {
    let Some(namespace) = target.namespace.clone() else {
        // Both are namespaced; only a list may span namespaces.
        return match (r.method.as_str(), &target.name) {
            ("GET", None) => list(st, r, target, params),
            _ => not_found(r, "namespaces", ""),
        };
    };
    if target.subresource.is_some() {
        r.answered = 404;
        return Reply::Now(failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let body: Option<Value> = serde_json::from_slice(bytes).ok();
    let key = |name: &str| (namespace.clone(), name.to_string());
    let stored = |st: &State, name: &str| {
        st.collections
            .get(&target.collection)
            .and_then(|c| c.objects.get(&key(name)).cloned())
    };
    let events = target.collection == EVENTS;
    let resource = if events {
        "events.events.k8s.io"
    } else {
        "leases.coordination.k8s.io"
    };
    match (r.method.as_str(), &target.name, body) {
        ("GET", None, _) => list(st, r, target, params),
        ("GET", Some(name), _) => match stored(st, name) {
            Some(obj) => Reply::Now(full(StatusCode::OK, &obj)),
            None => not_found(r, resource, name),
        },
        ("POST", None, Some(mut obj)) => {
            let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
                r.answered = 422;
                return Reply::Now(failure(
                    422,
                    "Invalid",
                    "metadata.name: Required value: name or generateName is required",
                ));
            };
            if stored(st, &name).is_some() {
                return already_exists(r, resource, &name);
            }
            obj["metadata"]["namespace"] = json!(namespace);
            if events && let Some(reply) = invalid_event(r, &name, &obj) {
                return reply;
            }
            if !events {
                take_fields(st, &key(&name), &obj, &field_manager(params), false);
            }
            let created = st.put(&target.collection, normalized(obj, events));
            r.answered = 201;
            Reply::Now(full(StatusCode::CREATED, &created))
        }
        ("PUT", Some(name), Some(mut obj)) if !events => {
            let Some(current) = stored(st, name) else {
                return not_found(r, resource, name);
            };
            if stale(&obj, &current) {
                return conflict(r, resource, name);
            }
            obj["metadata"]["name"] = json!(name);
            obj["metadata"]["namespace"] = json!(namespace);
            st.lease_fields.remove(&key(name));
            take_fields(st, &key(name), &obj, &field_manager(params), false);
            let replaced = st.put(&target.collection, normalized(obj, false));
            Reply::Now(full(StatusCode::OK, &replaced))
        }
        ("PATCH", Some(name), Some(patch)) => {
            let current = stored(st, name);
            if let Some(current) = &current
                && stale(&patch, current)
            {
                return conflict(r, resource, name);
            }
            if !events && r.content_type == "application/apply-patch+yaml" {
                return apply_lease(st, r, params, key(name), current, patch);
            }
            if !is_merge(&r.content_type) {
                return unsupported_media(r);
            }
            let Some(mut obj) = current else {
                return not_found(r, resource, name);
            };
            merge(&mut obj, &patch);
            if events {
                if let Some(reply) = invalid_event(r, name, &obj) {
                    return reply;
                }
            } else {
                take_fields(st, &key(name), &patch, &field_manager(params), false);
            }
            let patched = st.put(&target.collection, normalized(obj, events));
            Reply::Now(full(StatusCode::OK, &patched))
        }
        (_, _, None) if r.method != "GET" => {
            r.answered = 400;
            Reply::Now(failure(400, "BadRequest", "the body is not valid JSON"))
        }
        _ => {
            r.answered = 405;
            Reply::Now(failure(405, "MethodNotAllowed", "not in this fake"))
        }
    }
}

fn field_manager(params: &BTreeMap<String, String>) -> String {
    params
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// The stored form: apiVersion and kind set.
fn normalized(mut obj: Value, event: bool) -> Value {
    let (api_version, kind) = if event {
        ("events.k8s.io/v1", "Event")
    } else {
        ("coordination.k8s.io/v1", "Lease")
    };
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    obj
}

/// Records `manager` as the owner of every spec field `obj` sets (and none of those it nulls).
fn take_fields(st: &mut State, key: &Key, obj: &Value, manager: &str, applied: bool) {
    let owners = st.lease_fields.entry(key.clone()).or_default();
    if let Some(spec) = obj["spec"].as_object() {
        for (field, value) in spec {
            if value.is_null() {
                owners.remove(field);
            } else {
                owners.insert(
                    field.clone(),
                    Owner {
                        manager: manager.to_string(),
                        applied,
                    },
                );
            }
        }
    }
}

/// A server-side apply of a Lease.
fn apply_lease(
    st: &mut State,
    r: &mut Recorded,
    params: &BTreeMap<String, String>,
    key: Key,
    current: Option<Value>,
    applied: Value,
) -> Reply {
    let manager = match apply_manager(params, r) {
        Ok(manager) => manager,
        Err(reply) => return *reply,
    };
    let force = params.get("force").is_some_and(|f| f == "true");
    let mut obj = current.unwrap_or_else(
        || json!({"metadata": {"name": key.1.clone(), "namespace": key.0.clone()}, "spec": {}}),
    );
    let owners = st.lease_fields.get(&key).cloned().unwrap_or_default();
    let fields = applied["spec"].as_object().cloned().unwrap_or_default();
    let conflicts: Vec<String> = fields
        .iter()
        .filter_map(|(field, value)| {
            let live = obj["spec"].get(field).filter(|v| !v.is_null())?;
            let owner = owners.get(field)?;
            (live != value && owner.manager != manager)
                .then(|| format!("conflict with \"{}\": .spec.{field}", owner.manager))
        })
        .collect();
    if !conflicts.is_empty() && !force {
        r.answered = 409;
        let n = conflicts.len();
        return Reply::Now(failure(
            409,
            "Conflict",
            &format!(
                "Apply failed with {n} conflict{}: {}",
                if n == 1 { "" } else { "s" },
                conflicts.join(", ")
            ),
        ));
    }
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    // Fields this manager applied before and leaves out now are removed.
    for (field, owner) in &owners {
        if owner.manager == manager && owner.applied && !fields.contains_key(field) {
            if let Some(spec) = obj["spec"].as_object_mut() {
                spec.remove(field);
            }
            if let Some(o) = st.lease_fields.get_mut(&key) {
                o.remove(field);
            }
        }
    }
    for (field, value) in &fields {
        obj["spec"][field] = value.clone();
    }
    take_fields(st, &key, &applied, &manager, true);
    let updated = st.put(LEASES, normalized(obj, false));
    Reply::Now(full(StatusCode::OK, &updated))
}

/// The API server's validation of a new (`eventTime` set) `events.k8s.io/v1` Event.
fn invalid_event(r: &mut Recorded, name: &str, ev: &Value) -> Option<Reply> {
    let text = |f: &str| ev[f].as_str().unwrap_or_default();
    let namespace = ev["metadata"]["namespace"].as_str().unwrap_or_default();
    let regarding = ev["regarding"]["namespace"].as_str().unwrap_or_default();
    let mut errors = Vec::new();
    if text("eventTime").is_empty() {
        errors.push("eventTime: Required value".to_string());
    }
    for field in [
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if text(field).is_empty() {
            errors.push(format!("{field}: Required value"));
        } else if text(field).len() > 128 {
            errors.push(format!("{field}: Too long: may not be more than 128 bytes"));
        }
    }
    if text("note").len() > 1024 {
        errors.push("note: Too long: may not be more than 1024 bytes".into());
    }
    if !["Normal", "Warning"].contains(&text("type")) {
        errors.push(format!(
            "type: Unsupported value: \"{}\": supported values: \"Normal\", \"Warning\"",
            text("type")
        ));
    }
    let cluster_scoped_ok = regarding.is_empty() && ["default", "kube-system"].contains(&namespace);
    if !(regarding == namespace || cluster_scoped_ok) {
        errors.push(format!(
            "regarding.namespace: Invalid value: \"{regarding}\": does not match event.namespace"
        ));
    }
    if let Some(series) = ev.get("series").filter(|s| !s.is_null()) {
        if series["count"].as_i64().unwrap_or(0) < 2 {
            errors.push("series.count: Invalid value: should be at least 2".into());
        }
        if series["lastObservedTime"].as_str().is_none() {
            errors.push("series.lastObservedTime: Required value".into());
        }
    }
    if errors.is_empty() {
        return None;
    }
    r.answered = 422;
    Some(Reply::Now(failure(
        422,
        "Invalid",
        &format!(
            "Event.events.k8s.io \"{name}\" is invalid: {}",
            errors.join(", ")
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_merges_objects_and_removes_nulls() {
        let mut v = json!({"spec": {"a": 1, "b": {"c": 2, "d": 3}}, "keep": true});
        merge(
            &mut v,
            &json!({"spec": {"a": null, "b": {"c": 5}, "e": [1]}}),
        );
        assert_eq!(
            v,
            json!({"spec": {"b": {"c": 5, "d": 3}, "e": [1]}, "keep": true})
        );
    }
}
