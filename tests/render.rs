//! The render contract, end to end: determinism, linkage, what the API server would do to
//! the emitted CRs, the `--out` tree, discovery, stdin and the JSON diagnostics.

use std::io::Write;
use std::process::Stdio;

use layer_render::api::{HevKind, crd_schema};
use layer_render::load::{Limits, load_bytes};
use layer_render::render::{RenderOptions, render};
use layer_render::validate::schema::prune;
use proptest::prelude::*;
use serde_json::Value;

use crate::golden::{case_command, cases, layer_render};
use crate::tools::repo_root;

/// The input files of every render case that uses default options, as (name, bytes) lists.
fn case_inputs() -> Vec<Vec<(String, Vec<u8>)>> {
    let mut all = Vec::new();
    for case in cases("render") {
        if case.join("profile.yaml").exists() || case.join("args").exists() {
            continue; // those render with other options
        }
        let mut paths: Vec<_> = std::fs::read_dir(case.join("input"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        let files = paths
            .into_iter()
            .map(|p| {
                (
                    format!("input/{}", p.file_name().unwrap().to_string_lossy()),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        all.push(files);
    }
    all
}

/// A deterministic permutation of `items` from `seed`.
fn permute<T>(items: &mut [T], seed: u64) {
    let n = items.len() as u64;
    for i in (1..n).rev() {
        let j = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i.wrapping_mul(1442695040888963407))
            % (i + 1);
        items.swap(i as usize, j as usize);
    }
}

/// Renders files in the given order, the documents of each file permuted by `doc_seed`.
fn render_files(files: &[(String, Vec<u8>)], doc_seed: u64) -> String {
    let mut documents = Vec::new();
    let mut diagnostics = Vec::new();
    for (name, bytes) in files {
        let loaded = load_bytes(name, bytes, &Limits::default());
        let mut docs = loaded.documents;
        permute(&mut docs, doc_seed);
        documents.extend(docs);
        diagnostics.extend(loaded.diagnostics);
    }
    let rendered = render(documents, diagnostics, &RenderOptions::default());
    assert!(!rendered.has_errors(), "{:?}", rendered.diagnostics);
    layer_render::emit::stream(&rendered.objects)
}

#[test]
fn two_renders_of_the_same_input_are_byte_identical() {
    for case in cases("render") {
        let a = case_command(&case).output().unwrap();
        let b = case_command(&case).output().unwrap();
        assert!(a.status.success());
        assert_eq!(a.stdout, b.stdout, "{}", case.display());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn shuffling_files_and_documents_changes_nothing(seed in any::<u64>(), doc_seed in any::<u64>()) {
        for files in case_inputs() {
            let expected = render_files(&files, 0);
            let mut shuffled = files.clone();
            permute(&mut shuffled, seed);
            prop_assert_eq!(render_files(&shuffled, doc_seed), expected);
        }
    }
}

/// The emitted CRs of every golden, as JSON.
fn emitted_crs() -> Vec<(HevKind, Value, String)> {
    let mut crs = Vec::new();
    for case in cases("render") {
        let text = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        let loaded = load_bytes("expected.yaml", text.as_bytes(), &Limits::default());
        for doc in loaded.documents {
            let (Some(api_version), Some(kind)) = (doc.api_version(), doc.kind()) else {
                continue;
            };
            if let Some(hev) = HevKind::from_type_meta(api_version, kind) {
                let json = doc.root.to_json();
                let yaml = layer_render::emit::yaml::to_string(&json);
                crs.push((hev, json, yaml));
            }
        }
    }
    crs
}

#[test]
fn the_api_server_would_store_every_emitted_cr_unchanged() {
    let crs = emitted_crs();
    assert!(crs.len() >= 20, "only {} CRs in the goldens", crs.len());
    let mut kinds = std::collections::BTreeSet::new();
    for (kind, json, yaml) in crs {
        kinds.insert(kind);
        let schema = crd_schema(kind);
        let mut stored = kube::core::cel::apply_defaults(&schema, &json);
        prune(&mut stored, &schema);
        // Type meta and metadata are the API server's own; the schema does not describe them.
        for field in ["apiVersion", "kind", "metadata"] {
            stored[field] = json[field].clone();
        }
        assert_eq!(
            layer_render::emit::yaml::to_string(&stored),
            yaml,
            "{kind:?}"
        );
    }
    assert_eq!(kinds.len(), 5, "every kind is covered");
}

/// Renders the `pipeline-autoscale` case with extra profile text and returns the documents.
fn render_with_profile(profile: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let profile_path = dir.path().join("profile.yaml");
    std::fs::write(&profile_path, profile).unwrap();
    let case = repo_root().join("fixtures/render/pipeline-push-gpu");
    let out = case_command(&case)
        .arg("--profile")
        .arg(&profile_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    load_bytes("out.yaml", text.as_bytes(), &Limits::default())
        .documents
        .iter()
        .map(|d| d.root.to_json())
        .collect()
}

#[test]
fn a_change_that_affects_only_the_deployment_changes_only_it_and_the_parent_map() {
    let before = render_with_profile("");
    let after = render_with_profile("gateway:\n  baseUrl: http://gw.example:8080\n");
    assert_eq!(before.len(), after.len());
    let changed: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changed, ["Deployment", "Pipeline"]);
    let pipeline = |docs: &[Value]| {
        docs.iter()
            .find(|d| d["kind"] == "Pipeline")
            .cloned()
            .unwrap()
    };
    let (mut a, mut b) = (pipeline(&before), pipeline(&after));
    let children = "layer.hev.dev/children";
    assert_ne!(
        a["metadata"]["annotations"][children],
        b["metadata"]["annotations"][children]
    );
    a["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(children);
    b["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(children);
    assert_eq!(a, b, "only the children map of the parent changes");
}

#[test]
fn out_replaces_an_earlier_render_and_leaves_no_stale_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rendered");
    let shop = repo_root().join("fixtures/render/hev-shop");
    let first = case_command(&shop)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(first.status.success());
    assert!(
        out_dir
            .join("hev-shop/apps_v1_Deployment_embed-worker.yaml")
            .is_file()
    );
    let modes = repo_root().join("fixtures/render/pipeline-modes");
    let second = case_command(&modes)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(second.status.success());
    assert!(
        !out_dir
            .join("hev-shop/apps_v1_Deployment_embed-worker.yaml")
            .exists(),
        "stale file left"
    );
    assert!(
        out_dir
            .join("hev-shop/apps_v1_Deployment_extract-worker.yaml")
            .is_file()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        [std::ffi::OsString::from("rendered")],
        "no temporary directory is left"
    );
}

#[test]
fn out_refuses_a_directory_that_is_not_an_earlier_render() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "mine").unwrap();
    let case = repo_root().join("fixtures/render/pipeline-autoscale");
    let out = case_command(&case)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to replace"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
        "mine"
    );
}

#[test]
fn an_invalid_input_writes_no_out_tree() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rendered");
    let case = repo_root().join("fixtures/invalid/unknown-pool");
    let out = case_command(&case)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out_dir.exists());
}

#[test]
fn stdin_is_read_with_a_dash() {
    let input =
        std::fs::read(repo_root().join("fixtures/render/pipeline-autoscale/input/pipeline.yaml"))
            .unwrap();
    let mut child = layer_render()
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let expected =
        std::fs::read(repo_root().join("fixtures/render/pipeline-autoscale/expected.yaml"))
            .unwrap();
    assert_eq!(out.stdout, expected);
}

#[test]
fn diagnostics_in_json_carry_code_span_object_and_field() {
    let case = repo_root().join("fixtures/invalid/unknown-pool");
    let out = case_command(&case)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "code": "E308",
            "severity": "error",
            "span": {"file": "input/a.yaml", "line": 11, "column": 5},
            "object": "Pipeline/shop/embed",
            "field": "spec.scaling.pool",
            "message": "unknown pool \"gpuu\"; known pools: cpu, cpu-large, gpu (did you mean \"gpu\"?)"
        }])
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = layer_render().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "layer-render: no input: give one or more files or directories, or - for stdin (see --help)\n"
    );
    let out = layer_render().arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn discover_prints_index_crs_with_upstream_names() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("namespaces.txt");
    std::fs::write(&list, "products-2026\nShop/Products\n___\n# a comment\n").unwrap();
    let out = layer_render()
        .args(["discover", "--namespaces"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = "\
apiVersion: hevlayer.com/v1
kind: Index
metadata:
  annotations:
    hevlayer.com/discovered: 'true'
  name: products-2026
  namespace: layer
spec:
  backend:
    distanceMetric: cosine_distance
    namespace: products-2026
  consistency: eventual
  metadata:
    annotations: {}
    labels: {}
---
apiVersion: hevlayer.com/v1
kind: Index
metadata:
  annotations:
    hevlayer.com/discovered: 'true'
  name: shop-products-7d9f38a6
  namespace: layer
spec:
  backend:
    distanceMetric: cosine_distance
    namespace: Shop/Products
  consistency: eventual
  metadata:
    annotations: {}
    labels: {}
";
    assert_eq!(text, expected);
}

#[test]
fn the_printed_profile_is_the_embedded_default() {
    let out = layer_render().arg("profile").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        layer_render::profile::DEFAULT_PROFILE_YAML
    );
}

#[test]
fn a_render_killed_while_writing_leaves_the_previous_tree_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rendered");
    let previous = repo_root().join("fixtures/render/hev-shop");
    assert!(
        case_command(&previous)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap()
            .status
            .success()
    );
    let snapshot = |root: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push((
                        path.strip_prefix(root).unwrap().display().to_string(),
                        std::fs::read(&path).unwrap(),
                    ));
                }
            }
        }
        files.sort();
        files
    };
    let before = snapshot(&out_dir);

    // Thousands of objects, so writing the new tree takes long enough to be caught midway.
    let mut big = String::new();
    for i in 0..4000 {
        big.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: n}}\ndata: {{k: v}}\n"));
    }
    std::fs::write(dir.path().join("big.yaml"), big).unwrap();
    let mut child = layer_render()
        .current_dir(dir.path())
        .args(["big.yaml", "--out", "rendered"])
        .spawn()
        .unwrap();
    let staging = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".rendered.tmp-")
            })
    };
    let started = std::time::Instant::now();
    while !staging()
        && child.try_wait().unwrap().is_none()
        && started.elapsed() < std::time::Duration::from_secs(30)
    {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "render finished before it could be killed; make the input larger"
    );
    assert_eq!(snapshot(&out_dir), before, "the previous tree changed");

    // The next render removes what the killed one left and writes its tree.
    let again = layer_render()
        .current_dir(dir.path())
        .args(["big.yaml", "--out", "rendered"])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        ["big.yaml", "rendered"],
        "a temporary directory was left behind"
    );
    assert!(out_dir.join("n/v1_ConfigMap_c3999.yaml").is_file());
}
