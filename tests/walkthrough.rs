//! `docs/walkthrough.md` runs as written: every `console` block's `$ ` commands run, in order,
//! in one bash session in an empty directory beside this repository, and what they print must
//! be exactly the lines shown under them.

use std::path::Path;
use std::process::Command;

use crate::tools::repo_root;

/// (command, expected output) pairs from the `console` blocks, in order.
fn steps(doc: &str) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut in_console = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_string(), String::new())),
            None => {
                if let Some((_, output)) = steps.last_mut() {
                    output.push_str(line);
                    output.push('\n');
                }
            }
        }
    }
    steps
}

#[test]
fn the_walkthrough_runs_as_written() {
    let doc = std::fs::read_to_string(repo_root().join("docs/walkthrough.md")).unwrap();
    let steps = steps(&doc);
    assert!(steps.len() >= 12, "only {} commands found", steps.len());

    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_root(), work.path().join("layer-operator")).unwrap();
    // One script, so `cd` and files carry over; a marker line separates each command's output.
    // stderr joins stdout, as a terminal shows both.
    let mut script = String::from("set -u\nexec 2>&1\n");
    for (i, (command, _)) in steps.iter().enumerate() {
        script.push_str(&format!("echo '@@step {i}@@'\n{command}\n"));
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layer-render"))
        .parent()
        .unwrap()
        .to_path_buf();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GIT_AUTHOR_NAME", "walkthrough")
        .env("GIT_AUTHOR_EMAIL", "walkthrough@example.com")
        .env("GIT_COMMITTER_NAME", "walkthrough")
        .env("GIT_COMMITTER_EMAIL", "walkthrough@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut actual: Vec<String> = Vec::new();
    for chunk in text.split("@@step ").skip(1) {
        let (_, output) = chunk.split_once("@@\n").unwrap_or((chunk, ""));
        actual.push(output.to_string());
    }
    assert_eq!(
        actual.len(),
        steps.len(),
        "the script stopped early:\n{text}"
    );
    for ((command, expected), actual) in steps.iter().zip(&actual) {
        assert_eq!(
            actual, expected,
            "output of `{command}` differs from docs/walkthrough.md"
        );
    }
}
