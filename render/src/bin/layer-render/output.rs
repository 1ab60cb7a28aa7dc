//! Writing an `--out` tree so that a failed render never leaves a half-written or stale one.
//!
//! The new tree is written in full to a temporary sibling, then swapped in with renames; the
//! old tree is removed only after the swap. A render that is killed leaves the old tree in
//! place, and the next render removes the staging tree it left. A directory that holds anything but a previous
//! render (no `kustomization.yaml`) is never replaced, so a mistyped `--out .` cannot wipe a
//! repository.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Writes `files` (relative path, content) as the tree at `dir`, replacing any earlier render.
pub fn write_tree(dir: &Path, files: &[(String, String)]) -> Result<()> {
    let dir = normalize(dir)?;
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

    if let Err(err) = write_all(&staging, files) {
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    let had_old = dir.exists();
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
        fs::remove_dir_all(&retired)
            .with_context(|| format!("cannot remove {}", retired.display()))?;
    }
    Ok(())
}

/// Cleans up after a render that was killed: a staging tree is removed; a tree moved aside
/// but never replaced (killed between the two renames) is put back.
fn recover(parent: &Path, name: &str, dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if file_name.starts_with(&tmp) {
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        } else if file_name.starts_with(&old) {
            if dir.exists() {
                fs::remove_dir_all(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            } else {
                fs::rename(&path, dir)
                    .with_context(|| format!("cannot restore {}", dir.display()))?;
            }
        }
    }
    Ok(())
}

fn normalize(dir: &Path) -> Result<PathBuf> {
    let text = dir.to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." || dir.file_name().is_none() {
        bail!("--out needs a directory of its own, such as rendered/");
    }
    Ok(PathBuf::from(trimmed))
}

fn guard_existing(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!("{} exists and is not a directory", dir.display());
    }
    let empty = fs::read_dir(dir)?.next().is_none();
    if !empty && !dir.join("kustomization.yaml").is_file() {
        bail!(
            "refusing to replace {}: it is not empty and holds no kustomization.yaml from an earlier render",
            dir.display()
        );
    }
    Ok(())
}

fn write_all(root: &Path, files: &[(String, String)]) -> Result<()> {
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    // Each directory once, then the files on every core: a large tree is mostly file creation.
    let dirs: std::collections::BTreeSet<&str> = files
        .iter()
        .filter_map(|(relative, _)| relative.rsplit_once('/').map(|(d, _)| d))
        .collect();
    for dir in dirs {
        let path = root.join(dir);
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
    }
    let written = layer_render::par::map(files, |(relative, content)| {
        let path = root.join(relative);
        fs::write(&path, content).with_context(|| format!("cannot write {}", path.display()))
    });
    written.into_iter().collect()
}
