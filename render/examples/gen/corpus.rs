//! The benchmark corpus: N Pipelines and N Functions with varied pools, modes, dispatch,
//! podSpec patches and schedules, N/2 Indexes, two VectorStores and one InfraRules, in files
//! of 100 objects across a few namespaces; and the values of the Helm peer chart
//! (`bench/helm-peer/`), which produces the same worker objects from the same N.
//!
//! Everything derives from the index of a workload, so the same N gives the same bytes. This
//! file is the example `gen`'s core and is also included with `#[path]` by the render bench
//! (`render/benches/render.rs`) and the equality test (`tests/bench_peer.rs`), which cannot
//! run an example.

use std::fmt::Write as _;

/// A compute pool of the generated InfraRules: name, kind, replica ceiling, node role.
struct Pool {
    name: &'static str,
    kind: &'static str,
    ceiling: i32,
    role: &'static str,
}

impl Pool {
    /// GPU nodes carry the `nvidia.com/gpu` taint, so a realistic GPU pool tolerates it.
    fn tolerates_gpu(&self) -> bool {
        self.kind == "gpu"
    }
}

/// The pools of the generated `InfraRules/default`.
const POOLS: [Pool; 3] = [
    Pool {
        name: "cpu",
        kind: "cpu",
        ceiling: 32,
        role: "worker-cpu",
    },
    Pool {
        name: "cpu-large",
        kind: "cpu",
        ceiling: 8,
        role: "worker-cpu",
    },
    Pool {
        name: "gpu",
        kind: "gpu",
        ceiling: 4,
        role: "worker-gpu",
    },
];
/// The requests every generated pool puts on the worker container.
const REQUESTS: [(&str, &str); 2] = [("cpu", "500m"), ("memory", "1Gi")];
const NAMESPACES: [&str; 4] = ["shop", "search", "media", "analytics"];
/// The lease of every generated schedule, in seconds.
const LEASE_SECONDS: u32 = 1800;
/// The port of every generated push worker.
const PUSH_PORT: u16 = 9000;

/// A generated input set.
pub struct Corpus {
    /// Input files: name (relative to the output directory) and text.
    pub files: Vec<(String, String)>,
    /// The values file of the Helm peer chart.
    pub values: String,
}

/// Generates the input set and the peer's values for `n`.
pub fn generate(n: usize) -> Corpus {
    let shapes: Vec<Shape> = ["Pipeline", "Function"]
        .into_iter()
        .flat_map(|kind| (0..n).map(move |i| shape(kind, i)))
        .collect();
    let mut files = vec![("shared.yaml".to_string(), shared_yaml(n))];
    for (chunk_index, chunk) in shapes.chunks(100).enumerate() {
        let mut text = String::new();
        for s in chunk {
            workload_yaml(s, &mut text);
        }
        files.push((format!("workloads-{chunk_index:04}.yaml"), text));
    }
    Corpus {
        files,
        values: values_yaml(&shapes),
    }
}

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
    cron: Option<(u32, u32)>,
    pod_spec: bool,
    warm: Option<i32>,
}

fn shape(kind: &'static str, i: usize) -> Shape {
    let pool = &POOLS[i % 3];
    let mode = match i % 10 {
        0..=6 => "autoscale",
        7 | 8 => "fixed",
        _ => "disabled",
    };
    let max = 1 + (i as i32 % pool.ceiling);
    Shape {
        kind,
        name: format!("{}-{i:05}", if kind == "Pipeline" { "pipe" } else { "fn" }),
        namespace: NAMESPACES[i % NAMESPACES.len()],
        pool: pool.name,
        mode,
        min: if mode == "fixed" {
            max.min(2)
        } else {
            (i % 2) as i32
        },
        max,
        push: i % 4 == 1,
        paused: i.is_multiple_of(17),
        cron: (i % 5 == 2).then_some(((i % 60) as u32, (i % 24) as u32)),
        pod_spec: i % 3 == 1,
        warm: i.is_multiple_of(6).then_some(600),
    }
}

impl Shape {
    fn container(&self) -> &'static str {
        if self.kind == "Pipeline" {
            "worker"
        } else {
            "udf"
        }
    }

    fn image(&self) -> String {
        format!(
            "registry.example.com/{}:1.0.{}",
            self.kind.to_lowercase(),
            self.name.len()
        )
    }

    fn queue_url(&self) -> String {
        format!("https://sqs.example.com/{}", self.name)
    }

    /// The schedule as written in the CR.
    fn cron_start(&self) -> Option<String> {
        self.cron
            .map(|(minute, hour)| format!("{minute} {hour} * * *"))
    }

    /// The end of the KEDA cron window: `clamp(lease / 60 + 1, 5, 55)` minutes after the
    /// start, the hour moved by one when the window crosses it (the generated hour field is a
    /// single integer).
    fn cron_end(&self) -> Option<String> {
        let window = (LEASE_SECONDS / 60 + 1).clamp(5, 55);
        self.cron.map(|(minute, hour)| {
            let end = minute + window;
            let hour = if end >= 60 { (hour + 1) % 24 } else { hour };
            format!("{} {hour} * * *", end % 60)
        })
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
            "  pipelineId: {}\n  target:\n    namespace: ns-{}\n  sourceRef:\n    kind: sqs\n    queueUrl: {}\n",
            s.name,
            s.name,
            s.queue_url()
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
    if let Some(cron) = s.cron_start() {
        let _ = write!(
            out,
            "  schedule:\n    cron: \"{cron}\"\n    leaseSeconds: {LEASE_SECONDS}\n"
        );
    }
    let _ = write!(out, "  worker:\n    image: {}\n", s.image());
    if s.push {
        let _ = write!(out, "    dispatch: push\n    port: {PUSH_PORT}\n");
    }
    if s.pod_spec {
        let _ = write!(
            out,
            "    podSpec:\n      containers:\n      - name: {}\n        env:\n        - name: LOG_LEVEL\n          value: debug\n      priorityClassName: batch\n",
            s.container()
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
    let requests = REQUESTS
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    for pool in &POOLS {
        let _ = write!(
            out,
            "  - name: {}\n    kind: {}\n    maxReplicasPerWorkload: {}\n    nodeSelector:\n      layer.hev.dev/node-role: {}\n    tolerations:\n    - key: layer.hev.dev/node-role\n      operator: Equal\n      value: {}\n      effect: NoSchedule\n",
            pool.name, pool.kind, pool.ceiling, pool.role, pool.role
        );
        if pool.tolerates_gpu() {
            out.push_str(
                "    - key: nvidia.com/gpu\n      operator: Exists\n      effect: NoSchedule\n",
            );
        }
        let _ = writeln!(out, "    resources:\n      requests: {{{requests}}}");
    }
    out
}

/// The values of the Helm peer chart: the pools of the InfraRules, and per workload what its
/// CR sets (the chart applies the same defaults as render), plus the end of its cron window,
/// which is arithmetic that Go templates are not for.
fn values_yaml(shapes: &[Shape]) -> String {
    let mut out = String::from("pools:\n");
    for pool in &POOLS {
        let requests = REQUESTS
            .iter()
            .map(|(k, v)| format!("{k}: \"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "  {}:\n    nodeSelector: {{layer.hev.dev/node-role: {}}}\n    tolerations:\n    - {{key: layer.hev.dev/node-role, operator: Equal, value: {}, effect: NoSchedule}}",
            pool.name, pool.role, pool.role
        );
        if pool.tolerates_gpu() {
            out.push_str("    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}\n");
        }
        let _ = writeln!(out, "    resources:\n      requests: {{{requests}}}");
    }
    out.push_str("workloads:\n");
    for s in shapes {
        let _ = write!(
            out,
            "- {{kind: {}, name: {}, namespace: {}, image: \"{}\", pool: {}, mode: {}, min: {}, max: {}, paused: {}, push: {}, podSpec: {}",
            s.kind,
            s.name,
            s.namespace,
            s.image(),
            s.pool,
            s.mode,
            s.min,
            s.max,
            s.paused,
            s.push,
            s.pod_spec,
        );
        if s.push {
            let _ = write!(out, ", port: {PUSH_PORT}");
        }
        if let Some(warm) = s.warm {
            let _ = write!(out, ", warm: {warm}");
        }
        if s.kind == "Pipeline" {
            let _ = write!(
                out,
                ", pipelineId: {}, target: ns-{}, sourceRef: {{kind: sqs, queueUrl: \"{}\"}}",
                s.name,
                s.name,
                s.queue_url()
            );
        }
        if let (Some(start), Some(end)) = (s.cron_start(), s.cron_end()) {
            let _ = write!(
                out,
                ", lease: {LEASE_SECONDS}, cron: \"{start}\", cronEnd: \"{end}\""
            );
        }
        out.push_str("}\n");
    }
    out
}
