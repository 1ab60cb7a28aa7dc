//! Failed fields: the fields of one object that failed a check of their own (its schema, its
//! name), so that the checks reading them are skipped.
//!
//! An object that fails its schema is still read and checked (see [`super::salvage`]), the way
//! the API server reports CEL rule violations alongside schema errors. A failed field holds a
//! default or a stand-in after that read, so a check that reads it would report on a value the
//! user never wrote. Each check asks [`FailedFields::touches`] about the fields it reads first.

use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;

/// The failed fields of one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedFields {
    paths: Vec<FieldPath>,
}

impl FailedFields {
    /// The fields of the errors among `diagnostics`; warnings fail no field.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut failed = FailedFields::default();
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            if let Some(field) = &d.field {
                failed.insert(field.clone());
            }
        }
        failed
    }

    /// Marks `field` as failed.
    pub fn insert(&mut self, field: FieldPath) {
        if !self.paths.contains(&field) {
            self.paths.push(field);
        }
    }

    /// True when no field failed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Each failed field.
    pub fn paths(&self) -> impl Iterator<Item = &FieldPath> {
        self.paths.iter()
    }

    /// True when a check that reads `field` must not run: a failed field is `field`, holds it
    /// (a failed `spec.scaling` holds `spec.scaling.pool`) or lies inside it (a failed
    /// `spec.scaling.replicas.max` makes `spec.scaling.replicas` unreliable). A `[*]` step
    /// matches every item: `spec.computePools[*].name` asks about every pool's name.
    pub fn touches(&self, field: &FieldPath) -> bool {
        self.paths.iter().any(|failed| field.touches(failed))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn k(keys: &[&str]) -> FieldPath {
        FieldPath::keys(keys)
    }

    fn pools() -> FieldPath {
        k(&["spec", "computePools"])
    }

    fn failed(fields: &[FieldPath]) -> FailedFields {
        let mut f = FailedFields::default();
        fields.iter().for_each(|field| f.insert(field.clone()));
        f
    }

    #[test]
    fn a_field_is_touched_by_itself_its_parents_and_its_children() {
        let f = failed(&[k(&["spec", "scaling", "replicas", "max"])]);
        assert!(f.touches(&k(&["spec", "scaling", "replicas", "max"])));
        assert!(f.touches(&k(&["spec", "scaling", "replicas"])));
        assert!(f.touches(&k(&["spec"])));
        assert!(!f.touches(&k(&["spec", "scaling", "replicas", "min"])));
        assert!(!f.touches(&k(&["spec", "scaling", "pool"])));
        let f = failed(&[k(&["spec", "scaling"])]);
        assert!(f.touches(&k(&["spec", "scaling", "replicas", "min"])));
        assert!(!f.touches(&k(&["spec", "worker", "port"])));
    }

    #[test]
    fn steps_compare_whole_not_as_text_prefixes() {
        let f = failed(&[k(&["spec", "worker"])]);
        assert!(!f.touches(&k(&["spec", "workers"])));
        assert!(!failed(&[k(&["spec", "workers"])]).touches(&k(&["spec", "worker", "port"])));
    }

    #[test]
    fn a_star_matches_every_item() {
        let f = failed(&[pools().index(1).key("kind")]);
        assert!(f.touches(&pools().any_index().key("kind")));
        assert!(!f.touches(&pools().any_index().key("name")));
        assert!(f.touches(&pools()));
        assert!(failed(&[pools().index(2)]).touches(&pools().any_index().key("name")));
        assert!(failed(&[pools()]).touches(&pools().any_index().key("name")));
    }

    #[test]
    fn only_errors_with_a_field_fail_it() {
        use crate::diagnostic::Code;
        let diagnostics = [
            Diagnostic::new(Code::UnsupportedValue, "x").field(k(&["spec", "scaling", "mode"])),
            Diagnostic::new(Code::UnknownField, "x").field(k(&["spec", "scaling", "modes"])),
            Diagnostic::new(Code::DuplicateObject, "x"),
        ];
        let f = FailedFields::of(&diagnostics);
        assert_eq!(
            f.paths().collect::<Vec<_>>(),
            [&k(&["spec", "scaling", "mode"])]
        );
    }
}
