//! Writing an `--out` tree so that a failed render never leaves a half-written or stale one,
//! and never writes outside the tree.
//!
//! The new tree is written in full to a temporary sibling, then swapped in with renames; the
//! old tree is removed only after the swap. A render that is killed leaves the old tree in
//! place, and the next render removes the staging tree it left. A directory that holds
//! anything but a previous render (no `kustomization.yaml`) is never replaced, so a mistyped
//! `--out .` cannot wipe a repository.
//!
//! render runs on pull-request content, which can hold symlinks. So every file path is checked
//! to stay inside the tree, files are created new with `O_NOFOLLOW`, and a symlink where the
//! tree, its staging directory or its swapped-out copy would go is refused, never followed
//! or removed (`docs/security.md`).

use rayon::prelude::*;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use layer_render::emit::OutFile;

/// Writes `files` (relative path, content) as the tree at `dir`, replacing any earlier render.
pub fn write_tree(dir: &Path, files: &[OutFile]) -> Result<()> {
    let dir = out_dir(dir)?;
    for OutFile { path, .. } in files {
        confined(path)?;
    }
    refuse_linked_components(&dir)?;
    guard_existing(&dir)?;
    // The parent of a bare `rendered` is the empty path; read it as the current directory.
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.tmp-{pid}"));
    let retired = parent.join(format!(".{name}.old-{pid}"));
    recover(&parent, &name, &dir)?;

    // `create_dir` fails on anything already there, a planted symlink included.
    fs::create_dir(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
    if let Err(err) = write_all(&staging, files) {
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    let had_old = fs::symlink_metadata(&dir).is_ok();
    if had_old {
        fs::rename(&dir, &retired)
            .with_context(|| format!("cannot move {} aside", dir.display()))?;
    }
    if let Err(err) = fs::rename(&staging, &dir) {
        // Put the old tree back, so a failure leaves what was there.
        if had_old {
            let _ = fs::rename(&retired, &dir);
        }
        let _ = fs::remove_dir_all(&staging);
        return Err(err).with_context(|| format!("cannot move the new tree to {}", dir.display()));
    }
    if had_old {
        // `remove_dir_all` removes links inside the old tree without following them.
        fs::remove_dir_all(&retired)
            .with_context(|| format!("cannot remove {}", retired.display()))?;
    }
    Ok(())
}

/// Cleans up after a render that was killed: a staging tree is removed; a tree moved aside
/// but never replaced (killed between the two renames) is put back. Only real directories
/// are touched: render never makes symlinks, so one with these names was planted.
fn recover(parent: &Path, name: &str, dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(&tmp) && !file_name.starts_with(&old) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            bail!(
                "refusing to touch {}: layer-render keeps its staging trees under that name, and this is not one (a symlink or a file); remove it",
                path.display()
            );
        }
        if file_name.starts_with(&tmp) || fs::symlink_metadata(dir).is_ok() {
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        } else {
            fs::rename(&path, dir).with_context(|| format!("cannot restore {}", dir.display()))?;
        }
    }
    Ok(())
}

/// `--out` without trailing slashes, refused when it names no directory of its own: the tree
/// replaces the directory, so `.` or `..` would replace the caller's.
pub fn out_dir(dir: &Path) -> Result<PathBuf> {
    let text = dir.to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." || dir.file_name().is_none() {
        bail!("--out needs a directory of its own, such as rendered/");
    }
    Ok(PathBuf::from(trimmed))
}

/// The second wall behind identity validation: a file path is relative and made of plain
/// names only, so it cannot leave the tree.
fn confined(relative: &str) -> Result<()> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && !relative.contains('\0')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(n) if n != "." && n != ".."));
    if !plain {
        bail!("refusing to write {relative:?}: the path would leave the output directory");
    }
    Ok(())
}

/// The checkout that render runs in is the pull request's, so no part of `--out` inside the
/// current directory may be a symlink: a committed `deploy -> /home/runner` would otherwise
/// carry the tree out. A path outside the current directory (`$RUNNER_TEMP/out`) is the
/// caller's own and taken as given, except its last component.
fn refuse_linked_components(dir: &Path) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let inside = if dir.is_absolute() {
        dir.strip_prefix(&cwd).ok().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    };
    let mut checked = Vec::new();
    if let Some(inside) = inside {
        let mut at = cwd.clone();
        for component in inside.components() {
            at.push(component);
            checked.push(at.clone());
        }
    }
    checked.push(dir.to_path_buf());
    for path in checked {
        let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            let target = fs::read_link(&path).unwrap_or_default();
            bail!(
                "refusing to write through {}: it is a symlink (to {}); --out writes only into real directories",
                path.display(),
                target.display()
            );
        }
    }
    Ok(())
}

fn guard_existing(dir: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(());
    };
    if !meta.is_dir() {
        bail!("{} exists and is not a directory", dir.display());
    }
    let empty = fs::read_dir(dir)?.next().is_none();
    let rendered_before =
        fs::symlink_metadata(dir.join("kustomization.yaml")).is_ok_and(|m| m.is_file());
    if !empty && !rendered_before {
        bail!(
            "refusing to replace {}: it is not empty and holds no kustomization.yaml from an earlier render",
            dir.display()
        );
    }
    Ok(())
}

fn write_all(root: &Path, files: &[OutFile]) -> Result<()> {
    // Each directory once, parents first, then the files on every core: a large tree is
    // mostly file creation.
    let mut dirs = std::collections::BTreeSet::new();
    for OutFile { path, .. } in files {
        let mut parent = Path::new(path).parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir);
            parent = dir.parent();
        }
    }
    for dir in dirs {
        let path = root.join(dir);
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
    }
    let written: Vec<Result<()>> = files
        .par_iter()
        .map(|OutFile { path, text, .. }| {
            let path = root.join(path);
            create_new(&path)
                .and_then(|mut file| file.write_all(text.as_bytes()))
                .with_context(|| format!("cannot write {}", path.display()))
        })
        .collect();
    written.into_iter().collect()
}

/// A new file, never an existing one and never through a symlink.
fn create_new(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_written() {
        for ok in [
            "kustomization.yaml",
            "shop/v1_ConfigMap_a.yaml",
            "apps/shop/x.yaml",
        ] {
            assert!(confined(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.yaml",
            "shop/../../x.yaml",
            "./x.yaml",
            "a\0b",
        ] {
            let err = confined(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("refusing to write {bad:?}: the path would leave the output directory")
            );
        }
    }

    #[test]
    fn a_file_is_never_created_through_a_link_or_over_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        let link = tmp.path().join("link.yaml");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(create_new(&link).is_err());
        assert!(create_new(&outside).is_err());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    }
}
