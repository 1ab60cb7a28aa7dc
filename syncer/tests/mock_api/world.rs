//! A cluster of many CRs and their children for the efficiency test and bench: inputs
//! generated here, rendered in-process by the real `layer-render` (so children, render hashes
//! and spec hashes are real), then given the live state a cluster adds.
//!
//! `n` workloads, alternately Pipelines and Functions, spread over four namespaces and three
//! pools, in every scaling mode, some with push dispatch, some paused, some Functions with an
//! `indexSelector`; `n / 20` Indexes over two VectorStores; and `InfraRules/default`. One
//! workload's Deployment starts with no replica available (the "laggard").
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use layer_render::load::{Limits, load_str};
use layer_render::render::{RenderOptions, render_json};
use serde_json::{Value, json};

use crate::fake::*;
use crate::harness::{collection_of, go_live};

const NAMESPACES: [&str; 4] = ["shop", "search", "media", "analytics"];
/// Name, kind, replica ceiling and node role of each pool.
const POOLS: [(&str, &str, i32, &str); 3] = [
    ("cpu", "cpu", 32, "worker-cpu"),
    ("cpu-large", "cpu", 8, "worker-cpu"),
    ("gpu", "gpu", 4, "worker-gpu"),
];

/// The generated cluster.
pub struct World {
    /// Every object, in the collection the fake keeps it in.
    pub objects: Vec<(&'static str, Value)>,
    /// The status path of every CR and the `Ready` status and reason its one write must carry.
    pub expected: BTreeMap<String, (String, String)>,
    /// The laggard's Deployment, as it becomes once a replica is available.
    pub laggard_available: Value,
    /// The status path of the laggard's parent.
    pub laggard_parent: String,
    /// How many objects of each kind.
    pub counts: BTreeMap<String, usize>,
}

/// Everything that varies between workloads, from the index alone.
struct Shape {
    kind: &'static str,
    name: String,
    namespace: &'static str,
    pool: &'static str,
    mode: &'static str,
    min: i32,
    max: i32,
    push: bool,
    paused: bool,
    selector: Option<usize>,
}

fn shape(i: usize) -> Shape {
    let kind = if i.is_multiple_of(2) {
        "Pipeline"
    } else {
        "Function"
    };
    let (pool, _, ceiling, _) = POOLS[i % 3];
    let mode = match i % 10 {
        0..=6 => "autoscale",
        7 | 8 => "fixed",
        _ => "disabled",
    };
    let max = 1 + (i as i32 % ceiling);
    Shape {
        kind,
        name: format!("{}-{i:05}", if kind == "Pipeline" { "pipe" } else { "fn" }),
        namespace: NAMESPACES[i % NAMESPACES.len()],
        pool,
        mode,
        min: if mode == "fixed" {
            max.min(2)
        } else {
            (i % 2) as i32
        },
        max,
        push: i % 4 == 1,
        paused: i.is_multiple_of(17),
        selector: (kind == "Function" && i % 8 == 3).then_some(i % 3),
    }
}

impl Shape {
    fn status_path(&self) -> String {
        let plural = if self.kind == "Pipeline" {
            "pipelines"
        } else {
            "functions"
        };
        format!(
            "/apis/hevlayer.com/v1alpha1/namespaces/{}/{plural}/{}/status",
            self.namespace, self.name
        )
    }

    fn expected_reason(&self) -> &'static str {
        if self.paused {
            "Paused"
        } else if self.mode == "disabled" {
            "Disabled"
        } else {
            "Available"
        }
    }

    fn yaml(&self, out: &mut String) {
        let _ = write!(
            out,
            "---\napiVersion: hevlayer.com/v1alpha1\nkind: {}\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n",
            self.kind, self.name, self.namespace
        );
        if self.kind == "Pipeline" {
            let _ = write!(
                out,
                "  pipelineId: {n}\n  target:\n    namespace: ns-{n}\n  sourceRef:\n    kind: sqs\n    queueUrl: https://sqs.example.com/{n}\n",
                n = self.name
            );
        } else {
            let _ = write!(
                out,
                "  targetNamespaces: [ns-{}]\n  inputs: [id, text]\n",
                self.name
            );
            if let Some(team) = self.selector {
                let _ = writeln!(
                    out,
                    "  indexSelector:\n    matchLabels:\n      team: t{team}"
                );
            }
        }
        if self.paused {
            out.push_str("  paused: true\n");
        }
        let _ = write!(
            out,
            "  worker:\n    image: registry.example.com/{}:1.0.0\n",
            self.kind.to_lowercase()
        );
        if self.push {
            out.push_str("    dispatch: push\n    port: 9000\n");
        }
        let _ = write!(
            out,
            "  scaling:\n    pool: {}\n    mode: {}\n    replicas:\n      min: {}\n      max: {}\n",
            self.pool, self.mode, self.min, self.max
        );
    }
}

fn shared_yaml(indexes: usize) -> String {
    let mut out = String::new();
    for (name, default) in [("turbopuffer-default", true), ("turbopuffer-eu", false)] {
        let _ = write!(
            out,
            "---\napiVersion: hevlayer.com/v1alpha1\nkind: VectorStore\nmetadata:\n  name: {name}\n  namespace: layer\nspec:\n  kind: turbopuffer\n  default: {default}\n  endpoint:\n    url: https://{name}.example.com\n    region: us-east-1\n"
        );
    }
    for i in 0..indexes {
        let store = if i % 2 == 0 {
            "turbopuffer-default"
        } else {
            "turbopuffer-eu"
        };
        let _ = write!(
            out,
            "---\napiVersion: hevlayer.com/v1\nkind: Index\nmetadata:\n  name: index-{i:05}\n  namespace: layer\n  labels:\n    team: t{}\nspec:\n  backend:\n    storeRef: {store}\n",
            i % 3
        );
    }
    out.push_str("---\napiVersion: hevlayer.com/v1alpha1\nkind: InfraRules\nmetadata:\n  name: default\nspec:\n  computePools:\n");
    for (name, kind, ceiling, role) in POOLS {
        let _ = write!(
            out,
            "  - name: {name}\n    kind: {kind}\n    maxReplicasPerWorkload: {ceiling}\n    nodeSelector:\n      layer.hev.dev/node-role: {role}\n    tolerations:\n    - key: layer.hev.dev/node-role\n      operator: Equal\n      value: {role}\n      effect: NoSchedule\n"
        );
    }
    out
}

/// The cluster with `n` workloads (see the module documentation).
pub fn world(n: usize) -> World {
    let shapes: Vec<Shape> = (0..n).map(shape).collect();
    let indexes = (n / 20).max(1);
    let mut input = shared_yaml(indexes);
    for s in &shapes {
        s.yaml(&mut input);
    }
    let loaded = load_str("world.yaml", &input, &Limits::default());
    let out = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions {
            namespace: "layer".into(),
            ..RenderOptions::default()
        },
    );
    assert!(
        !out.has_errors(),
        "{:#?}",
        &out.diagnostics[..out.diagnostics.len().min(5)]
    );
    let laggard = shapes
        .iter()
        .find(|s| s.mode == "autoscale" && !s.paused)
        .expect("a running autoscaled workload");
    let laggard_deployment = format!("{}-worker", laggard.name);
    let mut objects = Vec::new();
    let mut laggard_available = Value::Null;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in out.objects {
        let mut obj = o.value;
        let Some(collection) = collection_of(&obj) else {
            continue;
        };
        if collection == NODE_POOLS {
            continue;
        }
        *counts
            .entry(obj["kind"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
        let is_laggard = obj["kind"] == "Deployment"
            && obj["metadata"]["name"] == laggard_deployment.as_str()
            && obj["metadata"]["namespace"] == laggard.namespace;
        if is_laggard {
            let mut available = obj.clone();
            go_live(&mut available, None);
            laggard_available = available;
            go_live(&mut obj, Some(0));
        } else {
            go_live(&mut obj, None);
        }
        objects.push((collection, obj));
    }
    let mut expected = BTreeMap::new();
    for s in &shapes {
        expected.insert(
            s.status_path(),
            ("True".to_string(), s.expected_reason().to_string()),
        );
    }
    expected.insert(
        laggard.status_path(),
        ("False".to_string(), "WorkerUnavailable".to_string()),
    );
    for i in 0..indexes {
        expected.insert(
            format!("/apis/hevlayer.com/v1/namespaces/layer/indexes/index-{i:05}/status"),
            ("True".into(), "StoreReady".into()),
        );
    }
    for store in ["turbopuffer-default", "turbopuffer-eu"] {
        expected.insert(
            format!("/apis/hevlayer.com/v1alpha1/namespaces/layer/vectorstores/{store}/status"),
            ("True".into(), "ProbeDisabled".into()),
        );
    }
    expected.insert(
        "/apis/hevlayer.com/v1alpha1/infrarules/default/status".into(),
        ("True".into(), "PoolsReady".into()),
    );
    World {
        objects,
        expected,
        laggard_available,
        laggard_parent: laggard.status_path(),
        counts,
    }
}

/// The Ready status and reason of a status patch body.
pub fn ready_of(body: &Value) -> (String, String) {
    let c = &body["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// A JSON summary of the counts, for logs.
pub fn describe(w: &World) -> Value {
    json!(w.counts)
}
