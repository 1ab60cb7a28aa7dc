//! The inputs and flags of an `--out` render, as its provenance record keeps them: paths
//! relative to the tree, so that `layer-render check DIR` can render it again from any
//! directory, on any machine.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use layer_render::emit::provenance::RenderedWith;

use crate::cli::{InputArgs, RecordedFlags};

/// What a render into `dir` from `paths` with `input` records; `None` when an input is stdin
/// or the current directory cannot be read.
pub fn rendered_with(dir: &Path, paths: &[PathBuf], input: &InputArgs) -> Option<RenderedWith> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let dir = absolute(&cwd, dir);
    let relative = |path: &Path| relative_to(&dir, &absolute(&cwd, path));
    Some(RenderedWith {
        inputs: paths.iter().map(|p| relative(p)).collect(),
        flags: input.words(relative),
    })
}

/// The inputs and flags a record names, with its paths resolved against `dir`.
pub fn recorded_input(dir: &Path, with: &RenderedWith) -> Result<(Vec<PathBuf>, InputArgs)> {
    let parsed = RecordedFlags::try_parse_from(&with.flags)
        .map_err(|err| anyhow::anyhow!("{}", err.to_string().trim_end()))
        .with_context(|| format!("the flags recorded in {} cannot be read", record_name(dir)))?;
    let mut input = parsed.input;
    input.rendering.profile = input.rendering.profile.map(|p| resolve(dir, &p));
    input.nodepools = input.nodepools.iter().map(|p| resolve(dir, p)).collect();
    if with.inputs.is_empty() {
        bail!("{} records no inputs", record_name(dir));
    }
    let paths = with
        .inputs
        .iter()
        .map(|p| resolve(dir, Path::new(p)))
        .collect();
    Ok((paths, input))
}

fn record_name(dir: &Path) -> String {
    dir.join(layer_render::emit::provenance::FILE)
        .display()
        .to_string()
}

/// `path` against `cwd`, with `.` and `..` resolved by name.
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// Resolves `.` and `..` by name: `a/./b/../c` is `a/c`, and `..` that climbs above a
/// relative path's start stays.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let climbs = matches!(
                    out.components().next_back(),
                    None | Some(Component::ParentDir)
                );
                if climbs {
                    out.push("..");
                } else if !matches!(
                    out.components().next_back(),
                    Some(Component::RootDir | Component::Prefix(_))
                ) {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The path from directory `from` to `to`, both absolute and normalized, with `/`.
fn relative_to(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// A path recorded relative to `dir`, as a path from the current directory (or absolute,
/// when `dir` is).
fn resolve(dir: &Path, recorded: &Path) -> PathBuf {
    let resolved = normalize(&dir.join(recorded));
    if resolved.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        resolved
    }
}

/// A file's text, refused when the file is a symlink: the provenance record is read from a
/// committed tree, which may hold a link planted anywhere.
pub fn read_no_follow(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let mut text = String::new();
    options.open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_recorded_relative_to_the_tree_and_resolved_back() {
        let cwd = Path::new("/repo");
        let dir = absolute(cwd, Path::new("deploy/rendered/"));
        let rel = |p: &str| relative_to(&dir, &absolute(cwd, Path::new(p)));
        assert_eq!(rel("manifests"), "../../manifests");
        assert_eq!(rel("./deploy/profile.yaml"), "../profile.yaml");
        assert_eq!(rel("deploy/rendered/x"), "x");
        assert_eq!(rel("/elsewhere/crs"), "../../../elsewhere/crs");
        assert_eq!(
            resolve(Path::new("deploy/rendered"), Path::new("../../manifests")),
            PathBuf::from("manifests")
        );
        assert_eq!(
            resolve(Path::new("rendered"), Path::new("../../up")),
            PathBuf::from("../up")
        );
        assert_eq!(
            resolve(Path::new("/tmp/out"), Path::new("../in")),
            PathBuf::from("/tmp/in")
        );
        assert_eq!(resolve(Path::new("a"), Path::new("..")), PathBuf::from("."));
    }
}
