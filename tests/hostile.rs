//! Hostile input: render reads files from pull requests, so every malicious or broken shape
//! fails with exit 2, one clear diagnostic and nothing on stdout, without reading or building
//! more than its limits allow. (How fast it fails is measured by `bench/run.sh`, not here.)

use std::io::Write;

use crate::golden::layer_render;

/// Renders `bytes` as one file and returns (exit code, stdout, stderr).
fn render_bytes(bytes: &[u8], extra: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.yaml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    let out = layer_render()
        .current_dir(dir.path())
        .arg("input.yaml")
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts exit 2, no output and the exact first diagnostic line.
fn assert_refused(bytes: &[u8], expected: &str) {
    let (code, stdout, stderr) = render_bytes(bytes, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr.lines().next().unwrap_or_default(),
        expected,
        "{stderr}"
    );
}

const PIPELINE_HEAD: &str =
    "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {name: p, namespace: n}\n";

#[test]
fn an_alias_bomb_is_refused() {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let (code, stdout, stderr) = render_bytes(text.as_bytes(), &[]);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(stderr.starts_with("input.yaml:"), "{stderr}");
    assert!(
        stderr.contains(
            "error[E102]: more than 1000 aliases (*name) or anchors (&name) in one file, the limit \
             against alias bombs; write the repeated values out, or split the file (the limit is \
             per file)\n"
        ),
        "{stderr}"
    );
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (code, stdout, stderr) = render_bytes(text.as_bytes(), &[]);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(
        stderr.contains(
            "error[E102]: nesting is deeper than the limit of 100 levels; no Kubernetes object \
             nests that deep\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_200_mb_file_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let mut file = std::fs::File::create(&path).unwrap();
    let line = format!("# {}\n", "x".repeat(1022));
    for _ in 0..200 * 1024 {
        file.write_all(line.as_bytes()).unwrap();
    }
    drop(file);
    let out = layer_render()
        .current_dir(dir.path())
        .arg("big.yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default(),
        "big.yaml:1:1: error[E102]: file is larger than the limit of 67108864 bytes (raise it with --max-file-size)"
    );
}

#[test]
fn a_1_mb_scalar_is_refused() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  big: {}\n",
        "y".repeat(1024 * 1024)
    );
    assert_refused(
        text.as_bytes(),
        "input.yaml:5:8: error[E102]: a scalar of 1048576 bytes is longer than the limit of 524288 bytes",
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let text = format!("{PIPELINE_HEAD}spec:\n  paused: true\n  paused: false\n");
    assert_refused(
        text.as_bytes(),
        "input.yaml:6:3: error[E105]: duplicate key \"paused\" (first at line 5, column 3)",
    );
}

#[test]
fn invalid_utf8_is_refused() {
    assert_refused(
        b"apiVersion: v1\nkind: \xc3\x28\n",
        "input.yaml:2:7: error[E107]: file is not valid UTF-8",
    );
}

#[test]
fn tabs_in_indentation_are_refused() {
    let (code, stdout, stderr) = render_bytes(
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
        &[],
    );
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(stderr.starts_with("input.yaml:4:"), "{stderr}");
    assert!(stderr.contains("error[E101]:"), "{stderr}");
}

#[test]
fn scalar_and_list_documents_are_refused() {
    assert_refused(
        b"42\n",
        "input.yaml:1:1: error[E103]: a document must be an object with apiVersion and kind, found an integer",
    );
    assert_refused(
        b"- a\n",
        "input.yaml:1:1: error[E103]: a document must be an object with apiVersion and kind, found a list",
    );
}

#[test]
fn non_string_keys_are_refused() {
    assert_refused(
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  {a: 1}: b\n",
        "input.yaml:5:3: error[E106]: mapping keys must be strings",
    );
}

#[test]
fn numbers_that_overflow_their_fields_are_refused() {
    let text = format!(
        "{PIPELINE_HEAD}spec:\n  target: {{namespace: t}}\n  worker: {{image: i, batchSize: 2147483648}}\n  scaling:\n    replicas: {{max: 18446744073709551616}}\n"
    );
    let (code, _, stderr) = render_bytes(text.as_bytes(), &[]);
    assert_eq!(code, Some(2));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "input.yaml:6:22: error[E203]: Pipeline/n/p: spec.worker.batchSize: 2147483648 does not fit in a 32-bit integer",
            "input.yaml:8:16: error[E203]: Pipeline/n/p: spec.scaling.replicas.max: 1.8446744073709552e+19 does not fit in a 32-bit integer",
        ]
    );
}
