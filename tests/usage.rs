//! Flag conflicts are usage errors found before any input is read: each case names inputs
//! that do not exist, and the conflict, not the missing file, is what is reported (exit 2,
//! nothing on stdout).

use std::process::Stdio;

/// Runs layer-render with `args` in an empty directory, stdin closed; (exit code, stdout,
/// stderr).
fn run_in_empty_dir(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::golden::layer_render()
        .current_dir(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_usage_error(args: &[&str], message: &str) {
    let (code, stdout, stderr) = run_in_empty_dir(args);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (Some(2), "", message),
        "{args:?}"
    );
}

#[test]
fn an_out_dir_of_no_directory_of_its_own_is_refused_before_the_render() {
    for dir in [".", "..", "/", "./"] {
        assert_usage_error(
            &["missing.yaml", "--out", dir],
            &format!(
                "layer-render: cannot write {dir}: --out needs a directory of its own, such as rendered/\n"
            ),
        );
    }
}

#[test]
fn flux_without_out_is_found_before_the_profile_and_nodepools_are_read() {
    assert_usage_error(
        &[
            "missing.yaml",
            "--gitops",
            "flux",
            "--profile",
            "missing-profile.yaml",
            "--nodepools",
            "missing-pools",
        ],
        "layer-render: --gitops flux writes a directory layout: add --out DIR\n",
    );
}

#[test]
fn check_with_flags_but_no_inputs_is_refused_before_the_record_is_read() {
    assert_usage_error(
        &[
            "check",
            "missing-dir",
            "--strict",
            "--profile",
            "missing.yaml",
        ],
        "layer-render: with no PATH, check renders with the flags recorded in missing-dir/.layer-render.json: give the inputs too to render with other flags\n",
    );
}

#[test]
fn diff_of_stdin_with_itself_is_refused_before_the_profile_is_read() {
    assert_usage_error(
        &["diff", "--render", "-", "-", "--profile", "missing.yaml"],
        "layer-render: OLD and NEW cannot both be - (stdin)\n",
    );
}
