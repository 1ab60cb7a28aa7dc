//! Never panic: random YAML trees shaped like hev layer objects, and byte-level mutations of
//! the valid fixtures, go through load → validate → expand → emit. Render must return output
//! or diagnostics, never panic, and give the same bytes for the same input.

use layer_render::emit;
use layer_render::load::{Limits, load_bytes};
use layer_render::render::{RenderOptions, render};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::golden::cases;

/// Everything a render produces, as text, for comparing two runs.
fn render_text(bytes: &[u8]) -> String {
    let loaded = load_bytes("fuzz.yaml", bytes, &Limits::default());
    let rendered = render(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions::default(),
    );
    let diagnostics: Vec<String> = rendered
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    format!(
        "{}\n{}",
        emit::stream(&rendered.objects),
        diagnostics.join("\n")
    )
}

/// Keys that the five kinds use, so random trees reach deep into validation and expansion.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "spec",
    "worker",
    "image",
    "scaling",
    "replicas",
    "min",
    "max",
    "pool",
    "mode",
    "dispatch",
    "port",
    "podSpec",
    "containers",
    "env",
    "value",
    "schedule",
    "cron",
    "leaseSeconds",
    "paused",
    "target",
    "pipelineId",
    "sourceRef",
    "warehouseRef",
    "triggers",
    "computePools",
    "nodeSelector",
    "tolerations",
    "resources",
    "default",
    "endpoint",
    "url",
    "backend",
    "storeRef",
    "items",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "hevlayer.com/v1alpha1",
            "hevlayer.com/v1",
            "v1",
            "Pipeline",
            "Function",
            "Index",
            "VectorStore",
            "InfraRules",
            "List",
            "gpu",
            "cpu",
            "push",
            "fixed",
            "autoscale",
            "default",
            "50 23 * * *",
            "*/5 * * * *",
            "worker",
            "udf",
            "",
            "-",
            "a b",
            "ns",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        "[a-z0-9-]{0,12}".prop_map(Value::String),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                let map: Map<String, Value> = entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                Value::Object(map)
            }),
        ]
    })
}

/// A document that starts like a hev layer object, with a random rest.
fn object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "Pipeline",
            "Function",
            "Index",
            "VectorStore",
            "InfraRules",
            "ConfigMap",
        ]),
        tree(),
        tree(),
    )
        .prop_map(|(kind, spec, meta)| {
            let api = if kind == "Index" {
                "hevlayer.com/v1"
            } else if kind == "ConfigMap" {
                "v1"
            } else {
                "hevlayer.com/v1alpha1"
            };
            let mut metadata = json!({"name": "x", "namespace": "n"});
            if let (Some(m), Value::Object(extra)) = (metadata.as_object_mut(), meta) {
                m.extend(extra);
            }
            json!({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec})
        })
}

fn fixture_texts() -> Vec<Vec<u8>> {
    let mut texts = Vec::new();
    for case in cases("render") {
        for entry in std::fs::read_dir(case.join("input")).unwrap() {
            texts.push(std::fs::read(entry.unwrap().path()).unwrap());
        }
    }
    texts.sort();
    texts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_object_trees_never_panic_and_render_the_same_twice(docs in prop::collection::vec(object(), 1..4)) {
        let text = emit::yaml::to_stream(docs.iter());
        let first = render_text(text.as_bytes());
        prop_assert_eq!(render_text(text.as_bytes()), first);
    }

    #[test]
    fn mutated_fixtures_never_panic_and_render_the_same_twice(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let texts = fixture_texts();
        let mut bytes = pick.get(&texts).clone();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        let first = render_text(&bytes);
        prop_assert_eq!(render_text(&bytes), first);
    }
}
