//! The third-party checkers that tests run, installed by `scripts/tools.sh` into
//! `$LAYER_TOOLS_DIR` (default `<repo>/.tools`). A missing tool fails the test that needs it:
//! tests never skip silently.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the workspace that holds `render/`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `$LAYER_TOOLS_DIR`, or `<repo>/.tools` when it is unset or empty.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("LAYER_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".tools"),
    }
}

/// The installed executable `name` (`helm`, `kubectl`, `kubernetes-validate`, `checkov`,
/// `yaml-python`).
///
/// # Panics
/// When it is not installed, with a message that says how to install it.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_dir().join("bin").join(name);
    if !path.is_file() {
        panic!(
            "{name} is not installed: run scripts/tools.sh (missing {})",
            path.display()
        );
    }
    path
}

/// The Kubernetes version whose schemas `kubernetes-validate -k` uses (`.tools/kubernetes-version`).
pub fn kubernetes_schema_version() -> String {
    let path = tools_dir().join("kubernetes-version");
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) => panic!(
            "kubernetes-validate is not installed: run scripts/tools.sh ({}: {e})",
            path.display()
        ),
    }
}

/// `kubernetes-validate --strict -k <schema version>`; add file arguments (multi-document is fine).
/// Exit 0 when every built-in object is valid; unknown kinds are only a `WARN` line.
pub fn kubernetes_validate_strict() -> Command {
    let mut cmd = Command::new(tool("kubernetes-validate"));
    cmd.args(["--strict", "-k", &kubernetes_schema_version()]);
    cmd
}

/// `node scripts/validate-models.mjs`; add `--require` and file or directory arguments.
/// Prints `FILE: Kind/namespace/name: message` per failure, then
/// `validate-models: N checked, M failed, K skipped`; exit 1 on a failure, 2 on usage errors.
pub fn validate_models() -> Command {
    let models = tools_dir()
        .join("node")
        .join("node_modules")
        .join("@kubernetes-models");
    for pkg in ["keda", "karpenter"] {
        if !models.join(pkg).join("package.json").is_file() {
            panic!("@kubernetes-models/{pkg} is not installed: run scripts/tools.sh");
        }
    }
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scripts").join("validate-models.mjs"))
        .env("LAYER_TOOLS_DIR", tools_dir());
    cmd
}

/// Runs `cmd` and returns its output; panics when it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd`, asserts it succeeded, and returns its stdout.
pub fn succeeded(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}{}",
        out.status,
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

#[test]
fn tools_are_installed() {
    let helm = succeeded(Command::new(tool("helm")).args(["version", "--short"]));
    assert!(helm.trim().starts_with("v4.1.4+"), "helm version: {helm}");

    let kubectl = succeeded(Command::new(tool("kubectl")).args(["version", "--client"]));
    assert!(
        kubectl.lines().any(|l| l == "Client Version: v1.35.2"),
        "kubectl version: {kubectl}"
    );

    let validate = succeeded(Command::new(tool("kubernetes-validate")).arg("--version"));
    assert_eq!(validate.trim(), "1.37.0");
    assert_eq!(kubernetes_schema_version(), "1.35.0");

    let checkov = succeeded(Command::new(tool("checkov")).arg("--version"));
    assert_eq!(checkov.trim(), "3.3.30");

    let readers = succeeded(Command::new(tool("yaml-python")).args([
        "-c",
        "import yaml, ruamel.yaml; print(yaml.__version__, yaml.__with_libyaml__, ruamel.yaml.__version__)",
    ]));
    assert_eq!(readers.trim(), "6.0.4 True 0.19.1");

    // No input is a usage error, which proves node, the script and its modules load.
    let out = run(validate_models().arg("--self-test"));
    assert!(
        out.status.success(),
        "validate-models --self-test: {}",
        stdout(&out)
    );
    let out = run(&mut validate_models());
    assert_eq!(out.status.code(), Some(2), "validate-models with no files");
}

#[test]
fn a_missing_tool_fails_loudly() {
    let err = std::panic::catch_unwind(|| tool("no-such-checker")).err();
    let message = err
        .as_ref()
        .and_then(|e| e.downcast_ref::<String>())
        .cloned()
        .unwrap_or_default();
    assert!(
        message.starts_with("no-such-checker is not installed: run scripts/tools.sh"),
        "panic message: {message:?}"
    );
}

const SCALED_OBJECTS: &str = "\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: good, namespace: team}
spec:
  scaleTargetRef: {name: good-worker}
  minReplicaCount: 0
  maxReplicaCount: 3
  triggers:
    - type: prometheus
      metadata: {serverAddress: 'http://prometheus:9090', query: 'sum(up)', threshold: '1'}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: bad, namespace: team}
spec:
  scaleTargetRef: {name: bad-worker}
  minReplicaCount: x
  triggers:
    - type: prometheus
      metadata: {serverAddress: 'http://prometheus:9090', query: 'sum(up)', threshold: '1'}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: passed-through, namespace: team}
";

#[test]
fn validate_models_reports_each_invalid_object() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let file = dir.path().join("scaled.yaml");
    std::fs::write(&file, SCALED_OBJECTS).unwrap_or_else(|e| panic!("write: {e}"));

    let out = run(validate_models().arg("--require").arg(dir.path()));
    assert_eq!(
        stdout(&out),
        format!(
            "{}: ScaledObject/team/bad: spec.minReplicaCount: must be integer\n\
             validate-models: 2 checked, 1 failed, 1 skipped\n",
            file.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn kubernetes_validate_is_strict_offline() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let file = dir.path().join("objects.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: team}\ndata: {a: b}\n\
         ---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: team}\n\
         spec: {ports: [{port: 80}], bogusField: 1}\n",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));

    let out = run(kubernetes_validate_strict().arg("--quiet").arg(&file));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "ERROR {} did not validate for resource service/extra against version 1.35: \
             spec: Additional properties are not allowed ('bogusField' was unexpected)\n",
            file.display()
        )
    );
}
