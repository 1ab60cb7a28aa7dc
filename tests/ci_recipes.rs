//! The CI recipes in `docs/ci/` work: the workflows are valid YAML that run `check` and
//! `diff --format markdown`, the shell recipe runs end to end in a real git repository, and
//! the diff and post steps of both workflows, run as written on a change to 10,000 Pipelines
//! and 10,000 Functions, post a comment that fits and keep the full diff.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use layer_render::load::{Limits, load_bytes};
use serde_json::Value;

use crate::tools::{repo_root, succeeded};

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
    assert!(all.contains("layer-render check rendered/\n"), "{all}");
    assert!(
        all.contains("layer-render diff /tmp/base-rendered rendered/ --format markdown --full-diff layer-render-diff.txt"),
        "{all}"
    );
    assert!(all.contains("gh pr comment"), "{all}");
    let upload = steps
        .iter()
        .find(|s| s["uses"] == "actions/upload-artifact@v4")
        .unwrap();
    assert_eq!(upload["with"]["path"], "layer-render-diff.txt");
}

#[test]
fn the_gitlab_job_checks_and_posts_the_diff() {
    let job = yaml("docs/ci/gitlab-ci.yml");
    let all = commands(&job["layer-render"]["script"]);
    assert!(all.contains("layer-render check rendered/\n"), "{all}");
    assert!(
        all.contains("--format markdown --full-diff layer-render-diff.txt"),
        "{all}"
    );
    assert_eq!(
        job["layer-render"]["artifacts"]["paths"],
        serde_json::json!(["layer-render-diff.txt"])
    );
    assert!(
        all.contains("merge_requests/$CI_MERGE_REQUEST_IID/notes"),
        "{all}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    succeeded(
        Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args),
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
        succeeded(
            Command::new(env!("CARGO_BIN_EXE_layer-render"))
                .current_dir(dir)
                .args(["--out", "rendered", "manifests"]),
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

// === the diff step at scale ===

/// Workloads of each kind in the large change: the scale the project promises.
const WORKLOADS: usize = 10_000;
/// GitHub refuses a comment over this many characters.
const GITHUB_LIMIT: usize = 65_536;

/// The gateway's URL before and after the change.
const OLD_URL: &str = "http://layer-gateway.layer.svc.cluster.local:8080";
const NEW_URL: &str = "http://gateway.hev-gateway.svc.cluster.local:8080";

/// Two `--out` trees of the generated corpus at 10,000 workloads, the second rendered with a
/// profile that moves the gateway: every worker and every workload CR changes.
///
/// Rendering them takes a debug build about 30 s, so they are made once per build of the
/// binary and kept in Cargo's directory for test files, under a name that holds the
/// binary's size and time; the diff steps under test run on every run.
fn large_change() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let binary = std::fs::metadata(env!("CARGO_BIN_EXE_layer-render")).unwrap();
        let built = binary
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let prefix = format!("ci-recipes-{WORKLOADS}-");
        let dir = cache.join(format!("{prefix}{}-{built}", binary.len()));
        if dir.join("rendered").is_dir() {
            return dir;
        }
        // Renders of an older binary are stale.
        for entry in std::fs::read_dir(cache).unwrap().map(Result::unwrap) {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                std::fs::remove_dir_all(entry.path()).unwrap();
            }
        }
        let staging = tempfile::tempdir_in(cache).unwrap();
        let work = staging.path();
        let input = work.join("in");
        std::fs::create_dir_all(&input).unwrap();
        for (name, text) in crate::bench_peer::corpus::generate(WORKLOADS).files {
            std::fs::write(input.join(name), text).unwrap();
        }
        std::fs::write(
            work.join("profile.yaml"),
            format!("gateway:\n  baseUrl: {NEW_URL}\n"),
        )
        .unwrap();
        let render = |args: &[&str]| {
            succeeded(
                Command::new(env!("CARGO_BIN_EXE_layer-render"))
                    .current_dir(work)
                    .args(args),
            );
        };
        // The two renders are independent; run them side by side.
        std::thread::scope(|scope| {
            scope.spawn(|| render(&["--out", "base-rendered", "in"]));
            render(&["--out", "rendered", "in", "--profile", "profile.yaml"]);
        });
        // Whole or absent: another test process may be making the same directory.
        if std::fs::rename(staging.keep(), &dir).is_err() {
            assert!(dir.join("rendered").is_dir());
        }
        dir
    })
}

/// A directory of stand-ins for the tools that post a comment: each copies the body it was
/// given to `posted.md` in the working directory.
fn posting_stubs(dir: &Path) -> PathBuf {
    let bin = dir.join("stubs");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = "#!/usr/bin/env bash\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --body-file ]; then cp \"$2\" posted.md; fi\n  shift\ndone\n";
    let curl = "#!/usr/bin/env bash\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in body@*) cp \"${1#body@}\" posted.md ;; esac\n  shift\ndone\n";
    for (name, text) in [("gh", gh), ("curl", curl)] {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    bin
}

/// Runs a recipe's shell text in `work`, the base render being the large change's, with the
/// binary and the posting stubs first on the PATH.
fn run_recipe(work: &Path, script: &str, env: &[(&str, &str)]) {
    let base = large_change().join("base-rendered");
    let script = script.replace("/tmp/base-rendered", base.to_str().unwrap());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layer-render"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}:{}",
        posting_stubs(work).display(),
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(work)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A working directory whose `rendered` is the large change's new render.
fn workspace() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        large_change().join("rendered"),
        work.path().join("rendered"),
    )
    .unwrap();
    work
}

/// What the comment and the full diff say about the large change.
fn assert_posted(work: &Path) {
    let posted = std::fs::read_to_string(work.join("posted.md")).unwrap();
    let chars = posted.chars().count();
    assert!(chars <= GITHUB_LIMIT, "the comment has {chars} characters");
    assert!(
        posted.starts_with(&format!(
            "### layer-render diff\n\n**0 added, 0 removed, {} changed, {} unchanged; {} more changed only in hashes that follow from these**\n\n- changed {WORKLOADS} Deployments: ",
            2 * WORKLOADS,
            78_003 - 4 * WORKLOADS,
            2 * WORKLOADS
        )),
        "{}",
        &posted[..posted.len().min(2000)]
    );
    let line = format!("`\"{OLD_URL}\"` → `\"{NEW_URL}\"`");
    assert_eq!(posted.matches(&line).count(), 2, "{}", &posted[..2000]);
    assert!(
        posted.contains("**Left out** to keep this comment short: the diffs of "),
        "{}",
        &posted[posted.len().saturating_sub(2000)..]
    );
    let full = std::fs::read_to_string(work.join("layer-render-diff.txt")).unwrap();
    assert_eq!(full.matches("\n--- a/").count(), 4 * WORKLOADS);
    assert_eq!(
        full.matches(&format!("+          value: {NEW_URL}\n"))
            .count(),
        2 * WORKLOADS
    );
}

/// The line of a recipe's script that runs `layer-render diff`.
fn diff_line(script: &str) -> &str {
    script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("layer-render diff"))
        .unwrap()
}

/// Both recipes run the same diff command; in a debug build it takes about 20 s at this
/// scale, so it runs once, in the GitHub workflow's steps, and the GitLab job's script runs
/// as written around that command's output.
#[test]
fn the_recipes_post_a_comment_that_fits_for_a_change_to_10000_workloads() {
    let workflow = yaml("docs/ci/github-actions.yml");
    let steps = workflow["jobs"]["render"]["steps"].as_array().unwrap();
    let step = |name: &str| {
        let found = steps.iter().find(|s| s["name"] == name).unwrap();
        found["run"]
            .as_str()
            .unwrap()
            .replace("${{ github.event.pull_request.number }}", "7")
    };
    let job = yaml("docs/ci/gitlab-ci.yml");
    let gitlab = job["layer-render"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .find(|s| s.contains("layer-render diff"))
        .unwrap()
        .to_string();
    let github_diff = step("Diff against the base branch");
    assert_eq!(diff_line(&gitlab), diff_line(&github_diff));

    // GitHub: the diff, the link to the artifact, the comment.
    let work = workspace();
    let output = work.path().join("github-output");
    let url = "https://github.com/o/r/actions/runs/1/artifacts/2";
    run_recipe(
        work.path(),
        &github_diff,
        &[("GITHUB_OUTPUT", output.to_str().unwrap())],
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "changed=1\n");
    run_recipe(
        work.path(),
        &step("Link the full diff from the comment"),
        &[("ARTIFACT_URL", url)],
    );
    run_recipe(work.path(), &step("Post the diff as a review comment"), &[]);
    assert_posted(work.path());
    let posted = std::fs::read_to_string(work.path().join("posted.md")).unwrap();
    assert!(posted.ends_with(&format!(
        "\n[The full diff]({url}) (job artifact `layer-render-diff`).\n"
    )));

    // GitLab: its script, with the diff command's output and exit code as GitHub's run made
    // them.
    let gitlab_work = workspace();
    let replay = format!(
        "cp '{0}/diff.md' diff.md; cp '{0}/layer-render-diff.txt' .; (exit 1)",
        work.path().display()
    );
    let script = gitlab.replace(diff_line(&gitlab), &replay);
    run_recipe(
        gitlab_work.path(),
        &script,
        &[
            ("CI_JOB_URL", "https://gitlab.com/o/r/-/jobs/1"),
            ("CI_API_V4_URL", "https://gitlab.com/api/v4"),
            ("CI_PROJECT_ID", "1"),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("LAYER_RENDER_TOKEN", "t"),
        ],
    );
    assert_posted(gitlab_work.path());
    let posted = std::fs::read_to_string(gitlab_work.path().join("posted.md")).unwrap();
    assert!(posted.ends_with(
        "\n[The full diff](https://gitlab.com/o/r/-/jobs/1/artifacts/file/layer-render-diff.txt) (job artifact).\n"
    ));
}
