//! A side as `diff` reads it: the documents of its files, each with its identity, kept as
//! text until a comparison needs the tree.
//!
//! A file's text is cut into documents and each document's identity is read from its lines
//! ([`scan`]), both without parsing. A document the identity reader does not vouch for (flow
//! style, anchors, a `kind: List`, a missing name) is parsed right away and kept as JSON; so
//! is every problem found in it. Rendered objects come with their identity and YAML text.
//!
//! A text is known to be the writer's own ([`Written`]) when it was rendered in this run, or
//! when it is a file of an `--out` tree whose bytes hash to what the tree's provenance record
//! says render wrote there. Its unified diff is then made from the texts, without parsing and
//! writing the objects again. A record forged to vouch for a hand-written file only changes
//! how that file's diff is laid out: it shows the file's own lines, and the field list is
//! computed from the parsed entries either way.

use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::emit::provenance::file_hash;
use crate::emit::{Emitted, Object};
use crate::field_path::FieldPath;
use crate::key::ObjectKey;
use crate::load::scan::{self, Piece};
use crate::load::{self, Limits};

/// One document's text in the file it was cut from.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    /// The file as the user named it, for diagnostics.
    pub file: Arc<str>,
    /// The whole file.
    pub source: Arc<String>,
    /// Where the document is in it.
    pub piece: Piece,
    /// Whether the text is exactly what render's YAML writer makes of the object.
    pub written: Written,
}

/// Whether a text is what render's YAML writer makes of its object, so that a diff of two
/// such texts is the diff of the objects as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// Rendered in this run.
    Rendered,
    /// A tree's file that its provenance record gives this hash of the bytes render wrote:
    /// the writer's own when the file still hashes to it.
    Recorded(Arc<str>),
    /// Not known.
    Unknown,
}

/// The hashes a tree's provenance record gives its files, by the names the files are read
/// under ([`File`]).
pub type Recorded = HashMap<Arc<str>, Arc<str>>;

impl Text {
    /// True when the text is known to be what render's writer makes of its object.
    pub fn is_written(&self) -> bool {
        match &self.written {
            Written::Rendered => true,
            Written::Recorded(hash) => file_hash(&self.source) == **hash,
            Written::Unknown => false,
        }
    }

    /// The document's content: what two equal documents share.
    pub fn body(&self) -> &str {
        self.source
            .get(self.piece.body..self.piece.range.end)
            .unwrap_or_default()
    }

    /// The document parsed on its own, with the limits of one document; diagnostics carry
    /// the file's line numbers.
    fn parse(&self) -> load::Loaded {
        let limits = document_limits();
        let mut loaded = load::load_piece(&self.file, &self.source, &self.piece, &limits);
        for diagnostic in &mut loaded.diagnostics {
            if diagnostic.code == Code::ResourceLimit {
                diagnostic.message = over_limits(&limits);
            }
        }
        loaded
    }
}

/// What a document over the parser's limits is told: each limit, and why none needs raising.
fn over_limits(limits: &Limits) -> String {
    format!(
        "this document is over a limit that diff and check set on each document: at most {} YAML nodes, nesting {} deep, {} aliases and {} bytes in one scalar. No Kubernetes object comes near them (the API server stores at most 1.5 MiB per object), so they cannot be raised: split the document into the objects it holds",
        limits.max_nodes,
        limits.max_depth,
        limits.max_aliases,
        crate::load::node::MAX_SCALAR_BYTES
    )
}

/// The parser's limits for one document that `diff` and `check` read: the loader's own
/// budgets of nodes, depth and aliases, applied to each document, and no limit on the size of
/// the file it is cut from, so a render of any size is read (`--max-file-size` sets one).
pub fn document_limits() -> Limits {
    Limits {
        max_file_bytes: u64::MAX,
        ..Limits::default()
    }
}

/// How an object of a side is held.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Its document's text, parsed when it is compared or shown.
    Text(Text),
    /// Its JSON, for an object parsed already.
    Value(Arc<Value>),
}

impl Content {
    /// The object as JSON, parsing its text when needed.
    pub fn value(&self) -> Result<Cow<'_, Value>, Vec<Diagnostic>> {
        match self {
            Content::Value(value) => Ok(Cow::Borrowed(value)),
            Content::Text(text) => {
                let loaded = text.parse();
                if !loaded.diagnostics.is_empty() {
                    return Err(loaded.diagnostics);
                }
                loaded
                    .documents
                    .into_iter()
                    .next()
                    .map(|d| Cow::Owned(d.root.into_json()))
                    .ok_or_else(|| {
                        vec![
                            Diagnostic::new(Code::NotAnObject, "the document is empty").at(
                                crate::diagnostic::Span::new(&*text.file, text.piece.line, 1),
                            ),
                        ]
                    })
            }
        }
    }
}

/// One object of a side.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its identity.
    pub key: ObjectKey,
    /// Its text or its JSON.
    pub content: Content,
}

/// A file's name and text.
pub type File = load::FileText;

/// The objects of every file, in file order, with every problem found. Files are cut and
/// read on every core.
pub fn items(files: &[File]) -> (Vec<Item>, Vec<Diagnostic>) {
    items_of_tree(files, &Recorded::new())
}

/// [`items`] of a tree's files, with the hashes its provenance record gives them.
pub fn items_of_tree(files: &[File], recorded: &Recorded) -> (Vec<Item>, Vec<Diagnostic>) {
    let (by_file, diagnostics) = read_files(files, recorded);
    (by_file.into_iter().flatten().collect(), diagnostics)
}

/// [`items`], file by file.
pub fn items_by_file(files: &[File]) -> (Vec<Vec<Item>>, Vec<Diagnostic>) {
    read_files(files, &Recorded::new())
}

fn read_files(files: &[File], recorded: &Recorded) -> (Vec<Vec<Item>>, Vec<Diagnostic>) {
    let pieces: Vec<(usize, Piece)> = files
        .par_iter()
        .map(|(_, text)| scan::split(text))
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
        .flat_map(|(file, pieces)| pieces.into_iter().map(move |p| (file, p)))
        .collect();
    let read: Vec<_> = pieces
        .par_iter()
        .map(|(file, piece)| {
            let (name, source) = &files[*file];
            let written = match recorded.get(&**name) {
                Some(hash) => Written::Recorded(hash.clone()),
                None => Written::Unknown,
            };
            let text = Text {
                file: name.clone(),
                source: source.clone(),
                piece: piece.clone(),
                written,
            };
            match scan::identity(text.body()) {
                Some(key) => (
                    vec![Item {
                        key,
                        content: Content::Text(text),
                    }],
                    Vec::new(),
                ),
                None => parsed(&text),
            }
        })
        .collect();
    let mut by_file: Vec<Vec<Item>> = files.iter().map(|_| Vec::new()).collect();
    let mut diagnostics = Vec::new();
    for ((file, _), (found, problems)) in pieces.iter().zip(read) {
        if let Some(items) = by_file.get_mut(*file) {
            items.extend(found);
        }
        diagnostics.extend(problems);
    }
    (by_file, diagnostics)
}

/// The objects of a document that the identity reader left to the parser.
fn parsed(text: &Text) -> (Vec<Item>, Vec<Diagnostic>) {
    let loaded = text.parse();
    let mut diagnostics = loaded.diagnostics;
    let mut items = Vec::new();
    let shift = text.piece.line - 1;
    for document in loaded.documents {
        // Without a kind and a name there is nothing to match the object on.
        let missing = if document.kind().is_none_or(str::is_empty) {
            Some((
                Code::MissingTypeMeta,
                &["kind"][..],
                "kind is required to match objects",
            ))
        } else if document.name().is_none_or(str::is_empty) {
            Some((
                Code::InvalidName,
                &["metadata", "name"][..],
                "metadata.name is required to match objects",
            ))
        } else {
            None
        };
        if let Some((code, field, message)) = missing {
            let field = FieldPath::keys(field);
            let mut span = document.span_of(&field);
            span.line += shift;
            diagnostics.push(Diagnostic::new(code, message).at(span).field(field));
            continue;
        }
        let object = Object::from_value(document.root.into_json());
        items.push(Item {
            key: object.key,
            content: Content::Value(Arc::new(object.value)),
        });
    }
    (items, diagnostics)
}

/// Rendered objects as items: their identity and their YAML, named `file` in diagnostics.
pub fn rendered(objects: Vec<Emitted>, file: &str) -> Vec<Item> {
    let file: Arc<str> = Arc::from(file);
    objects
        .into_par_iter()
        .map(|object| rendered_item(object.key, file.clone(), object.yaml))
        .collect()
}

/// One rendered object as an item: its identity, and its YAML, the whole of `text`, named
/// `file` in diagnostics.
pub fn rendered_item(key: ObjectKey, file: Arc<str>, text: String) -> Item {
    let source = Arc::new(text);
    let piece = Piece {
        range: 0..source.len(),
        body: 0,
        line: 1,
    };
    Item {
        key,
        content: Content::Text(Text {
            file,
            source,
            piece,
            written: Written::Rendered,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Item>, Vec<String>) {
        let (items, diagnostics) = items(&[(Arc::from("in.yaml"), Arc::new(text.to_string()))]);
        (items, diagnostics.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn simple_documents_stay_text_and_others_are_parsed() {
        let (items, problems) = read(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
        );
        assert_eq!(problems, Vec::<String>::new());
        let names: Vec<&str> = items.iter().map(|i| i.key.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(matches!(items[0].content, Content::Text(_)));
        assert!(matches!(items[1].content, Content::Value(_)));
        assert_eq!(
            items[0].content.value().unwrap().into_owned(),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
        );
    }

    #[test]
    fn a_recorded_text_is_written_only_while_its_file_hashes_to_the_record() {
        let source = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n".to_string();
        let recorded: Recorded = [(Arc::from("in.yaml"), Arc::from(file_hash(&source).as_str()))]
            .into_iter()
            .collect();
        let files = [(Arc::from("in.yaml"), Arc::new(source.clone()))];
        let (items, _) = items_of_tree(&files, &recorded);
        let Content::Text(text) = &items[0].content else {
            panic!("{:?}", items[0].content);
        };
        assert!(text.is_written());
        let edited = [(
            Arc::from("in.yaml"),
            Arc::new(format!("{source}# edited\n")),
        )];
        let (items, _) = items_of_tree(&edited, &recorded);
        let Content::Text(text) = &items[0].content else {
            panic!("{:?}", items[0].content);
        };
        assert!(!text.is_written());
        let (items, _) = super::items(&files);
        let Content::Text(text) = &items[0].content else {
            panic!("{:?}", items[0].content);
        };
        assert_eq!(text.written, Written::Unknown);
    }

    #[test]
    fn a_list_gives_its_items() {
        let (items, problems) = read(
            "kind: A\nmetadata: {name: x}\n---\napiVersion: v1\nkind: List\nitems:\n- {kind: B, metadata: {name: y}}\n- {kind: C, metadata: {name: z}}\n",
        );
        assert_eq!(problems, Vec::<String>::new());
        let kinds: Vec<&str> = items.iter().map(|i| i.key.kind.as_str()).collect();
        assert_eq!(kinds, ["A", "B", "C"]);
    }

    #[test]
    fn a_document_over_the_limits_is_told_which_in_plain_words() {
        let deep = format!(
            "kind: A\nmetadata: {{name: x}}\nspec: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let (_, problems) = read(&format!("kind: B\nmetadata: {{name: y}}\n---\n{deep}"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("in.yaml:6:"), "{}", problems[0]);
        assert!(
            problems[0].ends_with("error[E102]: this document is over a limit that diff and check set on each document: at most 5000000 YAML nodes, nesting 100 deep, 1000 aliases and 524288 bytes in one scalar. No Kubernetes object comes near them (the API server stores at most 1.5 MiB per object), so they cannot be raised: split the document into the objects it holds"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn problems_point_at_the_lines_of_the_file() {
        let (_, problems) = read(
            "kind: A\nmetadata: {name: x}\n---\nkind: B\nmetadata: {}\n---\nkind: [\n---\napiVersion: v1\n",
        );
        assert_eq!(
            problems,
            [
                "in.yaml:5:1: error[E109]: metadata.name: metadata.name is required to match objects",
                "in.yaml:7:7: error[E101]: unclosed bracket '['",
                "in.yaml:9:1: error[E104]: kind: kind is required to match objects",
            ]
        );
    }
}
