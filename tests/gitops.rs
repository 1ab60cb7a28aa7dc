//! GitOps engines: Argo CD sync waves that cannot deadlock a fresh sync, a Flux layout that
//! kubectl builds in dependency order, and a provenance record that never varies.

use std::collections::BTreeMap;

use layer_render::load::{Limits, load_bytes};
use serde_json::Value;

use crate::golden::{case_command, layer_render};
use crate::tools::{repo_root, run, tool};

fn docs(text: &[u8]) -> Vec<Value> {
    load_bytes("out.yaml", text, &Limits::default())
        .documents
        .iter()
        .map(|d| d.root.to_json())
        .collect()
}

fn wave(object: &Value) -> Option<i64> {
    object["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        .as_str()
        .map(|w| w.parse().unwrap())
}

/// What an object's health waits for, by kind: Argo CD holds a wave until every object in it
/// is healthy, so each of these must be in an earlier wave.
fn health_depends_on(kind: &str) -> &'static [&'static str] {
    match kind {
        "Deployment" => &[
            "NodePool",
            "EC2NodeClass",
            "Secret",
            "ConfigMap",
            "Namespace",
        ],
        "ScaledObject" => &["Deployment", "TriggerAuthentication"],
        "TriggerAuthentication" => &["Secret"],
        "Pipeline" | "Function" => &[
            "Deployment",
            "Service",
            "ScaledObject",
            "TriggerAuthentication",
            "InfraRules",
        ],
        "Index" => &["VectorStore"],
        _ => &[],
    }
}

#[test]
fn argo_waves_cannot_deadlock_a_fresh_sync() {
    let case = repo_root().join("fixtures/render/hev-shop");
    let out = case_command(&case)
        .args(["--gitops", "argo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = docs(&out.stdout);
    let waves: Vec<(String, i64)> = objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                wave(o).unwrap_or(0),
            )
        })
        .collect();
    let last = waves.iter().map(|(_, w)| *w).max().unwrap();
    for (kind, w) in &waves {
        let is_cr =
            ["Pipeline", "Function", "Index", "VectorStore", "InfraRules"].contains(&kind.as_str());
        assert_eq!(
            is_cr,
            *w == last,
            "{kind} in wave {w}; only the CRs may be in the last wave {last}"
        );
        for dependency in health_depends_on(kind) {
            for (other, other_wave) in waves.iter().filter(|(k, _)| k == dependency) {
                // Within the CRs' own wave, Argo applies in the order render wrote them.
                if !(is_cr && *other_wave == last) {
                    assert!(
                        other_wave < w,
                        "{kind} (wave {w}) waits for {other} (wave {other_wave})"
                    );
                }
            }
        }
    }
    // Every object render made is annotated; the passed-through Warehouse is untouched.
    for object in &objects {
        let managed =
            object["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "layer-render";
        let is_cr = object["apiVersion"]
            .as_str()
            .unwrap()
            .starts_with("hevlayer.com/")
            && object["kind"] != "Warehouse";
        assert_eq!(
            wave(object).is_some(),
            managed || is_cr,
            "{}",
            object["kind"]
        );
    }
}

#[test]
fn argo_waves_come_from_the_profile_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.yaml"), "gitops:\n  engine: argo\n").unwrap();
    let case = repo_root().join("fixtures/render/pipeline-autoscale");
    let out = case_command(&case)
        .arg("--profile")
        .arg(dir.path().join("profile.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(docs(&out.stdout).iter().all(|o| wave(o).is_some()));
}

#[test]
fn the_flux_layout_builds_with_kubectl_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("profile.yaml"),
        "gitops:\n  flux:\n    sourceRef: {kind: GitRepository, name: platform, namespace: flux-system}\n    path: ./clusters/prod/layer\n",
    )
    .unwrap();
    let out_dir = dir.path().join("layer");
    let case = repo_root().join("fixtures/render/list-and-passthrough");
    let out = case_command(&case)
        .args(["--gitops", "flux", "--out"])
        .arg(&out_dir)
        .arg("--profile")
        .arg(dir.path().join("profile.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The top directory holds the three Flux Kustomizations, chained with dependsOn.
    let top = run(std::process::Command::new(tool("kubectl"))
        .arg("kustomize")
        .arg(&out_dir));
    assert!(
        top.status.success(),
        "{}",
        String::from_utf8_lossy(&top.stderr)
    );
    let flux = docs(&top.stdout);
    let names: Vec<&str> = flux
        .iter()
        .map(|k| k["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["layer-pools", "layer-workloads", "layer-resources"]);
    let mut seen = Vec::new();
    for k in &flux {
        assert_eq!(k["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
        assert_eq!(k["spec"]["wait"], true);
        assert_eq!(k["spec"]["prune"], true);
        assert_eq!(k["spec"]["sourceRef"]["name"], "platform");
        let name = k["metadata"]["name"].as_str().unwrap();
        let group = name.trim_start_matches("layer-");
        assert_eq!(k["spec"]["path"], format!("./clusters/prod/layer/{group}"));
        let depends: Vec<&str> = k["spec"]["dependsOn"]
            .as_array()
            .map(|d| d.iter().map(|x| x["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        assert!(
            depends.iter().all(|d| seen.contains(d)),
            "{name} depends on a later Kustomization"
        );
        assert_eq!(depends.len(), usize::from(!seen.is_empty()));
        seen.push(name);

        // Each group builds on its own and holds the kinds of its stage.
        let built = run(std::process::Command::new(tool("kubectl"))
            .arg("kustomize")
            .arg(out_dir.join(group)));
        assert!(
            built.status.success(),
            "{group}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let kinds: Vec<String> = docs(&built.stdout)
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect();
        let expected: &[&str] = match group {
            "pools" => &["Namespace", "ConfigMap", "Secret"],
            "workloads" => &["Deployment"],
            _ => &["Pipeline"],
        };
        assert_eq!(kinds, expected, "{group}");
    }
}

#[test]
fn flux_without_out_is_a_usage_error() {
    let case = repo_root().join("fixtures/render/pipeline-autoscale");
    let out = case_command(&case)
        .args(["--gitops", "flux"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "layer-render: --gitops flux writes a directory layout: add --out DIR\n"
    );
}

#[test]
fn the_provenance_record_lists_every_file_and_never_varies() {
    let read = |dir: &std::path::Path| -> BTreeMap<String, Value> {
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(".layer-render.json")).unwrap())
                .unwrap();
        record.as_object().unwrap().clone().into_iter().collect()
    };
    let case = repo_root().join("fixtures/render/hev-shop");
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert!(
        case_command(&case)
            .arg("--out")
            .arg(a.path().join("r"))
            .output()
            .unwrap()
            .status
            .success()
    );
    // The same objects from another path, another working directory and another file order.
    let input = std::fs::read(case.join("input/shop.yaml")).unwrap();
    std::fs::create_dir_all(b.path().join("crs")).unwrap();
    std::fs::write(b.path().join("crs/renamed.yaml"), &input).unwrap();
    let out = layer_render()
        .current_dir(b.path())
        .args(["crs", "--out", "r"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (mut ra, mut rb) = (read(&a.path().join("r")), read(&b.path().join("r")));
    // The record names its inputs relative to the tree, so that `check` can render it again;
    // everything else is the same.
    assert_eq!(
        rb.remove("renderedWith"),
        Some(serde_json::json!({"inputs": ["../crs"], "flags": []}))
    );
    let inputs = ra.remove("renderedWith").unwrap()["inputs"].clone();
    let inputs = inputs.as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert!(
        inputs[0]
            .as_str()
            .unwrap()
            .ends_with("/fixtures/render/hev-shop/input"),
        "{inputs:?}"
    );
    assert_eq!(ra, rb);
    assert_eq!(
        ra["renderer"],
        format!("layer-render {}", env!("CARGO_PKG_VERSION"))
    );
    let files = ra["files"].as_object().unwrap();
    assert!(files.contains_key("kustomization.yaml"));
    assert!(files.contains_key("hev-shop/apps_v1_Deployment_embed-worker.yaml"));
    assert_eq!(
        files.len(),
        std::fs::read_dir(a.path().join("r/hev-shop"))
            .unwrap()
            .count()
            + std::fs::read_dir(a.path().join("r/layer")).unwrap().count()
            + 1
    );
}
