//! Least privilege, checked by a real scanner: every golden render passes checkov's
//! Kubernetes checks, the Pod Security `restricted` ones included, except the checks listed
//! with a reason in `security/checkov-skip.txt`.

use crate::golden::cases;
use crate::tools::{repo_root, run, tool};

/// The skipped check ids, each of which must carry a reason.
pub fn checkov_skips() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("security/checkov-skip.txt")).unwrap();
    let mut ids = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (id, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        assert!(
            !reason.trim().is_empty(),
            "{id} is skipped without a reason"
        );
        ids.push(id.to_string());
    }
    ids
}

/// The Pod Security Standard `restricted` checks, which may never be skipped.
const RESTRICTED: &[&str] = &[
    "CKV_K8S_16",
    "CKV_K8S_17",
    "CKV_K8S_18",
    "CKV_K8S_19",
    "CKV_K8S_20",
    "CKV_K8S_23",
    "CKV_K8S_25",
    "CKV_K8S_26",
    "CKV_K8S_28",
    "CKV_K8S_29",
    "CKV_K8S_30",
    "CKV_K8S_31",
    "CKV_K8S_37",
    "CKV_K8S_38",
    "CKV_K8S_39",
    "CKV_K8S_40",
];

#[test]
fn no_pod_security_check_is_skipped() {
    let skips = checkov_skips();
    let skipped: Vec<&&str> = RESTRICTED
        .iter()
        .filter(|c| skips.iter().any(|s| s == **c))
        .collect();
    assert!(
        skipped.is_empty(),
        "restricted checks must not be skipped: {skipped:?}"
    );
}

#[test]
fn every_golden_render_passes_checkov() {
    // checkov skips hidden directories, and tempdir()'s default name starts with a dot.
    let dir = tempfile::Builder::new()
        .prefix("checkov-goldens")
        .tempdir()
        .unwrap();
    // One directory of every golden, so checkov runs once.
    for case in cases("render") {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        std::fs::copy(
            case.join("expected.yaml"),
            dir.path().join(format!("{name}.yaml")),
        )
        .unwrap();
    }
    let out = run(std::process::Command::new(tool("checkov"))
        .args(["--framework", "kubernetes", "--compact", "-o", "json", "-d"])
        .arg(dir.path())
        .arg("--skip-check")
        .arg(checkov_skips().join(",")));
    let text = String::from_utf8_lossy(&out.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("checkov output is not JSON ({e}):\n{text}"));
    // One report per framework: a list when several ran, an object when one did.
    let report = match parsed {
        serde_json::Value::Array(reports) => reports
            .into_iter()
            .find(|r| r["check_type"] == "kubernetes")
            .unwrap(),
        report => report,
    };
    let summary = &report["summary"];
    assert!(
        summary.is_object(),
        "unexpected checkov report: {}",
        &text[..text.len().min(2000)]
    );
    assert_eq!(
        summary["failed"],
        0,
        "checkov failures:\n{}",
        serde_json::to_string_pretty(&report["results"]["failed_checks"]).unwrap()
    );
    assert!(out.status.success(), "{text}");
    let passed = report["results"]["passed_checks"].as_array().unwrap();
    for check in RESTRICTED {
        assert!(
            passed.iter().any(|p| p["check_id"] == *check),
            "{check} never ran"
        );
    }
    assert!(summary["passed"].as_u64().unwrap() > 500, "{summary}");
}
