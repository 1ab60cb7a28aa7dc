//! Karpenter NodePools and the schedulability check, end to end (issue 4): emission is
//! deterministic and reads back as the chart's pair, `--nodepools` and `--allow-unschedulable`
//! reach both render and `check`, and upstream manifests keep rendering.

use layer_render::emit;
use layer_render::karpenter::nodepools::default_worker_pools;
use layer_render::karpenter::schedule::read_nodepools;
use layer_render::load::{Limits, load_bytes, load_str};
use layer_render::profile::Profile;
use layer_render::render::{RenderOptions, render};
use proptest::prelude::*;

use crate::golden::{case_command, layer_render};
use crate::tools::repo_root;

fn case(name: &str) -> std::path::PathBuf {
    repo_root().join("fixtures/render").join(name)
}

fn options_of(case_name: &str) -> RenderOptions {
    let text = std::fs::read_to_string(case(case_name).join("profile.yaml")).unwrap();
    RenderOptions {
        profile: Profile::parse("profile.yaml", &text).unwrap(),
        ..RenderOptions::default()
    }
}

/// Renders a case's input files with its profile, documents in the order `order` gives.
fn render_case(case_name: &str, order: impl Fn(&mut Vec<layer_render::load::Document>)) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(case(case_name).join("input"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut documents = Vec::new();
    for path in paths {
        let name = format!("input/{}", path.file_name().unwrap().to_string_lossy());
        let loaded = load_bytes(&name, &std::fs::read(&path).unwrap(), &Limits::default());
        assert_eq!(loaded.diagnostics, []);
        documents.extend(loaded.documents);
    }
    order(&mut documents);
    let rendered = render(documents, Vec::new(), &options_of(case_name));
    assert!(!rendered.has_errors(), "{:?}", rendered.diagnostics);
    emit::stream(&rendered.objects)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn shuffling_the_documents_changes_no_nodepool(seed in any::<u64>()) {
        let plain = render_case("karpenter-custom-role", |_| {});
        let shuffled = render_case("karpenter-custom-role", |docs| {
            let n = docs.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                docs.swap(i, j);
            }
        });
        prop_assert_eq!(plain, shuffled);
    }
}

#[test]
fn the_default_pools_golden_reads_back_as_the_charts_pair() {
    let golden =
        std::fs::read_to_string(case("karpenter-default-pools").join("expected.yaml")).unwrap();
    let loaded = load_str("expected.yaml", &golden, &Limits::default());
    let (pools, problems) = read_nodepools(&loaded.documents);
    assert_eq!(problems, []);
    let profile = options_of("karpenter-default-pools").profile;
    assert_eq!(pools, default_worker_pools(&profile.karpenter).node_pools);
}

#[test]
fn issue_4_upstream_nodepool_selectors_keep_rendering() {
    // Issue 4: "Upstream manifests that select other NodePools (for example
    // `karpenter.sh/nodepool: cpu`) must keep rendering." With no NodePool known, a warning.
    let out = case_command(&case("upstream-nodepool-selector"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning[W600]"));
    assert!(!out.stdout.is_empty());
}

#[test]
fn the_same_worker_is_an_error_once_the_clusters_nodepools_are_known() {
    let dir = case("unschedulable-allowed");
    let out = layer_render()
        .current_dir(&dir)
        .args(["input", "--nodepools", "nodepools.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[E600]: Pipeline/web/crawl"),
        "{stderr}"
    );
    assert!(stderr.contains("worker-cpu does not set team"), "{stderr}");
}

#[test]
fn a_missing_nodepools_path_is_a_usage_error() {
    let out = layer_render()
        .current_dir(case("nodepools-flag"))
        .args(["input", "--nodepools", "no-such-file.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[E100]") && stderr.contains("no-such-file.yaml"),
        "{stderr}"
    );
}

#[test]
fn check_renders_with_the_same_nodepool_flags() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("rendered");
    let case_dir = case("unschedulable-allowed");
    let out = case_command(&case_dir)
        .arg("--out")
        .arg(&rendered)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = |extra: &[&str]| {
        layer_render()
            .current_dir(&case_dir)
            .arg("check")
            .arg(&rendered)
            .args(["input", "--nodepools", "nodepools.yaml"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(check(&["--allow-unschedulable"]).status.code(), Some(0));
    let strict = check(&[]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("error[E600]"));
}
