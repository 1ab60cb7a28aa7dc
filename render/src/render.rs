//! The render pipeline: decode, validate, expand, check schedulability, link, order.
//!
//! Pure: documents and options in, objects and diagnostics out. When any diagnostic is an
//! error, no object comes out, so the binary writes nothing.

use crate::diagnostic::{self, Diagnostic};
use crate::emit::{self, Object};
use crate::expand::{self, karpenter};
use crate::hash::content_hash;
use crate::karpenter::NodePool;
use crate::load::Document;
use crate::profile::{Engine, Profile};
use crate::schedule::{self, Mode, WorkerPod};
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
    /// Documents holding the cluster's other NodePools (`--nodepools`); other kinds are
    /// skipped.
    pub nodepools: Vec<Document>,
    /// Report workers that fit no NodePool as warnings (`--allow-unschedulable`).
    pub allow_unschedulable: bool,
    /// The GitOps engine the output is for (`--gitops`, else the profile's).
    pub engine: Engine,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            profile: Profile::default(),
            namespace: "default".into(),
            strict: false,
            nodepools: Vec::new(),
            allow_unschedulable: false,
            engine: Engine::None,
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

impl RenderOptions {
    /// A digest of everything in the options that changes the output, for the provenance
    /// record of an `--out` tree.
    pub fn digest(&self) -> String {
        let nodepools: Vec<String> = self
            .nodepools
            .iter()
            .map(|d| content_hash(&d.root.to_json()))
            .collect();
        content_hash(&serde_json::json!({
            "profile": serde_json::to_value(&self.profile).unwrap_or_default(),
            "namespace": self.namespace,
            "strict": self.strict,
            "nodepools": nodepools,
            "allowUnschedulable": self.allow_unschedulable,
            "engine": serde_json::to_value(self.engine).unwrap_or_default(),
        }))
    }

    /// The files of an `--out` tree for `objects`: the layout of the engine, plus the
    /// provenance record of what they were rendered from.
    pub fn out_files(&self, objects: &[Object], input_digest: String) -> Vec<(String, String)> {
        let mut files = match self.engine {
            Engine::Flux => emit::gitops::flux_tree(objects, &self.profile.gitops.flux),
            Engine::None | Engine::Argo => emit::tree(objects),
        };
        let record = emit::provenance::Provenance::new(&files, self.digest(), input_digest);
        files.push((emit::provenance::FILE.to_string(), record.to_text()));
        files
    }
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
    let (given, found) = schedule::read_nodepools(&options.nodepools);
    diagnostics.extend(found);
    let mut objects = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        let expanded = expand::expand(&inputs, &options.profile);
        objects = expanded.objects;
        diagnostics.extend(expanded.diagnostics);
        diagnostics.extend(check_schedule(
            &expanded.workers,
            expanded.node_pools,
            given,
            options,
        ));
    }
    // The input trees are done with: free them before the output grows.
    drop(inputs);
    if options.strict {
        diagnostic::promote_warnings(&mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
    }
    if options.engine == Engine::Argo {
        emit::gitops::annotate_argo(&mut objects);
    }
    expand::linkage::link(&mut objects);
    emit::sort(&mut objects);
    Rendered {
        objects,
        diagnostics,
    }
}

/// Checks every worker against the NodePools render knows: those it emits or passes through,
/// then those given with `--nodepools` (a name render emits wins). With none known, the check
/// runs against the chart's default pair and only warns: the cluster may have other NodePools.
fn check_schedule(
    workers: &[WorkerPod],
    rendered: Vec<NodePool>,
    given: Vec<NodePool>,
    options: &RenderOptions,
) -> Vec<Diagnostic> {
    let mut known = rendered;
    for pool in given {
        if !known.iter().any(|k| k.metadata.name == pool.metadata.name) {
            known.push(pool);
        }
    }
    let mode = if known.is_empty() {
        known = karpenter::default_worker_pools(&options.profile.karpenter).node_pools;
        Mode::DefaultPoolsOnly
    } else if options.allow_unschedulable {
        Mode::Allowed
    } else {
        Mode::Error
    };
    schedule::check_workers(workers, &known, mode)
}
