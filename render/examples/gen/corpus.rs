//! Writes a realistic input set for benchmarks: N Pipelines and N Functions with varied pools,
//! modes, dispatch, podSpec patches and schedules, N/2 Indexes, two VectorStores and one
//! InfraRules, in files of 100 objects across a few namespaces.
//!
//! `cargo run --release -p layer-render --example gen -- N OUT_DIR [--values FILE]`
//!
//! With `--values FILE` it also writes the values file of the Helm peer chart
//! (`bench/helm-peer/`), which produces the same worker objects from the same N.

use std::fmt::Write as _;
use std::path::PathBuf;

/// The pools of the built-in InfraRules, with the replica ceiling each allows.
const POOLS: [(&str, i32); 3] = [("cpu", 32), ("cpu-large", 8), ("gpu", 4)];
const NAMESPACES: [&str; 4] = ["shop", "search", "media", "analytics"];

/// Everything that varies between workloads, derived from the index alone.
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
    cron: Option<String>,
    pod_spec: bool,
    warm: Option<i32>,
}

fn shape(kind: &'static str, i: usize) -> Shape {
    let (pool, ceiling) = POOLS[i % 3];
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
        cron: (i % 5 == 2).then(|| format!("{} {} * * *", i % 60, i % 24)),
        pod_spec: i % 3 == 1,
        warm: i.is_multiple_of(6).then_some(600),
    }
}

fn workload_yaml(s: &Shape, out: &mut String) {
    let _ = write!(
        out,
        "---\napiVersion: hevlayer.com/v1alpha1\nkind: {}\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    team: t{}\nspec:\n",
        s.kind,
        s.name,
        s.namespace,
        s.name.len() % 7
    );
    if s.kind == "Pipeline" {
        let _ = write!(
            out,
            "  pipelineId: {}\n  target:\n    namespace: ns-{}\n  sourceRef:\n    kind: sqs\n    queueUrl: https://sqs.example.com/{}\n",
            s.name, s.name, s.name
        );
    } else {
        let _ = write!(
            out,
            "  targetNamespaces: [ns-{}]\n  inputs: [id, text]\n",
            s.name
        );
        if s.cron.is_some() {
            out.push_str("  triggers: [discovery, schedule]\n");
        }
    }
    if s.paused {
        out.push_str("  paused: true\n");
    }
    if let Some(cron) = &s.cron {
        let _ = write!(
            out,
            "  schedule:\n    cron: \"{cron}\"\n    leaseSeconds: 1800\n"
        );
    }
    let _ = write!(
        out,
        "  worker:\n    image: registry.example.com/{}:1.0.{}\n",
        s.kind.to_lowercase(),
        s.name.len()
    );
    if s.push {
        out.push_str("    dispatch: push\n    port: 9000\n");
    }
    if s.pod_spec {
        let container = if s.kind == "Pipeline" {
            "worker"
        } else {
            "udf"
        };
        let _ = write!(
            out,
            "    podSpec:\n      containers:\n      - name: {container}\n        env:\n        - name: LOG_LEVEL\n          value: debug\n      priorityClassName: batch\n"
        );
    }
    let _ = write!(
        out,
        "  scaling:\n    pool: {}\n    mode: {}\n    replicas:\n      min: {}\n      max: {}\n",
        s.pool, s.mode, s.min, s.max
    );
    if let Some(warm) = s.warm {
        let _ = writeln!(out, "    warmWindowSeconds: {warm}");
    }
}

fn shared_yaml(n: usize) -> String {
    let mut out = String::new();
    for (name, default) in [("turbopuffer-default", true), ("turbopuffer-eu", false)] {
        let _ = write!(
            out,
            "---\napiVersion: hevlayer.com/v1alpha1\nkind: VectorStore\nmetadata:\n  name: {name}\n  namespace: layer\nspec:\n  kind: turbopuffer\n  default: {default}\n  endpoint:\n    url: https://{name}.example.com\n    region: us-east-1\n"
        );
    }
    for i in 0..n / 2 {
        let store = if i % 2 == 0 {
            "turbopuffer-default"
        } else {
            "turbopuffer-eu"
        };
        let _ = write!(
            out,
            "---\napiVersion: hevlayer.com/v1\nkind: Index\nmetadata:\n  name: index-{i:05}\n  namespace: layer\nspec:\n  backend:\n    storeRef: {store}\n  snapshot:\n    facetFields: [brand, category]\n"
        );
    }
    out.push_str("---\napiVersion: hevlayer.com/v1alpha1\nkind: InfraRules\nmetadata:\n  name: default\nspec:\n  computePools:\n");
    for (pool, ceiling) in POOLS {
        let role = if pool == "gpu" {
            "worker-gpu"
        } else {
            "worker-cpu"
        };
        let _ = write!(
            out,
            "  - name: {pool}\n    kind: {}\n    maxReplicasPerWorkload: {ceiling}\n    nodeSelector:\n      layer.hev.dev/node-role: {role}\n    tolerations:\n    - key: layer.hev.dev/node-role\n      operator: Equal\n      value: {role}\n      effect: NoSchedule\n    resources:\n      requests: {{cpu: 500m, memory: 1Gi}}\n",
            if pool == "gpu" { "gpu" } else { "cpu" }
        );
    }
    out
}

/// The values of the Helm peer chart: the same workloads, pre-resolved.
fn values_yaml(shapes: &[Shape]) -> String {
    let mut out = String::from("workloads:\n");
    for s in shapes {
        let _ = writeln!(
            out,
            "- {{kind: {}, name: {}, namespace: {}, pool: {}, mode: {}, min: {}, max: {}, push: {}, paused: {}, podSpec: {}, warm: {}, cron: \"{}\"}}",
            s.kind,
            s.name,
            s.namespace,
            s.pool,
            s.mode,
            s.min,
            s.max,
            s.push,
            s.paused,
            s.pod_spec,
            s.warm.unwrap_or(300),
            s.cron.as_deref().unwrap_or("")
        );
    }
    out
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen N OUT_DIR [--values FILE]";
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| std::io::Error::other(usage))?;
    let out_dir = PathBuf::from(args.get(1).ok_or_else(|| std::io::Error::other(usage))?);
    let values = args
        .iter()
        .position(|a| a == "--values")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);

    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("shared.yaml"), shared_yaml(n))?;
    let mut shapes = Vec::with_capacity(2 * n);
    for kind in ["Pipeline", "Function"] {
        for i in 0..n {
            shapes.push(shape(kind, i));
        }
    }
    for (chunk_index, chunk) in shapes.chunks(100).enumerate() {
        let mut text = String::new();
        for s in chunk {
            workload_yaml(s, &mut text);
        }
        std::fs::write(
            out_dir.join(format!("workloads-{chunk_index:04}.yaml")),
            text,
        )?;
    }
    if let Some(values) = values {
        std::fs::write(values, values_yaml(&shapes))?;
    }
    Ok(())
}
