//! The render pipeline: decode, validate, expand, link, check schedulability, order.
//!
//! Pure: documents and options in, objects and diagnostics out. When any diagnostic is an
//! error, no object comes out, so the binary writes nothing. Each workload's family is linked
//! and written to YAML text while it is fresh, so a large render never holds every output
//! object as a JSON tree at once.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{self, Diagnostic};
use crate::emit::{self, Emitted, Keyed, Object, OutFile};
use crate::expand::{self, LeftOut, linkage};
use crate::hash::content_hash;
use crate::karpenter::NodePool;
use crate::karpenter::nodepools;
use crate::karpenter::schedule::{self, Mode, WorkerPod};
use crate::key::ObjectKey;
use crate::load::Document;
use crate::profile::{Engine, Profile};
use crate::validate;
use crate::validate::objects::{Inputs, Sourced};

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
    pub fn out_tree(
        &self,
        objects: Vec<Emitted>,
        input_digest: String,
        rendered_with: Option<emit::provenance::RenderedWith>,
    ) -> Vec<OutFile> {
        let mut files = match self.engine {
            Engine::Flux => emit::gitops::flux_tree(objects, &self.profile.gitops.flux),
            Engine::None | Engine::Argo => emit::tree(objects),
        };
        let record =
            emit::provenance::Provenance::new(&files, self.digest(), input_digest, rendered_with);
        files.push(OutFile::other(emit::provenance::FILE, record.to_text()));
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

/// Two renders of different inputs with the same options, for comparing them
/// (`diff --render`).
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedPair {
    /// The first input's render, less the objects counted in `same`.
    pub old: Rendered,
    /// The second input's render, less the objects counted in `same`.
    pub new: Rendered,
    /// How many objects are on both sides, equal, and left out of both.
    pub same: usize,
}

/// Renders two inputs with the same options. A workload's family depends only on its own
/// object and on what every family shares (the options, the InfraRules and the
/// passed-through objects). So when those are equal on both sides, a workload whose decoded
/// object is equal on both sides has an equal family: it is left out of both renders and
/// counted in `same`, its worker checked on each side. Each side keeps its own diagnostics.
/// A family whose expansion reports anything is rendered on both sides as usual, and nothing
/// is left out when a side has an error: the renders are then whole, as [`render`] makes
/// them. (No two objects of a render share an identity: validation refuses the inputs that
/// would make them, E110.)
pub fn render_pair(
    old: (Vec<Document>, Vec<Diagnostic>),
    new: (Vec<Document>, Vec<Diagnostic>),
    options: &RenderOptions,
) -> RenderedPair {
    render_pair_by(old, new, options, None)
}

/// How [`render_pair`] builds the equal families.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sharing {
    /// Once, on the old side, then the new side without them: the new side waits.
    InTurn,
    /// On each side, both sides at once: no side waits, and the equal families are built
    /// twice. Faster when they are few.
    AtOnce,
}

/// [`render_pair`], sharing as `sharing` says, or as is faster.
fn render_pair_by(
    old: (Vec<Document>, Vec<Diagnostic>),
    new: (Vec<Document>, Vec<Diagnostic>),
    options: &RenderOptions,
    sharing: Option<Sharing>,
) -> RenderedPair {
    let (old, new) = rayon::join(
        || Checked::new(old.0, old.1, options),
        || Checked::new(new.0, new.1, options),
    );
    let equal = equal_workloads(&old, &new);
    let workloads = new.inputs.pipelines.len() + new.inputs.functions.len();
    // Building both sides at once keeps both cores busy through each side's serial steps;
    // measured at 10,000 workloads, that wins while under a third of the families are equal.
    let sharing = sharing.unwrap_or(if equal.len() * 3 < workloads {
        Sharing::AtOnce
    } else {
        Sharing::InTurn
    });
    let (mut old, mut new, left_out) = match sharing {
        Sharing::InTurn => in_turn(old, new, &equal, options),
        Sharing::AtOnce => at_once(old, new, &equal, options),
    };
    let (old_left, new_left) = left_out;
    // An error is the caller's to report, about whole renders: each side without one gets
    // back the families it left out.
    if old.has_errors() || new.has_errors() {
        let new_left = new_left.as_ref().unwrap_or(&old_left);
        for (side, left) in [(&mut old, &old_left), (&mut new, new_left)] {
            if !side.has_errors() && !left.is_empty() {
                side.objects
                    .extend(left.iter().flat_map(|l| &l.objects).cloned());
                emit::sort(&mut side.objects);
            }
        }
        return RenderedPair { old, new, same: 0 };
    }
    // An equal family expands alike on both sides, so both leave out the same ones.
    debug_assert!(
        new_left.as_ref().is_none_or(|new_left| new_left
            .iter()
            .map(|l| &l.key)
            .eq(old_left.iter().map(|l| &l.key))),
        "the sides left out different families"
    );
    let same = old_left.iter().map(|l| l.objects.len()).sum();
    RenderedPair { old, new, same }
}

/// The families left out, as the old side built them and as the new side did (`None`: the
/// new side took the old side's).
type LeftOutBySide = (Vec<LeftOut<Emitted>>, Option<Vec<LeftOut<Emitted>>>);

/// The equal families built once, on the old side; the new side takes the workloads out and
/// checks their workers where it has them.
fn in_turn(
    old: Checked,
    mut new: Checked,
    equal: &HashSet<ObjectKey>,
    options: &RenderOptions,
) -> (Rendered, Rendered, LeftOutBySide) {
    let (old, left_out) = old.expand(options, Emitted::from, equal, Vec::new());
    let left: HashMap<&ObjectKey, &LeftOut<Emitted>> =
        left_out.iter().map(|l| (&l.key, l)).collect();
    let mut reused = Vec::new();
    take_left_out(&mut new.inputs.pipelines, &left, &mut reused);
    take_left_out(&mut new.inputs.functions, &left, &mut reused);
    let (new, _) = new.expand(options, Emitted::from, &HashSet::new(), reused);
    (old, new, (left_out, None))
}

/// Both sides built at once, each leaving out the equal families that build cleanly on it.
fn at_once(
    old: Checked,
    new: Checked,
    equal: &HashSet<ObjectKey>,
    options: &RenderOptions,
) -> (Rendered, Rendered, LeftOutBySide) {
    let ((old, old_left), (new, new_left)) = rayon::join(
        || old.expand(options, Emitted::from, equal, Vec::new()),
        || new.expand(options, Emitted::from, equal, Vec::new()),
    );
    (old, new, (old_left, Some(new_left)))
}

/// The workloads of `new` that have an equal family on `old`: none when what every family
/// shares differs. (A side with an error is put back whole by [`render_pair`].)
fn equal_workloads(old: &Checked, new: &Checked) -> HashSet<ObjectKey> {
    let (a, b) = (&old.inputs, &new.inputs);
    if !same_objects(&a.infra_rules, &b.infra_rules)
        || !same_objects(&a.pass_through, &b.pass_through)
    {
        return HashSet::new();
    }
    let mut equal = HashSet::new();
    equal_objects(&a.pipelines, &b.pipelines, &mut equal);
    equal_objects(&a.functions, &b.functions, &mut equal);
    equal
}

fn same_objects<T: PartialEq>(a: &[Sourced<T>], b: &[Sourced<T>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.key == b.key && a.object == b.object)
}

/// Adds to `equal` the key of every object of `new` that `old` has, equal.
fn equal_objects<T: PartialEq>(
    old: &[Sourced<T>],
    new: &[Sourced<T>],
    equal: &mut HashSet<ObjectKey>,
) {
    let by_key: HashMap<&ObjectKey, &T> = old.iter().map(|o| (&o.key, &o.object)).collect();
    for n in new {
        if by_key.get(&n.key).is_some_and(|o| **o == n.object) {
            equal.insert(n.key.clone());
        }
    }
}

/// Removes the workloads whose family the other side left out, keeping their workers with
/// this side's positions for the schedulability check.
fn take_left_out<T>(
    workloads: &mut Vec<Sourced<T>>,
    left: &HashMap<&ObjectKey, &LeftOut<Emitted>>,
    workers: &mut Vec<WorkerPod>,
) {
    workloads.retain(|w| {
        let Some(found) = left.get(&w.key) else {
            return true;
        };
        if let Some(worker) = &found.worker {
            workers.push(WorkerPod {
                span: Some(w.doc.span_of(&worker.field)),
                ..worker.clone()
            });
        }
        false
    });
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
    let checked = Checked::new(documents, load_diagnostics, options);
    checked
        .expand(options, write, &HashSet::new(), Vec::new())
        .0
}

/// One input decoded and checked, not yet expanded.
struct Checked {
    inputs: Inputs,
    diagnostics: Vec<Diagnostic>,
    /// The NodePools given with `--nodepools`.
    given: Vec<NodePool>,
}

impl Checked {
    fn new(
        documents: Vec<Document>,
        load_diagnostics: Vec<Diagnostic>,
        options: &RenderOptions,
    ) -> Checked {
        let mut diagnostics = load_diagnostics;
        let (inputs, decoded) = validate::objects::decode(documents, &options.namespace);
        diagnostics.extend(decoded);
        diagnostics.extend(validate::check_all(
            &inputs,
            &options.profile,
            &options.namespace,
        ));
        let (given, found) = schedule::read_nodepools(&options.nodepools);
        diagnostics.extend(found);
        Checked {
            inputs,
            diagnostics,
            given,
        }
    }

    /// Expands, links and orders; the families of workloads in `leave_out` that expand
    /// cleanly are left out (see [`expand::expand_leaving_out`]). `reused` are the workers of
    /// workloads taken out of the input because the other side has their family.
    fn expand<T, F>(
        self,
        options: &RenderOptions,
        write: F,
        leave_out: &HashSet<ObjectKey>,
        reused: Vec<WorkerPod>,
    ) -> (Rendered<T>, Vec<LeftOut<T>>)
    where
        T: Keyed + Send,
        F: Fn(Object) -> T + Sync,
    {
        let Checked {
            inputs,
            mut diagnostics,
            given,
        } = self;
        let mut objects = Vec::new();
        let mut left_out = Vec::new();
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
            let mut expanded =
                expand::expand_leaving_out(inputs, &options.profile, &finish, leave_out);
            objects = expanded.objects;
            left_out = expanded.left_out;
            diagnostics.extend(expanded.diagnostics);
            expanded.workers.extend(reused);
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
        (
            Rendered {
                objects,
                diagnostics,
            },
            left_out,
        )
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

    /// `worker:` and `scaling:` of a fixed Pipeline, with `extra` added to `worker:`.
    fn pipeline(name: &str, image: &str, extra: &str) -> String {
        format!(
            "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  pipelineId: {name}\n  target: {{namespace: t}}\n  worker:\n    image: {image}\n{extra}  scaling: {{mode: fixed, replicas: {{min: 1, max: 1}}}}\n"
        )
    }

    const STRAY: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p-extra\n  namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: layer-render\n    layer.hev.dev/owner-kind: Pipeline\n    layer.hev.dev/owner-name: p\ndata: {a: b}\n";

    /// Joins documents into one stream.
    fn stream(documents: &[&str]) -> String {
        documents.join("---\n")
    }

    /// The text diff of two renders and each side's diagnostics: rendering both sides in
    /// full, then with [`render_pair`], whose `same` comes last. Both ways must agree.
    fn both_ways(old: &str, new: &str, options: &RenderOptions) -> (String, Vec<String>, usize) {
        use crate::diff::{self, DiffOptions, read, text};
        let load = |name: &str, text: &str| {
            let loaded = load_str(name, text, &Limits::default());
            (loaded.documents, loaded.diagnostics)
        };
        let report = |old: Vec<Emitted>, new: Vec<Emitted>, same: usize| {
            let options = DiffOptions {
                unified: Some(3),
                ..DiffOptions::default()
            };
            let mut report = match diff::diff_items(
                &read::rendered(old, "old.yaml"),
                &read::rendered(new, "new.yaml"),
                &options,
            ) {
                Ok(report) => report,
                Err(err) => return format!("error: {err}"),
            };
            report.unchanged += same;
            let options = text::TextOptions {
                context: 3,
                color: false,
            };
            text::render(&report, &options)
        };
        let shown = |d: &[Diagnostic]| d.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        let (o, n) = (load("old.yaml", old), load("new.yaml", new));
        let full = (render(o.0, o.1, options), render(n.0, n.1, options));
        let mut diagnostics = shown(&full.0.diagnostics);
        diagnostics.extend(shown(&full.1.diagnostics));
        let text = report(full.0.objects, full.1.objects, 0);
        // Each way of sharing, and the one render_pair picks, gives the same.
        let mut same = None;
        for sharing in [Some(Sharing::InTurn), Some(Sharing::AtOnce), None] {
            let pair = render_pair_by(
                load("old.yaml", old),
                load("new.yaml", new),
                options,
                sharing,
            );
            let mut pair_diagnostics = shown(&pair.old.diagnostics);
            pair_diagnostics.extend(shown(&pair.new.diagnostics));
            assert_eq!(pair_diagnostics, diagnostics, "{sharing:?}");
            let shown = report(pair.old.objects, pair.new.objects, pair.same);
            assert_eq!(shown, text, "{sharing:?}");
            assert_eq!(*same.get_or_insert(pair.same), pair.same, "{sharing:?}");
        }
        (text, diagnostics, same.unwrap_or_default())
    }

    #[test]
    fn a_workload_equal_on_both_sides_is_built_once_and_left_out_of_both() {
        let old = stream(&[&pipeline("p", "w:1", ""), &pipeline("q", "w:1", ""), STRAY]);
        let new = stream(&[&pipeline("p", "w:2", ""), &pipeline("q", "w:1", ""), STRAY]);
        for engine in [Engine::None, Engine::Argo] {
            let options = RenderOptions {
                engine,
                ..RenderOptions::default()
            };
            let (text, diagnostics, same) = both_ways(&old, &new, &options);
            assert_eq!(diagnostics, Vec::<String>::new());
            // q's Deployment and Pipeline.
            assert_eq!(same, 2, "{engine:?}");
            assert!(
                text.starts_with("0 added, 0 removed, 2 changed, 3 unchanged\n"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_change_to_what_every_family_shares_leaves_nothing_out() {
        let old = stream(&[&pipeline("p", "w:1", ""), &pipeline("q", "w:1", ""), STRAY]);
        let cases = [
            // The stray child of p: linked into p's family.
            stream(&[
                &pipeline("p", "w:1", ""),
                &pipeline("q", "w:1", ""),
                &STRAY.replace("{a: b}", "{a: c}"),
            ]),
            // The compute pools.
            stream(&[
                &pipeline("p", "w:1", ""),
                &pipeline("q", "w:1", ""),
                STRAY,
                "apiVersion: hevlayer.com/v1alpha1\nkind: InfraRules\nmetadata: {name: default}\nspec:\n  computePools:\n  - {name: cpu, kind: cpu, maxReplicasPerWorkload: 20}\n",
            ]),
        ];
        for new in cases {
            let (text, diagnostics, same) = both_ways(&old, &new, &RenderOptions::default());
            // Both sides render: nothing is left out only because the shared part changed.
            assert!(
                !diagnostics.iter().any(|d| d.contains(": error[")),
                "{diagnostics:?}"
            );
            assert!(text.contains(" changed, "), "{text}");
            assert_eq!(same, 0, "{text}");
        }
    }

    /// A worker `podSpec` that fits neither of the chart's default NodePools.
    const PINNED: &str = "    podSpec: {nodeSelector: {disktype: ssd}}\n";

    /// Two diagnostics: the old side's, starting with `old`, then the new side's.
    fn assert_one_on_each_side(diagnostics: &[String], old: &str, new: &str) {
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        assert!(diagnostics[0].starts_with(old), "{diagnostics:?}");
        assert!(diagnostics[1].starts_with(new), "{diagnostics:?}");
    }

    /// [`both_ways`] on an unchanged Pipeline q (with `extra` in its `worker:`) that a new
    /// Pipeline r pushes down the new side, beside a changed p.
    fn q_moved_down(extra: &str, options: &RenderOptions) -> (String, Vec<String>, usize) {
        let old = stream(&[&pipeline("p", "w:1", ""), &pipeline("q", "w:1", extra)]);
        let new = stream(&[
            &pipeline("p", "w:2", ""),
            &pipeline("r", "w:1", ""),
            &pipeline("q", "w:1", extra),
        ]);
        both_ways(&old, &new, options)
    }

    #[test]
    fn a_family_whose_expansion_reports_something_is_rendered_on_both_sides() {
        // Its warning names each side's file and line.
        let relaxed = "    podSpec: {hostNetwork: true}\n";
        let (_, diagnostics, same) = q_moved_down(relaxed, &RenderOptions::default());
        assert_eq!(same, 0, "{diagnostics:?}");
        assert_one_on_each_side(
            &diagnostics,
            "old.yaml:19:5: warning[W401]",
            "new.yaml:29:5: warning[W401]",
        );
    }

    #[test]
    fn a_left_out_worker_is_checked_where_its_workload_stands_on_its_side() {
        // q's worker fits neither default pool: a warning on each side, at q's own line,
        // though q's family is left out.
        let (_, diagnostics, same) = q_moved_down(PINNED, &RenderOptions::default());
        assert_eq!(same, 2, "{diagnostics:?}");
        assert_one_on_each_side(
            &diagnostics,
            "old.yaml:17:3: warning[W600]",
            "new.yaml:27:3: warning[W600]",
        );
    }

    #[test]
    fn workloads_that_would_share_a_child_are_an_error_on_both_sides() {
        // A Pipeline and a Function named q both make Deployment/shop/q-worker: refused on
        // each side, so nothing is left out.
        let function = "apiVersion: hevlayer.com/v1alpha1\nkind: Function\nmetadata: {name: q, namespace: shop}\nspec:\n  targetNamespaces: [t]\n  inputs: [id]\n  version: v1\n  triggers: [write]\n  worker: {image: f:1}\n  scaling: {replicas: {max: 2}}\n";
        let old = stream(&[
            &pipeline("p", "w:1", ""),
            &pipeline("q", "w:1", ""),
            function,
        ]);
        let new = stream(&[
            &pipeline("p", "w:2", ""),
            &pipeline("q", "w:1", ""),
            function,
        ]);
        let (text, diagnostics, same) = both_ways(&old, &new, &RenderOptions::default());
        let clash = |side: &str, at: &str, this: &str, that: &str| {
            format!(
                "{side}.yaml:{at}: error[E110]: {this}: metadata.name: render would make Deployment/shop/q-worker for both this {} and {that}; rename one of them",
                this.split('/').next().unwrap_or_default()
            )
        };
        assert_eq!(
            diagnostics,
            [
                clash(
                    "old",
                    "13:12",
                    "Pipeline/shop/q",
                    "Function/shop/q at old.yaml:21:1"
                ),
                clash(
                    "old",
                    "23:12",
                    "Function/shop/q",
                    "Pipeline/shop/q at old.yaml:11:1"
                ),
                clash(
                    "new",
                    "13:12",
                    "Pipeline/shop/q",
                    "Function/shop/q at new.yaml:21:1"
                ),
                clash(
                    "new",
                    "23:12",
                    "Function/shop/q",
                    "Pipeline/shop/q at new.yaml:11:1"
                ),
            ]
        );
        assert_eq!(same, 0);
        assert_eq!(text, "0 added, 0 removed, 0 changed, 0 unchanged\n");
    }

    #[test]
    fn a_warning_made_an_error_by_strict_leaves_nothing_out() {
        // q's unschedulable worker is a warning, which --strict makes an error on both sides.
        let options = RenderOptions {
            strict: true,
            ..RenderOptions::default()
        };
        let (text, diagnostics, same) = q_moved_down(PINNED, &options);
        assert_eq!(same, 0);
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        assert!(
            diagnostics.iter().all(|d| d.contains(": error[W600]")),
            "{diagnostics:?}"
        );
        assert!(
            text.starts_with("0 added, 0 removed, 0 changed, 0 unchanged\n"),
            "{text}"
        );
    }

    #[test]
    fn errors_found_at_different_steps_on_each_side_leave_nothing_out() {
        // The old side's error comes from checking workers after expansion (W600, an error
        // under --strict), the new side's from validation before it: neither side keeps an
        // object, whichever way the equal q is shared.
        let options = RenderOptions {
            strict: true,
            ..RenderOptions::default()
        };
        let old = stream(&[&pipeline("p", "w:1", PINNED), &pipeline("q", "w:1", "")]);
        let new = stream(&[
            &pipeline("p", "w:1", "    port: -1\n"),
            &pipeline("q", "w:1", ""),
        ]);
        let (text, diagnostics, same) = both_ways(&old, &new, &options);
        assert_eq!(same, 0);
        assert_one_on_each_side(&diagnostics, "old.yaml:", "new.yaml:");
        assert!(diagnostics[0].contains(": error[W600]"), "{diagnostics:?}");
        assert!(diagnostics[1].contains(": error[E"), "{diagnostics:?}");
        assert_eq!(text, "0 added, 0 removed, 0 changed, 0 unchanged\n");
    }

    #[test]
    fn an_error_on_either_side_leaves_nothing_out() {
        let old = stream(&[&pipeline("p", "w:1", ""), &pipeline("q", "w:1", "")]);
        let new = stream(&[
            &pipeline("p", "w:1", ""),
            &pipeline("q", "w:1", "    port: -1\n"),
        ]);
        let (text, diagnostics, same) = both_ways(&old, &new, &RenderOptions::default());
        assert_eq!(same, 0);
        assert_eq!(
            diagnostics,
            [
                "new.yaml:19:5: error[E401]: Pipeline/shop/q: spec.worker.port: port -1 is outside 1..65535"
            ]
        );
        // The new side renders nothing.
        assert!(
            text.starts_with("0 added, 4 removed, 0 changed, 0 unchanged\n"),
            "{text}"
        );
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
