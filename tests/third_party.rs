//! What render emits, checked by real third-party tools: `kubernetes-validate --strict` for
//! built-in kinds, the `@kubernetes-models` validators for KEDA objects, `kubectl kustomize`
//! for `--out` trees, and helm for the chart's CRDs. A missing tool fails the test.

use std::path::Path;

use crate::golden::{case_command, cases, layer_render};
use crate::tools::{kubernetes_validate_strict, repo_root, run, tool, validate_models};

fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_golden_render_passes_kubernetes_validate_strict() {
    let goldens: Vec<_> = cases("render")
        .iter()
        .map(|c| c.join("expected.yaml"))
        .collect();
    let out = run(kubernetes_validate_strict().arg("--quiet").args(&goldens));
    assert_success("kubernetes-validate --strict", &out);
    // It only warns about kinds it has no schema for, so count what it did check.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("ERROR"), "{text}");
    let built_in = goldens
        .iter()
        .map(|g| std::fs::read_to_string(g).unwrap_or_default())
        .map(|t| t.matches("\nkind: Deployment\n").count() + t.matches("\nkind: Service\n").count())
        .sum::<usize>();
    assert!(
        built_in >= 12,
        "only {built_in} Deployments and Services in the goldens"
    );
}

/// A case whose output uses Karpenter fields newer than `@kubernetes-models/karpenter` (the
/// `Gte`/`Lte` operators, `Balanced` consolidation) holds this marker file; the validator
/// would reject those fields, so the case's exact golden file is its check.
const SKIP_MODELS_VALIDATOR: &str = "skip-models-validator";

#[test]
fn every_golden_keda_object_passes_the_keda_validator() {
    let goldens: Vec<_> = cases("render")
        .iter()
        .filter(|c| !c.join(SKIP_MODELS_VALIDATOR).is_file())
        .map(|c| c.join("expected.yaml"))
        .collect();
    let out = run(validate_models().arg("--require").args(&goldens));
    assert_success("validate-models", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.contains(", 0 failed,"), "{text}");
    let checked: usize = summary
        .trim_start_matches("validate-models: ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        checked >= 10,
        "only {checked} KEDA objects checked: {summary}"
    );
    // The Karpenter goldens (default profile settings) are among those checked.
    let karpenter: usize = goldens
        .iter()
        .map(|g| std::fs::read_to_string(g).unwrap_or_default())
        .map(|t| {
            t.matches("\nkind: NodePool\n").count() + t.matches("\nkind: EC2NodeClass\n").count()
        })
        .sum();
    assert!(
        karpenter >= 8,
        "only {karpenter} NodePools and EC2NodeClasses checked"
    );
}

#[test]
fn every_out_tree_builds_with_kubectl_kustomize_in_apply_order() {
    for case in cases("render") {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("rendered");
        let out = run(case_command(&case).arg("--out").arg(&out_dir));
        assert_success(&format!("render --out for {}", case.display()), &out);
        let built = run(std::process::Command::new(tool("kubectl"))
            .arg("kustomize")
            .arg(&out_dir));
        assert_success(&format!("kubectl kustomize for {}", case.display()), &built);
        // fifo: kustomize keeps render's apply order, so the kinds come out as in the stream.
        let stream = run(&mut case_command(&case));
        let kinds = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("kind: "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            kinds(&String::from_utf8_lossy(&built.stdout)),
            kinds(&String::from_utf8_lossy(&stream.stdout)),
            "{}",
            case.display()
        );
    }
}

#[test]
fn the_chart_crds_pass_helm_lint() {
    let chart = repo_root().join("charts").join("layer-operator");
    let out = run(std::process::Command::new(tool("helm"))
        .arg("lint")
        .arg("--strict")
        .arg(&chart));
    assert_success("helm lint --strict", &out);
}

#[test]
fn the_chart_crds_are_exactly_what_render_prints() {
    let out = run(layer_render().arg("crds"));
    assert_success("layer-render crds", &out);
    let path = repo_root().join("charts/layer-operator/crds/hevlayer.com_crds.yaml");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "{} drifted from `layer-render crds`; regenerate it with\n  cargo run -q -p layer-render -- crds > {}",
        path.display(),
        Path::new("charts/layer-operator/crds/hevlayer.com_crds.yaml").display()
    );
}

#[test]
fn the_generated_crds_pass_kubernetes_validate_strict() {
    let path = repo_root().join("charts/layer-operator/crds/hevlayer.com_crds.yaml");
    let out = run(kubernetes_validate_strict().arg(&path));
    assert_success("kubernetes-validate --strict on the CRDs", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("passed for resource customresourcedefinition")
            .count(),
        5,
        "{text}"
    );
}
