//! Secret redaction: no diff format ever prints a Secret's value.
//!
//! In a core-group `Secret`, every value under `data` and `stringData` is replaced by
//! [`REDACTED`] before anything is compared or printed, and so is the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation, which holds a copy of them.
//! A matched pair is redacted together: a value that differs gets [`REDACTED_CHANGED`] on the
//! new side, so a change still shows, as a change, without showing either value. Keys stay
//! visible, so added and removed keys show as such. No hash of a value is shown either: a
//! short secret's hash can be reversed by guessing.

use serde_json::{Map, Value};

use crate::key::ObjectKey;

/// What a Secret value reads as.
pub const REDACTED: &str = "<redacted>";

/// What a changed Secret value reads as on the new side.
pub const REDACTED_CHANGED: &str = "<redacted (changed)>";

/// The fields whose values are secret.
const SECRET_FIELDS: [&str; 2] = ["data", "stringData"];

/// An annotation that `kubectl apply` fills with the whole object, values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// True for core-group Secrets, the only kind whose values are redacted.
pub fn is_secret(key: &ObjectKey) -> bool {
    key.group.is_empty() && key.kind == "Secret"
}

/// Redacts one Secret that has nothing to compare with.
pub fn redact(value: &mut Value) {
    redact_pair_fields(value, None);
}

/// Redacts a matched pair of Secrets, marking values that changed.
pub fn redact_pair(old: &mut Value, new: &mut Value) {
    // Mark the new side against the old values before the old side loses them.
    redact_pair_fields(new, Some(old));
    redact_pair_fields(old, None);
}

/// Redacts `value`; with `old`, a value that differs from (or is missing in) a present old
/// field reads as changed.
fn redact_pair_fields(value: &mut Value, old: Option<&Value>) {
    let Value::Object(object) = value else {
        return;
    };
    for field in SECRET_FIELDS {
        let before = old.and_then(|o| o.get(field));
        if let Some(current) = object.get_mut(field) {
            redact_field(current, before);
        }
    }
    let before = old.and_then(|o| o.pointer(&last_applied_pointer()));
    if let Some(annotation) = object
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(|a| a.get_mut(LAST_APPLIED))
    {
        *annotation = Value::String(marker(Some(&*annotation), before).to_string());
    }
}

fn last_applied_pointer() -> String {
    format!("/metadata/annotations/{}", LAST_APPLIED.replace('/', "~1"))
}

fn redact_field(current: &mut Value, before: Option<&Value>) {
    match current {
        Value::Object(map) => {
            let before_map = before.and_then(Value::as_object);
            redact_map(map, before_map, before.is_some());
        }
        _ => *current = Value::String(marker(Some(&*current), before).to_string()),
    }
}

fn redact_map(map: &mut Map<String, Value>, before: Option<&Map<String, Value>>, paired: bool) {
    for (key, value) in map.iter_mut() {
        // A key new to the pair is an addition; the diff shows that by itself.
        let old = before.and_then(|b| b.get(key));
        let text = match old {
            Some(_) => marker(Some(value), old),
            None if paired && before.is_none() => REDACTED_CHANGED,
            None => REDACTED,
        };
        *value = Value::String(text.to_string());
    }
}

/// The marker for a value given its old counterpart (`None` when unpaired or new).
fn marker(current: Option<&Value>, before: Option<&Value>) -> &'static str {
    match before {
        Some(old) if Some(old) != current => REDACTED_CHANGED,
        _ => REDACTED,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lone_secret_shows_keys_only() {
        let mut value = json!({"kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "bob"}});
        redact(&mut value);
        assert_eq!(
            value,
            json!({"kind": "Secret", "data": {"password": REDACTED}, "stringData": {"user": REDACTED}})
        );
    }

    #[test]
    fn a_changed_value_is_marked_on_the_new_side_only() {
        let mut old = json!({"data": {"a": "MQ==", "b": "Mg==", "gone": "Mw=="}});
        let mut new = json!({"data": {"a": "MQ==", "b": "NA==", "added": "NQ=="}});
        redact_pair(&mut old, &mut new);
        assert_eq!(
            old,
            json!({"data": {"a": REDACTED, "b": REDACTED, "gone": REDACTED}})
        );
        assert_eq!(
            new,
            json!({"data": {"a": REDACTED, "b": REDACTED_CHANGED, "added": REDACTED}})
        );
    }

    #[test]
    fn the_last_applied_annotation_is_redacted() {
        let mut value = json!({"metadata": {"annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"x\"}}", "keep": "me"}}});
        redact(&mut value);
        assert_eq!(
            value,
            json!({"metadata": {"annotations": {LAST_APPLIED: REDACTED, "keep": "me"}}})
        );
    }

    #[test]
    fn data_that_is_not_a_map_is_redacted_whole() {
        let mut old = json!({"data": "raw"});
        let mut new = json!({"data": "other"});
        redact_pair(&mut old, &mut new);
        assert_eq!(old, json!({"data": REDACTED}));
        assert_eq!(new, json!({"data": REDACTED_CHANGED}));
    }

    #[test]
    fn only_core_secrets_are_redacted() {
        assert!(is_secret(&ObjectKey::new("v1", "Secret", Some("a"), "s")));
        assert!(!is_secret(&ObjectKey::new(
            "bitnami.com/v1alpha1",
            "Secret",
            Some("a"),
            "s"
        )));
    }
}
