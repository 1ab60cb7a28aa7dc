//! Field paths: where in an object a diagnostic points, built step by step.
//!
//! A path is a list of steps (a field, a map entry, a list index), so finding its place in the
//! source walks the steps; nothing is formatted and parsed back. Its text is the one the
//! diagnostics contract shows: `spec.computePools[1].tolerations[2].operator`, a field whose
//! name is not a plain word in brackets (`metadata.labels[app.kubernetes.io/name]`).

use std::fmt;

use serde::{Serialize, Serializer};

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// A field of an object: `.name`, or `[name]` when the name is not a plain word.
    Key(String),
    /// An entry of a map whose keys are data, such as a label: always `[key]`.
    Entry(String),
    /// A field of a patch, in kubectl's form: `.name`, or `[name]` when the name holds `.`,
    /// `[` or `]` (so `$patch` stays `.$patch`).
    Member(String),
    /// An item of a list: `[3]`.
    Index(usize),
    /// Every item of a list: `[*]`. Only [`FieldPath::touches`] reads it.
    AnyIndex,
    /// A setting named by its dotted text, such as the profile's `karpenter.tags.team`: it
    /// has no place in an object, so no walk reads it.
    Setting(String),
}

impl Step {
    /// The map key this step names in a source tree, or `None` for a list step.
    pub fn as_key(&self) -> Option<&str> {
        match self {
            Step::Key(k) | Step::Entry(k) | Step::Member(k) => Some(k),
            Step::Index(_) | Step::AnyIndex | Step::Setting(_) => None,
        }
    }

    /// True when this step of a wanted path (which may hold `[*]`) names `other`.
    fn covers(&self, other: &Step) -> bool {
        match (self, other) {
            (Step::AnyIndex, Step::Index(_) | Step::AnyIndex) => true,
            (a, b) => match (a.as_key(), b.as_key()) {
                (Some(a), Some(b)) => a == b,
                _ => a == b,
            },
        }
    }
}

/// A path to a field inside an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    steps: Vec<Step>,
}

impl FieldPath {
    /// The object itself.
    pub fn root() -> Self {
        FieldPath::default()
    }

    /// A path of fields only, such as `["spec", "scaling", "pool"]`.
    pub fn keys(keys: &[&str]) -> Self {
        let steps = keys.iter().map(|k| Step::Key(k.to_string())).collect();
        FieldPath { steps }
    }

    /// This path, then the field `key`.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(Step::Key(key.into()));
        self
    }

    /// This path, then the map entry `key`.
    pub fn entry(mut self, key: impl Into<String>) -> Self {
        self.steps.push(Step::Entry(key.into()));
        self
    }

    /// This path, then the patch field `key` ([`Step::Member`]).
    pub fn member(mut self, key: impl Into<String>) -> Self {
        self.steps.push(Step::Member(key.into()));
        self
    }

    /// The setting `name`, written as it reads ([`Step::Setting`]).
    pub fn setting(name: impl Into<String>) -> Self {
        FieldPath {
            steps: vec![Step::Setting(name.into())],
        }
    }

    /// This path, then list item `i`.
    pub fn index(mut self, i: usize) -> Self {
        self.steps.push(Step::Index(i));
        self
    }

    /// This path, then every item of the list.
    pub fn any_index(mut self) -> Self {
        self.steps.push(Step::AnyIndex);
        self
    }

    /// This path, then the steps of `rest`.
    pub fn join(mut self, rest: &FieldPath) -> Self {
        self.steps.extend(rest.steps.iter().cloned());
        self
    }

    /// The steps, outermost first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// True for the object itself.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// True when one path holds the other or is it: `spec.scaling` and `spec.scaling.pool`
    /// touch, `spec.worker` and `spec.workers` do not. A `[*]` in `self` matches every item.
    pub fn touches(&self, other: &FieldPath) -> bool {
        self.steps
            .iter()
            .zip(&other.steps)
            .all(|(wanted, step)| wanted.covers(step))
    }
}

/// A plain word: letters, digits, `_` and `-`.
fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(k) if is_plain(k) && i == 0 => f.write_str(k)?,
                Step::Key(k) if is_plain(k) => write!(f, ".{k}")?,
                Step::Member(k) if k.contains(['.', '[', ']']) => write!(f, "[{k}]")?,
                Step::Member(k) if i == 0 => f.write_str(k)?,
                Step::Member(k) => write!(f, ".{k}")?,
                Step::Key(k) | Step::Entry(k) => write!(f, "[{k}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
                Step::Setting(name) if i == 0 => f.write_str(name)?,
                Step::Setting(name) => write!(f, ".{name}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_dotted_with_brackets_for_items_entries_and_odd_keys() {
        let path = FieldPath::keys(&["spec", "computePools"])
            .index(1)
            .key("tolerations")
            .index(2)
            .key("operator");
        assert_eq!(
            path.to_string(),
            "spec.computePools[1].tolerations[2].operator"
        );
        let label = FieldPath::keys(&["metadata", "labels"]).entry("app");
        assert_eq!(label.to_string(), "metadata.labels[app]");
        let odd = FieldPath::keys(&["spec", "limits"]).key("nvidia.com/gpu");
        assert_eq!(odd.to_string(), "spec.limits[nvidia.com/gpu]");
        assert_eq!(FieldPath::root().to_string(), "");
        assert_eq!(FieldPath::root().index(0).to_string(), "[0]");
        let patch = FieldPath::root()
            .member("containers")
            .index(0)
            .member("$patch");
        assert_eq!(patch.to_string(), "containers[0].$patch");
        let label = FieldPath::root()
            .member("nodeSelector")
            .member("kubernetes.io/os");
        assert_eq!(label.to_string(), "nodeSelector[kubernetes.io/os]");
    }

    #[test]
    fn paths_touch_their_parents_and_children_step_by_step() {
        let max = FieldPath::keys(&["spec", "scaling", "replicas", "max"]);
        assert!(max.touches(&FieldPath::keys(&["spec", "scaling"])));
        assert!(FieldPath::keys(&["spec"]).touches(&max));
        assert!(!max.touches(&FieldPath::keys(&["spec", "scaling", "replicas", "min"])));
        assert!(
            !FieldPath::keys(&["spec", "worker"]).touches(&FieldPath::keys(&["spec", "workers"]))
        );
        let any = FieldPath::keys(&["spec", "computePools"])
            .any_index()
            .key("name");
        let second = FieldPath::keys(&["spec", "computePools"]).index(1);
        assert!(any.touches(&second.clone().key("name")));
        assert!(!any.touches(&second.key("kind")));
    }
}
