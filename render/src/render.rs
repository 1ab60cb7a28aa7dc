//! The render pipeline: decode, validate, expand, link, order.
//!
//! Pure: documents and options in, objects and diagnostics out. When any diagnostic is an
//! error, no object comes out, so the binary writes nothing.

use crate::diagnostic::{self, Diagnostic};
use crate::emit::{self, Object};
use crate::expand;
use crate::load::Document;
use crate::profile::Profile;
use crate::validate;

/// What a render needs besides the documents.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderOptions {
    /// The install context.
    pub profile: Profile,
    /// The namespace of namespaced hev layer objects that set none.
    pub namespace: String,
    /// Treat warnings as errors.
    pub strict: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            profile: Profile::default(),
            namespace: "default".into(),
            strict: false,
        }
    }
}

/// The result of a render.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    /// Objects in apply order; empty when there are errors.
    pub objects: Vec<Object>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Rendered {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Renders documents. Diagnostics from loading are passed in so they are reported and
/// counted with the rest.
pub fn render(
    documents: Vec<Document>,
    load_diagnostics: Vec<Diagnostic>,
    options: &RenderOptions,
) -> Rendered {
    let mut diagnostics = load_diagnostics;
    let (inputs, decoded) = validate::objects::decode(documents, &options.namespace);
    diagnostics.extend(decoded);
    diagnostics.extend(validate::check_all(&inputs, &options.profile));
    let mut objects = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        let (expanded, found) = expand::expand(&inputs, &options.profile);
        objects = expanded;
        diagnostics.extend(found);
    }
    if options.strict {
        diagnostic::promote_warnings(&mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
    }
    expand::linkage::link(&mut objects);
    emit::sort(&mut objects);
    Rendered {
        objects,
        diagnostics,
    }
}
