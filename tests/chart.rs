//! The Helm chart `charts/layer-operator`, checked with the real helm and kubectl from
//! `scripts/tools.sh`: lint, the schema, every rendered object against `kubernetes-validate
//! --strict`, the Karpenter validator or our own CRD schema (through `layer-render --strict`),
//! the exact RBAC rules per option, and the two "one source of truth" promises: the chart's
//! `InfraRules/default` is render's built-in pools, and its Karpenter worker pools are what
//! render emits for the same settings.
//!
//! The value sets live in `charts/layer-operator/ci/` (Helm's convention for chart-testing), so
//! `helm lint` and these tests see the same files; a values file that must be rejected lives in
//! `tests/chart-values/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::golden::layer_render;
use crate::tools::{kubernetes_validate_strict, repo_root, run, tool, validate_models};

/// The release name and namespace of a standard install.
const RELEASE: &str = "layer-operator";
const NAMESPACE: &str = "layer";

/// Every file in `charts/layer-operator/ci/`, by the name before `-values.yaml`.
const VALUE_SETS: &[&str] = &[
    "credentials",
    "custom-pools",
    "everything",
    "karpenter",
    "karpenter-role",
    "leader-election",
    "watch-namespace",
];

/// The value sets that turn on `workerKarpenter`.
const KARPENTER_SETS: &[&str] = &["karpenter", "karpenter-role"];

fn chart() -> PathBuf {
    repo_root().join("charts").join("layer-operator")
}

fn values_file(set: &str) -> PathBuf {
    chart().join("ci").join(format!("{set}-values.yaml"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `helm template layer-operator <chart> -n layer`, then `-f` for a value set and `args`.
fn helm_template(set: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(tool("helm"));
    cmd.args(["template", RELEASE])
        .arg(chart())
        .args(["--namespace", NAMESPACE]);
    if let Some(set) = set {
        cmd.arg("--values").arg(values_file(set));
    }
    run(cmd.args(args))
}

/// The rendered stream of a value set (`None`: the defaults).
fn template(set: Option<&str>) -> String {
    let out = helm_template(set, &[]);
    assert_success(&format!("helm template with {set:?}"), &out);
    text(&out.stdout)
}

/// Every object in a YAML stream.
fn objects(stream: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(stream)
        .unwrap_or_else(|e| panic!("cannot parse the YAML stream ({e}):\n{stream}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn kind_and_name(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// The one object of this kind and name.
fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{kind}/{name} in {:?}", kinds(objects));
    found[0]
}

fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects.iter().map(kind_and_name).collect();
    kinds.sort();
    kinds
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// === lint and schema ===

#[test]
fn every_values_file_is_tested() {
    let mut files: Vec<String> = std::fs::read_dir(chart().join("ci"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = VALUE_SETS
        .iter()
        .map(|s| format!("{s}-values.yaml"))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn the_chart_passes_helm_lint_strict_with_every_values_file() {
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(VALUE_SETS.iter().copied().map(Some));
    for set in sets {
        let mut cmd = Command::new(tool("helm"));
        cmd.args(["lint", "--strict"]).arg(chart());
        if let Some(set) = set {
            cmd.arg("--values").arg(values_file(set));
        }
        let out = run(&mut cmd);
        assert_success(&format!("helm lint --strict with {set:?}"), &out);
        assert!(
            text(&out.stdout).contains("1 chart(s) linted, 0 chart(s) failed"),
            "{}",
            text(&out.stdout)
        );
    }
}

/// The lines of a schema rejection, without the header, sorted (helm prints them in map order).
fn schema_errors(out: &Output) -> Vec<String> {
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "rendered despite the schema");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nlayer-operator:\n"
        ),
        "{stderr}"
    );
    let mut lines: Vec<String> = stderr
        .lines()
        .skip(2)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_values_file_of_the_wrong_type_is_rejected_by_the_schema() {
    let mut cmd = Command::new(tool("helm"));
    cmd.args(["template", RELEASE])
        .arg(chart())
        .arg("--values")
        .arg(repo_root().join("tests/chart-values/wrong-types.yaml"));
    assert_eq!(
        schema_errors(&run(&mut cmd)),
        [
            "- at '/infraRules/create': got string, want boolean",
            "- at '/syncer': validation failed",
            "- at '/syncer/replicas': got string, want integer",
            "- at '/syncer/stallAfter': got number, want string",
            "- at '/syncer/vectorStore/checkCredentials': got string, want boolean",
            "- at '/workerKarpenter/tags/Environment': got number, want string",
        ]
    );
}

#[test]
fn the_schema_enforces_the_required_when_rules() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--set", "workerKarpenter.enabled=true"],
            &[
                "- at '/workerKarpenter': 'oneOf' failed, none matched",
                "- at '/workerKarpenter/clusterName': minLength: got 0, want 1",
                "- at '/workerKarpenter/instanceProfile': minLength: got 0, want 1",
                "- at '/workerKarpenter/role': minLength: got 0, want 1",
            ],
        ),
        (
            &[
                "--set",
                "workerKarpenter.enabled=true,workerKarpenter.clusterName=demo,workerKarpenter.role=r,workerKarpenter.instanceProfile=p",
            ],
            &[
                "- at '/workerKarpenter': 'oneOf' failed, none matched",
                "- at '/workerKarpenter/instanceProfile': maxLength: got 1, want 0",
                "- at '/workerKarpenter/role': maxLength: got 1, want 0",
            ],
        ),
        (
            &["--set", "syncer.replicas=2"],
            &["- at '/syncer/leaderElection/enabled': value must be true"],
        ),
        (
            &["--set", "metrics.serviceMonitor.enabled=true"],
            &["- at '/metrics/service/enabled': value must be true"],
        ),
        (
            &["--set", "syncer.serviceAccount.create=false"],
            &["- at '/syncer/serviceAccount/name': minLength: got 0, want 1"],
        ),
        (
            &["--set", "syncer.logFormat=yaml"],
            &["- at '/syncer/logFormat': value must be one of 'json', 'text'"],
        ),
        (
            &["--set", "syncer.stallAfter=ten minutes"],
            &[
                "- at '/syncer/stallAfter': 'ten minutes' does not match pattern '^([0-9]+(ms|s|m|h))+$'",
            ],
        ),
        (
            &["--set", "syncer.writes.maxConcurrent=0"],
            &["- at '/syncer/writes/maxConcurrent': minimum: got 0, want 1"],
        ),
        (
            &["--set", "syncer.leaderElection.leaseDuration=1500ms"],
            &[
                "- at '/syncer/leaderElection/leaseDuration': '1500ms' does not match pattern '^([0-9]+(s|m|h))+$'",
            ],
        ),
        // The pools are not values: one source of truth.
        (
            &["--set", "infraRules.computePools[0].name=mine"],
            &["- at '/infraRules': additional properties 'computePools' not allowed"],
        ),
    ];
    for (args, expected) in cases {
        let mut errors = schema_errors(&helm_template(None, args));
        errors.retain(|l| l != "- at '/syncer': validation failed");
        assert_eq!(errors, *expected, "{args:?}");
    }
}

// === every object is valid ===

/// Built-in kinds, which `kubernetes-validate` knows.
fn is_built_in(object: &Value) -> bool {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    !api_version.contains('.') || api_version.contains(".k8s.io/")
}

#[test]
fn every_built_in_object_passes_kubernetes_validate_strict() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut built_in = 0;
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(VALUE_SETS.iter().copied().map(Some));
    for set in sets {
        let stream = template(set);
        built_in += objects(&stream).iter().filter(|o| is_built_in(o)).count();
        files.push(write(
            dir.path(),
            &format!("{}.yaml", set.unwrap_or("defaults")),
            &stream,
        ));
    }
    let out = run(kubernetes_validate_strict().args(&files));
    assert_success("kubernetes-validate --strict", &out);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("ERROR"), "{stdout}");
    assert_eq!(
        stdout.matches(" passed for resource ").count(),
        built_in,
        "{stdout}"
    );
    // Each value set's optional objects are among them.
    for kind in [
        "configmap/",
        "networkpolicy/",
        "service/",
        "role/layer-operator-syncer-watch",
    ] {
        assert!(
            stdout.contains(&format!("passed for resource {kind}")),
            "{kind}: {stdout}"
        );
    }
}

#[test]
fn the_karpenter_objects_pass_the_karpenter_validator() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = KARPENTER_SETS
        .iter()
        .map(|set| write(dir.path(), &format!("{set}.yaml"), &template(Some(set))))
        .collect();
    let out = run(validate_models().arg("--require").args(&files));
    assert_success("validate-models", &out);
    let stdout = text(&out.stdout);
    // Two NodePools and two EC2NodeClasses per set; everything else is skipped.
    assert!(
        stdout.starts_with("validate-models: 8 checked, 0 failed, "),
        "{stdout}"
    );
}

#[test]
fn the_service_monitor_scrapes_the_metrics_service() {
    let objects = objects(&template(Some("everything")));
    let service = find(&objects, "Service", "layer-operator-syncer-metrics");
    let monitor = find(&objects, "ServiceMonitor", "layer-operator-syncer");
    let deployment = find(&objects, "Deployment", "layer-operator-syncer");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(
        monitor["spec"]["endpoints"],
        json!([{"port": "http-metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}])
    );
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        monitor["spec"]["namespaceSelector"],
        json!({"matchNames": [NAMESPACE]})
    );
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http-metrics", "port": 9090, "targetPort": "http", "protocol": "TCP"}])
    );
    // Both select the syncer: the ServiceMonitor the Service, the Service the pods.
    let selector = &monitor["spec"]["selector"]["matchLabels"];
    for (key, value) in selector.as_object().unwrap() {
        assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
    }
    assert_eq!(
        &service["spec"]["selector"],
        &deployment["spec"]["selector"]["matchLabels"]
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["ports"],
        json!([{"name": "http", "containerPort": 9090, "protocol": "TCP"}])
    );
}

#[test]
fn the_network_policy_admits_only_the_http_port_and_the_needed_egress() {
    let objects = objects(&template(Some("everything")));
    let policy = find(&objects, "NetworkPolicy", "layer-operator-syncer");
    let deployment = find(&objects, "Deployment", "layer-operator-syncer");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        policy["spec"]["ingress"],
        json!([{
            "ports": [{"port": "http", "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
        }])
    );
    assert_eq!(
        policy["spec"]["egress"],
        json!([
            {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
        ])
    );
}

// === InfraRules/default: render's built-in pools ===

#[test]
fn the_chart_pools_are_renders_builtin_pools_in_every_value_set() {
    let builtin = serde_json::to_value(layer_render::api::pools::builtin_pools()).unwrap();
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(VALUE_SETS.iter().copied().map(Some));
    for set in sets {
        let objects = objects(&template(set));
        let rules: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "InfraRules")
            .collect();
        if set == Some("custom-pools") {
            assert!(
                rules.is_empty(),
                "infraRules.create=false still renders {rules:?}"
            );
            continue;
        }
        assert_eq!(rules.len(), 1, "{set:?}");
        let rules = rules[0];
        assert_eq!(rules["apiVersion"], "hevlayer.com/v1alpha1");
        assert_eq!(rules["metadata"]["name"], "default");
        assert!(rules["metadata"].get("namespace").is_none());
        assert_eq!(rules["spec"]["computePools"], builtin, "{set:?}");
    }
}

#[test]
fn the_document_cache_block_has_upstreams_example_values_by_default() {
    let objects = objects(&template(None));
    let rules = find(&objects, "InfraRules", "default");
    assert_eq!(
        rules["spec"]["documentCache"],
        json!({"capGiB": 256, "replicationFactor": 1, "scaling": {"mode": "autoscale", "nodes": {"min": 0, "max": 1}}})
    );
    let out = helm_template(None, &["--set", "infraRules.documentCache.enabled=false"]);
    assert_success("helm template without documentCache", &out);
    let objects = self::objects(&text(&out.stdout));
    let rules = find(&objects, "InfraRules", "default");
    assert!(rules["spec"].get("documentCache").is_none(), "{rules}");
}

#[test]
fn every_chart_output_is_accepted_by_layer_render_strict_and_the_infrarules_keep_their_spec() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(VALUE_SETS.iter().copied().map(Some));
    for set in sets {
        let stream = template(set);
        let file = write(dir.path(), "chart.yaml", &stream);
        // render decodes InfraRules against our CRD types (unknown fields, enums, required
        // fields) and passes every other kind through.
        let out = run(layer_render().arg("--strict").arg(&file));
        assert_success(&format!("layer-render --strict on {set:?}"), &out);
        let chart = objects(&stream);
        let rendered = objects(&text(&out.stdout));
        assert_eq!(kinds(&rendered), kinds(&chart), "{set:?}");
        if let Some(rules) = chart.iter().find(|o| o["kind"] == "InfraRules") {
            let after = find(&rendered, "InfraRules", "default");
            assert_eq!(
                after["spec"], rules["spec"],
                "render changed the spec ({set:?})"
            );
        }
    }
}

#[test]
fn layer_render_rejects_a_chart_infrarules_that_breaks_the_crd_schema() {
    let out = helm_template(None, &["--show-only", "templates/infrarules.yaml"]);
    assert_success("helm template --show-only infrarules", &out);
    let broken = text(&out.stdout).replace("mode: autoscale", "mode: disabled");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rules.yaml", &broken);
    let out = run(layer_render().arg("--strict").arg(&file));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "error[E202]: InfraRules/default: spec.documentCache.scaling.mode: unsupported value \"disabled\""
        ),
        "{stderr}"
    );
}

// === Karpenter worker pools: render's output for the same settings ===

/// Labels that say who applied an object, which legitimately differ: Helm's chart labels and
/// managed-by Helm, against render's managed-by layer-render. Everything else, the
/// `app.kubernetes.io/part-of` and `layer.hev.dev/node-role` labels included, must be equal.
const APPLIER_LABELS: &[&str] = &[
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/name",
    "app.kubernetes.io/version",
    "helm.sh/chart",
];

/// Annotations that only one side writes: render's hash of its own output, and Helm's
/// keep-on-uninstall policy (`workerKarpenter.keepOnUninstall`).
const APPLIER_ANNOTATIONS: &[&str] = &["helm.sh/resource-policy", "layer.hev.dev/render-hash"];

/// `workerKarpenter` keys that only the chart has: how Helm treats the objects, not what they
/// are.
const CHART_ONLY_KEYS: &[&str] = &["keepOnUninstall"];

/// The NodePools and EC2NodeClasses, by `Kind/name`, without the applier's labels.
fn karpenter_objects(objects: &[Value]) -> BTreeMap<String, Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == "NodePool" || o["kind"] == "EC2NodeClass")
        .map(|o| {
            let mut o = o.clone();
            let meta = o["metadata"].as_object_mut().unwrap();
            if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
                labels.retain(|k, _| !APPLIER_LABELS.contains(&k.as_str()));
            }
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.retain(|k, _| !APPLIER_ANNOTATIONS.contains(&k.as_str()));
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
            (kind_and_name(&o), o)
        })
        .collect()
}

/// Workloads on the built-in pools, for render.
const WORKLOADS: &str = "\
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: embed, namespace: shop}
spec:
  target: {namespace: products}
  worker: {image: ghcr.io/hev/shop-embed:1.0.0}
  scaling: {pool: gpu, mode: fixed, replicas: {min: 1, max: 2}}
---
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: extract, namespace: shop}
spec:
  target: {namespace: products}
  worker: {image: ghcr.io/hev/shop-extract:1.0.0}
  scaling: {pool: cpu-large, mode: fixed, replicas: {min: 1, max: 4}}
";

#[test]
fn the_worker_karpenter_pools_equal_layer_renders_for_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "workloads.yaml", WORKLOADS);
    for set in KARPENTER_SETS {
        // The chart's workerKarpenter keys are the profile's karpenter keys. Helm merges maps
        // with the chart's defaults where a profile replaces them, so the value sets spell
        // out every map they change (tags, limits).
        let values = read_yaml(&values_file(set));
        let mut settings = values["workerKarpenter"].clone();
        assert_eq!(settings["enabled"], true, "{set}");
        let map = settings.as_object_mut().unwrap();
        map.retain(|k, _| !CHART_ONLY_KEYS.contains(&k.as_str()));
        let profile = write(
            dir.path(),
            &format!("{set}-profile.json"),
            &json!({"karpenter": settings}).to_string(),
        );
        let out = run(layer_render()
            .arg("--strict")
            .arg("--profile")
            .arg(&profile)
            .arg(&input));
        assert_success(&format!("layer-render with the {set} profile"), &out);
        let rendered = karpenter_objects(&objects(&text(&out.stdout)));
        let chart = karpenter_objects(&objects(&template(Some(set))));
        assert_eq!(
            chart.keys().collect::<Vec<_>>(),
            [
                "EC2NodeClass/worker-cpu",
                "EC2NodeClass/worker-gpu",
                "NodePool/worker-cpu",
                "NodePool/worker-gpu"
            ],
            "{set}"
        );
        for (key, object) in &chart {
            assert_eq!(
                Some(object),
                rendered.get(key),
                "{set}: {key} differs between the chart (left) and layer-render (right)"
            );
        }
        assert_eq!(chart.len(), rendered.len(), "{set}: {:?}", rendered.keys());
    }
}

#[test]
fn the_default_worker_pools_are_upstreams() {
    let objects = objects(&template(Some("karpenter")));
    let gpu = find(&objects, "NodePool", "worker-gpu");
    assert_eq!(
        gpu["spec"]["template"]["spec"]["taints"],
        json!([
            {"key": "layer.hev.dev/node-role", "value": "worker-gpu", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
        ])
    );
    assert_eq!(
        gpu["spec"]["limits"],
        json!({"cpu": "32", "memory": "256Gi", "nodes": "4"})
    );
    let cpu = find(&objects, "NodePool", "worker-cpu");
    assert_eq!(
        cpu["spec"]["template"]["spec"]["requirements"][3],
        json!({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m6a.large", "m6a.xlarge"]})
    );
    assert_eq!(
        cpu["spec"]["disruption"],
        json!({"consolidationPolicy": "WhenEmpty", "consolidateAfter": "2m", "budgets": [{"nodes": "100%"}]})
    );
    let class = find(&objects, "EC2NodeClass", "worker-gpu");
    assert_eq!(
        class["spec"]["amiSelectorTerms"],
        json!([{"ssmParameter": "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/recommended/image_id"}])
    );
    assert_eq!(
        class["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"],
        "100Gi"
    );
    assert_eq!(
        class["spec"]["instanceProfile"],
        "KarpenterNodeInstanceProfile-demo"
    );
    assert!(gpu["metadata"].get("annotations").is_none());
    let kept = self::objects(&template(Some("karpenter-role")));
    for (key, object) in kept
        .iter()
        .filter(|o| o["kind"] == "NodePool" || o["kind"] == "EC2NodeClass")
        .map(|o| (kind_and_name(o), o))
    {
        assert_eq!(
            object["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"}),
            "{key}"
        );
    }
    // Off by default: the default install renders no Karpenter object.
    let defaults = self::objects(&template(None));
    assert!(karpenter_objects(&defaults).is_empty());
}

// === RBAC ===

/// Every granted permission, one line per scope, API group, resource and resource names:
/// `<cluster|namespace> <group>:<resource>[names] <verbs>`.
fn rbac_rules(objects: &[Value]) -> Vec<String> {
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for role in objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role")
    {
        let scope = role["metadata"]["namespace"]
            .as_str()
            .unwrap_or("cluster")
            .to_string();
        for rule in role["rules"].as_array().unwrap() {
            let names = match rule["resourceNames"].as_array() {
                Some(names) => format!(
                    "[{}]",
                    names
                        .iter()
                        .map(|n| n.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                None => String::new(),
            };
            for group in rule["apiGroups"].as_array().unwrap() {
                let group = match group.as_str().unwrap() {
                    "" => "core",
                    g => g,
                };
                for resource in rule["resources"].as_array().unwrap() {
                    let key = format!("{scope} {group}:{}{names}", resource.as_str().unwrap());
                    let verbs = grants.entry(key).or_default();
                    for verb in rule["verbs"].as_array().unwrap() {
                        verbs.insert(verb.as_str().unwrap().to_string());
                    }
                }
            }
        }
    }
    grants
        .into_iter()
        .map(|(key, verbs)| format!("{key} {}", verbs.into_iter().collect::<Vec<_>>().join(",")))
        .collect()
}

/// `Binding/namespace/name -> RoleKind/name: subjects`.
fn rbac_bindings(objects: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRoleBinding" || o["kind"] == "RoleBinding")
        .map(|b| {
            let subjects: Vec<String> = b["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    format!(
                        "{}/{}/{}",
                        s["kind"].as_str().unwrap(),
                        s["namespace"].as_str().unwrap(),
                        s["name"].as_str().unwrap()
                    )
                })
                .collect();
            format!(
                "{}/{}/{} -> {}/{}: {}",
                b["kind"].as_str().unwrap(),
                b["metadata"]["namespace"].as_str().unwrap_or(""),
                b["metadata"]["name"].as_str().unwrap(),
                b["roleRef"]["kind"].as_str().unwrap(),
                b["roleRef"]["name"].as_str().unwrap(),
                subjects.join(",")
            )
        })
        .collect();
    lines.sort();
    lines
}

/// What the syncer reads cluster-wide, and its status patches, for every namespace.
const ALL_NAMESPACES: &[&str] = &[
    "cluster apps:deployments get,list,watch",
    "cluster core:services get,list,watch",
    "cluster events.k8s.io:events create,patch",
    "cluster hevlayer.com:functions get,list,watch",
    "cluster hevlayer.com:functions/status patch",
    "cluster hevlayer.com:indexes get,list,watch",
    "cluster hevlayer.com:indexes/status patch",
    "cluster hevlayer.com:infrarules get,list,watch",
    "cluster hevlayer.com:infrarules/status patch",
    "cluster hevlayer.com:pipelines get,list,watch",
    "cluster hevlayer.com:pipelines/status patch",
    "cluster hevlayer.com:vectorstores get,list,watch",
    "cluster hevlayer.com:vectorstores/status patch",
    "cluster karpenter.sh:nodepools get,list,watch",
    "cluster keda.sh:scaledobjects get,list,watch",
    "cluster keda.sh:triggerauthentications get,list,watch",
];

const DOCUMENT_CACHE: &str = "layer apps:statefulsets[layer-document-cache] get,list,watch";

const BINDINGS: &[&str] = &[
    "ClusterRoleBinding//layer-operator-syncer -> ClusterRole/layer-operator-syncer: ServiceAccount/layer/layer-operator-syncer",
    "RoleBinding/layer/layer-operator-syncer -> Role/layer-operator-syncer: ServiceAccount/layer/layer-operator-syncer",
];

fn expected(parts: &[&[&str]]) -> Vec<String> {
    let mut lines: Vec<String> = parts
        .iter()
        .flat_map(|p| p.iter().map(|l| l.to_string()))
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_rbac_rules_are_exactly_what_the_syncer_needs_for_each_option() {
    let cases: &[(Option<&str>, Vec<String>)] = &[
        (None, expected(&[ALL_NAMESPACES, &[DOCUMENT_CACHE]])),
        // Karpenter pools and custom pools change nothing the syncer may do.
        (
            Some("karpenter"),
            expected(&[ALL_NAMESPACES, &[DOCUMENT_CACHE]]),
        ),
        (
            Some("custom-pools"),
            expected(&[ALL_NAMESPACES, &[DOCUMENT_CACHE]]),
        ),
        (
            Some("leader-election"),
            expected(&[
                ALL_NAMESPACES,
                &[
                    DOCUMENT_CACHE,
                    "layer coordination.k8s.io:leases create",
                    "layer coordination.k8s.io:leases[layer-syncer-ha] get,patch",
                ],
            ]),
        ),
        (
            Some("credentials"),
            expected(&[
                ALL_NAMESPACES,
                &[DOCUMENT_CACHE, "cluster core:secrets get"],
            ]),
        ),
        (
            Some("everything"),
            expected(&[
                ALL_NAMESPACES,
                &["layer apps:statefulsets[cache] get,list,watch"],
            ]),
        ),
        (
            Some("watch-namespace"),
            expected(&[&[
                "cluster events.k8s.io:events create,patch",
                "cluster hevlayer.com:infrarules get,list,watch",
                "cluster hevlayer.com:infrarules/status patch",
                "cluster karpenter.sh:nodepools get,list,watch",
                DOCUMENT_CACHE,
                "shop apps:deployments get,list,watch",
                "shop core:secrets get",
                "shop core:services get,list,watch",
                "shop hevlayer.com:functions get,list,watch",
                "shop hevlayer.com:functions/status patch",
                "shop hevlayer.com:indexes get,list,watch",
                "shop hevlayer.com:indexes/status patch",
                "shop hevlayer.com:pipelines get,list,watch",
                "shop hevlayer.com:pipelines/status patch",
                "shop hevlayer.com:vectorstores get,list,watch",
                "shop hevlayer.com:vectorstores/status patch",
                "shop keda.sh:scaledobjects get,list,watch",
                "shop keda.sh:triggerauthentications get,list,watch",
            ]]),
        ),
    ];
    for (set, rules) in cases {
        let objects = objects(&template(*set));
        assert_eq!(&rbac_rules(&objects), rules, "{set:?}");
        let mut bindings = expected(&[BINDINGS]);
        if *set == Some("watch-namespace") {
            bindings.push("RoleBinding/shop/layer-operator-syncer-watch -> Role/layer-operator-syncer-watch: ServiceAccount/layer/layer-operator-syncer".into());
            bindings.sort();
        }
        assert_eq!(rbac_bindings(&objects), bindings, "{set:?}");
    }
}

#[test]
fn no_rule_writes_a_spec_or_reads_secrets_by_default() {
    let mut sets: Vec<Option<&str>> = vec![None];
    sets.extend(VALUE_SETS.iter().copied().map(Some));
    for set in sets {
        for line in rbac_rules(&objects(&template(set))) {
            let (target, verbs) = line.rsplit_once(' ').unwrap();
            for verb in verbs.split(',') {
                let allowed = match verb {
                    "get" | "list" | "watch" => true,
                    "patch" => {
                        target.ends_with("/status")
                            || target.contains("coordination.k8s.io:leases[")
                            || target.contains("events.k8s.io:events")
                    }
                    "create" => {
                        target.ends_with("events.k8s.io:events")
                            || target.ends_with("coordination.k8s.io:leases")
                    }
                    _ => false,
                };
                assert!(allowed, "{set:?}: {line}");
            }
            let secrets = target.contains("core:secrets");
            let checks = matches!(set, Some("credentials" | "watch-namespace"));
            assert!(!secrets || checks, "{set:?}: {line}");
            assert!(!target.contains('*'), "{set:?}: {line}");
        }
    }
}

#[test]
fn without_the_syncer_the_chart_grants_nothing() {
    let out = helm_template(None, &["--set", "syncer.enabled=false"]);
    assert_success("helm template syncer.enabled=false", &out);
    assert_eq!(kinds(&objects(&text(&out.stdout))), ["InfraRules/default"]);
}

// === the syncer pod ===

fn syncer_deployment(set: Option<&str>) -> Value {
    find(
        &objects(&template(set)),
        "Deployment",
        "layer-operator-syncer",
    )
    .clone()
}

#[test]
fn the_syncer_pod_meets_pod_security_restricted_and_runs_on_system_nodes() {
    let deployment = syncer_deployment(None);
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["securityContext"],
        json!({"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(pod["serviceAccountName"], "layer-operator-syncer");
    assert_eq!(
        pod["nodeSelector"],
        json!({"layer.hev.dev/node-role": "system"})
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "layer.hev.dev/node-role", "operator": "Equal", "value": "system", "effect": "NoSchedule"}])
    );
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["image"], "ghcr.io/hev/layer-operator:0.1.0");
    assert_eq!(
        c["securityContext"],
        json!({
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        })
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "http"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "http"})
    );
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
    );
    assert_eq!(
        c["env"][0],
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    );
    // Overridable: the everything set runs anywhere, pinned by digest.
    let deployment = syncer_deployment(Some("everything"));
    let pod = &deployment["spec"]["template"]["spec"];
    assert!(pod.get("nodeSelector").is_none() && pod.get("tolerations").is_none());
    assert_eq!(pod["priorityClassName"], "layer-platform");
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example.com/layer-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
}

#[test]
fn the_syncer_flags_follow_the_values() {
    let args = |set: Option<&str>| -> Vec<String> {
        syncer_deployment(set)["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let defaults = [
        "--http-addr=0.0.0.0:8080",
        "--stall-after=10m",
        "--resync-interval=30s",
        "--api-timeout=30s",
        "--max-concurrent-writes=64",
        "--write-qps=0",
        "--write-burst=64",
        "--max-replicas-ceiling=100",
        "--document-cache-statefulset=layer-document-cache",
        "--probe-interval=30s",
        "--probe-timeout=5s",
        "--log-format=json",
    ];
    assert_eq!(args(None), defaults);
    assert_eq!(args(Some("credentials")), defaults);
    assert_eq!(
        args(Some("leader-election")),
        [
            &defaults[..11],
            &[
                "--leader-elect",
                "--lease-name=layer-syncer-ha",
                "--lease-duration=30s",
                "--lease-renew-before=10s",
                "--log-format=json"
            ]
        ]
        .concat()
    );
    assert_eq!(
        args(Some("watch-namespace")),
        [
            "--http-addr=0.0.0.0:8080",
            "--namespace=shop",
            "--stall-after=10m",
            "--resync-interval=30s",
            "--api-timeout=30s",
            "--max-concurrent-writes=64",
            "--write-qps=0",
            "--write-burst=64",
            "--max-replicas-ceiling=100",
            "--document-cache-statefulset=layer-document-cache",
            "--no-probe",
            "--log-format=json",
        ]
    );
    assert_eq!(
        args(Some("everything")),
        [
            "--http-addr=0.0.0.0:9090",
            "--stall-after=15m",
            "--resync-interval=1m",
            "--api-timeout=10s",
            "--max-concurrent-writes=128",
            "--write-qps=50",
            "--write-burst=100",
            "--max-replicas-ceiling=50",
            "--document-cache-statefulset=cache",
            "--probe-interval=30s",
            "--probe-timeout=5s",
            "--log-format=text",
        ]
    );
    let ha = syncer_deployment(Some("leader-election"));
    assert_eq!(ha["spec"]["replicas"], 2);
    assert_eq!(ha["spec"]["strategy"], json!({"type": "RollingUpdate"}));
    assert_eq!(
        ha["spec"]["template"]["spec"]["containers"][0]["env"][1],
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    );
}

#[test]
fn every_flag_the_chart_passes_is_a_syncer_flag() {
    // The syncer's clap definition: each `--some-flag` is a field `some_flag`.
    let cli = std::fs::read_to_string(repo_root().join("syncer/src/cli.rs")).unwrap();
    let mut flags = BTreeSet::new();
    for set in VALUE_SETS.iter().copied().map(Some).chain([None]) {
        for arg in syncer_deployment(set)["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
        {
            let flag = arg.as_str().unwrap().split('=').next().unwrap().to_string();
            flags.insert(flag);
        }
    }
    assert_eq!(flags.len(), 18, "{flags:?}");
    for flag in flags {
        let field = format!("pub {}:", flag.trim_start_matches("--").replace('-', "_"));
        assert!(
            cli.contains(&field),
            "{flag}: no `{field}` in syncer/src/cli.rs"
        );
    }
    assert!(cli.contains("env = \"POD_NAMESPACE\""));
}

// === Argo CD health check ===

#[test]
fn the_argocd_snippet_is_the_lua_file_under_each_kinds_key() {
    let lua = std::fs::read_to_string(chart().join("files/argocd-health.lua")).unwrap();
    let objects = objects(&template(Some("everything")));
    let config_map = find(&objects, "ConfigMap", "layer-operator-argocd-health");
    assert_eq!(config_map["metadata"]["namespace"], "argocd");
    let data = config_map["data"].as_object().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [
            "resource.customizations.health.hevlayer.com_Function",
            "resource.customizations.health.hevlayer.com_Index",
            "resource.customizations.health.hevlayer.com_InfraRules",
            "resource.customizations.health.hevlayer.com_Pipeline",
            "resource.customizations.health.hevlayer.com_VectorStore",
        ]
    );
    for (key, script) in data {
        assert!(
            script.as_str() == Some(lua.as_str()),
            "{key} differs from files/argocd-health.lua"
        );
    }
    // Off by default.
    assert!(
        !kinds(&self::objects(&template(None)))
            .iter()
            .any(|k| k.starts_with("ConfigMap/"))
    );
}

// === NOTES.txt ===

#[test]
fn the_notes_say_what_was_installed_and_their_commands_read_syncer_status_with_kubectl() {
    let out = run(Command::new(tool("helm"))
        .args(["install", RELEASE])
        .arg(chart())
        .args(["--namespace", NAMESPACE, "--dry-run=client"])
        .arg("--values")
        .arg(values_file("karpenter")));
    assert_success("helm install --dry-run=client", &out);
    let stdout = text(&out.stdout);
    let notes = &stdout[stdout.find("NOTES:\n").expect("NOTES") + 7..];
    for line in [
        "- layer-syncer: Deployment layer/layer-operator-syncer (1 replica),",
        "- InfraRules/default with the built-in pools cpu, cpu-large and gpu and a documentCache block.",
        "- Karpenter EC2NodeClasses and NodePools worker-cpu and worker-gpu for cluster demo.",
        "  kubectl -n layer rollout status deployment/layer-operator-syncer",
    ] {
        assert!(notes.lines().any(|l| l == line), "{line:?} not in\n{notes}");
    }
    // The status commands, run by the real kubectl on objects with a status the syncer writes
    // (`kubectl annotate --local` prints a file's objects through kubectl's printers, offline).
    let jsonpath = |prefix: &str| -> String {
        let command = notes
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{notes}"));
        command
            .strip_prefix("-o jsonpath='")
            .and_then(|c| c.strip_suffix('\''))
            .unwrap_or_else(|| panic!("not a jsonpath: {command}"))
            .to_string()
    };
    let rules_path = jsonpath("kubectl get infrarules default ");
    let list_path = jsonpath("kubectl get pipelines,functions,indexes,vectorstores -A ");
    // `kubectl get` of several kinds prints a List; --local prints each object, so apply the
    // template inside the range to each.
    let item_path = list_path
        .strip_prefix("{range .items[*]}")
        .and_then(|p| p.strip_suffix("{end}"))
        .unwrap_or_else(|| panic!("not a range over items: {list_path}"));
    let dir = tempfile::tempdir().unwrap();
    let kubectl = |object: &str, path: &str| -> String {
        let file = write(dir.path(), "object.yaml", object);
        let out = run(Command::new(tool("kubectl"))
            .env("KUBECONFIG", "/dev/null")
            .args(["annotate", "--local", "-f"])
            .arg(&file)
            .arg("-o")
            .arg(format!("jsonpath={path}"))
            .arg("notes.example/checked=true"));
        assert_success(&format!("kubectl -o jsonpath={path}"), &out);
        text(&out.stdout)
    };
    let rules = "\
apiVersion: hevlayer.com/v1alpha1
kind: InfraRules
metadata: {name: default, generation: 3}
status:
  observedGeneration: 3
  conditions:
  - {type: Ready, status: 'True', reason: PoolsReady, message: ok, lastTransitionTime: '2025-01-01T00:00:00Z'}
";
    assert_eq!(
        kubectl(rules, &rules_path),
        "3 {\"lastTransitionTime\":\"2025-01-01T00:00:00Z\",\"message\":\"ok\",\"reason\":\"PoolsReady\",\"status\":\"True\",\"type\":\"Ready\"}\n"
    );
    let pipeline = "\
apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {name: embed, namespace: shop, generation: 1}
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: 'False', reason: ChildMissing, message: 'Deployment/embed-worker is missing', lastTransitionTime: '2025-01-01T00:00:00Z'}
  - {type: Reconciling, status: 'True', reason: ChildMissing, message: waiting, lastTransitionTime: '2025-01-01T00:00:00Z'}
";
    assert_eq!(
        kubectl(pipeline, item_path),
        "Pipeline/shop/embed Ready=False ChildMissing\n"
    );
}

// === checkov ===

/// Checks that do not apply to the chart, each with its reason, from
/// `tests/chart-values/checkov-skip.txt`.
fn checkov_skips() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("tests/chart-values/checkov-skip.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (id, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            assert!(
                !reason.trim().is_empty(),
                "{id} is skipped without a reason"
            );
            id.to_string()
        })
        .collect()
}

#[test]
fn every_value_set_passes_checkov() {
    // Not tempfile's default `.tmp` prefix: checkov skips hidden directories.
    let dir = tempfile::Builder::new().prefix("chart").tempdir().unwrap();
    for set in VALUE_SETS.iter().copied().map(Some).chain([None]) {
        write(
            dir.path(),
            &format!("{}.yaml", set.unwrap_or("defaults")),
            &template(set),
        );
    }
    let out = run(Command::new(tool("checkov"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "kubernetes",
            "--compact",
            "--skip-download",
            "-o",
            "json",
            "-d",
        ])
        .arg(dir.path())
        .arg("--skip-check")
        .arg(checkov_skips().join(",")));
    let stdout = text(&out.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("checkov output is not JSON ({e}):\n{stdout}"));
    let report = match report {
        Value::Array(reports) => reports
            .into_iter()
            .find(|r| r["check_type"] == "kubernetes")
            .unwrap(),
        report => report,
    };
    assert_eq!(
        report["summary"]["failed"],
        0,
        "checkov failures:\n{}",
        serde_json::to_string_pretty(&report["results"]["failed_checks"]).unwrap()
    );
    assert!(out.status.success(), "{stdout}");
    let passed = report["results"]["passed_checks"].as_array().unwrap();
    // The Pod Security `restricted` checks ran on the syncer and passed.
    for check in [
        "CKV_K8S_20",
        "CKV_K8S_22",
        "CKV_K8S_23",
        "CKV_K8S_28",
        "CKV_K8S_37",
        "CKV_K8S_40",
    ] {
        assert!(
            passed.iter().any(|p| p["check_id"] == check
                && p["resource"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Deployment.")),
            "{check} never ran on the syncer"
        );
    }
}
