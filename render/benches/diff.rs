//! `layer-render diff` at scale: two renders of 10,000 objects each, generated here.
//!
//! The new render changes the image of every 100th object (100 changed), drops 10 objects,
//! adds 10 and lists everything in reverse order, so matching, comparing and the per-object
//! unified diffs all do real work. Three benches:
//!
//! - `diff_objects`: objects in memory to the text report (the diff itself);
//! - `diff_streams`: two YAML streams, cut into documents and compared as `diff` reads them
//!   (`diff::read`: only the documents whose text differs are parsed), to the text report;
//! - `diff_streams_markdown`: the same to the markdown report.
//!
//! Run with `cargo bench -p layer-render --bench diff`. Figures: see the report of the last
//! measurement in `docs/diff.md` ("Performance").

use divan::Bencher;
use std::sync::Arc;

use layer_render::diff::markdown::MarkdownOptions;
use layer_render::diff::text::TextOptions;
use layer_render::diff::{DiffOptions, Item, diff, diff_items, markdown, read, text};
use layer_render::emit::{self, Object};
use serde_json::{Value, json};

const OBJECTS: usize = 10_000;

fn main() {
    divan::main();
}

/// A worker-like object: the size and shape of a rendered Deployment.
fn object(i: usize, image_version: &str) -> Value {
    let kind = ["Deployment", "ScaledObject", "Service", "ConfigMap"][i % 4];
    let api_version = ["apps/v1", "keda.sh/v1alpha1", "v1", "v1"][i % 4];
    let name = format!("workload-{i}-worker");
    let labels = json!({
        "app.kubernetes.io/managed-by": "layer-render",
        "app.kubernetes.io/part-of": "hev-layer",
        "layer.hev.dev/component": "worker",
        "layer.hev.dev/owner-kind": "Pipeline",
        "layer.hev.dev/owner-name": format!("workload-{i}"),
    });
    let env: Vec<Value> = (0..8)
        .map(|e| json!({"name": format!("HEVLAYER_VAR_{e}"), "value": format!("value-{i}-{e}")}))
        .collect();
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": format!("team-{}", i % 50),
            "labels": labels,
            "annotations": {"layer.hev.dev/render-hash": format!("{:016x}", i * 7919)},
        },
        "spec": {
            "selector": {"matchLabels": {"layer.hev.dev/owner-name": format!("workload-{i}")}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{
                        "name": "worker",
                        "image": format!("ghcr.io/hev/workload-{i}:{image_version}"),
                        "env": env,
                        "resources": {
                            "limits": {"cpu": "2", "memory": "4Gi"},
                            "requests": {"cpu": "1", "memory": "2Gi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]},
                            "runAsNonRoot": true,
                        },
                    }],
                    "nodeSelector": {"layer.hev.dev/compute": "cpu"},
                    "tolerations": [{
                        "effect": "NoSchedule",
                        "key": "layer.hev.dev/node-role",
                        "operator": "Equal",
                        "value": "worker-cpu",
                    }],
                },
            },
        },
    })
}

/// The old and new renders described in the module docs.
fn renders() -> (Vec<Object>, Vec<Object>) {
    let old: Vec<Object> = (0..OBJECTS)
        .map(|i| Object::from_value(object(i, "1.0.0")))
        .collect();
    let mut new: Vec<Object> = (10..OBJECTS + 10)
        .map(|i| {
            let version = if i % 100 == 0 { "1.1.0" } else { "1.0.0" };
            Object::from_value(object(i, version))
        })
        .collect();
    new.reverse();
    (old, new)
}

fn options() -> DiffOptions {
    DiffOptions::default()
}

#[divan::bench(sample_count = 10)]
fn diff_objects(bencher: Bencher) {
    let (old, new) = renders();
    bencher.bench(|| {
        let report = diff(&old, &new, &options()).ok();
        report.map(|r| text::render(&r, &TextOptions::default()))
    });
}

/// Reads a stream the way `diff` reads a side.
fn parse(name: &str, stream: &str) -> Vec<Item> {
    read::items(&[(Arc::from(name), Arc::new(stream.to_string()))]).0
}

/// One YAML stream of the objects, as render writes them.
fn stream(objects: &[Object]) -> String {
    emit::yaml::to_stream(objects.iter().map(|o| &o.value))
}

#[divan::bench(sample_count = 10)]
fn diff_streams(bencher: Bencher) {
    let (old, new) = renders();
    let (old, new) = (stream(&old), stream(&new));
    bencher.bench(|| {
        let (old, new) = (parse("old", &old), parse("new", &new));
        let options = DiffOptions {
            unified: Some(3),
            ..options()
        };
        let report = diff_items(&old, &new, &options).ok();
        report.map(|r| text::render(&r, &TextOptions::default()))
    });
}

#[divan::bench(sample_count = 10)]
fn diff_streams_markdown(bencher: Bencher) {
    let (old, new) = renders();
    let (old, new) = (stream(&old), stream(&new));
    bencher.bench(|| {
        let (old, new) = (parse("old", &old), parse("new", &new));
        let report = diff_items(&old, &new, &options()).ok();
        report.map(|r| markdown::render(&r, &MarkdownOptions::default()))
    });
}
