//! The Argo CD integration in `integrations/argocd/`: the plugin's own commands, run here as
//! Argo CD's repo server would run them, and the values snippet kept equal to the plugin and
//! the health check it ships.

use std::path::Path;
use std::process::Command;

use layer_render::load::{Limits, load_bytes};
use serde_json::Value;

use crate::golden::layer_render;
use crate::tools::{kubernetes_validate_strict, repo_root, run};

fn yaml_docs(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let loaded = load_bytes(&path.display().to_string(), &bytes, &Limits::default());
    assert_eq!(loaded.diagnostics, vec![], "{}", path.display());
    loaded.documents.iter().map(|d| d.root.to_json()).collect()
}

fn plugin() -> Value {
    yaml_docs(&repo_root().join("integrations/argocd/plugin.yaml")).remove(0)
}

/// Runs one of the plugin's commands in `dir` with Argo CD's environment.
fn run_plugin_command(command: &Value, dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let argv: Vec<&str> = command
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layer-render"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).current_dir(dir).env("PATH", path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn the_plugin_renders_an_application_as_layer_render_does() {
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("apps/shop/layer");
    std::fs::create_dir_all(&app).unwrap();
    let input = repo_root().join("fixtures/render/pipeline-autoscale/input/pipeline.yaml");
    let text = std::fs::read_to_string(&input)
        .unwrap()
        .replace("  namespace: hev-shop\n", "");
    std::fs::write(app.join("pipeline.yaml"), text).unwrap();
    std::fs::write(
        repo.path().join("layer-profile.yaml"),
        "maxReplicasCeiling: 50\n",
    )
    .unwrap();

    let plugin = plugin();
    let found = run_plugin_command(&plugin["spec"]["discover"]["find"]["command"], &app, &[]);
    assert!(found.status.success());
    assert_eq!(String::from_utf8_lossy(&found.stdout), "./pipeline.yaml\n");

    let env = [
        ("ARGOCD_APP_NAMESPACE", "shop"),
        ("ARGOCD_ENV_LAYER_PROFILE", "../../../layer-profile.yaml"),
    ];
    let generated = run_plugin_command(&plugin["spec"]["generate"]["command"], &app, &env);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let direct = run(layer_render().current_dir(&app).args([
        "--gitops",
        "argo",
        "--namespace",
        "shop",
        "--profile",
        "../../../layer-profile.yaml",
        ".",
    ]));
    assert!(direct.status.success());
    assert_eq!(generated.stdout, direct.stdout);
    let text = String::from_utf8_lossy(&generated.stdout);
    assert!(text.contains("argocd.argoproj.io/sync-wave"), "{text}");
    assert!(text.contains("namespace: shop\n"), "{text}");
}

#[test]
fn the_plugin_finds_nothing_in_a_directory_without_hev_layer_objects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    let found = run_plugin_command(
        &plugin()["spec"]["discover"]["find"]["command"],
        dir.path(),
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&found.stdout), "");
}

#[test]
fn the_values_snippet_carries_the_same_plugin_and_health_check() {
    let values = yaml_docs(&repo_root().join("integrations/argocd/argocd-values.yaml")).remove(0);
    let config_map = &values["extraObjects"][0];
    let embedded = config_map["data"]["plugin.yaml"].as_str().unwrap();
    let embedded = load_bytes("plugin.yaml", embedded.as_bytes(), &Limits::default()).documents[0]
        .root
        .to_json();
    assert_eq!(embedded, plugin());
    let lua =
        std::fs::read_to_string(repo_root().join("charts/layer-operator/files/argocd-health.lua"))
            .unwrap();
    assert_eq!(
        values["configs"]["cm"]["resource.customizations.health.hevlayer.com_*"]
            .as_str()
            .unwrap(),
        lua
    );
    let sidecar = &values["repoServer"]["extraContainers"][0];
    assert_eq!(sidecar["command"][0], "/var/run/argocd/argocd-cmp-server");
    let mounts: Vec<&str> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounts,
        [
            "var-files",
            "plugins",
            "layer-render-plugin",
            "layer-render-tmp"
        ]
    );

    // The ConfigMap it creates is a valid Kubernetes object.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cm.yaml");
    std::fs::write(&path, layer_render::emit::yaml::to_string(config_map)).unwrap();
    let out = run(kubernetes_validate_strict().arg(&path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_application_example_uses_the_plugin() {
    let app = yaml_docs(&repo_root().join("integrations/argocd/application.yaml")).remove(0);
    assert_eq!(app["kind"], "Application");
    assert_eq!(
        app["spec"]["source"]["plugin"]["name"],
        format!(
            "{}-{}",
            plugin()["metadata"]["name"].as_str().unwrap(),
            plugin()["spec"]["version"].as_str().unwrap()
        )
    );
    assert_eq!(
        app["spec"]["source"]["plugin"]["env"][0]["name"],
        "LAYER_PROFILE"
    );
}
