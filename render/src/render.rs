//! The render pipeline: decode, validate, expand, link, check schedulability, order.
//!
//! Pure: documents and options in, objects and diagnostics out. When any diagnostic is an
//! error, no object comes out, so the binary writes nothing. Each workload's family is linked
//! and written to YAML text while it is fresh, so a large render never holds every output
//! object as a JSON tree at once.

use crate::diagnostic::{self, Diagnostic};
use crate::emit::{self, Emitted, Keyed, Object};
use crate::expand::{self, linkage};
use crate::hash::content_hash;
use crate::karpenter::NodePool;
use crate::karpenter::nodepools;
use crate::karpenter::schedule::{self, Mode, WorkerPod};
use crate::load::Document;
use crate::profile::{Engine, Profile};
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

/// The result of a render: objects as YAML text ([`render`]) or as JSON ([`render_json`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered<T = Emitted> {
    /// Objects in apply order; empty when there are errors.
    pub objects: Vec<T>,
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
    /// provenance record of what they were rendered from (last).
    pub fn out_files(
        &self,
        objects: Vec<Emitted>,
        input_digest: String,
        rendered_with: Option<emit::provenance::RenderedWith>,
    ) -> Vec<(String, String)> {
        let mut files = match self.engine {
            Engine::Flux => emit::gitops::flux_tree(objects, &self.profile.gitops.flux),
            Engine::None | Engine::Argo => emit::tree(objects),
        };
        let record =
            emit::provenance::Provenance::new(&files, self.digest(), input_digest, rendered_with);
        files.push((emit::provenance::FILE.to_string(), record.to_text()));
        files
    }
}

impl<T> Rendered<T> {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Renders documents to YAML text. Diagnostics from loading are passed in so they are
/// reported and counted with the rest.
pub fn render(
    documents: Vec<Document>,
    load_diagnostics: Vec<Diagnostic>,
    options: &RenderOptions,
) -> Rendered {
    render_with(documents, load_diagnostics, options, Emitted::from)
}

/// Renders documents to JSON, for callers that compare or inspect the objects.
pub fn render_json(
    documents: Vec<Document>,
    load_diagnostics: Vec<Diagnostic>,
    options: &RenderOptions,
) -> Rendered<Object> {
    render_with(documents, load_diagnostics, options, |o| o)
}

fn render_with<T, F>(
    documents: Vec<Document>,
    load_diagnostics: Vec<Diagnostic>,
    options: &RenderOptions,
    write: F,
) -> Rendered<T>
where
    T: Keyed + Send,
    F: Fn(Object) -> T + Sync,
{
    let mut diagnostics = load_diagnostics;
    let (inputs, decoded) = validate::objects::decode(documents, &options.namespace);
    diagnostics.extend(decoded);
    diagnostics.extend(validate::check_all(&inputs, &options.profile));
    let (given, found) = schedule::read_nodepools(&options.nodepools);
    diagnostics.extend(found);
    let mut objects = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        // Argo's sync wave goes in before linkage, so the hashes cover it.
        let argo = options.engine == Engine::Argo;
        let prepare = |family: &mut [Object]| {
            if argo {
                family.iter_mut().for_each(emit::gitops::annotate_argo);
            }
        };
        let mut strays = linkage::strays(&inputs.pass_through);
        prepare(&mut strays);
        let outside = linkage::Children::stamp(&mut strays);
        let finish = |mut family: Vec<Object>| {
            prepare(&mut family);
            linkage::link(&mut family, &outside);
            family.into_iter().map(&write).collect()
        };
        let expanded = expand::expand_with(inputs, &options.profile, &finish);
        objects = expanded.objects;
        diagnostics.extend(expanded.diagnostics);
        diagnostics.extend(check_schedule(
            &expanded.workers,
            expanded.node_pools,
            given,
            options,
        ));
    }
    if options.strict {
        diagnostic::promote_warnings(&mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
    }
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
        known = nodepools::default_worker_pools(&options.profile.karpenter).node_pools;
        Mode::DefaultPoolsOnly
    } else if options.allow_unschedulable {
        Mode::Allowed
    } else {
        Mode::Error
    };
    schedule::check_workers(workers, &known, mode)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::load::{Limits, load_str};

    const INPUT: &str = "\
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: p, namespace: shop}
spec:
  pipelineId: p
  target: {namespace: t}
  worker: {image: w:1}
  scaling: {mode: fixed, replicas: {min: 1, max: 1}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: p-extra
  namespace: shop
  labels:
    app.kubernetes.io/managed-by: layer-render
    layer.hev.dev/owner-kind: Pipeline
    layer.hev.dev/owner-name: p
data: {a: b}
";

    fn rendered(engine: Engine) -> Rendered<Object> {
        let loaded = load_str("in.yaml", INPUT, &Limits::default());
        let options = RenderOptions {
            engine,
            ..RenderOptions::default()
        };
        render_json(loaded.documents, loaded.diagnostics, &options)
    }

    fn annotation<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a str {
        let object = objects
            .iter()
            .find(|o| o.key.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        object.value["metadata"]["annotations"][name]
            .as_str()
            .unwrap_or_default()
    }

    #[test]
    fn a_passed_through_child_is_linked_to_its_owner() {
        for engine in [Engine::None, Engine::Argo] {
            let out = rendered(engine);
            assert_eq!(out.diagnostics, []);
            let hash = annotation(&out.objects, "ConfigMap", "layer.hev.dev/render-hash");
            let children: serde_json::Value = serde_json::from_str(annotation(
                &out.objects,
                "Pipeline",
                "layer.hev.dev/children",
            ))
            .unwrap();
            assert_eq!(children["ConfigMap/p-extra"], hash, "{engine:?}");
            let deployment = annotation(&out.objects, "Deployment", "layer.hev.dev/render-hash");
            assert_eq!(children["Deployment/p-worker"], deployment, "{engine:?}");
        }
    }

    #[test]
    fn text_and_json_renders_are_the_same_objects() {
        let loaded = load_str("in.yaml", INPUT, &Limits::default());
        let options = RenderOptions::default();
        let text = render(loaded.documents.clone(), Vec::new(), &options);
        let json = render_json(loaded.documents, Vec::new(), &options);
        let from_json: Vec<Emitted> = json.objects.into_iter().map(Emitted::from).collect();
        assert_eq!(text.objects, from_json);
    }
}
