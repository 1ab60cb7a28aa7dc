//! Failed fields: the fields of one object that failed a check of their own (its schema, its
//! name), so that the checks reading them are skipped.
//!
//! An object that fails its schema is still read and checked (see [`super::salvage`]), the way
//! the API server reports CEL rule violations alongside schema errors. A failed field holds a
//! default or a stand-in after that read, so a check that reads it would report on a value the
//! user never wrote. Each check asks [`FailedFields::touches`] about the fields it reads first.

use crate::diagnostic::Diagnostic;
use crate::validate::objects::field_steps;

/// The failed fields of one object, each as path steps (`spec`, `scaling`, `pool`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedFields {
    paths: Vec<Vec<String>>,
}

impl FailedFields {
    /// The fields of the errors among `diagnostics`; warnings fail no field.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut failed = FailedFields::default();
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            if let Some(field) = &d.field {
                failed.insert(field);
            }
        }
        failed
    }

    /// Marks `field` (dot-separated, `[i]` for items) as failed.
    pub fn insert(&mut self, field: &str) {
        let steps = field_steps(field);
        if !self.paths.contains(&steps) {
            self.paths.push(steps);
        }
    }

    /// True when no field failed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Each failed field, as path steps.
    pub fn paths(&self) -> impl Iterator<Item = &[String]> {
        self.paths.iter().map(Vec::as_slice)
    }

    /// True when a check that reads `field` must not run: a failed field is `field`, holds it
    /// (a failed `spec.scaling` holds `spec.scaling.pool`) or lies inside it (a failed
    /// `spec.scaling.replicas.max` makes `spec.scaling.replicas` unreliable). A `[*]` step
    /// matches every item: `spec.computePools[*].name` asks about every pool's name.
    pub fn touches(&self, field: &str) -> bool {
        let wanted = field_steps(field);
        self.paths
            .iter()
            .any(|failed| failed.iter().zip(&wanted).all(|(f, w)| w == "*" || f == w))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn failed(fields: &[&str]) -> FailedFields {
        let mut f = FailedFields::default();
        fields.iter().for_each(|field| f.insert(field));
        f
    }

    #[test]
    fn a_field_is_touched_by_itself_its_parents_and_its_children() {
        let f = failed(&["spec.scaling.replicas.max"]);
        assert!(f.touches("spec.scaling.replicas.max"));
        assert!(f.touches("spec.scaling.replicas"));
        assert!(f.touches("spec"));
        assert!(!f.touches("spec.scaling.replicas.min"));
        assert!(!f.touches("spec.scaling.pool"));
        let f = failed(&["spec.scaling"]);
        assert!(f.touches("spec.scaling.replicas.min"));
        assert!(!f.touches("spec.worker.port"));
    }

    #[test]
    fn steps_compare_whole_not_as_text_prefixes() {
        let f = failed(&["spec.worker"]);
        assert!(!f.touches("spec.workers"));
        assert!(!failed(&["spec.workers"]).touches("spec.worker.port"));
    }

    #[test]
    fn a_star_matches_every_item() {
        let f = failed(&["spec.computePools[1].kind"]);
        assert!(f.touches("spec.computePools[*].kind"));
        assert!(!f.touches("spec.computePools[*].name"));
        assert!(f.touches("spec.computePools"));
        assert!(failed(&["spec.computePools[2]"]).touches("spec.computePools[*].name"));
        assert!(failed(&["spec.computePools"]).touches("spec.computePools[*].name"));
    }

    #[test]
    fn only_errors_with_a_field_fail_it() {
        use crate::diagnostic::Code;
        let diagnostics = [
            Diagnostic::new(Code::UnsupportedValue, "x").field("spec.scaling.mode"),
            Diagnostic::new(Code::UnknownField, "x").field("spec.scaling.modes"),
            Diagnostic::new(Code::DuplicateObject, "x"),
        ];
        let f = FailedFields::of(&diagnostics);
        assert_eq!(f.paths().collect::<Vec<_>>(), [["spec", "scaling", "mode"]]);
    }
}
