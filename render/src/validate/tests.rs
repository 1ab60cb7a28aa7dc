//! Checks of objects that failed their schema: the other checks still run, and none reads a
//! failed field (issue 14, "every problem at once").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::load::{Document, Limits, load_str};

fn diagnostics(text: &str) -> Vec<String> {
    let loaded = load_str("in.yaml", text, &Limits::default());
    assert_eq!(loaded.diagnostics, vec![]);
    let (inputs, mut out) = objects::decode(loaded.documents, "default");
    out.extend(check_all(&inputs, &Profile::default(), "default"));
    crate::diagnostic::sort(&mut out);
    out.iter().map(ToString::to_string).collect()
}

const POOLS: &str = "apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata: {name: default}
spec:
  computePools:
  - {name: big, kind: cpu, maxReplicasPerWorkload: 4}
  - {name: [gpu], kind: gpu, maxReplicasPerWorkload: 2}
  - {name: big, kind: cpu, maxReplicasPerWorkload: 8}
---
";

fn pipeline(name: &str, worker: &str, scaling: &str) -> String {
    format!(
        "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  target: {{namespace: t}}\n  worker: {{image: 'w:1'{worker}}}\n  scaling: {scaling}\n---\n"
    )
}

#[test]
fn a_pool_whose_name_failed_may_be_the_one_asked_for() {
    let text = format!(
        "{POOLS}{}{}{}",
        pipeline("a", "", "{pool: gpu, replicas: {max: 2}}"),
        pipeline("b", "", "{pool: big, replicas: {max: 6}}"),
        // The failed name reads as "", which must not pass for this pool's name.
        pipeline("c", "", "{pool: '', replicas: {max: 3}}"),
    );
    assert_eq!(
        diagnostics(&text),
        [
            "in.yaml:7:6: error[E200]: InfraRules/default: spec.computePools[1].name: expected string, found list",
            "in.yaml:8:6: error[E307]: InfraRules/default: spec.computePools[2].name: pool \"big\" is defined twice",
            "in.yaml:24:35: error[E310]: Pipeline/shop/b: spec.scaling.replicas.max: replicas.max (6) is above pool \"big\"'s maxReplicasPerWorkload (4)",
        ]
    );
}

#[test]
fn a_failed_compute_class_picks_no_pool() {
    let text = format!(
        "{POOLS}{}",
        pipeline("a", ", computeClass: tpu", "{replicas: {max: 2}}")
    );
    let found = diagnostics(&text);
    assert_eq!(
        found[2..],
        [
            "in.yaml:15:26: error[E202]: Pipeline/shop/a: spec.worker.computeClass: unsupported value \"tpu\": must be one of \"cpu\", \"gpu\" (did you mean \"cpu\"?)"
        ]
    );
    // With the compute class as written, the unknown pool is reported.
    let text = format!(
        "{}{}",
        POOLS.replace("[gpu]", "gpu"),
        pipeline("a", ", computeClass: cpu", "{replicas: {max: 2}}")
    );
    assert_eq!(
        diagnostics(&text)[1..],
        [
            "in.yaml:15:26: error[E308]: Pipeline/shop/a: spec.worker.computeClass: unknown pool \"cpu\"; known pools: big, gpu, big (did you mean \"gpu\"?)"
        ]
    );
}

#[test]
fn an_invalid_infra_rules_name_is_reported_once() {
    let text = "apiVersion: hevlayer.com/v1alpha1\nkind: InfraRules\nmetadata: {name: Default}\nspec: {}\n";
    assert_eq!(
        diagnostics(text),
        [
            "in.yaml:3:12: error[E109]: InfraRules/Default: metadata.name: invalid name \"Default\": must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ]
    );
    assert_eq!(
        diagnostics(&text.replace("Default", "rules")),
        [
            "in.yaml:3:12: error[E306]: InfraRules/rules: metadata.name: InfraRules must be named default, not \"rules\""
        ]
    );
}

#[test]
fn a_failed_min_does_not_make_a_replica_range() {
    let text = pipeline("a", "", "{replicas: {min: many, max: -1}}");
    assert_eq!(
        diagnostics(&text),
        [
            "in.yaml:7:24: error[E200]: Pipeline/shop/a: spec.scaling.replicas.min: expected integer, found string"
        ]
    );
}

// === every field of every fixture, broken in turn ===

fn yaml_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
}

/// The documents of every fixture case that loads cleanly, by case.
fn fixture_cases() -> Vec<(String, Vec<Document>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut cases = Vec::new();
    for group in ["render", "invalid"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(group))
            .unwrap()
            .map(|e| e.unwrap().path().join("input"))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let mut files = Vec::new();
            yaml_files(&dir, &mut files);
            files.sort();
            let mut documents = Vec::new();
            let mut clean = true;
            for file in files {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    clean = false;
                    continue;
                };
                let loaded = load_str(&file.to_string_lossy(), &text, &Limits::default());
                clean &= loaded.diagnostics.is_empty();
                documents.extend(loaded.documents);
            }
            if clean {
                cases.push((dir.to_string_lossy().into_owned(), documents));
            }
        }
    }
    cases
}

/// What a diagnostic says about which field of which object, without its position.
type Finding = (crate::diagnostic::Code, Option<String>, Option<String>);

/// Decodes and checks `documents`: the objects read (kind and identity) and the findings of
/// the checks after decoding.
fn run(documents: Vec<Document>) -> (Vec<String>, Vec<Diagnostic>, BTreeSet<Finding>) {
    let (inputs, decoded) = objects::decode(documents, "default");
    let mut read: Vec<String> = (inputs.vector_stores.iter().map(|o| o.key.display_ref()))
        .chain(inputs.indexes.iter().map(|o| o.key.display_ref()))
        .chain(inputs.infra_rules.iter().map(|o| o.key.display_ref()))
        .chain(inputs.pipelines.iter().map(|o| o.key.display_ref()))
        .chain(inputs.functions.iter().map(|o| o.key.display_ref()))
        .collect();
    read.sort();
    let checked = check_all(&inputs, &Profile::default(), "default")
        .into_iter()
        .map(finding)
        .collect();
    (read, decoded, checked)
}

fn finding(d: Diagnostic) -> Finding {
    let object = d.object.map(|o| o.to_string());
    (d.code, object, d.field.map(|f| f.to_string()))
}

/// JSON pointers to every node under `spec` and every label and annotation.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(child.clone());
                pointers(v, child, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let child = format!("{at}/{i}");
                out.push(child.clone());
                pointers(v, child, out);
            }
        }
        _ => {}
    }
}

/// A value of another JSON type than `value`.
fn wrong_type(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::from(7),
        _ => Value::from("x"),
    }
}

#[test]
fn breaking_one_field_keeps_the_object_and_adds_no_finding() {
    // `nesting-too-deep` goes deeper than a test thread's stack holds in a debug build.
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(break_every_field)
        .unwrap()
        .join()
        .unwrap();
}

fn break_every_field() {
    let mut broken = 0;
    for (case, documents) in fixture_cases() {
        let (read, decoded, baseline) = run(documents.clone());
        let decoded_before: BTreeSet<Finding> = decoded.into_iter().map(finding).collect();
        for (d, doc) in documents.iter().enumerate() {
            if doc
                .api_version()
                .is_none_or(|v| !v.starts_with("hevlayer.com/"))
            {
                continue;
            }
            let json = doc.root.to_json();
            let mut targets = Vec::new();
            for top in ["/spec", "/metadata/labels", "/metadata/annotations"] {
                if let Some(v) = json.pointer(top) {
                    if top == "/spec" {
                        targets.push(top.to_string());
                    }
                    pointers(v, top.to_string(), &mut targets);
                }
            }
            for target in targets {
                let (parent, last) = target.rsplit_once('/').unwrap();
                let mut changed = json.clone();
                let original = changed.pointer(&target).unwrap().clone();
                *changed.pointer_mut(&target).unwrap() = wrong_type(&original);
                let mut removed = json.clone();
                if let Some(Value::Object(map)) = removed.pointer_mut(parent) {
                    map.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                for (how, mutated) in [("retyped", changed), ("removed", removed)] {
                    let text = serde_json::to_string(&mutated).unwrap();
                    let mut docs = documents.clone();
                    docs[d] = load_str("mutated.yaml", &text, &Limits::default())
                        .documents
                        .remove(0);
                    let (read_now, decoded, checked) = run(docs);
                    let context = format!("{case}: document {d}, {target} {how}");
                    assert_eq!(read_now, read, "{context}: an object was lost");
                    // Only a change that fails the schema counts: removing an optional field
                    // is a valid change of meaning.
                    let failed = decoded
                        .iter()
                        .filter(|x| x.is_error())
                        .any(|x| !decoded_before.contains(&finding(x.clone())));
                    if failed {
                        broken += 1;
                        let added: Vec<&Finding> = checked.difference(&baseline).collect();
                        assert_eq!(added, Vec::<&Finding>::new(), "{context}: {decoded:?}");
                    }
                }
            }
        }
    }
    // The corpus must break many fields, or this test proves little.
    assert!(broken > 1000, "only {broken} broken fields");
}
