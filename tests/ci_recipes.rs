//! The CI recipes in `docs/ci/` work: the workflows are valid YAML that run `check` and
//! `diff --format markdown`, and the shell recipe runs end to end in a real git repository.

use std::path::Path;
use std::process::Command;

use layer_render::load::{Limits, load_bytes};
use serde_json::Value;

use crate::tools::repo_root;

fn yaml(path: &str) -> Value {
    let bytes = std::fs::read(repo_root().join(path)).unwrap();
    let loaded = load_bytes(path, &bytes, &Limits::default());
    assert_eq!(loaded.diagnostics, vec![], "{path} is not valid YAML");
    assert_eq!(loaded.documents.len(), 1);
    loaded.documents[0].root.to_json()
}

/// Every `run`/`script` line of a CI file, joined.
fn commands(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(commands).collect::<Vec<_>>().join("\n"),
        Value::Object(map) => map.values().map(commands).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

#[test]
fn the_github_workflow_checks_and_posts_the_diff() {
    let workflow = yaml("docs/ci/github-actions.yml");
    assert!(workflow["on"]["pull_request"].is_object());
    let steps = workflow["jobs"]["render"]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s.get("run").is_some() || s.get("uses").is_some())
    );
    let all = commands(&workflow["jobs"]);
    assert!(
        all.contains("layer-render check rendered/ manifests/"),
        "{all}"
    );
    assert!(
        all.contains("layer-render diff /tmp/base-rendered rendered/ --format markdown"),
        "{all}"
    );
    assert!(all.contains("gh pr comment"), "{all}");
}

#[test]
fn the_gitlab_job_checks_and_posts_the_diff() {
    let job = yaml("docs/ci/gitlab-ci.yml");
    let all = commands(&job["layer-render"]["script"]);
    assert!(
        all.contains("layer-render check rendered/ manifests/"),
        "{all}"
    );
    assert!(all.contains("--format markdown"), "{all}");
    assert!(
        all.contains("merge_requests/$CI_MERGE_REQUEST_IID/notes"),
        "{all}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_shell_recipe_runs_end_to_end() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layer-render"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let recipe = repo_root().join("docs/ci/render-check.sh");
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let source = repo_root().join("fixtures/render/pipeline-autoscale/input/pipeline.yaml");
    std::fs::copy(&source, manifests.join("pipeline.yaml")).unwrap();
    let render = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_layer-render"))
            .current_dir(dir)
            .args(["--out", "rendered", "manifests"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    render(dir);
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);

    let run = |base: &str| {
        Command::new("bash")
            .arg(&recipe)
            .arg(base)
            .current_dir(dir)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    // Nothing changed: up to date and no difference.
    let out = run("HEAD");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A change to the CRs without re-rendering: the render is stale.
    let text = std::fs::read_to_string(manifests.join("pipeline.yaml"))
        .unwrap()
        .replace("max: 10", "max: 12");
    std::fs::write(manifests.join("pipeline.yaml"), text).unwrap();
    let out = run("HEAD");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Re-rendered and committed: a reviewable difference against the base.
    render(dir);
    git(dir, &["commit", "-q", "-am", "raise max"]);
    let out = run("HEAD~1");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = std::fs::read_to_string(dir.join("layer-render-diff.md")).unwrap();
    assert!(markdown.contains("maxReplicaCount"), "{markdown}");
}
