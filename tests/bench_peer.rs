//! The Helm peer of the benchmark (`bench/helm-peer/`) produces exactly render's worker
//! objects, so that `bench/run.sh`'s helm/render ratio compares equal work.
//!
//! The generator is the example `gen`, which an integration test cannot run; its core,
//! `render/examples/gen/corpus.rs`, has no dependencies and is compiled in here with `#[path]`,
//! so the test and the bench read the same corpus. Render runs through the binary (`--out`),
//! and its Deployments, Services, ScaledObjects and TriggerAuthentications are compared with
//! `helm template` of the peer by `layer-render diff`, ignoring only the render-hash
//! annotation (which the peer cannot compute). `bench/run.sh` repeats the check at every N.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::tools::{repo_root, run, tool};

#[path = "../render/examples/gen/corpus.rs"]
pub(crate) mod corpus;

/// Workloads of each kind: every shape of the generator occurs (autoscale paused and not,
/// fixed paused and not, disabled, push, podSpec, schedules on both kinds).
const N: usize = 20;
const IGNORE: &str = "/metadata/annotations/layer.hev.dev~1render-hash";
/// The `--out` file names of the worker kinds: `<group>_<version>_<kind>_<name>.yaml`.
const WORKER_KINDS: [&str; 4] = [
    "apps_v1_Deployment_",
    "v1_Service_",
    "keda.sh_v1alpha1_ScaledObject_",
    "keda.sh_v1alpha1_TriggerAuthentication_",
];

fn check(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files of an `--out` tree, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Render's worker objects as one stream.
fn render_workers(input: &Path, out_dir: &Path) -> String {
    check(
        "layer-render --out",
        &run(Command::new(env!("CARGO_BIN_EXE_layer-render"))
            .arg("--out")
            .arg(out_dir)
            .arg(input)),
    );
    let mut stream = String::new();
    for path in files(out_dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if WORKER_KINDS.iter().any(|k| name.starts_with(k)) {
            stream.push_str("---\n");
            stream.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    stream
}

fn helm_template(values: &Path, extra: &[&str]) -> String {
    check(
        "helm template",
        &run(Command::new(tool("helm"))
            .args(["template", "peer"])
            .arg(repo_root().join("bench").join("helm-peer"))
            .arg("-f")
            .arg(values)
            .args(extra)),
    )
}

fn diff(old: &Path, new: &Path) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_layer-render"))
        .args(["diff", "--color", "never", "--ignore", IGNORE])
        .arg(old)
        .arg(new))
}

fn count(stream: &str, kind: &str) -> usize {
    stream
        .lines()
        .filter(|l| *l == format!("kind: {kind}"))
        .count()
}

#[test]
fn the_helm_peer_renders_exactly_renders_worker_objects() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let corpus = corpus::generate(N);
    for (name, text) in &corpus.files {
        std::fs::write(input.join(name), text).unwrap();
    }
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, &corpus.values).unwrap();

    let rendered = render_workers(&input, &dir.path().join("out"));
    let peer = helm_template(&values, &[]);
    // Every worker kind is there on both sides: 2N Deployments, a Service per push worker, a
    // ScaledObject and a TriggerAuthentication per autoscaled one.
    for (kind, expected) in [
        ("Deployment", 2 * N),
        ("Service", 10),
        ("ScaledObject", 28),
        ("TriggerAuthentication", 28),
    ] {
        assert_eq!(count(&rendered, kind), expected, "render's {kind}s");
        assert_eq!(count(&peer, kind), expected, "the peer's {kind}s");
    }
    let (render_file, peer_file) = (dir.path().join("render.yaml"), dir.path().join("peer.yaml"));
    std::fs::write(&render_file, &rendered).unwrap();
    std::fs::write(&peer_file, &peer).unwrap();

    let out = diff(&render_file, &peer_file);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the peer differs from render:\n{report}"
    );
    assert_eq!(
        report.trim(),
        "0 added, 0 removed, 0 changed, 106 unchanged"
    );

    // The comparison sees a difference the size of one env value: the check is not vacuous.
    let changed = helm_template(&values, &["--set", "defaults.batchSize=33"]);
    std::fs::write(&peer_file, changed).unwrap();
    let out = diff(&render_file, &peer_file);
    assert_eq!(out.status.code(), Some(1), "a changed peer must differ");
}
