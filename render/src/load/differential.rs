//! Differential tests: loading through the fast path (`fast.rs`, falling back to serde-saphyr)
//! must give exactly what serde-saphyr alone gives, documents, positions and diagnostics, for
//! every fixture, the bench corpus, random YAML of every scalar style and layout, and random
//! edits of it. Random inputs are often invalid; that is the point: the fast path must never
//! accept what the parser rejects. The same inputs hold `scan.rs` to the parser: cutting a
//! stream into documents and parsing each alone gives the documents of the whole, and an
//! identity read from a document's lines is the one the parser finds.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::{Limits, compare_readers, load_piece, load_str, scan};
use crate::emit::Object;

/// Loads `text` both ways, asserts they agree, and says whether the fast path read it.
fn assert_same(text: &str, limits: &Limits) -> bool {
    assert_same_named("in.yaml", text, limits)
}

fn assert_same_named(name: &str, text: &str, limits: &Limits) -> bool {
    match compare_readers(name, text, limits) {
        Ok(fast) => fast,
        Err(both) => {
            assert_eq!(both.0, both.1, "the loaders disagree on {name}:\n{text}");
            unreachable!("compare_readers found a difference")
        }
    }
}

/// Asserts that `scan.rs` agrees with the parser on `text`; says how many identities it read.
fn assert_scan_agrees(name: &str, text: &str) -> usize {
    let limits = Limits::default();
    let whole = load_str(name, text, &limits);
    let mut pieces_documents = Vec::new();
    let mut pieces_fine = true;
    let mut read = 0;
    for piece in scan::split(text) {
        let alone = load_piece(name, text, &piece, &limits);
        pieces_fine &= alone.diagnostics.is_empty();
        let body = &text[piece.body..piece.range.end];
        // The reader vouches for the identity, not for the rest of the document: an invalid
        // one is reported when it is parsed, and one that is the same on both sides of a diff
        // is the same object either way.
        if let Some(key) = scan::identity(body)
            && alone.diagnostics.is_empty()
        {
            read += 1;
            assert_eq!(alone.documents.len(), 1, "{name}:\n{body}");
            let parsed = Object::from_value(alone.documents[0].root.to_json()).key;
            assert_eq!(
                parsed, key,
                "{name}: the identity differs from the parser's:\n{body}"
            );
        }
        pieces_documents.extend(alone.documents.iter().map(|d| d.root.to_json()));
    }
    if whole.diagnostics.is_empty() {
        let whole_documents: Vec<_> = whole.documents.iter().map(|d| d.root.to_json()).collect();
        assert!(
            pieces_fine,
            "{name}: a piece of a valid stream does not parse:\n{text}"
        );
        assert_eq!(
            pieces_documents, whole_documents,
            "{name}: the pieces hold other documents:\n{text}"
        );
    }
    read
}

fn yaml_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        // Fixtures of the link rules hold loops and links out of their tree.
        if entry.file_type().unwrap().is_symlink() {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
}

#[test]
fn every_fixture_loads_the_same_both_ways() {
    // serde-saphyr recurses once per level, and `nesting-too-deep` goes 100 levels: more
    // than a test thread's stack holds in a debug build.
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(check_every_fixture)
        .unwrap()
        .join()
        .unwrap();
}

fn check_every_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() > 100, "found only {} fixtures", files.len());
    let mut fast = 0;
    for file in &files {
        // Invalid UTF-8 is refused before either parser runs.
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let name = file.strip_prefix(&root).unwrap().to_string_lossy();
        fast += usize::from(assert_same_named(&name, &text, &Limits::default()));
        assert_scan_agrees(&name, &text);
    }
    // Most fixtures are plain manifests: the fast path must read them, or this test is moot.
    assert!(
        fast * 10 >= files.len() * 8,
        "fast path read {fast} of {}",
        files.len()
    );
}

#[allow(dead_code)]
#[path = "../../examples/gen/corpus.rs"]
mod corpus;

#[test]
fn the_bench_corpus_takes_the_fast_path() {
    for (name, text) in corpus::generate(100).files {
        assert!(
            assert_same_named(&name, &text, &Limits::default()),
            "{name} left the fast path"
        );
        assert_scan_agrees(&name, &text);
    }
}

#[test]
fn every_identity_of_a_render_is_read_without_parsing() {
    // What diff and check read at scale: render's own output, a stream and an --out tree.
    let corpus = corpus::generate(20);
    let documents: Vec<crate::load::Document> = corpus
        .files
        .iter()
        .flat_map(|(name, text)| load_str(name, text, &Limits::default()).documents)
        .collect();
    let rendered = crate::render::render(
        documents,
        Vec::new(),
        &crate::render::RenderOptions::default(),
    );
    assert_eq!(rendered.diagnostics, vec![]);
    let stream = crate::emit::stream(&rendered.objects);
    let pieces = scan::split(&stream);
    assert_eq!(pieces.len(), rendered.objects.len());
    for (piece, object) in pieces.iter().zip(&rendered.objects) {
        assert_eq!(
            scan::identity(&stream[piece.body..piece.range.end]).as_ref(),
            Some(&object.key)
        );
        assert_eq!(&stream[piece.body..piece.range.end], object.yaml);
    }
    assert_eq!(
        assert_scan_agrees("stream.yaml", &stream),
        rendered.objects.len()
    );
}

/// Spellings of an identity field: plain, quoted, and the ones the parser reads otherwise.
const IDENTITY_VALUES: &[&str] = &[
    "web",
    "apps/v1",
    "v1",
    "'quoted'",
    "\"double\"",
    "a.b-c_d",
    "123",
    "true",
    "null",
    "~",
    "'it''s'",
    "\"tab\\t\"",
    "a b",
    "a #c",
    "ConfigMapList",
    "&a x",
    "*a",
    "!!str x",
    "{}",
    "[a]",
    "",
    "'",
    "a:b",
    "0x1F",
    "1e3",
    "Yes",
    "é",
];

/// One spelling of an identity field: mostly a plain name, sometimes any of the others.
fn identity_value(plain: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => prop::sample::select(plain), 1 => prop::sample::select(IDENTITY_VALUES)]
}

/// A manifest-shaped document: apiVersion, kind and metadata in any order and spelling, a
/// `spec` of random trees, and now and then a key twice.
fn manifest() -> impl Strategy<Value = String> {
    (
        identity_value(&["v1", "apps/v1", "keda.sh/v1alpha1"]),
        identity_value(&["ConfigMap", "Deployment", "Pipeline"]),
        identity_value(&["web", "embed-worker", "a.b"]),
        prop::option::of(identity_value(&["shop", "hev-shop"])),
        0usize..5,
        0usize..6,
        prop::collection::vec(tree(), 0..2),
        0u8..12,
    )
        .prop_map(|(api, kind, name, namespace, shape, order, spec, twice)| {
            let pad = " ".repeat(shape.max(1));
            let metadata = match shape {
                0 => format!("metadata: {{name: {name}}}\n"),
                _ => {
                    let mut m =
                        format!("metadata:\n{pad}labels:\n{pad}  name: x\n{pad}name: {name}\n");
                    if let Some(ns) = namespace {
                        m.push_str(&format!("{pad}namespace: {ns}\n"));
                    }
                    if shape == 4 {
                        m.push_str(&format!("{pad}finalizers:\n{pad}- name: y\n"));
                    }
                    m
                }
            };
            let mut parts = vec![
                format!("apiVersion: {api}\n"),
                format!("kind: {kind}\n"),
                metadata,
            ];
            parts.rotate_left(order % 3);
            if order >= 3 {
                parts.swap(0, 1);
            }
            if twice == 0 {
                parts.push(format!("kind: {kind}\n"));
            }
            let mut writer = Writer {
                out: parts.concat(),
            };
            for tree in &spec {
                writer.out.push_str("spec:\n");
                writer.block(tree, 2, true);
            }
            writer.out
        })
}

fn manifests() -> impl Strategy<Value = String> {
    prop::collection::vec(manifest(), 1..4).prop_map(|docs| format!("---\n{}", docs.join("---\n")))
}

#[test]
fn tight_limits_send_input_to_the_parser() {
    let text = "a:\n  b:\n    c: [1, 2]\n---\nd: 1\n";
    let tight = [
        Limits {
            max_depth: 3,
            ..Limits::default()
        },
        Limits {
            max_nodes: 8,
            ..Limits::default()
        },
        Limits {
            max_documents: 2,
            ..Limits::default()
        },
    ];
    assert!(assert_same(text, &Limits::default()));
    for limits in &tight {
        assert!(!assert_same(text, limits), "{limits:?}");
    }
}

#[test]
fn positions_match_the_parser_in_odd_places() {
    let cases = [
        // An indentless sequence starts at what follows its first `-`.
        "a:\n-   x\nb:\n-\n  c: 1\nd:\n- # c\n  - z\n",
        // Empty entries sit at the end of their line, empty values at their colon.
        "a:\n  -\n  -   \n  - # c\n  - x\nb:   \nc: # c\nd:\n",
        // Flow collections, quoted keys, compact nesting.
        "\"k k\": {a: [x, 'y', \"z\"], b: {}}\n'q': [ ]\ns:\n- - - y\n  - z\n- a: 1\n  b: [2]\n",
        // Columns count characters, not bytes.
        "é: ü\nñ:\n  日本: [語, 'é']\n",
        // Spaces around colons.
        "a : 1\n'b'  : 2\nc:   3\nd:   # c\n  e: 4\n",
        // Documents and comments around them.
        "# head\n---\n# c\n\n  a: 1\n  b: x y  # c\n---   \nc: -1\n--- # c\nd: 2\n",
    ];
    for text in cases {
        assert!(assert_same(text, &Limits::default()), "{text}");
    }
}

#[test]
fn scalars_resolve_as_the_parser_resolves_them() {
    for scalar in SCALARS.iter().chain(TRICKY) {
        for text in [
            format!("v: {scalar}\n"),
            format!("- {scalar}\n"),
            format!("v: [{scalar}]\n"),
            format!("{scalar}: v\n"),
            format!("v: {{{scalar}: v}}\n"),
        ] {
            assert_same(&text, &Limits::default());
        }
    }
}

#[test]
fn comment_runs_before_a_value_stay_below_the_parser_buffer() {
    for run in [0, 7, 8, 31, 32, 40] {
        let comments = "# c\n".repeat(run);
        for text in [
            format!("a:\n{comments}  b: 1\n"),
            format!("a:\n{comments}- b\n"),
            format!("a:\n{comments}c: 1\n"),
            format!("- \n{comments}  b: 1\n"),
            format!("-\n{comments}- b\n"),
            format!("a: 1\n{comments}b: 2\n"),
            format!("{comments}---\n{comments}a: 1\n{comments}"),
        ] {
            assert_same(&text, &Limits::default());
        }
    }
}

#[test]
fn scalars_over_lines_load_the_same_both_ways() {
    let cases = [
        "a: b\n  c\nd: 1\n",
        "a: b\n\n  c\n",
        "a: b # c\n  d\n",
        "a: b\n  # c\n  d\n",
        "- b\n  c\n",
        "- b\n - c\n",
        "a: 'b\n  c'\n",
        "a: \"b\n  c\"\n",
        "a: \"b\\\n  c\"\n",
        "a: [b,\n  c]\n",
        "a: {b: c,\n  d: e}\n",
        "a:\n  b\n",
        "a:\n  \"b\"\n",
        "a: |\n  b\n",
        "a: >-\n  b\n",
    ];
    for text in cases {
        assert_same(text, &Limits::default());
    }
}

#[test]
fn short_texts_load_the_same_both_ways() {
    let cases = [
        "",
        "\n",
        "   ",
        " \n \n",
        "#c",
        "# c\n",
        "---",
        "---\n",
        "--- \n---\n",
        "a: 1",
        "a:",
        "a: [x]",
        "- x",
        "-",
        "a: 'x'",
        "a: \"x\"",
        "a:\n  b: 1",
        "a:\n- x",
        "x",
        "'x'",
        "[x]",
        "{a: 1}",
        "~",
        "...",
        "a: 1\n...\n",
    ];
    for text in cases {
        assert_same(text, &Limits::default());
    }
}

#[test]
fn large_mappings_find_their_duplicates() {
    for len in [15, 16, 17, 40] {
        let keys: Vec<String> = (0..len).map(|i| format!("k{i}")).collect();
        for dup in [None, Some(0), Some(len / 2), Some(len - 1)] {
            let mut keys = keys.clone();
            if let Some(i) = dup {
                keys.push(keys[i].clone());
            }
            let block: String = keys.iter().map(|k| format!("{k}: 1\n")).collect();
            let flow = keys.iter().map(|k| format!("{k}: 1")).collect::<Vec<_>>();
            let flow = format!("a: {{{}}}\n", flow.join(", "));
            assert_eq!(assert_same(&block, &Limits::default()), dup.is_none());
            assert_eq!(assert_same(&flow, &Limits::default()), dup.is_none());
        }
    }
}

#[test]
fn tabs_and_glued_comments_load_the_same_both_ways() {
    let cases = [
        "a: \"x\"#c\n",
        "a: 'x'#c\n",
        "a: [x]#c\n",
        "a: {b: c}#c\n",
        "- \"x\"#c\n",
        "a: x#c\n",
        "a: x #c\n",
        "---#c\na: 1\n",
        "--- #c\na: 1\n",
        "\ta: 1\n",
        "a:\t1\n",
        "a: 1\t\n",
        "a: x\ty\n",
        "a: 'x\ty'\n",
        "-\tx\n",
        "- \tx\n",
        "a: [x,\ty]\n",
        "a:\n\t- x\n",
        "a: 1\r\nb: 2\r\n",
        "\u{feff}a: 1\n",
    ];
    for text in cases {
        assert_same(text, &Limits::default());
    }
}

#[test]
fn long_keys_and_scalars_load_the_same_both_ways() {
    let max = super::node::MAX_SCALAR_BYTES;
    for len in [1000, 1020, 1021, 1022, 1023, 1024, 1025, 1100] {
        let key = "k".repeat(len);
        for text in [
            format!("{key}: v\n"),
            format!("{key} : v\n"),
            format!("'{key}': v\n"),
            format!("\"{key}\": v\n"),
            format!("a: {{{key}: v}}\n"),
            format!("é{key}: v\n"),
        ] {
            assert_same(&text, &Limits::default());
        }
    }
    for len in [max - 1, max, max + 1] {
        let value = "v".repeat(len);
        for text in [
            format!("a: {value}\n"),
            format!("a: '{value}'\n"),
            format!("a: \"{value}\"\n"),
            format!("a: [{value}]\n"),
        ] {
            assert_same(&text, &Limits::default());
        }
    }
}

// === random YAML ===

/// Scalars as written, which the fast path reads (when they are well placed).
const SCALARS: &[&str] = &[
    "x",
    "name",
    "hello world",
    "a  b",
    "v1",
    "500m",
    "1Gi",
    "250m",
    "4Gi",
    "1.5Gi",
    "2e3m",
    "1k",
    "-infinity",
    "+Infinity",
    "-inf",
    "+nan",
    "1.0.10",
    "1.2.3",
    "10.0.0.1",
    "a#b",
    "a:b",
    "http://x.y/z?q=1",
    "-x",
    "x-",
    "é",
    "日本語",
    "x]",
    "x}",
    "x,y",
    "a'b",
    "a\"b",
    "0",
    "1",
    "-1",
    "42",
    "+1",
    "+0",
    "-0",
    "010",
    "-010",
    "0x1F",
    "0X1f",
    "0o17",
    "0b101",
    "1_000",
    "1__0",
    "_1",
    "1_",
    "1e3",
    "1E3",
    "1.5e-3",
    "1.5",
    ".5",
    "5.",
    "-.5",
    "+.5",
    "12345678901234567890",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "inf",
    "nan",
    "Infinity",
    "0x",
    "0xG",
    "8bbeceead1a41f9b",
    "0e5",
    "1e3a",
    "12ab",
    "1x",
    "00x1",
    "-0xFF",
    "+0x1F",
    "0B11",
    "-0o7",
    "1.5f",
    "1d",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "False",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "Y",
    "n",
    "<<",
    "'x'",
    "''",
    "'it''s'",
    "' a '",
    "'a: b'",
    "'#x'",
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "\"\\n\\t\\\\\"",
    "\"\\x41\\u00e9\\U0001F600\"",
    "\"\\0\\a\\b\\e\\f\\r\\v\\ \\/\\N\\_\\L\\P\"",
    "\"1\"",
    "'true'",
    "\"null\"",
    "\" \"",
    "\"a # b\"",
    "\"é\"",
];

/// Scalars the fast path leaves to the parser, or that are not valid where they land.
const TRICKY: &[&str] = &[
    ".inf",
    "-.inf",
    "+.inf",
    ".NaN",
    ".nan",
    "1e999",
    "-1e999",
    "@x",
    "`x",
    "%x",
    "!tag x",
    "!!str 1",
    "&a x",
    "*a",
    "|",
    ">",
    "? x",
    ": x",
    "- x",
    "-",
    "--",
    "--- x",
    "...",
    "a: b",
    "x #c",
    "\"\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\q\"",
    "\"\\x4\"",
    "'unterminated",
    "\"unterminated",
    "[a",
    "{a: b",
    "[a,]",
    "{a}",
    "{a: }",
    "[a: b]",
    "{\"a\":b}",
    "[-]",
    "[- a]",
    "\u{feff}x",
    "a\u{85}b",
    "x\ty",
    "a\u{2028}b",
];

#[derive(Clone, Debug)]
enum Tree {
    Scalar(&'static str),
    Map(Vec<(&'static str, Tree, u8)>, Layout),
    Seq(Vec<(Tree, u8)>, Layout),
}

/// How a collection is written.
#[derive(Clone, Debug)]
struct Layout {
    /// Extra indentation of nested block collections.
    step: usize,
    /// Written as `[a, b]` or `{a: b}`, when everything inside is flow.
    flow: bool,
    /// Sequence: its first mapping or sequence item on the `-` line. Mapping value: a
    /// sequence at the key's indentation.
    compact: bool,
}

fn scalar() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        30 => prop::sample::select(SCALARS),
        1 => prop::sample::select(TRICKY),
        3 => Just(""),
    ]
}

fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        40 => prop::sample::select(&["a", "b", "c", "name", "kind", "spec", "x y", "é"][..]),
        2 => prop::sample::select(SCALARS),
        1 => prop::sample::select(TRICKY),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    (1usize..=4, prop::bool::weighted(0.2), any::<bool>()).prop_map(|(step, flow, compact)| {
        Layout {
            step,
            flow,
            compact,
        }
    })
}

fn tree() -> impl Strategy<Value = Tree> {
    scalar()
        .prop_map(Tree::Scalar)
        .prop_recursive(5, 48, 5, |inner| {
            prop_oneof![map(inner.clone()), seq(inner)]
        })
}

fn map(inner: impl Strategy<Value = Tree>) -> impl Strategy<Value = Tree> {
    (
        prop::collection::vec((key(), inner, any::<u8>()), 0..5),
        layout(),
    )
        .prop_map(|(mut entries, layout)| {
            // Duplicate keys are tested, but should not spoil most mappings.
            if entries.iter().all(|(_, _, deco)| *deco != 0) {
                let mut seen = std::collections::HashSet::new();
                entries.retain(|(k, _, _)| seen.insert(*k));
            }
            Tree::Map(entries, layout)
        })
}

fn seq(inner: impl Strategy<Value = Tree>) -> impl Strategy<Value = Tree> {
    (prop::collection::vec((inner, any::<u8>()), 0..5), layout())
        .prop_map(|(items, layout)| Tree::Seq(items, layout))
}

/// A document's root: mostly a mapping, as in manifests.
fn root() -> impl Strategy<Value = Tree> {
    prop_oneof![4 => map(tree()), 1 => tree()]
}

/// Writes trees as YAML text; `deco` bytes pick comments and blank lines.
struct Writer {
    out: String,
}

impl Writer {
    fn pad(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    /// Comment and blank lines before an entry, picked by `deco`.
    fn before(&mut self, indent: usize, deco: u8) {
        match deco {
            200..=219 => self.out.push('\n'),
            220..=239 => {
                self.pad(indent + usize::from(deco % 3));
                self.out.push_str("# note\n");
            }
            240..=244 => {
                self.pad(usize::from(deco % 4));
                self.out.push_str("#\n");
            }
            245 => self.out.push_str(&"# run\n".repeat(usize::from(deco % 16))),
            _ => {}
        }
    }

    /// A comment after an entry's value, or a line that continues it, picked by `deco`.
    fn after(&mut self, deco: u8, indent: usize) {
        if (100..130).contains(&deco) {
            self.out.push_str(" # tail");
        }
        self.out.push('\n');
        if (130..140).contains(&deco) {
            self.pad(indent + usize::from(deco % 3));
            self.out.push_str("more\n");
        }
    }

    fn is_flow(tree: &Tree) -> bool {
        match tree {
            Tree::Scalar(_) => true,
            Tree::Map(entries, layout) => {
                entries.is_empty()
                    || (layout.flow && entries.iter().all(|(_, v, _)| Self::is_flow(v)))
            }
            Tree::Seq(items, layout) => {
                items.is_empty() || (layout.flow && items.iter().all(|(v, _)| Self::is_flow(v)))
            }
        }
    }

    fn flow(&mut self, tree: &Tree) {
        match tree {
            Tree::Scalar(s) => self.out.push_str(s),
            Tree::Map(entries, _) => {
                self.out.push('{');
                for (i, (k, v, _)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(k);
                    self.out.push_str(": ");
                    self.flow(v);
                }
                self.out.push('}');
            }
            Tree::Seq(items, _) => {
                self.out.push('[');
                for (i, (v, _)) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.flow(v);
                }
                self.out.push(']');
            }
        }
    }

    /// What follows `key:` in a mapping indented by `indent`.
    fn value(&mut self, tree: &Tree, indent: usize, deco: u8) {
        match tree {
            Tree::Scalar("") => self.after(deco, indent),
            _ if Self::is_flow(tree) => {
                self.out.push(' ');
                self.flow(tree);
                self.after(deco, indent);
            }
            Tree::Map(_, layout) => {
                self.after(deco, indent);
                self.block(tree, indent + layout.step, true);
            }
            Tree::Seq(_, layout) => {
                self.after(deco, indent);
                let indent = if layout.compact {
                    indent
                } else {
                    indent + layout.step
                };
                self.block(tree, indent, true);
            }
            Tree::Scalar(_) => unreachable!(),
        }
    }

    /// A block collection indented by `indent`; `pad_first` is false when its first line
    /// continues a `- ` already written.
    fn block(&mut self, tree: &Tree, indent: usize, pad_first: bool) {
        match tree {
            Tree::Map(entries, _) => {
                for (i, (k, v, deco)) in entries.iter().enumerate() {
                    if i > 0 || pad_first {
                        self.before(indent, *deco);
                        self.pad(indent);
                    }
                    self.out.push_str(k);
                    self.out.push(':');
                    self.value(v, indent, *deco);
                }
            }
            Tree::Seq(items, layout) => {
                for (i, (v, deco)) in items.iter().enumerate() {
                    if i > 0 || pad_first {
                        self.before(indent, *deco);
                        self.pad(indent);
                    }
                    self.out.push('-');
                    match v {
                        Tree::Scalar("") => self.after(*deco, indent),
                        _ if Self::is_flow(v) => {
                            self.out.push(' ');
                            self.flow(v);
                            self.after(*deco, indent);
                        }
                        _ if layout.compact => {
                            self.out.push(' ');
                            self.block(v, indent + 2, false);
                        }
                        Tree::Map(_, inner) | Tree::Seq(_, inner) => {
                            self.after(*deco, indent);
                            self.block(v, indent + inner.step, true);
                        }
                        Tree::Scalar(_) => unreachable!(),
                    }
                }
            }
            Tree::Scalar(s) => {
                self.out.push_str(s);
                self.out.push('\n');
            }
        }
    }
}

/// A stream of documents with separators picked by `seps`.
fn stream(docs: &[Tree], seps: &[u8]) -> String {
    let mut writer = Writer { out: String::new() };
    for (i, doc) in docs.iter().enumerate() {
        let sep = seps.get(i).copied().unwrap_or(0);
        match sep % 5 {
            0 if i == 0 => {}
            0 | 1 => writer.out.push_str("---\n"),
            2 => writer.out.push_str("--- \n"),
            3 => writer.out.push_str("--- # doc\n\n"),
            _ => writer.out.push_str("# doc\n---\n"),
        }
        match doc {
            // A root on one line: a scalar, or a flow collection.
            Tree::Scalar(_) => writer.block(doc, 0, true),
            _ if Writer::is_flow(doc) && sep % 3 == 0 => {
                writer.flow(doc);
                writer.out.push('\n');
            }
            _ => writer.block(doc, usize::from(sep % 7 == 6), true),
        }
    }
    writer.out
}

fn documents() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(root(), 1..4),
        prop::collection::vec(any::<u8>(), 4),
    )
        .prop_map(|(docs, seps)| stream(&docs, &seps))
}

/// A random edit: insert, replace or delete one character, or re-indent or drop a line.
#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, char),
    Replace(usize, char),
    Delete(usize),
    Indent(usize, bool),
    DropLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let chars = prop::sample::select(
        &[
            ' ', ' ', '-', ':', '#', '\n', '"', '\'', '[', ']', '{', '}', ',', 'a', '1', '.', '\t',
            '&', '*', '!', '|', '>', '?', '\\', 'é',
        ][..],
    );
    prop_oneof![
        (any::<usize>(), chars.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<usize>(), chars).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<bool>()).prop_map(|(i, deeper)| Edit::Indent(i, deeper)),
        any::<usize>().prop_map(Edit::DropLine),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.split('\n').collect();
    let at = |i: usize, n: usize| if n == 0 { 0 } else { i % n };
    match *edit {
        Edit::Insert(i, c) => {
            let mut chars = chars;
            let i = at(i, chars.len() + 1);
            chars.insert(i, c);
            chars.into_iter().collect()
        }
        Edit::Replace(i, c) if !chars.is_empty() => {
            let mut chars = chars;
            let i = at(i, chars.len());
            chars[i] = c;
            chars.into_iter().collect()
        }
        Edit::Delete(i) if !chars.is_empty() => {
            let mut chars = chars;
            chars.remove(at(i, chars.len()));
            chars.into_iter().collect()
        }
        Edit::Indent(i, deeper) => {
            let i = at(i, lines.len());
            let line = lines[i];
            let text = if deeper {
                format!(" {line}")
            } else {
                line.strip_prefix(' ').unwrap_or(line).to_string()
            };
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
            out[i] = text;
            out.join("\n")
        }
        Edit::DropLine(i) => {
            let i = at(i, lines.len());
            lines.remove(i);
            lines.join("\n")
        }
        _ => text.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_yaml_loads_the_same_both_ways(text in documents()) {
        assert_same(&text, &Limits::default());
    }

    #[test]
    fn edited_yaml_loads_the_same_both_ways(
        text in documents(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let text = edits.iter().fold(text, |text, e| apply(&text, e));
        assert_same(&text, &Limits::default());
    }

    #[test]
    fn random_yaml_is_cut_and_identified_as_the_parser_reads_it(text in documents()) {
        assert_scan_agrees("in.yaml", &text);
    }

    #[test]
    fn random_manifests_are_cut_and_identified_as_the_parser_reads_them(
        text in manifests(),
        edits in prop::collection::vec(edit(), 0..3),
    ) {
        let text = edits.iter().fold(text, |text, e| apply(&text, e));
        assert_scan_agrees("in.yaml", &text);
    }

    #[test]
    fn random_yaml_under_tight_limits_loads_the_same_both_ways(
        text in documents(),
        depth in 1usize..12,
        nodes in 1usize..200,
        documents in 1usize..6,
    ) {
        let limits = Limits { max_depth: depth, max_nodes: nodes, max_documents: documents, ..Limits::default() };
        assert_same(&text, &limits);
    }
}

#[test]
fn random_yaml_mostly_takes_the_fast_path() {
    // Without this, a fast path that gave up on everything would pass every test above.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = documents();
    let mut fast = 0;
    for _ in 0..500 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        fast += usize::from(assert_same(&text, &Limits::default()));
    }
    assert!(fast >= 100, "the fast path read {fast} of 500");
}

#[test]
fn random_manifests_often_have_their_identity_read() {
    // Without this, an identity reader that gave up on everything would pass the test above.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = manifests();
    let read: usize = (0..500)
        .map(|_| {
            assert_scan_agrees(
                "in.yaml",
                &strategy.new_tree(&mut runner).unwrap().current(),
            )
        })
        .sum();
    assert!(read >= 250, "read {read} identities in 500 streams");
}
