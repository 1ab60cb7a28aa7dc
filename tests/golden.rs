//! Golden files: every case under `fixtures/render/` renders to exactly its `expected.yaml`,
//! and every case under `fixtures/invalid/` fails with exactly its `expected.txt` on stderr,
//! exit code 2 and nothing on stdout.
//!
//! A case is a directory with `input/`, an optional `profile.yaml` and an optional `args`
//! file (one flag per line). The binary runs in the case directory, so paths in diagnostics
//! are `input/<file>` on every machine. `UPDATE_GOLDEN=1 cargo test` rewrites the expected
//! files and still fails the run, so every update is a diff someone reviews.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::tools::repo_root;

/// The `layer-render` binary built for this test run.
pub fn layer_render() -> Command {
    Command::new(env!("CARGO_BIN_EXE_layer-render"))
}

/// Every case directory under `fixtures/<group>/`, sorted.
pub fn cases(group: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("fixtures").join(group);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The command that renders a case: `input` plus its profile and args, run in the case dir.
pub fn case_command(case: &Path) -> Command {
    let mut cmd = layer_render();
    cmd.current_dir(case).arg("input");
    if case.join("profile.yaml").is_file() {
        cmd.args(["--profile", "profile.yaml"]);
    }
    if let Ok(args) = std::fs::read_to_string(case.join("args")) {
        cmd.args(args.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn update() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `actual` with the file at `path`; on a mismatch records it (and rewrites the
/// file under `UPDATE_GOLDEN=1`).
fn compare(path: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return;
    }
    if update() {
        std::fs::write(path, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let diff = similar::TextDiff::from_lines(&expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string();
    failures.push(format!("{} differs:\n{diff}", path.display()));
}

fn finish(failures: Vec<String>) {
    if !failures.is_empty() {
        let hint = if update() {
            "golden files rewritten; review the diff and run again"
        } else {
            "run with UPDATE_GOLDEN=1 to rewrite"
        };
        panic!(
            "{} golden mismatch(es) ({hint}):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn every_render_case_matches_its_golden_output() {
    let cases = cases("render");
    assert!(
        cases.len() >= 12,
        "expected at least 12 render cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let out = run(&mut case_command(case));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {:?}\n{stderr}",
                case.display(),
                out.status.code()
            ));
            continue;
        }
        compare(
            &case.join("expected.yaml"),
            &String::from_utf8_lossy(&out.stdout),
            &mut failures,
        );
        // Warnings are part of the contract too; a case without expected.txt has none.
        let warnings = case.join("expected.txt");
        if warnings.is_file() || !stderr.is_empty() {
            compare(&warnings, &stderr, &mut failures);
        }
    }
    finish(failures);
}

#[test]
fn every_invalid_case_fails_with_its_exact_diagnostics() {
    let cases = cases("invalid");
    assert!(
        cases.len() >= 40,
        "expected at least 40 invalid cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let out = run(&mut case_command(case));
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit {:?}, want 2",
                case.display(),
                out.status.code()
            ));
        }
        if !out.stdout.is_empty() {
            failures.push(format!(
                "{}: wrote {} bytes to stdout",
                case.display(),
                out.stdout.len()
            ));
        }
        compare(
            &case.join("expected.txt"),
            &String::from_utf8_lossy(&out.stderr),
            &mut failures,
        );
    }
    finish(failures);
}

#[test]
fn every_diagnostic_code_has_an_invalid_case() {
    let mut missing = Vec::new();
    let all: String = cases("invalid")
        .iter()
        .map(|c| std::fs::read_to_string(c.join("expected.txt")).unwrap_or_default())
        .collect();
    for code in layer_render::diagnostic::Code::ALL {
        let tag = code.as_str();
        if !all.contains(&format!("[{tag}]")) {
            missing.push(tag);
        }
    }
    assert_eq!(
        missing,
        Vec::<&str>::new(),
        "codes without a fixtures/invalid case"
    );
}

/// One child list: in every golden render, each Pipeline and Function has exactly the
/// children `Workload::expected_children` names (the list the syncer checks), in that order.
#[test]
fn every_workload_in_every_golden_render_has_exactly_its_expected_children() {
    use layer_render::api::family::{LABEL_OWNER_KIND, LABEL_OWNER_NAME, Workload};
    use layer_render::api::{Function, Pipeline};
    use layer_render::load::{Limits, load_str};

    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases("render") {
        let path = case.join("expected.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let objects: Vec<serde_json::Value> = load_str("expected.yaml", &text, &Limits::default())
            .documents
            .iter()
            .map(|d| d.root.to_json())
            .collect();
        for cr in &objects {
            let expected = match cr["kind"].as_str() {
                Some("Pipeline") => {
                    let p: Pipeline = serde_json::from_value(cr.clone()).unwrap();
                    Workload::of_pipeline(&p).expected_children()
                }
                Some("Function") => {
                    let f: Function = serde_json::from_value(cr.clone()).unwrap();
                    Workload::of_function(&f).expected_children()
                }
                _ => continue,
            };
            let (kind, name, namespace) = (
                &cr["kind"],
                &cr["metadata"]["name"],
                &cr["metadata"]["namespace"],
            );
            let emitted: Vec<String> = objects
                .iter()
                .filter(|o| {
                    let labels = &o["metadata"]["labels"];
                    labels[LABEL_OWNER_KIND] == *kind
                        && labels[LABEL_OWNER_NAME] == *name
                        && o["metadata"]["namespace"] == *namespace
                })
                .map(|o| {
                    format!(
                        "{} {}/{}",
                        o["apiVersion"].as_str().unwrap(),
                        o["kind"].as_str().unwrap(),
                        o["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect();
            let wanted: Vec<String> = expected
                .iter()
                .map(|c| format!("{} {}", c.api_version, c.map_key()))
                .collect();
            if emitted != wanted {
                failures.push(format!(
                    "{}: {kind}/{name}: emitted {emitted:?}, expected {wanted:?}",
                    case.display()
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} workloads checked");
    assert_eq!(failures, Vec::<String>::new());
}
