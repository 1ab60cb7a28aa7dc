//! Loading: the only I/O in the library. Files, directories and stdin become documents that
//! remember their source position.
//!
//! A path may be a file, a directory (walked recursively for `*.yaml` and `*.yml`, in sorted
//! order, skipping dot-entries and `kustomization.yaml`) or `-` for stdin. Multi-document
//! streams and `kind: List` are split into one [`Document`] per object. Every problem in every
//! file is reported; one bad file does not stop the others from loading.
//!
//! Each file is parsed by a hand-written reader of the block YAML manifests are written in
//! (`fast.rs`), or, when it holds anything else or anything invalid, by serde-saphyr
//! (`full.rs`), about ten times slower. Both give the same trees, positions and diagnostics;
//! `differential.rs` checks that on every fixture and on random YAML.

#[cfg(test)]
mod differential;
mod fast;
mod full;
pub mod node;
pub mod scan;
pub mod walk;

use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use node::{Key, Node, NodeValue, Pos};
pub use walk::LoadRestrictor;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::field_path::FieldPath;

/// Limits on input size and shape, so hostile input fails fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file (or stdin) in bytes.
    pub max_file_bytes: u64,
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most YAML nodes in one file.
    pub max_nodes: usize,
    /// Most aliases (`*ref`) in one file.
    pub max_aliases: usize,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Where symlinks inside an input directory may lead.
    pub load_restrictor: LoadRestrictor,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 * 1024 * 1024,
            max_depth: 100,
            max_nodes: 5_000_000,
            max_aliases: 1_000,
            max_documents: 100_000,
            load_restrictor: LoadRestrictor::RootOnly,
        }
    }
}

/// One object read from the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The file as the user named it (`-` for stdin).
    pub file: String,
    /// The object's tree.
    pub root: Node,
}

impl Document {
    /// The span of a position in this document's file.
    pub fn span(&self, pos: Pos) -> Span {
        Span::new(&self.file, pos.line, pos.column)
    }

    /// The span of the node at `path`, or of its deepest existing ancestor.
    pub fn span_of(&self, path: &FieldPath) -> Span {
        self.span(self.root.locate(path))
    }

    /// `apiVersion`, when it is a string.
    pub fn api_version(&self) -> Option<&str> {
        self.root.get_str("apiVersion")
    }

    /// `kind`, when it is a string.
    pub fn kind(&self) -> Option<&str> {
        self.root.get_str("kind")
    }

    /// `metadata.name`, when it is a string.
    pub fn name(&self) -> Option<&str> {
        self.root.get("metadata")?.get_str("name")
    }

    /// `metadata.namespace`, when it is a string.
    pub fn namespace(&self) -> Option<&str> {
        self.root.get("metadata")?.get_str("namespace")
    }
}

/// What loading produced: every document that parsed, and every problem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// Documents in input order.
    pub documents: Vec<Document>,
    /// Problems, in input order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    fn extend(&mut self, other: Loaded) {
        self.documents.extend(other.documents);
        self.diagnostics.extend(other.diagnostics);
    }
}

/// One source to read, in command-line order.
enum Source {
    Stdin,
    File(PathBuf),
    Unreadable(Box<Diagnostic>),
}

/// The sources of `paths`, in order: stdin, the files of each path (directories walked), and
/// what could not be walked.
fn sources(paths: &[PathBuf], limits: &Limits) -> Vec<Source> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            sources.push(Source::Stdin);
            continue;
        }
        let walked = walk::walk(path, walk::Select::Manifests, limits.load_restrictor);
        sources.extend(walked.files.into_iter().map(Source::File));
        sources.extend(
            walked
                .diagnostics
                .into_iter()
                .map(|d| Source::Unreadable(Box::new(d))),
        );
    }
    sources
}

/// The name and bytes of one source, at most one byte over the size limit.
fn read_source(source: &Source, limits: &Limits) -> Result<(String, Vec<u8>), Diagnostic> {
    let mut bytes = Vec::new();
    match source {
        Source::Stdin => {
            let read = std::io::stdin()
                .lock()
                .take(limits.max_file_bytes.saturating_add(1))
                .read_to_end(&mut bytes);
            match read {
                Ok(_) => Ok(("-".to_string(), bytes)),
                Err(err) => Err(Diagnostic::new(
                    Code::Io,
                    format!("cannot read stdin: {err}"),
                )),
            }
        }
        Source::File(path) => {
            let read =
                std::fs::File::open(path).and_then(|file| read_file(file, limits, &mut bytes));
            match read {
                Ok(_) => Ok((display(path), bytes)),
                Err(err) => Err(*io_error(path, &err)),
            }
        }
        Source::Unreadable(diagnostic) => Err((**diagnostic).clone()),
    }
}

/// The bytes of an open file, at most one over the size limit. A small file (most of an
/// `--out` tree's 78,000) is read without asking its size; a large one is sized up front, as
/// growing a 90 MB buffer by doubling would copy it over and over.
fn read_file(file: std::fs::File, limits: &Limits, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    const SMALL: usize = 64 * 1024;
    thread_local! {
        static FIRST: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SMALL]);
    }
    let mut limited = file.take(limits.max_file_bytes.saturating_add(1));
    let filled = FIRST.with_borrow_mut(|first| -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < first.len() {
            match limited.read(&mut first[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        if filled < first.len() {
            bytes.extend_from_slice(&first[..filled]);
        } else {
            let len = limited.get_ref().metadata().map_or(0, |m| m.len());
            let cap = len.min(limits.max_file_bytes).saturating_add(1);
            bytes.reserve_exact(usize::try_from(cap).unwrap_or(SMALL));
            bytes.extend_from_slice(first);
        }
        Ok(filled)
    })?;
    if filled < SMALL {
        return Ok(filled);
    }
    limited.read_to_end(bytes).map(|n| n + filled)
}

/// Loads every path. `-` reads stdin. Files parse on every core; documents and diagnostics
/// come back in the order of the paths and of the files in each directory.
pub fn load_paths(paths: &[PathBuf], limits: &Limits) -> Loaded {
    let sources = sources(paths, limits);
    let parts: Vec<Loaded> = sources
        .par_iter()
        .map(|source| match read_source(source, limits) {
            Ok((name, bytes)) => load_bytes(&name, &bytes, limits),
            Err(diagnostic) => Loaded {
                documents: Vec::new(),
                diagnostics: vec![diagnostic],
            },
        })
        .collect();
    let mut loaded = Loaded::default();
    for part in parts {
        loaded.extend(part);
    }
    loaded
}

/// A file's name as the user gave it, and its text.
pub type FileText = (Arc<str>, Arc<String>);

/// The name and text of every file that [`load_paths`] would read, unparsed, for callers
/// that cut documents themselves (`diff` and `check`, see [`scan`]); with every problem found.
pub fn read_texts(paths: &[PathBuf], limits: &Limits) -> (Vec<FileText>, Vec<Diagnostic>) {
    let sources = sources(paths, limits);
    let read: Vec<_> = sources
        .par_iter()
        .map(|source| {
            let (name, bytes) = read_source(source, limits)?;
            let text = text_of(&name, bytes, limits)?;
            Ok((Arc::from(name), Arc::new(text)))
        })
        .collect();
    let mut texts = Vec::with_capacity(read.len());
    let mut diagnostics = Vec::new();
    for result in read {
        match result {
            Ok(text) => texts.push(text),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    (texts, diagnostics)
}

/// Parses one document cut from a file's text by [`scan::split`], as if it were the only one
/// in the file: `limits` apply to it alone. Diagnostics carry the file's line numbers;
/// positions in the tree count from the piece's first line.
pub fn load_piece(name: &str, text: &str, piece: &scan::Piece, limits: &Limits) -> Loaded {
    let mut loaded = load_str(
        name,
        text.get(piece.range.clone()).unwrap_or_default(),
        limits,
    );
    let shift = piece.line.saturating_sub(1);
    for diagnostic in &mut loaded.diagnostics {
        if let Some(span) = &mut diagnostic.span {
            span.line += shift;
        }
    }
    loaded
}

/// The display name of a path: as the user gave it, with `/` separators.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

pub(crate) fn io_error(path: &Path, err: &std::io::Error) -> Box<Diagnostic> {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    };
    // No line to point at: the path is in the message.
    Box::new(Diagnostic::new(
        Code::Io,
        format!("cannot read {}: {reason}", display(path)),
    ))
}

/// Parses the bytes of one file. Pure: no I/O.
pub fn load_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Loaded {
    let checked = size_problem(name, bytes.len(), limits).map_or_else(
        || std::str::from_utf8(bytes).map_err(|err| utf8_problem(name, bytes, err.valid_up_to())),
        Err,
    );
    match checked {
        Ok(text) => load_str(name, text, limits),
        Err(diagnostic) => Loaded {
            documents: Vec::new(),
            diagnostics: vec![diagnostic],
        },
    }
}

/// The text of a file's bytes, or why it has none: over the size limit, or not UTF-8.
fn text_of(name: &str, bytes: Vec<u8>, limits: &Limits) -> Result<String, Diagnostic> {
    if let Some(problem) = size_problem(name, bytes.len(), limits) {
        return Err(problem);
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        utf8_problem(name, err.as_bytes(), valid)
    })
}

fn size_problem(name: &str, len: usize, limits: &Limits) -> Option<Diagnostic> {
    (len as u64 > limits.max_file_bytes).then(|| {
        Diagnostic::new(
            Code::ResourceLimit,
            format!(
                "file is larger than the limit of {} bytes (raise it with --max-file-size)",
                limits.max_file_bytes
            ),
        )
        .at(Span::new(name, 1, 1))
    })
}

fn utf8_problem(name: &str, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    let (line, column) = line_col(bytes, valid_up_to);
    Diagnostic::new(Code::InvalidUtf8, "file is not valid UTF-8").at(Span::new(name, line, column))
}

/// 1-based line and column of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    (line, column)
}

/// Parses the text of one file. Pure: no I/O.
///
/// The fast path reads the block YAML that manifests are written in; anything else, and
/// every invalid input, goes to serde-saphyr, so both give the same documents and the same
/// diagnostics (checked by the differential tests).
pub fn load_str(name: &str, text: &str, limits: &Limits) -> Loaded {
    let roots = match fast::parse(text, limits) {
        Some(roots) => Ok(roots),
        None => full::parse(name, text, limits),
    };
    split_roots(name, roots)
}

/// Both readers on one text: `Ok(true)` when the fast reader takes it and both give the same
/// documents and diagnostics, `Ok(false)` when only serde-saphyr reads it, and both results
/// when they differ. The differential tests and the `loaders` fuzz target hold the fast
/// reader to serde-saphyr with it (`docs/fuzzing.md`).
#[doc(hidden)]
pub fn compare_readers(
    name: &str,
    text: &str,
    limits: &Limits,
) -> Result<bool, Box<(Loaded, Loaded)>> {
    let Some(roots) = fast::parse(text, limits) else {
        return Ok(false);
    };
    let fast = split_roots(name, Ok(roots));
    let full = split_roots(name, full::parse(name, text, limits));
    if fast == full {
        Ok(true)
    } else {
        Err(Box::new((fast, full)))
    }
}

/// The documents of a parsed stream, or its one parse error.
fn split_roots(name: &str, roots: Result<Vec<Node>, Diagnostic>) -> Loaded {
    let mut loaded = Loaded::default();
    let roots = match roots {
        Ok(roots) => roots,
        Err(diagnostic) => {
            loaded.diagnostics.push(diagnostic);
            return loaded;
        }
    };
    for root in roots {
        if root.value == NodeValue::Null {
            continue; // an empty document between separators
        }
        split_document(name, root, &mut loaded);
    }
    loaded
}

/// Adds the document, or each item of a `kind: List`.
fn split_document(name: &str, root: Node, loaded: &mut Loaded) {
    if !matches!(root.value, NodeValue::Map(_)) {
        loaded.diagnostics.push(
            Diagnostic::new(
                Code::NotAnObject,
                format!(
                    "a document must be an object with apiVersion and kind, found {}",
                    with_article(root.type_name())
                ),
            )
            .at(Span::new(name, root.pos.line, root.pos.column)),
        );
        return;
    }
    let is_list = root
        .get_str("kind")
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && root.get_str("apiVersion").is_some_and(|v| v == "v1")
        && root.get("items").is_some();
    if !is_list {
        loaded.documents.push(Document {
            file: name.to_string(),
            root,
        });
        return;
    }
    let items = root.get("items");
    match items.map(|n| &n.value) {
        Some(NodeValue::Seq(items)) => {
            for item in items {
                split_document(name, item.clone(), loaded);
            }
        }
        Some(NodeValue::Null) => {}
        _ => {
            let pos = items.map_or(root.pos, |n| n.pos);
            loaded.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidList,
                    "items of a List must be a list of objects",
                )
                .at(Span::new(name, pos.line, pos.column))
                .field(FieldPath::keys(&["items"])),
            );
        }
    }
}

/// `a list`, `an integer`.
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        load_str("in.yaml", text, &Limits::default())
    }

    fn rendered(loaded: &Loaded) -> Vec<String> {
        loaded.diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_multi_document_stream_gives_one_document_each() {
        let loaded = load("kind: A\n---\nkind: B\n---\n");
        assert_eq!(loaded.diagnostics, vec![]);
        let kinds: Vec<_> = loaded.documents.iter().map(|d| d.kind().unwrap()).collect();
        assert_eq!(kinds, ["A", "B"]);
        assert_eq!(loaded.documents[1].root.pos.line, 3);
    }

    #[test]
    fn a_list_is_split_into_its_items_with_their_positions() {
        let loaded = load("apiVersion: v1\nkind: List\nitems:\n- kind: A\n- kind: B\n");
        assert_eq!(loaded.diagnostics, vec![]);
        assert_eq!(loaded.documents.len(), 2);
        assert_eq!(
            loaded.documents[1].root.get_key("kind").unwrap().pos,
            Pos { line: 5, column: 3 }
        );
    }

    #[test]
    fn a_scalar_document_is_not_an_object() {
        let loaded = load("just text\n");
        assert_eq!(
            rendered(&loaded),
            [
                "in.yaml:1:1: error[E103]: a document must be an object with apiVersion and kind, found a string"
            ]
        );
    }

    #[test]
    fn a_list_document_is_not_an_object() {
        let loaded = load("- a\n- b\n");
        assert_eq!(loaded.diagnostics[0].code, Code::NotAnObject);
    }

    #[test]
    fn a_duplicate_key_points_at_the_second_key() {
        let loaded = load("kind: A\nmetadata:\n  name: x\n  name: y\n");
        assert_eq!(
            rendered(&loaded),
            ["in.yaml:4:3: error[E105]: duplicate key \"name\" (first at line 3, column 3)"]
        );
    }

    #[test]
    fn a_syntax_error_has_a_position() {
        let loaded = load("kind: A\nspec: [1, 2\n");
        assert_eq!(loaded.diagnostics.len(), 1);
        let d = &loaded.diagnostics[0];
        assert_eq!(d.code, Code::YamlSyntax);
        assert!(d.span.as_ref().unwrap().line >= 2, "{d}");
    }

    #[test]
    fn invalid_utf8_points_at_the_first_bad_byte() {
        let loaded = load_bytes("in.yaml", b"kind: A\nname: \xff\n", &Limits::default());
        assert_eq!(
            rendered(&loaded),
            ["in.yaml:2:7: error[E107]: file is not valid UTF-8"]
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_before_parsing() {
        let limits = Limits {
            max_file_bytes: 4,
            ..Limits::default()
        };
        let loaded = load_bytes("big.yaml", b"kind: A\n", &limits);
        assert_eq!(
            rendered(&loaded),
            [
                "big.yaml:1:1: error[E102]: file is larger than the limit of 4 bytes (raise it with --max-file-size)"
            ]
        );
    }

    #[test]
    fn an_alias_bomb_hits_the_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert_eq!(
            rendered(&load(&text)),
            [
                "in.yaml:6:45: error[E102]: more than 1000 aliases (*name) or anchors (&name) in one file, \
                 the limit against alias bombs; write the repeated values out, or split the file \
                 (the limit is per file)"
            ]
        );
    }

    #[test]
    fn deep_nesting_hits_the_budget() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            rendered(&load(&text)),
            [
                "in.yaml:1:259: error[E102]: nesting is deeper than the limit of 100 levels; \
                 no Kubernetes object nests that deep"
            ]
        );
    }

    #[test]
    fn too_many_nodes_or_documents_name_the_limit_in_plain_words() {
        let limits = Limits {
            max_nodes: 8,
            max_documents: 2,
            ..Limits::default()
        };
        let nodes = load_str("in.yaml", "a: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n", &limits);
        assert_eq!(
            rendered(&nodes),
            [
                "in.yaml:1:20: error[E102]: more than 8 YAML nodes (keys, values, lists and maps) \
                 in one file; split the file (the limit is per file)"
            ]
        );
        let documents = load_str("in.yaml", "a: 1\n---\nb: 1\n---\nc: 1\n", &limits);
        assert_eq!(
            rendered(&documents),
            [
                "in.yaml:4:1: error[E102]: more than 2 documents in one file; split the file \
                 (the limit is per file)"
            ]
        );
    }

    #[test]
    fn directories_are_walked_in_sorted_order_skipping_dot_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("z.yaml"), "kind: Z\n").unwrap();
        std::fs::write(dir.path().join("b/c/y.yml"), "kind: Y\n").unwrap();
        std::fs::write(dir.path().join("b/x.yaml"), "kind: X\n").unwrap();
        std::fs::write(dir.path().join("b/notes.txt"), "kind: N\n").unwrap();
        std::fs::write(dir.path().join(".git/h.yaml"), "kind: H\n").unwrap();
        std::fs::write(dir.path().join("kustomization.yaml"), "kind: K\n").unwrap();
        let loaded = load_paths(&[dir.path().to_path_buf()], &Limits::default());
        assert_eq!(loaded.diagnostics, vec![]);
        let kinds: Vec<_> = loaded.documents.iter().map(|d| d.kind().unwrap()).collect();
        assert_eq!(kinds, ["Y", "X", "Z"]);
    }

    #[test]
    fn a_missing_path_is_an_io_error_and_others_still_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "kind: A\n").unwrap();
        let missing = dir.path().join("missing.yaml");
        let loaded = load_paths(&[missing, dir.path().join("a.yaml")], &Limits::default());
        assert_eq!(loaded.documents.len(), 1);
        assert_eq!(loaded.diagnostics.len(), 1);
        assert_eq!(loaded.diagnostics[0].code, Code::Io);
        assert!(
            loaded.diagnostics[0]
                .message
                .ends_with("missing.yaml: no such file or directory")
        );
    }
}
