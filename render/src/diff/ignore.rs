//! `--ignore` rules: fields dropped from both sides before comparing.
//!
//! A rule is a JSON pointer (RFC 6901), optionally after a kind and a colon:
//! `/metadata/annotations/layer.hev.dev~1render-hash` applies to every object,
//! `Deployment:/spec/replicas` only to Deployments. In the pointer `~1` stands for `/` and `~0`
//! for `~`, and a step `*` matches any one key or list index. A step that is a number also
//! selects that index of a list. A map or list left empty by a removal is removed too, so
//! ignoring the only annotation of one side matches a side with no annotations at all.
//!
//! Limits: the kind filter is the bare kind, whatever the API group; a literal `*` key
//! cannot be selected on its own (the wildcard covers it).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// Why an `--ignore` value is not a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseIgnoreError {
    /// The pointer does not start with `/`.
    #[error("{0:?}: the path must be a JSON pointer starting with /, optionally after KIND:")]
    NotAPointer(String),
    /// The kind before the colon is empty or not a kind name.
    #[error("{0:?}: the kind before : must be a kind name such as Deployment")]
    BadKind(String),
    /// A `~` escape other than `~0` and `~1`.
    #[error("{0:?}: ~ must be followed by 0 (for ~) or 1 (for /)")]
    BadEscape(String),
}

/// One pointer step.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// `*`: any key or index.
    Any,
    /// A key, or an index when it is a number and the value is a list.
    Key(String),
}

/// A field to drop: `[KIND:]POINTER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreRule {
    text: String,
    kind: Option<String>,
    steps: Vec<Pattern>,
}

impl fmt::Display for IgnoreRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for IgnoreRule {
    type Err = ParseIgnoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, pointer) = if text.starts_with('/') {
            (None, text)
        } else {
            match text.split_once(':') {
                Some((kind, pointer)) => {
                    let is_kind = kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && kind.chars().all(|c| c.is_ascii_alphanumeric());
                    if !is_kind {
                        return Err(ParseIgnoreError::BadKind(text.to_string()));
                    }
                    (Some(kind.to_string()), pointer)
                }
                None => return Err(ParseIgnoreError::NotAPointer(text.to_string())),
            }
        };
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(ParseIgnoreError::NotAPointer(text.to_string()));
        };
        let steps = rest
            .split('/')
            .map(|step| match step {
                "*" => Ok(Pattern::Any),
                _ => unescape(step)
                    .map(Pattern::Key)
                    .ok_or_else(|| ParseIgnoreError::BadEscape(text.to_string())),
            })
            .collect::<Result<_, _>>()?;
        Ok(IgnoreRule {
            text: text.to_string(),
            kind,
            steps,
        })
    }
}

/// Undoes RFC 6901 escapes; `None` on a stray `~`.
fn unescape(step: &str) -> Option<String> {
    let mut out = String::with_capacity(step.len());
    let mut chars = step.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl IgnoreRule {
    /// True when the rule applies to objects of this kind.
    pub fn applies_to(&self, kind: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind)
    }

    /// True when the rule's first step matches the top-level key `key`: a rule touches
    /// nothing outside the keys its first step matches.
    pub fn first_step_matches(&self, key: &str) -> bool {
        match self.steps.first() {
            Some(Pattern::Any) => true,
            Some(Pattern::Key(k)) => k == key,
            None => false,
        }
    }

    /// Removes every field the rule selects from `value`.
    pub fn remove_from(&self, value: &mut Value) {
        remove(value, &self.steps);
    }
}

/// Removes what `steps` select below `value`; true when anything was removed.
fn remove(value: &mut Value, steps: &[Pattern]) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return remove_last(value, first);
    }
    let mut removed = false;
    match (value, first) {
        (Value::Object(map), Pattern::Any) => {
            map.retain(|_, child| {
                let hit = remove(child, rest);
                removed |= hit;
                !(hit && is_empty_container(child))
            });
        }
        (Value::Object(map), Pattern::Key(key)) => {
            if let Some(child) = map.get_mut(key) {
                removed = remove(child, rest);
                if removed && is_empty_container(child) {
                    map.remove(key);
                }
            }
        }
        (Value::Array(items), Pattern::Any) => {
            items.retain_mut(|child| {
                let hit = remove(child, rest);
                removed |= hit;
                !(hit && is_empty_container(child))
            });
        }
        (Value::Array(items), Pattern::Key(key)) => {
            if let Some(i) = index(key, items.len()) {
                removed = remove(&mut items[i], rest);
                if removed && is_empty_container(&items[i]) {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
    removed
}

fn remove_last(value: &mut Value, last: &Pattern) -> bool {
    match (value, last) {
        (Value::Object(map), Pattern::Any) => {
            let removed = !map.is_empty();
            map.clear();
            removed
        }
        (Value::Object(map), Pattern::Key(key)) => map.remove(key).is_some(),
        (Value::Array(items), Pattern::Any) => {
            let removed = !items.is_empty();
            items.clear();
            removed
        }
        (Value::Array(items), Pattern::Key(key)) => match index(key, items.len()) {
            Some(i) => {
                items.remove(i);
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn index(key: &str, len: usize) -> Option<usize> {
    key.parse::<usize>().ok().filter(|i| *i < len)
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(text: &str) -> IgnoreRule {
        text.parse().unwrap()
    }

    fn apply(text: &str, mut value: Value) -> Value {
        rule(text).remove_from(&mut value);
        value
    }

    #[test]
    fn a_pointer_removes_one_field_with_escapes() {
        let value =
            json!({"metadata": {"annotations": {"layer.hev.dev/render-hash": "x", "b": "y"}}});
        assert_eq!(
            apply("/metadata/annotations/layer.hev.dev~1render-hash", value),
            json!({"metadata": {"annotations": {"b": "y"}}})
        );
    }

    #[test]
    fn a_container_left_empty_goes_too() {
        let value = json!({"metadata": {"name": "a", "annotations": {"x": "1"}}});
        assert_eq!(
            apply("/metadata/annotations/x", value),
            json!({"metadata": {"name": "a"}})
        );
    }

    #[test]
    fn a_container_that_was_already_empty_stays() {
        let value = json!({"metadata": {"annotations": {}}});
        assert_eq!(apply("/metadata/annotations/x", value.clone()), value);
    }

    #[test]
    fn a_wildcard_matches_every_list_item() {
        let value =
            json!({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]});
        assert_eq!(
            apply("/containers/*/image", value),
            json!({"containers": [{"name": "a"}, {"name": "b"}]})
        );
    }

    #[test]
    fn a_number_selects_a_list_index() {
        let value = json!({"args": ["a", "b", "c"]});
        assert_eq!(apply("/args/1", value), json!({"args": ["a", "c"]}));
    }

    #[test]
    fn the_kind_filter_selects_objects() {
        let r = rule("Deployment:/spec/replicas");
        assert!(r.applies_to("Deployment"));
        assert!(!r.applies_to("Service"));
        assert!(rule("/spec").applies_to("Service"));
        assert_eq!(r.to_string(), "Deployment:/spec/replicas");
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        assert_eq!(
            "spec/replicas".parse::<IgnoreRule>(),
            Err(ParseIgnoreError::NotAPointer("spec/replicas".into()))
        );
        assert_eq!(
            "Deployment:spec".parse::<IgnoreRule>(),
            Err(ParseIgnoreError::NotAPointer("Deployment:spec".into()))
        );
        assert_eq!(
            "apps/Deployment:/spec".parse::<IgnoreRule>(),
            Err(ParseIgnoreError::BadKind("apps/Deployment:/spec".into()))
        );
        assert_eq!(
            "/a~2b".parse::<IgnoreRule>(),
            Err(ParseIgnoreError::BadEscape("/a~2b".into()))
        );
    }
}
