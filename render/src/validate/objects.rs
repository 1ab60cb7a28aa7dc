//! Decoding: documents become typed hev layer objects, or pass through untouched.
//!
//! Each hev layer document is checked as the API server would check it (type meta, metadata,
//! the CRD's structural schema) and then read into its Rust type, which applies the schema
//! defaults and drops unknown fields. A document that fails those checks is still read, with
//! its failed fields left out ([`salvage`]) and recorded ([`FailedFields`]), so the checks of
//! its other fields and of the objects around it still run. Other kinds pass through as they
//! are. Two objects with the same identity are an error wherever they come from.

use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::api::{Function, HevKind, Index, InfraRules, Pipeline, VectorStore, decode_schema};
use crate::diagnostic::{Code, Diagnostic};
use crate::field_path::FieldPath;
use crate::key::ObjectKey;
use crate::load::{Document, NodeValue};
use crate::validate::failed::FailedFields;
use crate::validate::names;
use crate::validate::{salvage, schema};

/// A decoded object and the document it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    /// The object.
    pub object: T,
    /// Its identity (the namespace filled in for namespaced kinds).
    pub key: ObjectKey,
    /// The document it was read from.
    pub doc: Document,
    /// The fields that failed the checks of decoding; what reads them is not checked.
    pub failed: FailedFields,
}

impl<T> Sourced<T> {
    /// True when no failed field touches `field` (see [`FailedFields::touches`]), so a check
    /// that reads it reads what the user wrote.
    pub fn is_sound(&self, field: &FieldPath) -> bool {
        !self.failed.touches(field)
    }

    /// A diagnostic about this object, placed at `field`.
    pub fn diagnostic(
        &self,
        code: Code,
        field: &FieldPath,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, message)
            .at(self.doc.span_of(field))
            .object(self.key.clone())
            .field(field.clone())
    }
}

/// Everything the input holds, by kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// VectorStores.
    pub vector_stores: Vec<Sourced<VectorStore>>,
    /// Indexes.
    pub indexes: Vec<Sourced<Index>>,
    /// InfraRules (valid input has at most one, named `default`).
    pub infra_rules: Vec<Sourced<InfraRules>>,
    /// Pipelines.
    pub pipelines: Vec<Sourced<Pipeline>>,
    /// Functions.
    pub functions: Vec<Sourced<Function>>,
    /// Every other object, untouched (Warehouses among them).
    pub pass_through: Vec<Sourced<Value>>,
}

/// Decodes every document. `default_namespace` fills in a missing namespace on namespaced
/// hev layer kinds, as `kubectl apply -n` would.
pub fn decode(documents: Vec<Document>, default_namespace: &str) -> (Inputs, Vec<Diagnostic>) {
    // Identities are checked in input order, so the first definition wins; the costly
    // schema check and typed read of each object then run on every core.
    let mut seen: HashMap<(String, String, Option<String>, String), crate::diagnostic::Span> =
        HashMap::new();
    let mut steps = Vec::with_capacity(documents.len());
    for doc in documents {
        steps.push(identify(doc, default_namespace, &mut seen));
    }
    let read: Vec<_> = steps
        .into_par_iter()
        .map(|step| match step {
            Step::Rejected(diagnostics) => (None, diagnostics),
            Step::Identified(doc, key, hev) => read(doc, key, hev),
        })
        .collect();
    let mut inputs = Inputs::default();
    let mut out = Vec::new();
    for (object, diagnostics) in read {
        out.extend(diagnostics);
        match object {
            Some(Read::VectorStore(o)) => inputs.vector_stores.push(*o),
            Some(Read::Index(o)) => inputs.indexes.push(*o),
            Some(Read::InfraRules(o)) => inputs.infra_rules.push(*o),
            Some(Read::Pipeline(o)) => inputs.pipelines.push(*o),
            Some(Read::Function(o)) => inputs.functions.push(*o),
            Some(Read::PassThrough(o)) => inputs.pass_through.push(*o),
            None => {}
        }
    }
    (inputs, out)
}

/// A document after its identity is known.
enum Step {
    /// Not an object render can place: no type meta, no name, or defined twice.
    Rejected(Vec<Diagnostic>),
    /// Its identity, and its hev layer kind if it is one.
    Identified(Document, ObjectKey, Option<HevKind>),
}

/// A document read into what it is. Typed objects are large, so they are boxed while the
/// results of every core are gathered, and moved only once, into [`Inputs`].
enum Read {
    VectorStore(Box<Sourced<VectorStore>>),
    Index(Box<Sourced<Index>>),
    InfraRules(Box<Sourced<InfraRules>>),
    Pipeline(Box<Sourced<Pipeline>>),
    Function(Box<Sourced<Function>>),
    PassThrough(Box<Sourced<Value>>),
}

type Seen = HashMap<(String, String, Option<String>, String), crate::diagnostic::Span>;

/// The identity of a document, unless it has none or an earlier document has it.
fn identify(doc: Document, default_namespace: &str, seen: &mut Seen) -> Step {
    let mut out = Vec::new();
    let Some((api_version, kind)) = type_meta(&doc, &mut out) else {
        return Step::Rejected(out);
    };
    let hev = HevKind::from_type_meta(&api_version, &kind);
    let namespace = match hev {
        Some(k) if k.is_namespaced() => {
            Some(doc.namespace().unwrap_or(default_namespace).to_string())
        }
        _ => doc.namespace().map(str::to_string),
    };
    let Some(name) = doc.name().map(str::to_string) else {
        let pos = doc.root.get("metadata").map_or(doc.root.pos, |m| m.pos);
        return Step::Rejected(vec![
            Diagnostic::new(Code::InvalidName, "required field is missing")
                .at(doc.span(pos))
                .object(ObjectKey::kind_only(&kind))
                .field(FieldPath::keys(&["metadata", "name"])),
        ]);
    };
    let key = ObjectKey::new(&api_version, &kind, namespace.as_deref(), &name);
    let problems = identity_problems(&doc, &key, &api_version);
    if !problems.is_empty() {
        return Step::Rejected(problems);
    }
    let identity = (
        key.group.clone(),
        key.kind.clone(),
        key.namespace.clone(),
        key.name.clone(),
    );
    if let Some(first_at) = seen.get(&identity) {
        return Step::Rejected(vec![
            Diagnostic::new(
                Code::DuplicateObject,
                format!("defined twice; the first is at {first_at}"),
            )
            .at(doc.span(doc.root.pos))
            .object(key.clone()),
        ]);
    }
    // Where each identity was first defined; a span, not the document, keeps memory flat.
    seen.insert(identity, doc.span(doc.root.pos));
    Step::Identified(doc, key, hev)
}

/// Every part of an identity that Kubernetes could not hold. The identity becomes the path of
/// the object's file in an `--out` tree, so this is what keeps a name like `../../x` from
/// ever reaching the disk (`docs/security.md`).
fn identity_problems(doc: &Document, key: &ObjectKey, api_version: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // `Kind/namespace/name` would only garble a bad identity: name the kind alone, when it
    // is one, as for a missing name.
    let kind = names::check_kind(&key.kind).is_ok().then_some(&key.kind);
    let mut problem = |code: Code, field: &[&str], message: String| {
        let field = FieldPath::keys(field);
        let diagnostic = Diagnostic::new(code, message)
            .at(doc.span_of(&field))
            .field(field);
        out.push(match kind {
            Some(kind) => diagnostic.object(ObjectKey::kind_only(kind)),
            None => diagnostic,
        });
    };
    if let Err(why) = names::check_api_version(api_version) {
        problem(
            Code::InvalidIdentity,
            &["apiVersion"],
            format!("invalid apiVersion {api_version:?}: {why}"),
        );
    }
    if let Err(why) = names::check_kind(&key.kind) {
        let kind = &key.kind;
        problem(
            Code::InvalidIdentity,
            &["kind"],
            format!("invalid kind {kind:?}: {why}"),
        );
    }
    if let Some(ns) = &key.namespace
        && let Err(why) = names::check_label(ns)
    {
        problem(
            Code::InvalidName,
            &["metadata", "namespace"],
            format!("invalid namespace {ns:?}: {why}"),
        );
    }
    if let Err(why) = names::check_object_name(&key.name) {
        let name = &key.name;
        problem(
            Code::InvalidName,
            &["metadata", "name"],
            format!("invalid name {name:?}: {why}"),
        );
    }
    out
}

/// Reads an identified document: a hev layer object is checked against its schema and read
/// into its type; anything else passes through.
fn read(doc: Document, key: ObjectKey, hev: Option<HevKind>) -> (Option<Read>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let Some(hev) = hev else {
        let object = doc.root.to_json();
        let failed = FailedFields::default();
        let read = Read::PassThrough(Box::new(Sourced {
            object,
            key,
            doc,
            failed,
        }));
        return (Some(read), out);
    };
    check_hev_meta(&doc, hev, &key, &mut out);
    let schema = schema_of(hev);
    out.extend(schema::check(&doc, schema, &key));
    // Like the API server, which runs CEL rules alongside its schema errors, the checks of
    // the other fields still run: the object is read without its failed fields.
    let failed = FailedFields::of(&out);
    let mut json = typed_json(&doc, &key);
    if !failed.is_empty() {
        salvage::salvage(&mut json, schema, &failed);
    }
    let read = match hev {
        HevKind::VectorStore => typed(json, key, doc, failed, &mut out).map(Read::VectorStore),
        HevKind::Index => typed(json, key, doc, failed, &mut out).map(Read::Index),
        HevKind::InfraRules => typed(json, key, doc, failed, &mut out).map(Read::InfraRules),
        HevKind::Pipeline => typed(json, key, doc, failed, &mut out).map(Read::Pipeline),
        HevKind::Function => typed(json, key, doc, failed, &mut out).map(Read::Function),
    };
    (read, out)
}

/// The schema `kind` is checked against ([`decode_schema`]), built once: building one takes
/// milliseconds.
fn schema_of(kind: HevKind) -> &'static Value {
    static SCHEMAS: [OnceLock<Value>; HevKind::ALL.len()] =
        [const { OnceLock::new() }; HevKind::ALL.len()];
    SCHEMAS[kind as usize].get_or_init(|| decode_schema(kind))
}

/// `apiVersion` and `kind`, or a diagnostic.
fn type_meta(doc: &Document, out: &mut Vec<Diagnostic>) -> Option<(String, String)> {
    let mut missing = |field: &str| {
        let pos = doc.root.get(field).map_or(doc.root.pos, |n| n.pos);
        out.push(
            Diagnostic::new(
                Code::MissingTypeMeta,
                format!("{field} is required and must be a string"),
            )
            .at(doc.span(pos))
            .field(FieldPath::keys(&[field])),
        );
    };
    let api_version = doc.api_version().filter(|v| !v.is_empty());
    let kind = doc.kind().filter(|k| !k.is_empty());
    if api_version.is_none() {
        missing("apiVersion");
    }
    if kind.is_none() {
        missing("kind");
    }
    Some((api_version?.to_string(), kind?.to_string()))
}

/// The version, the name and the namespace of a hev layer object.
fn check_hev_meta(doc: &Document, hev: HevKind, key: &ObjectKey, out: &mut Vec<Diagnostic>) {
    let object = key;
    let api_version = FieldPath::keys(&["apiVersion"]);
    let name = FieldPath::keys(&["metadata", "name"]);
    let namespace = FieldPath::keys(&["metadata", "namespace"]);
    if key.version != hev.served_version() {
        out.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                format!(
                    "{} is served as {}, not {}",
                    hev.kind_str(),
                    hev.api_version(),
                    doc.api_version().unwrap_or_default()
                ),
            )
            .at(doc.span_of(&api_version))
            .object(object.clone())
            .field(api_version),
        );
    }
    if let Err(problem) = names::check_subdomain(&key.name) {
        out.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("invalid name {:?}: {problem}", key.name),
            )
            .at(doc.span_of(&name))
            .object(object.clone())
            .field(name),
        );
    }
    // A namespace's form is checked with the identity, for every kind.
    if !hev.is_namespaced() && doc.namespace().is_some() {
        out.push(
            Diagnostic::new(
                Code::NamespaceOnClusterScoped,
                format!(
                    "{} is cluster-scoped; remove metadata.namespace",
                    hev.kind_str()
                ),
            )
            .at(doc.span_of(&namespace))
            .object(object.clone())
            .field(namespace),
        );
    }
    if let Some(meta) = doc.root.get("metadata") {
        for field in ["labels", "annotations"] {
            let Some(map) = meta.get(field) else { continue };
            let NodeValue::Map(entries) = &map.value else {
                if map.value != NodeValue::Null {
                    out.push(
                        Diagnostic::new(
                            Code::WrongType,
                            format!("expected object, found {}", map.type_name()),
                        )
                        .at(doc.span(map.pos))
                        .object(object.clone())
                        .field(FieldPath::keys(&["metadata", field])),
                    );
                }
                continue;
            };
            for (k, v) in entries {
                if !matches!(v.value, NodeValue::String(_)) {
                    out.push(
                        Diagnostic::new(
                            Code::WrongType,
                            format!("expected string, found {}", v.type_name()),
                        )
                        .at(doc.span(k.pos))
                        .object(object.clone())
                        .field(FieldPath::keys(&["metadata", field]).entry(&k.name)),
                    );
                }
            }
        }
    }
}

/// The JSON the typed read sees: type meta, the metadata render keeps, and the rest.
/// Server-set metadata (uid, resourceVersion, managedFields, ...) and `status` are dropped:
/// render emits desired state only.
fn typed_json(doc: &Document, key: &ObjectKey) -> Value {
    let mut value = doc.root.to_json();
    let Some(map) = value.as_object_mut() else {
        return value;
    };
    map.remove("status");
    let old_meta = map.remove("metadata").unwrap_or(Value::Null);
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(key.name.clone()));
    if let Some(ns) = &key.namespace {
        meta.insert("namespace".into(), Value::String(ns.clone()));
    }
    for field in ["labels", "annotations"] {
        if let Some(v) = old_meta.get(field).filter(|v| v.is_object()) {
            meta.insert(field.into(), v.clone());
        }
    }
    map.insert("metadata".into(), Value::Object(meta));
    value
}

fn typed<T: DeserializeOwned>(
    json: Value,
    key: ObjectKey,
    doc: Document,
    failed: FailedFields,
    out: &mut Vec<Diagnostic>,
) -> Option<Box<Sourced<T>>> {
    match serde_json::from_value::<T>(json) {
        Ok(object) => Some(Box::new(Sourced {
            object,
            key,
            doc,
            failed,
        })),
        // Salvage makes every object readable (a test holds it to that); were one not, its
        // errors are already reported.
        Err(_) if !failed.is_empty() => None,
        Err(err) => {
            // The schema check passed, so this is a rule the schema cannot express.
            out.push(
                Diagnostic::new(Code::WrongType, format!("cannot read object: {err}"))
                    .at(doc.span(doc.root.pos))
                    .object(key.clone()),
            );
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::load::{Limits, load_str};

    fn decode_text(text: &str) -> (Inputs, Vec<String>) {
        let loaded = load_str("in.yaml", text, &Limits::default());
        assert_eq!(loaded.diagnostics, vec![]);
        let (inputs, diags) = decode(loaded.documents, "default");
        (inputs, diags.iter().map(ToString::to_string).collect())
    }

    const PIPELINE: &str = "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata:\n  name: embed\n  namespace: shop\nspec:\n  target: {namespace: products}\n  worker: {image: 'img:1'}\n  scaling: {replicas: {max: 4}}\n";

    #[test]
    fn a_valid_pipeline_decodes_with_defaults() {
        let (inputs, diags) = decode_text(PIPELINE);
        assert_eq!(diags, Vec::<String>::new());
        let p = &inputs.pipelines[0];
        assert_eq!(p.key.display_ref(), "Pipeline/shop/embed");
        assert_eq!(p.object.spec.worker.batch_size, 32);
    }

    #[test]
    fn a_missing_namespace_takes_the_default() {
        let text = PIPELINE.replace("  namespace: shop\n", "");
        let (inputs, diags) = decode_text(&text);
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(
            inputs.pipelines[0].key.namespace.as_deref(),
            Some("default")
        );
        assert_eq!(
            inputs.pipelines[0].object.metadata.namespace.as_deref(),
            Some("default")
        );
    }

    #[test]
    fn other_kinds_pass_through_untouched() {
        let (inputs, diags) =
            decode_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n");
        assert_eq!(diags, Vec::<String>::new());
        assert_eq!(inputs.pass_through[0].object["data"]["a"], "1");
        assert_eq!(inputs.pass_through[0].key.namespace, None);
    }

    #[test]
    fn a_duplicate_object_points_at_the_first() {
        let text = format!("{PIPELINE}---\n{PIPELINE}");
        let (_, diags) = decode_text(&text);
        assert_eq!(
            diags,
            [
                "in.yaml:11:1: error[E110]: Pipeline/shop/embed: defined twice; the first is at in.yaml:1:1"
            ]
        );
    }

    #[test]
    fn a_wrong_version_and_a_bad_name_are_both_reported() {
        let text = PIPELINE
            .replace("v1alpha1", "v1")
            .replace("name: embed", "name: Embed_1");
        let (_, diags) = decode_text(&text);
        assert_eq!(
            diags,
            [
                "in.yaml:1:1: error[E112]: Pipeline/shop/Embed_1: apiVersion: Pipeline is served as hevlayer.com/v1alpha1, not hevlayer.com/v1",
                "in.yaml:4:3: error[E109]: Pipeline/shop/Embed_1: metadata.name: invalid name \"Embed_1\": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            ]
        );
    }

    #[test]
    fn a_namespace_on_infra_rules_is_refused() {
        let text = "apiVersion: hevlayer.com/v1alpha1\nkind: InfraRules\nmetadata: {name: default, namespace: layer}\nspec: {}\n";
        let (_, diags) = decode_text(text);
        assert_eq!(
            diags,
            [
                "in.yaml:3:27: error[E111]: InfraRules/layer/default: metadata.namespace: InfraRules is cluster-scoped; remove metadata.namespace"
            ]
        );
    }

    #[test]
    fn missing_type_meta_is_reported_for_both_fields() {
        let (_, diags) = decode_text("metadata: {name: x}\n");
        assert_eq!(
            diags,
            [
                "in.yaml:1:1: error[E104]: apiVersion: apiVersion is required and must be a string",
                "in.yaml:1:1: error[E104]: kind: kind is required and must be a string",
            ]
        );
    }
}
