//! render on untrusted pull-request content: nothing it reads or writes leaves the paths it
//! was given (docs/security.md, "Untrusted input").
//!
//! Every test builds a temporary root with `ws/` (the checkout: inputs, `--out` trees,
//! planted links) and `outside/` (the rest of the runner: a secret and a directory worth
//! overwriting), runs the binary in `ws/`, and compares a snapshot of the whole root before
//! and after: a refused run changes nothing anywhere, and no run prints the secret.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::golden::layer_render;

/// What no output may ever contain: the content of `outside/secret.yaml`.
const SECRET: &str = "do-not-publish";

const SECRET_YAML: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: runner-credentials
  namespace: shop
data:
  token: do-not-publish
";

const CONFIG_MAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
";

struct Root {
    tmp: tempfile::TempDir,
}

impl Root {
    /// `ws/manifests/settings.yaml`, `outside/secret.yaml` and `outside/victim/` (a
    /// directory that looks like an earlier render, so a followed link could replace it).
    fn new() -> Root {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root { tmp };
        root.write("ws/manifests/settings.yaml", CONFIG_MAP);
        root.write("outside/secret.yaml", SECRET_YAML);
        root.write("outside/victim/kustomization.yaml", "resources: []\n");
        root.write("outside/victim/keep.txt", "keep\n");
        root
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.tmp.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn link(&self, target: impl AsRef<Path>, relative: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, path).unwrap();
    }

    /// Runs layer-render in `ws/`.
    fn run(&self, args: &[&str]) -> Output {
        layer_render()
            .current_dir(self.path("ws"))
            .args(args)
            .output()
            .unwrap()
    }

    /// Every entry under the root: file contents, link targets and directories.
    fn snapshot(&self) -> BTreeMap<String, String> {
        let mut entries = BTreeMap::new();
        let mut stack = vec![self.tmp.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                let name = path
                    .strip_prefix(self.tmp.path())
                    .unwrap()
                    .display()
                    .to_string();
                let kind = entry.file_type().unwrap();
                let what = if kind.is_symlink() {
                    format!("link to {}", std::fs::read_link(&path).unwrap().display())
                } else if kind.is_dir() {
                    stack.push(path);
                    "dir".to_string()
                } else {
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
                };
                entries.insert(name, what);
            }
        }
        entries
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run was refused with exit 2, printed nothing on stdout, never printed the secret and
/// changed nothing under the root.
fn assert_refused(root: &Root, before: &BTreeMap<String, String>, out: &Output) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert_eq!(stdout(out), "");
    assert!(!stderr(out).contains(SECRET), "{}", stderr(out));
    assert_eq!(&root.snapshot(), before, "the run changed files");
}

/// The three ways render writes: a stream, an `--out` tree, the Flux layout.
const LAYOUTS: &[&[&str]] = &[
    &[],
    &["--out", "rendered"],
    &["--out", "rendered", "--gitops", "flux"],
];

/// Identities that would leave an `--out` tree if they became paths, each with the exact
/// diagnostic render gives. Line 1 of each document is `apiVersion`.
const TRAVERSALS: &[(&str, &str, &str, &str, &str)] = &[
    // (apiVersion, kind, namespace, name, diagnostic)
    (
        "v1",
        "ConfigMap",
        "shop",
        "../../../outside/pwned",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \"../../../outside/pwned\": may not contain '/'",
    ),
    (
        "v1",
        "ConfigMap",
        "../..",
        "pwned",
        "input/bad.yaml:4:3: error[E109]: ConfigMap: metadata.namespace: invalid namespace \"../..\": must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    ),
    (
        "v1",
        "ConfigMap",
        "..",
        "pwned",
        "input/bad.yaml:4:3: error[E109]: ConfigMap: metadata.namespace: invalid namespace \"..\": must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    ),
    (
        "v1",
        "ConfigMap",
        "shop",
        "..",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \"..\": may not be '..'",
    ),
    (
        "v1",
        "ConfigMap",
        "shop",
        ".",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \".\": may not be '.'",
    ),
    (
        "v1",
        "ConfigMap",
        "shop",
        "/etc/passwd",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \"/etc/passwd\": may not contain '/'",
    ),
    (
        "v1",
        "ConfigMap",
        "shop",
        "a\\0b",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \"a\\0b\": may not contain control characters",
    ),
    (
        "v1",
        "ConfigMap",
        "shop",
        "",
        "input/bad.yaml:5:3: error[E109]: ConfigMap: metadata.name: invalid name \"\": may not be empty",
    ),
    (
        "v1",
        "..",
        "shop",
        "pwned",
        "input/bad.yaml:2:1: error[E113]: kind: invalid kind \"..\": must be an identifier of at most 63 letters and digits, starting with a letter",
    ),
    (
        "v1",
        "../../Kind",
        "shop",
        "pwned",
        "input/bad.yaml:2:1: error[E113]: kind: invalid kind \"../../Kind\": must be an identifier of at most 63 letters and digits, starting with a letter",
    ),
    (
        "../v1",
        "ConfigMap",
        "shop",
        "pwned",
        "input/bad.yaml:1:1: error[E113]: ConfigMap: apiVersion: invalid apiVersion \"../v1\": the group \"..\" must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    ),
    (
        "../../outside/v1",
        "ConfigMap",
        "shop",
        "pwned",
        "input/bad.yaml:1:1: error[E113]: ConfigMap: apiVersion: invalid apiVersion \"../../outside/v1\": must be version or group/version, with one '/' at most",
    ),
    (
        "apps/..",
        "ConfigMap",
        "shop",
        "pwned",
        "input/bad.yaml:1:1: error[E113]: ConfigMap: apiVersion: invalid apiVersion \"apps/..\": the version \"..\" must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    ),
    (
        "hevlayer.com/v1alpha1",
        "Pipeline",
        "shop",
        "../../../outside/pwned",
        "input/bad.yaml:5:3: error[E109]: Pipeline: metadata.name: invalid name \"../../../outside/pwned\": may not contain '/'",
    ),
];

#[test]
fn every_traversal_shape_is_refused_in_every_layout_and_nothing_is_written() {
    for (api_version, kind, namespace, name, diagnostic) in TRAVERSALS {
        let document = format!(
            "apiVersion: \"{api_version}\"\nkind: \"{kind}\"\nmetadata:\n  namespace: \"{namespace}\"\n  name: \"{name}\"\ndata: {{a: b}}\n"
        );
        for layout in LAYOUTS {
            let root = Root::new();
            root.write("ws/input/bad.yaml", &document);
            root.write("ws/input/settings.yaml", CONFIG_MAP);
            let before = root.snapshot();
            let mut args = vec!["input"];
            args.extend_from_slice(layout);
            let out = root.run(&args);
            assert_refused(&root, &before, &out);
            assert_eq!(
                stderr(&out),
                format!(
                    "{diagnostic}\nlayer-render: 1 error(s), 0 warning(s); nothing was written\n"
                ),
                "{document} with {layout:?}"
            );
        }
    }
}

#[test]
fn a_valid_render_writes_only_inside_its_tree_in_every_layout() {
    for layout in &LAYOUTS[1..] {
        let root = Root::new();
        let before = root.snapshot();
        let mut args = vec!["manifests"];
        args.extend_from_slice(layout);
        let out = root.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut after = root.snapshot();
        after.retain(|path, _| !path.starts_with("ws/rendered"));
        assert_eq!(after, before);
    }
}

/// The link shapes of item 3: a file link and a directory link out of the root.
fn plant_input_links(root: &Root) {
    root.link("../../outside/secret.yaml", "ws/manifests/leak.yaml");
    root.link(root.path("outside"), "ws/manifests/runner");
}

const FILE_LINK: &str = "error[E114]: manifests/leak.yaml is a symlink to ../../outside/secret.yaml, outside the input path manifests; render reads only files under the paths it is given (allow it with --load-restrictor none)";

fn dir_link(root: &Root) -> String {
    format!(
        "error[E114]: manifests/runner is a symlink to {}, outside the input path manifests; render reads only files under the paths it is given (allow it with --load-restrictor none)",
        root.path("outside").display()
    )
}

#[test]
fn links_out_of_the_input_are_refused_for_render_in_every_layout() {
    for layout in LAYOUTS {
        let root = Root::new();
        plant_input_links(&root);
        let before = root.snapshot();
        let mut args = vec!["manifests"];
        args.extend_from_slice(layout);
        let out = root.run(&args);
        assert_refused(&root, &before, &out);
        assert_eq!(
            stderr(&out),
            format!(
                "{FILE_LINK}\n{}\nlayer-render: 2 error(s), 0 warning(s); nothing was written\n",
                dir_link(&root)
            )
        );
    }
}

#[test]
fn links_out_of_the_input_are_refused_for_diff_render_and_check() {
    let root = Root::new();
    assert!(
        root.run(&["manifests", "--out", "rendered"])
            .status
            .success()
    );
    plant_input_links(&root);
    let before = root.snapshot();
    let expected = format!("{FILE_LINK}\n{}\n", dir_link(&root));

    let diff = root.run(&["diff", "--render", "manifests", "manifests"]);
    assert_refused(&root, &before, &diff);
    // Both sides read the same inputs, so each link is reported once a side.
    assert_eq!(
        stderr(&diff),
        format!(
            "{expected}{expected}layer-render: 4 error(s), 0 warning(s); nothing was written\n"
        )
    );

    let check = root.run(&["check", "rendered", "manifests"]);
    assert_refused(&root, &before, &check);
    assert_eq!(
        stderr(&check),
        format!("{expected}layer-render: 2 error(s), 0 warning(s); nothing was written\n")
    );
}

#[test]
fn the_load_restrictor_none_follows_links_on_purpose() {
    let root = Root::new();
    root.link("../../outside/secret.yaml", "ws/manifests/shared.yaml");
    let out = root.run(&["manifests", "--load-restrictor", "none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("name: runner-credentials"));
}

#[test]
fn links_inside_the_input_still_work() {
    let root = Root::new();
    // Dot entries are not walked, so the files are read only through the links.
    root.write(
        "ws/manifests/.shared/base.yaml",
        &CONFIG_MAP.replace("settings", "base"),
    );
    root.write(
        "ws/manifests/.team/team.yaml",
        &CONFIG_MAP.replace("settings", "team"),
    );
    root.link(".shared/base.yaml", "ws/manifests/linked.yaml");
    root.link(".team", "ws/manifests/team");
    let out = root.run(&["manifests"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let direct = root.run(&[
        "manifests/settings.yaml",
        "manifests/.shared/base.yaml",
        "manifests/.team/team.yaml",
    ]);
    assert!(direct.status.success(), "{}", stderr(&direct));
    assert_eq!(stdout(&out), stdout(&direct));
    assert!(stdout(&out).contains("name: team"));
}

#[test]
fn a_symlink_loop_is_a_clear_error() {
    let root = Root::new();
    root.link("b.yaml", "ws/manifests/a.yaml");
    root.link("a.yaml", "ws/manifests/b.yaml");
    root.link("..", "ws/manifests/sub/up");
    let before = root.snapshot();
    let out = root.run(&["manifests", "--out", "rendered"]);
    assert_refused(&root, &before, &out);
    assert_eq!(
        stderr(&out),
        "error[E115]: manifests/a.yaml is a symlink loop: following b.yaml never reaches a file
error[E115]: manifests/b.yaml is a symlink loop: following a.yaml never reaches a file
error[E115]: manifests/sub/up is a symlink loop: .. leads back to manifests, which contains the link
layer-render: 3 error(s), 0 warning(s); nothing was written
"
    );
}

#[test]
fn files_named_on_the_command_line_are_read_as_given() {
    let root = Root::new();
    root.link("../outside/secret.yaml", "ws/given.yaml");
    let out = root.run(&["given.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("name: runner-credentials"));
    let out = root.run(&["../outside/secret.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_symlink_planted_at_the_staging_path_is_refused_and_left_alone() {
    for planted in [".rendered.tmp-1", ".rendered.old-1"] {
        for target in ["../outside/victim", "../outside/secret.yaml"] {
            let root = Root::new();
            root.link(target, &format!("ws/{planted}"));
            let before = root.snapshot();
            let out = root.run(&["manifests", "--out", "rendered"]);
            assert_refused(&root, &before, &out);
            assert_eq!(
                stderr(&out),
                format!(
                    "layer-render: cannot write rendered: refusing to touch ./{planted}: layer-render keeps its staging trees under that name, and this is not one (a symlink or a file); remove it\n"
                )
            );
        }
    }
}

#[test]
fn an_out_directory_reached_through_a_symlink_is_refused() {
    let root = Root::new();
    root.link("../outside/victim", "ws/rendered");
    root.link("../outside", "ws/deploy");
    let before = root.snapshot();
    let out = root.run(&["manifests", "--out", "rendered"]);
    assert_refused(&root, &before, &out);
    assert_eq!(
        stderr(&out),
        format!(
            "layer-render: cannot write rendered: refusing to write through {}: it is a symlink (to ../outside/victim); --out writes only into real directories\n",
            root.path("ws/rendered").display()
        )
    );
    let out = root.run(&["manifests", "--out", "deploy/rendered"]);
    assert_refused(&root, &before, &out);
    assert_eq!(
        stderr(&out),
        format!(
            "layer-render: cannot write deploy/rendered: refusing to write through {}: it is a symlink (to ../outside); --out writes only into real directories\n",
            root.path("ws/deploy").display()
        )
    );
}

#[test]
fn a_link_inside_an_earlier_render_is_removed_not_followed() {
    let root = Root::new();
    assert!(
        root.run(&["manifests", "--out", "rendered"])
            .status
            .success()
    );
    root.link("../../../outside/victim", "ws/rendered/shop/planted");
    root.link(
        "../../../outside/secret.yaml",
        "ws/rendered/shop/v1_ConfigMap_settings.yaml.bak",
    );
    let mut before = root.snapshot();
    let out = root.run(&["manifests", "--out", "rendered"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut after = root.snapshot();
    before.retain(|p, _| !p.starts_with("ws/rendered"));
    after.retain(|p, _| !p.starts_with("ws/rendered"));
    assert_eq!(after, before);
    assert!(!root.path("ws/rendered/shop/planted").exists());
}

/// A committed tree with a link to the secret, as a pull request could commit it.
fn plant_tree_link(root: &Root, tree: &str) {
    root.link(
        "../../../outside/secret.yaml",
        &format!("ws/{tree}/shop/v1_ConfigMap_leak.yaml"),
    );
}

#[test]
fn a_link_committed_inside_a_rendered_tree_is_refused_by_diff_and_check() {
    let root = Root::new();
    assert!(root.run(&["manifests", "--out", "old"]).status.success());
    assert!(root.run(&["manifests", "--out", "new"]).status.success());
    plant_tree_link(&root, "new");
    let before = root.snapshot();
    let expected = "error[E114]: new/shop/v1_ConfigMap_leak.yaml is a symlink to ../../../outside/secret.yaml, outside the input path new; render reads only files under the paths it is given (allow it with --load-restrictor none)\nlayer-render: 1 error(s), 0 warning(s); nothing was written\n";
    for format in ["text", "markdown", "json"] {
        let out = root.run(&["diff", "old", "new", "--format", format]);
        assert_refused(&root, &before, &out);
        if format != "json" {
            assert_eq!(stderr(&out), expected);
        } else {
            assert!(
                stderr(&out).contains("\"code\": \"E114\""),
                "{}",
                stderr(&out)
            );
        }
    }
    let out = root.run(&["check", "new", "manifests"]);
    assert_refused(&root, &before, &out);
    assert_eq!(stderr(&out), expected);
    // A link to a file that is not YAML is refused by check too: it compares every file.
    std::fs::remove_file(root.path("ws/new/shop/v1_ConfigMap_leak.yaml")).unwrap();
    root.link("../../../outside/secret.yaml", "ws/new/shop/notes.txt");
    let before = root.snapshot();
    let out = root.run(&["check", "new", "manifests"]);
    assert_refused(&root, &before, &out);
    assert_eq!(
        stderr(&out),
        "error[E114]: new/shop/notes.txt is a symlink to ../../../outside/secret.yaml, outside the input path new; render reads only files under the paths it is given (allow it with --load-restrictor none)\nlayer-render: 1 error(s), 0 warning(s); nothing was written\n"
    );
}

#[test]
fn a_provenance_record_that_is_a_link_is_not_read() {
    let root = Root::new();
    assert!(
        root.run(&["manifests", "--out", "rendered"])
            .status
            .success()
    );
    std::fs::remove_file(root.path("ws/rendered/.layer-render.json")).unwrap();
    root.link(
        "../../outside/secret.yaml",
        "ws/rendered/.layer-render.json",
    );
    let before = root.snapshot();
    let out = root.run(&["check", "rendered", "manifests"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stdout(&out).contains(SECRET));
    assert!(
        stdout(&out).contains(".layer-render.json is missing"),
        "{}",
        stdout(&out)
    );
    assert_eq!(root.snapshot(), before);
}
