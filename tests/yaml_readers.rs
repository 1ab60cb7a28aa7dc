//! Every string render writes reads back unchanged in the readers of its output (issue 14):
//! Go's (`kubectl patch --local`, which reads with `sigs.k8s.io/yaml` as `kubectl apply` and
//! Argo CD do, and `kubectl kustomize`, which reads with `yaml.v3` as Flux does), PyYAML (YAML
//! 1.1, pure Python and libyaml), ruamel.yaml (YAML 1.2) and render's own loader.
//!
//! Strings go in as ConfigMap data keys and values, labels and annotations, as keys (top-level
//! ones included) and values of a passed-through custom object, and as worker env values. Each
//! reader must give back exactly the objects render meant, and those hold the strings as given.
//! One batch of strings per case, so each reader runs once per case: a fixed list of every
//! troublesome character and word, and a proptest biased towards them.
//!
//! kustomize reads every string right, but then re-encodes each object through Go's YAML
//! writer and reader, and that round trip has limits of its own, whatever the input's quoting:
//! it refuses DEL, C1 controls, U+FFFE and U+FFFF (or turns U+0085 into a space), drops a `<<`
//! key, breaks on keys past 1024 characters once JSON-escaped, and mishandles annotations whose
//! key looks like a number or is empty, or whose value has a line starting with a tab. So
//! kustomize gets the strings it can carry ([`kustomize_can_carry`]) and no annotations made of
//! them; `kustomize_itself_cannot_carry_c1_controls_or_merge_keys` pins the first two limits.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use layer_render::emit::{self, OutFile};
use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render, render_json};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use crate::tools::{repo_root, run, tool};

const NAMESPACE: &str = "strings";

/// Characters that YAML readers treat specially somewhere, and a few ordinary ones.
const CHARACTERS: &[char] = &[
    '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffe}', '\u{ffff}', '\0', '\u{7}', '\u{1b}',
    '\u{7f}', '\u{80}', '\u{9f}', '\t', '\n', '\r', ' ', '\'', '"', '\\', '#', ':', '-', '?', ',',
    '[', ']', '{', '}', '&', '*', '!', '|', '>', '%', '@', '`', '~', '=', '<', '.', '_', '+', '0',
    '1', '7', 'e', 'x', 'é', '\u{a0}', '😀',
];

/// Words that a YAML 1.1 or 1.2 reader takes for something other than a string (booleans,
/// nulls, numbers, timestamps, the merge key, document markers), and indicators.
const WORDS: &[&str] = &[
    "y",
    "n",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
    "~",
    "<<",
    "=",
    "---",
    "...",
    "0o17",
    "012",
    "0x1F",
    "0b101",
    "1_000",
    "+_1",
    "-0x_1f",
    ".inf",
    "-.Inf",
    ".nan",
    "1:20",
    "190:20:30.15",
    "1e3",
    "1.5E-3",
    "6.",
    "2026-01-01",
    "2026-1-1T08:00:00Z",
    "2001-12-14 21:59:43.10 -5",
    "- ",
    ": ",
    " #",
    "? ",
    "! ",
    "& ",
    "* ",
    "| ",
    "> ",
    "% ",
];

/// True for strings that kustomize can carry through its own round trip (see the module doc;
/// 150 characters at six each once JSON-escaped stay under 1024).
fn kustomize_can_carry(s: &str) -> bool {
    s != "<<"
        && s.chars().count() <= 150
        && !s
            .chars()
            .any(|c| ('\u{7f}'..='\u{9f}').contains(&c) || c == '\u{fffe}' || c == '\u{ffff}')
}

/// The render input for a batch: a ConfigMap (data, labels and, when `annotate`, annotations)
/// and a custom object passed through, and a Pipeline whose worker gets one env var per
/// string. Also returns the env list.
fn input_objects(strings: &[String], annotate: bool) -> (Vec<Value>, Vec<Value>) {
    let next = |i: usize| strings[(i + 1) % strings.len()].clone();
    let (mut data, mut labels, mut annotations, mut thing) =
        (Map::new(), Map::new(), Map::new(), Map::new());
    for (i, s) in strings.iter().enumerate() {
        data.entry(s.clone()).or_insert_with(|| json!(next(i)));
        labels.entry(s.clone()).or_insert_with(|| json!(s));
        if annotate {
            annotations.entry(next(i)).or_insert_with(|| json!(s));
        }
        if !["apiVersion", "kind", "metadata"].contains(&s.as_str()) {
            let value = match i % 3 {
                0 => json!(next(i)),
                1 => json!([s, next(i)]),
                _ => json!({ next(i): { s.as_str(): [next(i)] } }),
            };
            thing.entry(s.clone()).or_insert(value);
        }
    }
    let metadata = |extra: Value| {
        let mut m = json!({"name": "strings", "namespace": NAMESPACE});
        if let (Value::Object(m), Value::Object(extra)) = (&mut m, extra) {
            m.extend(extra);
        }
        m
    };
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(if annotate {
            json!({"labels": labels, "annotations": annotations})
        } else {
            json!({ "labels": labels })
        }),
        "data": data,
    });
    thing.insert("apiVersion".into(), json!("example.com/v1"));
    thing.insert("kind".into(), json!("Thing"));
    thing.insert("metadata".into(), metadata(json!({})));
    let env: Vec<Value> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"name": format!("V{i:03}"), "value": s}))
        .collect();
    let pipeline = json!({
        "apiVersion": "hevlayer.com/v1alpha1",
        "kind": "Pipeline",
        "metadata": metadata(json!({})),
        "spec": {
            "target": {"namespace": "products"},
            "worker": {
                "image": "ghcr.io/hev/worker:1.0.0",
                "podSpec": {"containers": [{"name": "worker", "env": env}]},
            },
            "scaling": {"mode": "fixed", "replicas": {"min": 1, "max": 1}},
        },
    });
    (vec![config_map, Value::Object(thing), pipeline], env)
}

/// The input as YAML written independently of render's writer: every key explicit (`? key`, so
/// no length limit), every string double-quoted with everything but printable ASCII escaped.
fn input_text(objects: &[Value]) -> String {
    fn scalar(text: &mut String, value: &Value) {
        for c in serde_json::to_string(value).unwrap().chars() {
            match c {
                ' '..='~' => text.push(c),
                c if u32::from(c) <= 0xffff => write!(text, "\\u{:04x}", u32::from(c)).unwrap(),
                c => write!(text, "\\U{:08x}", u32::from(c)).unwrap(),
            }
        }
    }
    fn node(text: &mut String, value: &Value, indent: usize) {
        let pad = " ".repeat(indent);
        let entry = |text: &mut String, value: &Value| match value {
            Value::Object(m) if !m.is_empty() => {
                text.push('\n');
                node(text, value, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                text.push('\n');
                node(text, value, indent + 2);
            }
            _ => {
                text.push(' ');
                scalar(text, value);
                text.push('\n');
            }
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    write!(text, "{pad}? ").unwrap();
                    scalar(text, &json!(key));
                    write!(text, "\n{pad}:").unwrap();
                    entry(text, value);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    write!(text, "{pad}-").unwrap();
                    entry(text, item);
                }
            }
            _ => scalar(text, value),
        }
    }
    let mut text = String::new();
    for object in objects {
        text.push_str("---\n");
        node(&mut text, object, 0);
    }
    text
}

/// The object of `kind` named `name` among `objects`.
fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the render"))
}

/// What render writes for `strings`: the objects as it means them (checked to hold the
/// strings), its output stream and its `--out` tree, made as the binary makes them.
struct Rendered {
    intended: Vec<Value>,
    stream: String,
    tree: Vec<OutFile>,
}

/// Renders `objects` as the binary does.
fn render_objects(objects: &[Value]) -> Rendered {
    let text = input_text(objects);
    let load = || {
        let loaded = load_str("input/strings.yaml", &text, &Limits::default());
        assert_eq!(loaded.diagnostics, [], "{text}");
        loaded.documents
    };
    let options = RenderOptions::default();
    let rendered = render_json(load(), Vec::new(), &options);
    assert!(!rendered.has_errors(), "{:?}", rendered.diagnostics);
    let intended: Vec<Value> = rendered.objects.into_iter().map(|o| o.value).collect();
    let emitted = render(load(), Vec::new(), &options).objects;
    let stream = emit::stream(&emitted);
    let tree = options.out_tree(emitted, String::new(), None);
    Rendered {
        intended,
        stream,
        tree,
    }
}

/// Renders the objects of [`input_objects`] and checks that they hold the strings.
fn render_strings(strings: &[String], annotate: bool) -> Rendered {
    let (objects, env) = input_objects(strings, annotate);
    let rendered = render_objects(&objects);
    let intended = &rendered.intended;
    assert_eq!(find(intended, "ConfigMap", "strings"), &objects[0]);
    assert_eq!(find(intended, "Thing", "strings"), &objects[1]);
    let containers =
        &find(intended, "Deployment", "strings-worker")["spec"]["template"]["spec"]["containers"];
    let worker = containers
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "worker"))
        .unwrap();
    let given: Vec<&Value> = worker["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with('V')))
        .collect();
    assert_eq!(given, env.iter().collect::<Vec<_>>());
    rendered
}

/// Concatenated JSON documents, as `kubectl -o json` prints several objects.
fn json_documents(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not JSON documents ({e}):\n{text}"))
}

/// What `kubectl patch --local` (Go's `sigs.k8s.io/yaml`) reads from `file`.
fn kubectl_reads(file: &Path) -> Result<Vec<Value>, String> {
    let out = run(std::process::Command::new(tool("kubectl"))
        .args([
            "patch", "--local", "--type", "merge", "-p", "{}", "-o", "json", "-f",
        ])
        .arg(file));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(json_documents(&String::from_utf8_lossy(&out.stdout)))
}

/// What PyYAML, PyYAML with libyaml and ruamel.yaml read from `file`, by reader.
fn python_reads(file: &Path) -> Vec<(String, Result<Vec<Value>, String>)> {
    let out = run(std::process::Command::new(tool("yaml-python"))
        .arg(repo_root().join("scripts").join("yaml-readers.py"))
        .arg(file));
    assert!(
        out.status.success(),
        "yaml-readers.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Map<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["pyyaml", "pyyaml-libyaml", "ruamel.yaml"]
    );
    answers
        .into_iter()
        .map(|(reader, answer)| {
            let read = match answer.get("documents") {
                Some(Value::Array(docs)) => Ok(docs.clone()),
                _ => Err(answer["error"].as_str().unwrap_or("no answer").to_owned()),
            };
            (reader, read)
        })
        .collect()
}

/// What render's own loader reads from `text`.
fn render_reads(text: &str) -> Result<Vec<Value>, String> {
    let loaded = load_str("out.yaml", text, &Limits::default());
    if !loaded.diagnostics.is_empty() {
        return Err(format!("{:?}", loaded.diagnostics));
    }
    Ok(loaded.documents.iter().map(|d| d.root.to_json()).collect())
}

/// The lines of `text` around the first `line N` that `error` names.
fn excerpt(text: &str, error: &str) -> String {
    let line = error
        .split("line ")
        .skip(1)
        .find_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .unwrap_or(1);
    let lines: Vec<&str> = text.lines().collect();
    let from = line.saturating_sub(3);
    (from..(line + 2).min(lines.len()))
        .map(|i| format!("{:>5} | {:?}\n", i + 1, lines[i]))
        .collect()
}

/// Fails with the first object a reader got wrong.
fn assert_reads(reader: &str, read: Result<Vec<Value>, String>, text: &str, intended: &[Value]) {
    let read = read.unwrap_or_else(|e| {
        panic!(
            "{reader} cannot read render's output: {e}\n{}",
            excerpt(text, &e)
        )
    });
    assert_eq!(read.len(), intended.len(), "{reader}: number of documents");
    for (got, want) in read.iter().zip(intended) {
        if got != want {
            let (want_text, got_text) = (
                serde_json::to_string_pretty(want).unwrap(),
                serde_json::to_string_pretty(got).unwrap(),
            );
            panic!(
                "{reader} reads {} {} differently:\n{}",
                want["kind"],
                want["metadata"]["name"],
                similar::TextDiff::from_lines(&want_text, &got_text)
                    .unified_diff()
                    .header("intended", reader)
            );
        }
    }
}

/// Renders `strings` and checks that every reader reads exactly what render meant.
fn check_readers(strings: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let Rendered {
        intended, stream, ..
    } = render_strings(strings, true);
    let file = dir.path().join("out.yaml");
    std::fs::write(&file, &stream).unwrap();

    assert_reads("kubectl", kubectl_reads(&file), &stream, &intended);
    for (reader, read) in python_reads(&file) {
        assert_reads(&reader, read, &stream, &intended);
    }
    assert_reads(
        "layer-render's loader",
        render_reads(&stream),
        &stream,
        &intended,
    );
}

/// What `kubectl kustomize` builds from an `--out` tree, read back by kubectl (as Go writes
/// and reads it); `Err` with kustomize's message when it fails.
fn kustomize_reads(tree: &[OutFile]) -> Result<(String, Vec<Value>), String> {
    let dir = tempfile::tempdir().unwrap();
    for OutFile { path, text, .. } in tree {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let built = run(std::process::Command::new(tool("kubectl"))
        .arg("kustomize")
        .arg(dir.path()));
    if !built.status.success() {
        return Err(String::from_utf8_lossy(&built.stderr).into_owned());
    }
    let file = dir.path().join("kustomized.yaml");
    std::fs::write(&file, &built.stdout).unwrap();
    let read = kubectl_reads(&file)?;
    Ok((String::from_utf8(built.stdout).unwrap(), read))
}

/// Renders `strings` as an `--out` tree and checks that `kubectl kustomize` reads exactly what
/// render meant.
fn check_kustomize(strings: &[String]) {
    let Rendered { intended, tree, .. } = render_strings(strings, false);
    match kustomize_reads(&tree) {
        Ok((built, read)) => assert_reads("kubectl kustomize", Ok(read), &built, &intended),
        Err(e) => panic!("kubectl kustomize cannot read render's output: {e}"),
    }
}

fn check(strings: &[String]) {
    check_readers(strings);
    let carried: Vec<String> = strings
        .iter()
        .filter(|s| kustomize_can_carry(s))
        .cloned()
        .collect();
    if !carried.is_empty() {
        check_kustomize(&carried);
    }
}

fn with_case(word: &str, upper: &[bool]) -> String {
    word.chars()
        .zip(upper.iter().chain(std::iter::repeat(&false)))
        .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
        .collect()
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (select(WORDS), prop::collection::vec(any::<bool>(), 32))
            .prop_map(|(w, upper)| with_case(w, &upper)),
        3 => select(CHARACTERS).prop_map(String::from),
        1 => prop::char::range('\0', '\u{ff}').prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        2 => "[a-z0-9]{1,4}",
    ]
}

fn troublesome_string() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::collection::vec(atom(), 0..5).prop_map(|atoms| atoms.concat()),
        2 => any::<String>(),
        // Long enough, written, to pass the 1024-character limit of implicit keys.
        1 => (atom(), 150..400usize).prop_map(|(a, n)| a.repeat(n).chars().take(1100).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_troublesome_strings_read_back_unchanged_in_every_reader(
        strings in prop::collection::vec(troublesome_string(), 40..60)
    ) {
        check(&strings);
    }
}

#[test]
fn every_troublesome_character_and_word_reads_back_unchanged_in_every_reader() {
    let mut strings = BTreeSet::new();
    for c in CHARACTERS.iter().copied().chain('\0'..='\u{a0}').chain([
        '\u{d7ff}',
        '\u{e000}',
        '\u{fdd0}',
        '\u{1fffe}',
        '\u{10ffff}',
    ]) {
        strings.insert(c.to_string());
        strings.insert(format!("a{c}b"));
        strings.insert(format!("{c}x\ny"));
        strings.insert(format!("x\ny{c}"));
    }
    for word in WORDS {
        strings.insert(word.to_string());
        strings.insert(word.to_uppercase());
        strings.insert(with_case(word, &[true]));
        strings.insert(format!("{word}\n"));
    }
    strings.insert(String::new());
    for n in [1023, 1024, 1025] {
        strings.insert("k".repeat(n - 2));
        strings.insert("k".repeat(n));
        strings.insert(format!("{}:", "k".repeat(n)));
    }
    let strings: Vec<String> = strings.into_iter().collect();
    check(&strings);
}

#[test]
fn kustomize_itself_cannot_carry_c1_controls_or_merge_keys() {
    let carried = |data: Value| {
        let Rendered { tree, .. } = render_objects(&[json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c1", "namespace": NAMESPACE},
            "data": data,
        })]);
        kustomize_reads(&tree).map(|(_, read)| read[0]["data"].clone())
    };
    assert_eq!(
        carried(json!({"k": "a\u{85}b"})).unwrap(),
        json!({"k": "a b"})
    );
    assert_eq!(
        carried(json!({"<<": "x", "k": "v"})).unwrap(),
        json!({"k": "v"})
    );
    let refused = carried(json!({"k": "a\u{7f}b"})).unwrap_err();
    assert!(
        refused
            .trim_end()
            .ends_with("yaml: control characters are not allowed"),
        "{refused}"
    );
}
