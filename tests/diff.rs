//! `layer-render diff` and `layer-render check`, end to end through the binary: matching,
//! the three formats byte for byte, grouping and folded hashes, the markdown budget, Secret
//! redaction, ignore rules, reading at scale, every exit code, `check` from the provenance
//! record, and the examples in `docs/diff.md`, which must be the real output of
//! `tests/diff/shop/` and `tests/diff/fleet/` (`UPDATE_GOLDEN=1 cargo test` rewrites them and
//! still fails the run).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use layer_render::diff::{DiffOptions, diff};
use layer_render::emit::Object;
use proptest::prelude::*;
use serde_json::{Value, json};

// === helpers ===

/// The repository root.
fn repo() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// What one run printed and returned.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `layer-render ARGS` in `dir`, with `stdin` on standard input.
fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer-render"))
        .current_dir(dir)
        .args(args)
        // Keep the test independent of the developer's terminal settings.
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Asserts two strings are equal, printing both in full when they are not.
macro_rules! assert_text {
    ($actual:expr, $expected:expr $(,)?) => {{
        let (actual, expected): (&str, &str) = (&$actual, &$expected);
        assert!(
            actual == expected,
            "\n--- expected ---\n{expected}\n--- actual ---\n{actual}\n---"
        );
    }};
}

/// A temporary directory holding `files` (relative path, content).
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

const OLD: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: embed-worker
  namespace: shop
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: worker
        image: embed:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: legacy
  namespace: shop
spec:
  ports:
  - port: 80
";

/// OLD with the Deployment's replicas changed (its keys reordered), the ConfigMap moved and
/// written in flow style, the Service removed and a ConfigMap added.
const NEW: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  namespace: shop
  name: embed-worker
spec:
  template:
    spec:
      containers:
      - image: embed:1.0
        name: worker
  replicas: 2
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: flags
  namespace: shop
data:
  beta: \"true\"
";

fn old_and_new() -> tempfile::TempDir {
    dir_with(&[("old.yaml", OLD), ("new.yaml", NEW)])
}

// === matching ===

#[test]
fn moved_objects_are_not_a_difference() {
    // The same three objects: a stream in one order, a tree of files in another.
    let parts: Vec<&str> = OLD.split("---\n").collect();
    let dir = dir_with(&[
        ("old.yaml", OLD),
        ("new/b/service.yaml", parts[2]),
        ("new/a/both.yaml", &format!("{}---\n{}", parts[1], parts[0])),
        (
            "new/kustomization.yaml",
            "resources: [a/both.yaml, b/service.yaml]\n",
        ),
    ]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_text!(run.stdout, "0 added, 0 removed, 0 changed, 3 unchanged\n");
    assert_text!(run.stderr, "");
}

#[test]
fn reordered_keys_are_not_a_difference() {
    let block = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: a\n  labels:\n    x: '1'\n    y: '2'\ndata:\n  k: v\n";
    let flow = "{data: {k: v}, metadata: {labels: {y: '2', x: '1'}, namespace: a, name: c}, kind: ConfigMap, apiVersion: v1}\n";
    let dir = dir_with(&[("old.yaml", block), ("new.yaml", flow)]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_text!(run.stdout, "0 added, 0 removed, 0 changed, 1 unchanged\n");
}

#[test]
fn a_version_change_is_one_changed_field_not_an_add_and_a_remove() {
    let old = "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h, namespace: a}\n";
    let new = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h, namespace: a}\n";
    let dir = dir_with(&[("old.yaml", old), ("new.yaml", new)]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "0 added, 0 removed, 1 changed, 0 unchanged\n~ HorizontalPodAutoscaler/a/h\n    apiVersion: \"autoscaling/v1\" → \"autoscaling/v2\"\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn one_field_change_is_one_changed_object_with_its_path_in_json() {
    let old = "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {name: embed, namespace: hev-shop}\nspec:\n  scaling:\n    replicas: {min: 0, max: 1}\n";
    let new = old.replace("max: 1", "max: 4");
    let dir = dir_with(&[("old.yaml", old), ("new.yaml", &new)]);
    let run = run_in(
        dir.path(),
        &["diff", "--format", "json", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    let parsed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        parsed,
        json!({
            "summary": {"added": 0, "removed": 0, "changed": 1, "followOn": 0, "unchanged": 0},
            "groups": [{
                "change": "changed",
                "followOn": false,
                "apiVersion": "hevlayer.com/v1alpha1",
                "kind": "Pipeline",
                "count": 1,
                "examples": ["Pipeline/hev-shop/embed"],
                "fields": [{"path": "spec.scaling.replicas.max", "change": "changed", "old": 1, "new": 4}]
            }],
            "changes": [{
                "change": "changed",
                "apiVersion": "hevlayer.com/v1alpha1",
                "kind": "Pipeline",
                "namespace": "hev-shop",
                "name": "embed",
                "group": 0,
                "fields": [{
                    "path": "spec.scaling.replicas.max",
                    "pointer": "/spec/scaling/replicas/max",
                    "change": "changed",
                    "old": 1,
                    "new": 4
                }]
            }]
        })
    );
}

#[test]
fn added_and_removed_objects_are_counted_and_named() {
    let a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n";
    let b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: x}\n";
    let dir = dir_with(&[("old.yaml", a), ("new.yaml", b)]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        "1 added, 1 removed, 0 changed, 0 unchanged
- ConfigMap/x/a
+ ConfigMap/x/b

--- a/ConfigMap/x/a
+++ /dev/null
@@ -1,5 +0,0 @@
-apiVersion: v1
-kind: ConfigMap
-metadata:
-  name: a
-  namespace: x
--- /dev/null
+++ b/ConfigMap/x/b
@@ -0,0 +1,5 @@
+apiVersion: v1
+kind: ConfigMap
+metadata:
+  name: b
+  namespace: x
"
    );
}

// === the three formats, byte for byte ===

#[test]
fn the_text_format_is_a_summary_then_a_unified_diff_per_object() {
    let dir = old_and_new();
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        r"1 added, 1 removed, 1 changed, 1 unchanged
+ ConfigMap/shop/flags
- Service/shop/legacy
~ Deployment/shop/embed-worker
    spec.replicas: 1 → 2

--- /dev/null
+++ b/ConfigMap/shop/flags
@@ -0,0 +1,7 @@
+apiVersion: v1
+data:
+  beta: 'true'
+kind: ConfigMap
+metadata:
+  name: flags
+  namespace: shop
--- a/Service/shop/legacy
+++ /dev/null
@@ -1,8 +0,0 @@
-apiVersion: v1
-kind: Service
-metadata:
-  name: legacy
-  namespace: shop
-spec:
-  ports:
-  - port: 80
--- a/Deployment/shop/embed-worker
+++ b/Deployment/shop/embed-worker
@@ -4,7 +4,7 @@
   name: embed-worker
   namespace: shop
 spec:
-  replicas: 1
+  replicas: 2
   template:
     spec:
       containers:
"
    );
    assert_text!(run.stderr, "");
}

#[test]
fn the_markdown_format_has_a_collapsible_section_per_object() {
    let dir = old_and_new();
    let run = run_in(
        dir.path(),
        &["diff", "--format", "markdown", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        r"### layer-render diff

**1 added, 1 removed, 1 changed, 1 unchanged**

- added `ConfigMap/shop/flags`
- removed `Service/shop/legacy`
- changed `Deployment/shop/embed-worker`
  - `spec.replicas`: `1` → `2`

<details>
<summary>added <code>ConfigMap/shop/flags</code></summary>

```diff
@@ -0,0 +1,7 @@
+apiVersion: v1
+data:
+  beta: 'true'
+kind: ConfigMap
+metadata:
+  name: flags
+  namespace: shop
```

</details>

<details>
<summary>removed <code>Service/shop/legacy</code></summary>

```diff
@@ -1,8 +0,0 @@
-apiVersion: v1
-kind: Service
-metadata:
-  name: legacy
-  namespace: shop
-spec:
-  ports:
-  - port: 80
```

</details>

<details>
<summary>changed <code>Deployment/shop/embed-worker</code>: <code>spec.replicas</code></summary>

```diff
@@ -4,7 +4,7 @@
   name: embed-worker
   namespace: shop
 spec:
-  replicas: 1
+  replicas: 2
   template:
     spec:
       containers:
```

</details>
"
    );
}

#[test]
fn the_json_format_lists_changed_objects_and_fields() {
    let dir = old_and_new();
    let run = run_in(
        dir.path(),
        &["diff", "--format", "json", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        r#"{
  "summary": {
    "added": 1,
    "removed": 1,
    "changed": 1,
    "followOn": 0,
    "unchanged": 1
  },
  "groups": [
    {
      "change": "added",
      "followOn": false,
      "apiVersion": "v1",
      "kind": "ConfigMap",
      "count": 1,
      "examples": [
        "ConfigMap/shop/flags"
      ],
      "fields": []
    },
    {
      "change": "removed",
      "followOn": false,
      "apiVersion": "v1",
      "kind": "Service",
      "count": 1,
      "examples": [
        "Service/shop/legacy"
      ],
      "fields": []
    },
    {
      "change": "changed",
      "followOn": false,
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "count": 1,
      "examples": [
        "Deployment/shop/embed-worker"
      ],
      "fields": [
        {
          "path": "spec.replicas",
          "change": "changed",
          "old": 1,
          "new": 2
        }
      ]
    }
  ],
  "changes": [
    {
      "change": "added",
      "apiVersion": "v1",
      "kind": "ConfigMap",
      "namespace": "shop",
      "name": "flags",
      "group": 0,
      "fields": []
    },
    {
      "change": "removed",
      "apiVersion": "v1",
      "kind": "Service",
      "namespace": "shop",
      "name": "legacy",
      "group": 1,
      "fields": []
    },
    {
      "change": "changed",
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "namespace": "shop",
      "name": "embed-worker",
      "group": 2,
      "fields": [
        {
          "path": "spec.replicas",
          "pointer": "/spec/replicas",
          "change": "changed",
          "old": 1,
          "new": 2
        }
      ]
    }
  ]
}
"#
    );
}

#[test]
fn context_sets_the_lines_around_each_change() {
    let dir = old_and_new();
    let run = run_in(
        dir.path(),
        &["diff", "--context", "0", "old.yaml", "new.yaml"],
        "",
    );
    assert!(
        run.stdout
            .ends_with("@@ -7 +7 @@\n-  replicas: 1\n+  replicas: 2\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn colour_follows_the_color_flag() {
    let dir = old_and_new();
    let always = run_in(
        dir.path(),
        &["diff", "--color", "always", "old.yaml", "new.yaml"],
        "",
    );
    assert!(
        always.stdout.contains("\x1b[31m-  replicas: 1\x1b[0m\n"),
        "{}",
        always.stdout
    );
    assert!(always.stdout.contains("\x1b[32m+  replicas: 2\x1b[0m\n"));
    // The test's stdout is a pipe, so auto means no colour.
    for when in ["never", "auto"] {
        let run = run_in(
            dir.path(),
            &["diff", "--color", when, "old.yaml", "new.yaml"],
            "",
        );
        assert!(!run.stdout.contains('\x1b'), "{when}: {}", run.stdout);
    }
    // Markdown and JSON are never coloured: they are read by other programs.
    let markdown = run_in(
        dir.path(),
        &[
            "diff", "--color", "always", "--format", "markdown", "old.yaml", "new.yaml",
        ],
        "",
    );
    assert!(!markdown.stdout.contains('\x1b'));
}

// === Secrets ===

const SECRET_OLD: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: hev-shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"token\":\"c2VjcmV0LW9sZA==\"}}'
data:
  token: c2VjcmV0LW9sZA==
  same: c2FtZS12YWx1ZQ==
  dropped: ZHJvcHBlZC12YWx1ZQ==
stringData:
  user: plain-old-user
";

const SECRET_NEW: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: hev-shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"token\":\"c2VjcmV0LW5ldw==\"}}'
data:
  token: c2VjcmV0LW5ldw==
  same: c2FtZS12YWx1ZQ==
  fresh: ZnJlc2gtdmFsdWU=
stringData:
  user: plain-new-user
";

/// Every value in the two Secrets above, encoded and decoded.
const SECRET_VALUES: &[&str] = &[
    "c2VjcmV0LW9sZA",
    "secret-old",
    "c2VjcmV0LW5ldw",
    "secret-new",
    "c2FtZS12YWx1ZQ",
    "same-value",
    "ZHJvcHBlZC12YWx1ZQ",
    "dropped-value",
    "ZnJlc2gtdmFsdWU",
    "fresh-value",
    "plain-old-user",
    "plain-new-user",
];

#[test]
fn secret_values_never_show_in_any_format() {
    let dir = dir_with(&[("old.yaml", SECRET_OLD), ("new.yaml", SECRET_NEW)]);
    for format in ["text", "markdown", "json"] {
        let run = run_in(
            dir.path(),
            &["diff", "--format", format, "old.yaml", "new.yaml"],
            "",
        );
        assert_eq!(run.code, 1, "{format}: {run:?}");
        for value in SECRET_VALUES {
            assert!(
                !run.stdout.contains(value) && !run.stderr.contains(value),
                "{format} shows {value}:\n{}",
                run.stdout
            );
        }
    }
    // The same Secret added whole shows no value either.
    let added = run_in(
        dir.path(),
        &["diff", "-", "new.yaml"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
    );
    for value in SECRET_VALUES {
        assert!(!added.stdout.contains(value), "{value}: {}", added.stdout);
    }
    assert!(added.stdout.contains("+  token: <redacted>\n"));
}

#[test]
fn a_changed_secret_value_shows_as_changed_but_redacted() {
    let dir = dir_with(&[("old.yaml", SECRET_OLD), ("new.yaml", SECRET_NEW)]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_text!(
        run.stdout,
        r#"0 added, 0 removed, 1 changed, 0 unchanged
~ Secret/hev-shop/hf-token
    data.dropped: "<redacted>" → (none)
    data.fresh: (none) → "<redacted>"
    data.token: "<redacted>" → "<redacted (changed)>"
    metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]: "<redacted>" → "<redacted (changed)>"
    stringData.user: "<redacted>" → "<redacted (changed)>"

--- a/Secret/hev-shop/hf-token
+++ b/Secret/hev-shop/hf-token
@@ -1,13 +1,13 @@
 apiVersion: v1
 data:
-  dropped: <redacted>
+  fresh: <redacted>
   same: <redacted>
-  token: <redacted>
+  token: <redacted (changed)>
 kind: Secret
 metadata:
   annotations:
-    kubectl.kubernetes.io/last-applied-configuration: <redacted>
+    kubectl.kubernetes.io/last-applied-configuration: <redacted (changed)>
   name: hf-token
   namespace: hev-shop
 stringData:
-  user: <redacted>
+  user: <redacted (changed)>
"#
    );
    let json = run_in(
        dir.path(),
        &["diff", "--format", "json", "old.yaml", "new.yaml"],
        "",
    );
    let parsed: Value = serde_json::from_str(&json.stdout).unwrap();
    let fields: Vec<String> = parsed["changes"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["change"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            "removed data.dropped",
            "added data.fresh",
            "changed data.token",
            "changed metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]",
            "changed stringData.user"
        ]
    );
    assert_eq!(
        parsed["changes"][0]["fields"][2],
        json!({"path": "data.token", "pointer": "/data/token", "change": "changed", "old": "<redacted>", "new": "<redacted (changed)>"})
    );
}

#[test]
fn an_unchanged_secret_is_unchanged() {
    let dir = dir_with(&[("old.yaml", SECRET_OLD), ("new.yaml", SECRET_OLD)]);
    let run = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(run.code, 0, "{run:?}");
}

// === ignore rules ===

const HASHED_OLD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: w
  namespace: a
  annotations:
    layer.hev.dev/render-hash: aaaa
spec:
  replicas: 1
---
apiVersion: v1
kind: Service
metadata:
  name: w
  namespace: a
spec:
  replicas: 1
";

#[test]
fn an_ignored_field_is_dropped_from_both_sides() {
    let new = HASHED_OLD.replace("aaaa", "bbbb");
    let dir = dir_with(&[("old.yaml", HASHED_OLD), ("new.yaml", &new)]);
    let plain = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(plain.code, 1, "{plain:?}");
    let ignored = run_in(
        dir.path(),
        &[
            "diff",
            "--ignore",
            "/metadata/annotations/layer.hev.dev~1render-hash",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(ignored.code, 0, "{ignored:?}");
    assert_text!(
        ignored.stdout,
        "0 added, 0 removed, 0 changed, 2 unchanged\n"
    );
}

#[test]
fn an_ignored_field_that_leaves_an_empty_map_matches_a_missing_map() {
    // The old Deployment has no annotations at all; the new one only the ignored hash.
    let old = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: a}\n";
    let new = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: a, annotations: {layer.hev.dev/render-hash: x}}\n";
    let dir = dir_with(&[("old.yaml", old), ("new.yaml", new)]);
    let run = run_in(
        dir.path(),
        &[
            "diff",
            "--ignore",
            "/metadata/annotations/layer.hev.dev~1render-hash",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn a_kind_filter_limits_an_ignore_rule_to_that_kind() {
    let new = HASHED_OLD.replace("replicas: 1", "replicas: 2");
    let dir = dir_with(&[("old.yaml", HASHED_OLD), ("new.yaml", &new)]);
    let run = run_in(
        dir.path(),
        &[
            "diff",
            "--ignore",
            "Deployment:/spec/replicas",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "0 added, 0 removed, 1 changed, 1 unchanged\n~ Service/a/w\n    spec.replicas: 1 → 2\n"
        ),
        "{}",
        run.stdout
    );
    // The ignored field is gone from the diff text too.
    let both = run_in(
        dir.path(),
        &[
            "diff",
            "--ignore",
            "Deployment:/spec/replicas",
            "--ignore",
            "Service:/spec",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(both.code, 0, "{both:?}");
}

#[test]
fn a_wildcard_step_matches_every_container() {
    let old = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: a}\nspec:\n  containers:\n  - {name: a, image: a:1}\n  - {name: b, image: b:1}\n";
    let new = old.replace(":1", ":2");
    let dir = dir_with(&[("old.yaml", old), ("new.yaml", &new)]);
    let run = run_in(
        dir.path(),
        &[
            "diff",
            "--ignore",
            "/spec/containers/*/image",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
}

// === sides ===

#[test]
fn stdin_can_be_either_side() {
    let dir = old_and_new();
    let left = run_in(dir.path(), &["diff", "-", "new.yaml"], OLD);
    let right = run_in(dir.path(), &["diff", "old.yaml", "-"], NEW);
    let files = run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "");
    assert_eq!(left.code, 1);
    assert_text!(left.stdout, files.stdout);
    assert_text!(right.stdout, files.stdout);
}

#[test]
fn an_out_directory_equals_the_stream_it_was_rendered_with() {
    let dir = dir_with(&[]);
    let inputs = repo().join("tests/diff/shop/new");
    let inputs = inputs.to_str().unwrap();
    let stream = run_in(dir.path(), &[inputs], "");
    assert_eq!(stream.code, 0, "{stream:?}");
    std::fs::write(dir.path().join("stream.yaml"), &stream.stdout).unwrap();
    let out = run_in(dir.path(), &["--out", "rendered", inputs], "");
    assert_eq!(out.code, 0, "{out:?}");
    let run = run_in(dir.path(), &["diff", "stream.yaml", "rendered"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_text!(run.stdout, "0 added, 0 removed, 0 changed, 6 unchanged\n");
}

#[test]
fn render_mode_renders_both_sides_with_the_same_flags() {
    let run = run_in(
        &repo(),
        &[
            "diff",
            "--render",
            "--format",
            "json",
            "tests/diff/shop/old",
            "tests/diff/shop/new",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    let parsed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        parsed["summary"],
        json!({"added": 1, "removed": 0, "changed": 4, "followOn": 0, "unchanged": 1})
    );
    let scaled = parsed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "ScaledObject")
        .unwrap();
    let paths: Vec<&str> = scaled["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"spec.maxReplicaCount"), "{paths:?}");
}

#[test]
fn render_mode_shows_the_same_diff_as_the_renders_written_out() {
    // --render diffs the texts render just wrote; the streams are read and written again.
    let dir = dir_with(&[]);
    for side in ["old", "new"] {
        let inputs = repo().join("tests/diff/shop").join(side);
        let run = run_in(dir.path(), &[inputs.to_str().unwrap()], "");
        assert_eq!(run.code, 0, "{run:?}");
        std::fs::write(dir.path().join(format!("{side}.yaml")), run.stdout).unwrap();
    }
    let streams = run_in(
        dir.path(),
        &["diff", "--color", "never", "old.yaml", "new.yaml"],
        "",
    );
    let shop = repo().join("tests/diff/shop");
    let rendered = run_in(
        dir.path(),
        &[
            "diff",
            "--render",
            "--color",
            "never",
            shop.join("old").to_str().unwrap(),
            shop.join("new").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(rendered.code, 1, "{rendered:?}");
    assert_text!(rendered.stdout, streams.stdout);
}

#[test]
fn a_tree_file_its_record_vouches_for_is_diffed_as_written() {
    // Two --out trees: a file whose bytes still hash to what the tree's provenance record
    // says render wrote is diffed line by line as it stands; any other file is parsed and
    // written again first, so a hand edit that leaves the object equal does not show.
    let dir = dir_with(&[]);
    let shop = repo().join("tests/diff/shop");
    for side in ["old", "new"] {
        let inputs = shop.join(side);
        let run = run_in(dir.path(), &["--out", side, inputs.to_str().unwrap()], "");
        assert_eq!(run.code, 0, "{run:?}");
    }
    let diff = || run_in(dir.path(), &["diff", "--color", "never", "old", "new"], "");
    let untouched = diff();
    assert_eq!(untouched.code, 1, "{untouched:?}");
    assert!(
        untouched
            .stdout
            .contains("@@ -15,7 +15,7 @@\n   namespace: hev-shop\n spec:\n   cooldownPeriod: 300\n-  maxReplicaCount: 1\n+  maxReplicaCount: 4\n   minReplicaCount: 0\n"),
        "{}",
        untouched.stdout
    );

    let file = "hev-shop/keda.sh_v1alpha1_ScaledObject_embed-worker.yaml";
    let path = dir.path().join("new").join(file);
    let edited = std::fs::read_to_string(&path).unwrap().replace(
        "  maxReplicaCount: 4\n",
        "  maxReplicaCount: 4 # tuned by hand\n",
    );
    std::fs::write(&path, &edited).unwrap();
    let unvouched = diff();
    assert_text!(unvouched.stdout, untouched.stdout);

    let record_path = dir.path().join("new/.layer-render.json");
    let record = std::fs::read_to_string(&record_path).unwrap();
    let mut record: Value = serde_json::from_str(&record).unwrap();
    record["files"][file] = json!(layer_render::emit::provenance::file_hash(&edited));
    std::fs::write(&record_path, record.to_string()).unwrap();
    let vouched = diff();
    assert_eq!(vouched.code, 1, "{vouched:?}");
    assert!(
        vouched
            .stdout
            .contains("-  maxReplicaCount: 1\n+  maxReplicaCount: 4 # tuned by hand\n"),
        "{}",
        vouched.stdout
    );
}

// === exit codes ===

#[test]
fn exit_code_0_means_no_difference_and_1_means_differences() {
    let dir = old_and_new();
    assert_eq!(
        run_in(dir.path(), &["diff", "old.yaml", "old.yaml"], "").code,
        0
    );
    assert_eq!(
        run_in(dir.path(), &["diff", "old.yaml", "new.yaml"], "").code,
        1
    );
}

#[test]
fn exit_code_2_means_the_input_or_the_usage_is_wrong() {
    let dir = dir_with(&[
        ("old.yaml", OLD),
        ("broken.yaml", "kind: [unclosed\n"),
        ("twice.yaml", &format!("{OLD}---\n{OLD}")),
        ("nameless.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
    ]);
    let cases: &[(&[&str], &str)] = &[
        (&["diff", "old.yaml", "broken.yaml"], "error[E101]"),
        (&["diff", "old.yaml", "missing.yaml"], "error[E100]"),
        (&["diff", "old.yaml", "nameless.yaml"], "error[E109]"),
        (
            &["diff", "old.yaml", "twice.yaml"],
            "the new side holds ConfigMap/shop/settings twice",
        ),
        (&["diff", "-", "-"], "cannot both be -"),
        (
            &["diff", "--ignore", "spec.replicas", "old.yaml", "old.yaml"],
            "JSON pointer",
        ),
        (
            &["diff", "--profile", "p.yaml", "old.yaml", "old.yaml"],
            "--render",
        ),
        (&["diff", "old.yaml"], "NEW"),
        (&["check", "out"], "PATH"),
    ];
    for (args, message) in cases {
        let run = run_in(dir.path(), args, "");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert_text!(run.stdout, "");
    }
}

#[test]
fn a_render_error_on_either_side_is_exit_code_2_with_every_diagnostic() {
    let bad = "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {name: p, namespace: a}\nspec:\n  scaling: {replicas: {max: -1}}\n";
    let dir = dir_with(&[("old/p.yaml", bad), ("new/p.yaml", bad)]);
    let run = run_in(dir.path(), &["diff", "--render", "old", "new"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("old/p.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("new/p.yaml:"), "{}", run.stderr);
    assert_text!(run.stdout, "");
}

// === check ===

/// A temporary copy of the doc fixture's old inputs, rendered to `rendered/`.
fn committed_render() -> tempfile::TempDir {
    let shop = repo().join("tests/diff/shop");
    let dir = dir_with(&[
        (
            "crs/shop.yaml",
            &std::fs::read_to_string(shop.join("old/shop.yaml")).unwrap(),
        ),
        (
            "next.yaml",
            &std::fs::read_to_string(shop.join("new/shop.yaml")).unwrap(),
        ),
    ]);
    let run = run_in(dir.path(), &["--out", "rendered", "crs"], "");
    assert_eq!(run.code, 0, "{run:?}");
    dir
}

#[test]
fn check_passes_on_a_fresh_render() {
    let dir = committed_render();
    let run = run_in(dir.path(), &["check", "rendered", "crs"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_text!(run.stdout, "rendered is up to date (5 objects)\n");
}

#[test]
fn check_fails_on_a_stale_render_and_prints_the_command_that_fixes_it() {
    let dir = committed_render();
    std::fs::copy(
        dir.path().join("next.yaml"),
        dir.path().join("crs/shop.yaml"),
    )
    .unwrap();
    let run = run_in(
        dir.path(),
        &["check", "rendered", "crs", "--namespace", "default"],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        r#"rendered is out of date: 1 added, 0 removed, 4 changed, 1 unchanged
+ ConfigMap/hev-shop/embed-settings
~ Secret/hev-shop/hf-token
    stringData.token: "<redacted>" → "<redacted (changed)>"
~ Deployment/hev-shop/embed-worker
    spec.template.spec.containers[worker].resources.limits.memory: "4Gi" → "10Gi"
    spec.template.spec.containers[worker].resources.limits[nvidia.com/gpu]: (none) → "1"
    spec.template.spec.containers[worker].resources.requests.cpu: "1" → "250m"
    spec.template.spec.containers[worker].resources.requests.memory: "2Gi" → "4Gi"
    spec.template.spec.containers[worker].resources.requests[nvidia.com/gpu]: (none) → "1"
    spec.template.spec.nodeSelector[layer.hev.dev/compute]: "cpu" → "gpu"
    spec.template.spec.nodeSelector[layer.hev.dev/node-role]: "worker-cpu" → "worker-gpu"
    spec.template.spec.tolerations[key=layer.hev.dev/node-role].value: "worker-cpu" → "worker-gpu"
    and 1 more field
~ ScaledObject/hev-shop/embed-worker
    spec.maxReplicaCount: 1 → 4
~ Pipeline/hev-shop/embed
    spec.scaling.pool: (none) → "gpu"
    spec.scaling.replicas.max: 1 → 4
  the inputs changed since the last render
7 file(s) differ:
  changed  hev-shop/apps_v1_Deployment_embed-worker.yaml
  changed  hev-shop/hevlayer.com_v1alpha1_Pipeline_embed.yaml
  changed  hev-shop/keda.sh_v1alpha1_ScaledObject_embed-worker.yaml
  missing  hev-shop/v1_ConfigMap_embed-settings.yaml
  changed  hev-shop/v1_Secret_hf-token.yaml
  changed  kustomization.yaml
  changed  .layer-render.json
Regenerate it with:
  layer-render --out rendered crs
"#
    );
    // The printed command is the fix.
    let command = run.stdout.lines().last().unwrap().trim().to_string();
    let words: Vec<&str> = command.split(' ').skip(1).collect();
    assert_eq!(run_in(dir.path(), &words, "").code, 0);
    let again = run_in(dir.path(), &["check", "rendered", "crs"], "");
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn check_notices_a_hand_edited_file_even_when_the_objects_are_equal() {
    let dir = committed_render();
    let file = dir
        .path()
        .join("rendered/hev-shop/apps_v1_Deployment_embed-worker.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# edited by hand\n{text}")).unwrap();
    std::fs::write(dir.path().join("rendered/notes.txt"), "x").unwrap();
    let run = run_in(
        dir.path(),
        &["check", "rendered", "crs", "--profile", "missing.yaml"],
        "",
    );
    // A profile that cannot be read is an error before anything is compared.
    assert_eq!(run.code, 2, "{run:?}");
    let run = run_in(dir.path(), &["check", "rendered", "crs", "--strict"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert_text!(
        run.stdout,
        r"rendered is out of date: 0 added, 0 removed, 0 changed, 5 unchanged
  hev-shop/apps_v1_Deployment_embed-worker.yaml was edited by hand
  notes.txt was added by hand
  the profile or the render flags changed since the last render
3 file(s) differ:
  changed  hev-shop/apps_v1_Deployment_embed-worker.yaml
  extra    notes.txt
  changed  .layer-render.json
Regenerate it with:
  layer-render --strict --out rendered crs
"
    );
}

#[test]
fn check_reads_its_inputs_and_flags_from_the_record() {
    let dir = committed_render();
    // Rendered with a flag, from another directory: the record holds paths from the tree.
    let run = run_in(
        dir.path(),
        &["--out", "deploy/rendered", "crs", "--namespace", "shop"],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let record =
        std::fs::read_to_string(dir.path().join("deploy/rendered/.layer-render.json")).unwrap();
    assert!(
        record.contains("\"renderedWith\": {\n    \"inputs\": [\n      \"../../crs\"\n    ],\n    \"flags\": [\n      \"--namespace\",\n      \"shop\"\n    ]\n  },\n"),
        "{record}"
    );
    let run = run_in(&dir.path().join("deploy"), &["check", "rendered"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_text!(run.stdout, "rendered is up to date (5 objects)\n");
    // Stale: the objects grouped, and the command with the recorded inputs and flags.
    std::fs::copy(
        dir.path().join("next.yaml"),
        dir.path().join("crs/shop.yaml"),
    )
    .unwrap();
    let run = run_in(dir.path(), &["check", "deploy/rendered"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with("deploy/rendered is out of date: 1 added, 0 removed, 4 changed, 1 unchanged\n+ ConfigMap/hev-shop/embed-settings\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "Regenerate it with:\n  layer-render --namespace shop --out deploy/rendered crs\n"
        ),
        "{}",
        run.stdout
    );
    // Flags without inputs are not the recorded ones: refused.
    let run = run_in(dir.path(), &["check", "deploy/rendered", "--strict"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert_text!(
        run.stderr,
        "layer-render: with no PATH, check renders with the flags recorded in deploy/rendered/.layer-render.json: give the inputs too to render with other flags\n"
    );
    // Other inputs than the record's are a finding of their own.
    let run = run_in(
        dir.path(),
        &[
            "check",
            "deploy/rendered",
            "next.yaml",
            "--namespace",
            "shop",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("\n  the record names other inputs (../../crs) than these (../../next.yaml), relative to the tree\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_without_inputs_needs_a_record_that_names_them() {
    let dir = committed_render();
    // Rendered from stdin: nothing to render again.
    let crs = std::fs::read_to_string(dir.path().join("crs/shop.yaml")).unwrap();
    let run = run_in(dir.path(), &["--out", "piped", "-"], &crs);
    assert_eq!(run.code, 0, "{run:?}");
    let run = run_in(dir.path(), &["check", "piped"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert_text!(
        run.stderr,
        "layer-render: no PATH given, and piped/.layer-render.json does not name the inputs (rendered from stdin, or by an older layer-render): give the inputs the tree is rendered from\n"
    );
    let run = run_in(dir.path(), &["check", "piped", "-"], &crs);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn check_of_a_missing_directory_fails_with_everything_added() {
    let dir = committed_render();
    let run = run_in(dir.path(), &["check", "nowhere", "crs"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("nowhere does not exist: 5 added, 0 removed, 0 changed, 0 unchanged\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("Regenerate it with:\n  layer-render --out nowhere crs\n")
    );
}

#[test]
fn check_exits_2_when_the_inputs_do_not_render() {
    let dir = committed_render();
    std::fs::write(dir.path().join("crs/bad.yaml"), "kind: [unclosed\n").unwrap();
    let run = run_in(dir.path(), &["check", "rendered", "crs"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("error[E101]"), "{}", run.stderr);
    assert_text!(run.stdout, "");
}

// === scale, budget and the full diff ===

/// `n` ConfigMaps in block style, the last one's value `last`.
fn config_maps(n: usize, last: &str) -> String {
    let mut out = String::new();
    for i in 0..n {
        let value = if i + 1 == n { last } else { "same" };
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: a\ndata:\n  k: {value}\n"
        ));
    }
    out
}

#[test]
fn a_stream_over_the_old_size_and_document_limits_diffs_without_flags() {
    // 100,001 documents (the loader's limit per file is 100,000) and 65 MiB of comments
    // (its size limit is 64 MiB): render writes streams like this at 13,000 workloads. The
    // large side comes on stdin, which the same limits govern, so the test writes 16 MB to
    // disk rather than 155 MB: CI machines can be short of space.
    let comment = format!("# {}\n---\n", "x".repeat(65 * 1024 * 1024));
    let old = config_maps(100_001, "old");
    let new = config_maps(100_001, "new");
    let dir = dir_with(&[("old.yaml", &old), ("new.yaml", &new)]);
    let run = run_in(
        dir.path(),
        &["diff", "-", "new.yaml"],
        &format!("{comment}{old}"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "0 added, 0 removed, 1 changed, 100000 unchanged\n~ ConfigMap/a/c100000\n    data.k: \"old\" → \"new\"\n"
        ),
        "{}",
        &run.stdout[..run.stdout.len().min(500)]
    );
    // A limit is there when asked for, and says how to raise it.
    let run = run_in(
        dir.path(),
        &["diff", "--max-file-size", "1048576", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_text!(
        run.stderr,
        "old.yaml:1:1: error[E102]: file is larger than the limit of 1048576 bytes (raise it with --max-file-size)\nnew.yaml:1:1: error[E102]: file is larger than the limit of 1048576 bytes (raise it with --max-file-size)\nlayer-render: 2 error(s), 0 warning(s); nothing was written\n"
    );
}

/// Old and new renders where 30 ConfigMaps change the same way and one differently.
fn many_changes() -> tempfile::TempDir {
    let cm = |i: usize, v: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i:02}\n  namespace: a\ndata:\n  url: {v}\n  pad: {}\n",
            "p".repeat(200)
        )
    };
    let old: String = (0..31).map(|i| cm(i, "http://a")).collect();
    let new: String = (0..31)
        .map(|i| cm(i, if i == 30 { "http://c" } else { "http://b" }))
        .collect();
    dir_with(&[("old.yaml", &old), ("new.yaml", &new)])
}

#[test]
fn the_markdown_comment_keeps_to_its_budget_and_says_what_it_left_out() {
    let dir = many_changes();
    let run = run_in(
        dir.path(),
        &[
            "diff", "--format", "markdown", "--budget", "2000", "old.yaml", "new.yaml",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.chars().count() <= 2000,
        "{}",
        run.stdout.chars().count()
    );
    assert!(
        run.stdout.starts_with(
            "### layer-render diff\n\n**0 added, 0 removed, 31 changed, 0 unchanged**\n\n- changed 30 ConfigMaps: `ConfigMap/a/c00`, `ConfigMap/a/c01`, `ConfigMap/a/c02` and 27 more\n  - `data.url`: `\"http://a\"` → `\"http://b\"`\n- changed `ConfigMap/a/c30`\n  - `data.url`: `\"http://a\"` → `\"http://c\"`\n\n<details>\n<summary>changed <code>ConfigMap/a/c00</code>"
        ),
        "{}",
        run.stdout
    );
    // The second section is the other group's object, not one more of the first group.
    assert!(
        run.stdout
            .contains("<summary>changed <code>ConfigMap/a/c30</code>"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            " of 31 objects. The full diff: run `layer-render diff old.yaml new.yaml`.\n"
        ),
        "{}",
        run.stdout
    );
    let last = run.stdout.lines().last().unwrap();
    assert!(
        last.starts_with("**Left out** to keep this comment short: the diffs of "),
        "{last}"
    );
    // The default budget holds them all, and nothing is left out.
    let run = run_in(
        dir.path(),
        &["diff", "--format", "markdown", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.stdout.matches("<details>").count(), 31);
    assert!(!run.stdout.contains("Left out"), "{}", run.stdout);
    // A budget below the counts and the last line is refused.
    let run = run_in(
        dir.path(),
        &["diff", "--budget", "999", "old.yaml", "new.yaml"],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("999 is not in 1000.."),
        "{}",
        run.stderr
    );
}

#[test]
fn the_full_diff_goes_to_a_file_in_the_same_run() {
    let dir = many_changes();
    let run = run_in(
        dir.path(),
        &[
            "diff",
            "--format",
            "markdown",
            "--budget",
            "2000",
            "--full-diff",
            "full.txt",
            "old.yaml",
            "new.yaml",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.ends_with(
            " of 31 objects. The full diff: `full.txt`, written by the same run; or run `layer-render diff old.yaml new.yaml`.\n"
        ),
        "{}",
        run.stdout
    );
    let text = run_in(
        dir.path(),
        &["diff", "--color", "never", "old.yaml", "new.yaml"],
        "",
    );
    assert_text!(
        std::fs::read_to_string(dir.path().join("full.txt")).unwrap(),
        text.stdout
    );
    assert_eq!(text.stdout.matches("\n--- a/ConfigMap/a/").count(), 31);
}

#[test]
fn hashes_that_follow_from_a_change_are_folded_into_it_in_every_format() {
    let dir = dir_with(&[]);
    let fleet = repo().join("tests/diff/fleet");
    for (side, profile) in [("old", "old-profile.yaml"), ("new", "new-profile.yaml")] {
        let profile = fleet.join(profile);
        let crs = fleet.join("crs");
        let args = [
            "--profile",
            profile.to_str().unwrap(),
            "--out",
            side,
            crs.to_str().unwrap(),
        ];
        assert_eq!(run_in(dir.path(), &args, "").code, 0);
    }
    let run = run_in(dir.path(), &["diff", "--format", "json", "old", "new"], "");
    assert_eq!(run.code, 1, "{run:?}");
    let parsed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        parsed["summary"],
        json!({"added": 0, "removed": 0, "changed": 5, "followOn": 5, "unchanged": 10})
    );
    let groups: Vec<(String, u64, bool)> = parsed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["kind"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
                g["followOn"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("Deployment".to_string(), 3, false),
            ("Deployment".to_string(), 2, false),
            ("Pipeline".to_string(), 3, true),
            ("Function".to_string(), 2, true),
        ]
    );
    // JSON still lists every changed field, the folded hashes marked.
    let changes = parsed["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 10);
    let worker = changes
        .iter()
        .find(|c| c["name"] == "embed-products-worker")
        .unwrap();
    assert_eq!(
        worker["fields"],
        json!([
            {"path": "metadata.annotations[layer.hev.dev/render-hash]", "pointer": "/metadata/annotations/layer.hev.dev~1render-hash", "change": "changed", "old": worker["fields"][0]["old"], "new": worker["fields"][0]["new"], "derived": true},
            {"path": "spec.template.spec.containers[worker].env[HEVLAYER_BASE_URL].value", "pointer": "/spec/template/spec/containers/0/env/0/value", "change": "changed", "old": "http://layer-gateway.layer.svc.cluster.local:8080", "new": "http://gateway.hev-gateway.svc.cluster.local:8080"}
        ])
    );
    let cr = changes
        .iter()
        .find(|c| c["name"] == "embed-products")
        .unwrap();
    assert_eq!(cr["followOn"], true);
    assert_eq!(cr["fields"][0]["derived"], true);
    // Ignoring the workers' change leaves their hashes without a cause: they count again.
    let run = run_in(
        dir.path(),
        &[
            "diff",
            "--format",
            "json",
            "--ignore",
            "Deployment:/spec",
            "old",
            "new",
        ],
        "",
    );
    let parsed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        parsed["summary"],
        json!({"added": 0, "removed": 0, "changed": 5, "followOn": 5, "unchanged": 10})
    );
    assert_eq!(
        parsed["groups"][0]["fields"][0]["path"],
        "metadata.annotations[layer.hev.dev/render-hash]"
    );
}

// === docs/diff.md ===

/// Replaces the text between `<!-- NAME: begin -->` and `<!-- NAME: end -->` in
/// `docs/diff.md` with `actual` when `UPDATE_GOLDEN=1`, else asserts it is there.
fn assert_doc_example(name: &str, actual: &str) {
    let (begin_marker, end_marker) = (
        format!("<!-- {name}: begin -->\n"),
        format!("<!-- {name}: end -->\n"),
    );
    let path = repo().join("docs/diff.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let begin = doc.find(&begin_marker).unwrap() + begin_marker.len();
    let end = doc.find(&end_marker).unwrap();
    // A blank line on each side keeps the example's markdown apart from the markers.
    let actual = format!("\n{actual}\n");
    if doc[begin..end] == actual {
        return;
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        let updated = format!("{}{actual}{}", &doc[..begin], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        panic!("rewrote the {name} example in docs/diff.md; review the change and run again");
    }
    assert_text!(doc[begin..end], actual);
}

#[test]
fn the_markdown_example_in_the_docs_is_the_real_output() {
    let run = run_in(
        &repo(),
        &[
            "diff",
            "--render",
            "--format",
            "markdown",
            "tests/diff/shop/old",
            "tests/diff/shop/new",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_doc_example("example", &run.stdout);
}

#[test]
fn the_grouped_examples_in_the_docs_are_the_real_output() {
    let fleet = repo().join("tests/diff/fleet");
    let dir = dir_with(&[]);
    for (side, profile) in [("old", "old-profile.yaml"), ("new", "new-profile.yaml")] {
        let profile = fleet.join(profile);
        let crs = fleet.join("crs");
        let run = run_in(
            dir.path(),
            &[
                "--profile",
                profile.to_str().unwrap(),
                "--out",
                side,
                crs.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(run.code, 0, "{run:?}");
    }
    let text = run_in(dir.path(), &["diff", "--color", "never", "old", "new"], "");
    assert_eq!(text.code, 1, "{text:?}");
    let head: Vec<&str> = text.stdout.lines().take(9).collect();
    assert_doc_example("fleet-text", &format!("```text\n{}\n```", head.join("\n")));
    let markdown = run_in(
        dir.path(),
        &["diff", "--format", "markdown", "old", "new"],
        "",
    );
    assert_eq!(markdown.code, 1, "{markdown:?}");
    let first_section = markdown.stdout.find("</details>\n").unwrap() + "</details>\n".len();
    assert_doc_example("fleet-markdown", &markdown.stdout[..first_section]);
}

// === properties ===

/// Small JSON values: the shapes manifests have, with keys that collide often.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0i64..5).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Ignore rules over the keys that `value` uses, wildcards and indexes included.
fn rule() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof!["[a-d]", Just("*".to_string()), "[0-2]"], 0..3).prop_map(
        |steps| {
            format!("/spec/{}", steps.join("/"))
                .trim_end_matches('/')
                .to_string()
        },
    )
}

fn objects(specs: &[Value]) -> Vec<Object> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            Object::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("c{i}"), "namespace": "a"},
                "spec": spec,
            }))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_render_diffed_with_itself_in_any_order_is_empty(
        specs in prop::collection::vec(value(), 0..8),
        seed in any::<u64>(),
    ) {
        let old = objects(&specs);
        let mut new = old.clone();
        let len = new.len().max(1);
        new.rotate_left((seed as usize) % len);
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        prop_assert!(report.is_empty());
        prop_assert_eq!(report.unchanged, specs.len());
    }

    #[test]
    fn two_different_objects_list_at_least_one_field(a in value(), b in value()) {
        let report = diff(&objects(std::slice::from_ref(&a)), &objects(std::slice::from_ref(&b)), &DiffOptions::default()).unwrap();
        prop_assert_eq!(report.is_empty(), a == b);
        if a != b {
            prop_assert!(!report.changes[0].fields.is_empty());
        }
    }

    #[test]
    fn ignore_rules_give_the_same_answer_as_trimming_copies(
        a in value(),
        b in value(),
        rules in prop::collection::vec(rule(), 1..3),
    ) {
        let options = DiffOptions { ignore: rules.iter().map(|r| r.parse().unwrap()).collect(), unified: None };
        let report = diff(&objects(std::slice::from_ref(&a)), &objects(std::slice::from_ref(&b)), &options).unwrap();
        // The slow, obvious answer: trim whole copies of both objects, then compare.
        let trim = |v: &Value| {
            let mut object = objects(std::slice::from_ref(v)).remove(0).value;
            for rule in &options.ignore {
                rule.remove_from(&mut object);
            }
            object
        };
        prop_assert_eq!(report.is_empty(), trim(&a) == trim(&b));
    }
}
