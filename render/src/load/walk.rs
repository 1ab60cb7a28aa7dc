//! Walking an input directory without leaving it.
//!
//! render runs on pull-request content, so a symlink in the input may point anywhere on the
//! machine. Like kustomize's default `LoadRestrictionsRootOnly`, a link is followed only when
//! it resolves inside the path named on the command line (the root); anything else is an
//! E114 that names the link and its target. A chain of links with no end, or a directory link
//! back into its own ancestors, is an E115. The root itself is read as given.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};

use super::{display, io_error};

/// Where symlinks found inside an input directory may lead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadRestrictor {
    /// Only inside the directory named on the command line.
    #[default]
    #[value(name = "root-only", alias = "LoadRestrictionsRootOnly")]
    RootOnly,
    /// Anywhere: for a repository that links shared manifests in on purpose.
    #[value(name = "none", alias = "LoadRestrictionsNone")]
    None,
}

/// Which files a walk collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// `*.yaml` and `*.yml`, except `kustomization.yaml`: the inputs of a render.
    Manifests,
    /// Every file: the bytes of a committed `--out` tree.
    Everything,
}

/// The files found under one root, in sorted order, and every problem met on the way.
#[derive(Debug, Default)]
pub struct Walked {
    /// Paths as the user would write them: the root joined with the names below it.
    pub files: Vec<PathBuf>,
    /// Unreadable directories, links out of the root and link loops.
    pub diagnostics: Vec<Diagnostic>,
}

/// The files under `root`: the root itself when it is not a directory, else every selected
/// file below it, skipping names that start with `.`.
pub fn walk(root: &Path, select: Select, restrictor: LoadRestrictor) -> Walked {
    let mut walked = Walked::default();
    let meta = match std::fs::metadata(root) {
        Ok(meta) => meta,
        Err(err) => {
            walked.diagnostics.push(*io_error(root, &err));
            return walked;
        }
    };
    if !meta.is_dir() {
        walked.files.push(root.to_path_buf());
        return walked;
    }
    let real_root = match std::fs::canonicalize(root) {
        Ok(real) => real,
        Err(err) => {
            walked.diagnostics.push(*io_error(root, &err));
            return walked;
        }
    };
    let walker = Walker {
        root,
        real_root: &real_root,
        select,
        restrictor,
    };
    // Each directory carries the real paths of itself and its ancestors, so a link back up
    // the tree is a loop, while two links to one sibling directory are not.
    let mut stack = vec![(root.to_path_buf(), vec![real_root.clone()])];
    while let Some((dir, chain)) = stack.pop() {
        let mut subdirs = Vec::new();
        walker.read_dir(&dir, &chain, &mut walked, &mut subdirs);
        // Depth-first in sorted order: push in reverse so the first subdirectory comes next.
        stack.extend(subdirs.into_iter().rev());
    }
    walked.files.sort();
    walked
}

struct Walker<'a> {
    root: &'a Path,
    real_root: &'a Path,
    select: Select,
    restrictor: LoadRestrictor,
}

/// What one directory entry turned out to be.
enum Entry {
    File,
    Dir(PathBuf),
    Skip,
}

impl Walker<'_> {
    fn read_dir(
        &self,
        dir: &Path,
        chain: &[PathBuf],
        walked: &mut Walked,
        subdirs: &mut Vec<(PathBuf, Vec<PathBuf>)>,
    ) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                walked.diagnostics.push(*io_error(dir, &err));
                return;
            }
        };
        // The type comes with the entry on most file systems, which saves a stat per file
        // in a tree of 78,000.
        let mut names = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => names.push((entry.file_name(), entry.file_type().ok())),
                Err(err) => walked.diagnostics.push(*io_error(dir, &err)),
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let real_dir = chain.last().map_or(self.real_root, PathBuf::as_path);
        for (name, file_type) in names {
            let name_str = name.to_string_lossy();
            if name_str.starts_with('.') {
                continue;
            }
            let path = dir.join(&name);
            match self.entry(&path, file_type, &real_dir.join(&name), &name_str, chain) {
                Ok(Entry::File) => walked.files.push(path),
                Ok(Entry::Dir(real)) => {
                    let mut inner = chain.to_vec();
                    inner.push(real);
                    subdirs.push((path, inner));
                }
                Ok(Entry::Skip) => {}
                Err(diagnostic) => walked.diagnostics.push(diagnostic),
            }
        }
    }

    /// Classifies `path` (of `file_type`, when the directory listing told it), whose real
    /// location would be `real` if it is not a link.
    fn entry(
        &self,
        path: &Path,
        file_type: Option<std::fs::FileType>,
        real: &Path,
        name: &str,
        chain: &[PathBuf],
    ) -> Result<Entry, Diagnostic> {
        let file_type = match file_type {
            Some(file_type) => file_type,
            None => std::fs::symlink_metadata(path)
                .map_err(|e| *io_error(path, &e))?
                .file_type(),
        };
        if !file_type.is_symlink() {
            return Ok(if file_type.is_dir() {
                Entry::Dir(real.to_path_buf())
            } else {
                self.file(name)
            });
        }
        let target = std::fs::read_link(path).map_err(|e| *io_error(path, &e))?;
        let resolved = match std::fs::canonicalize(path) {
            Ok(resolved) => resolved,
            // A dangling link is reported when the file is read (E100), as before.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(self.file(name)),
            Err(err) if is_loop(&err) => {
                return Err(Diagnostic::new(
                    Code::LinkLoop,
                    format!(
                        "{} is a symlink loop: following {} never reaches a file",
                        display(path),
                        display(&target)
                    ),
                ));
            }
            Err(err) => return Err(*io_error(path, &err)),
        };
        let is_dir = std::fs::metadata(&resolved).is_ok_and(|m| m.is_dir());
        let selected = is_dir || matches!(self.file(name), Entry::File);
        if !selected {
            return Ok(Entry::Skip);
        }
        if self.restrictor == LoadRestrictor::RootOnly && !resolved.starts_with(self.real_root) {
            return Err(Diagnostic::new(
                Code::LinkOutsideRoot,
                format!(
                    "{} is a symlink to {}, outside the input path {}; render reads only files under the paths it is given (allow it with --load-restrictor none)",
                    display(path),
                    display(&target),
                    display(self.root)
                ),
            ));
        }
        if !is_dir {
            return Ok(Entry::File);
        }
        if let Some(ancestor) = chain.iter().position(|c| *c == resolved) {
            let back_to = self.shown(&chain[ancestor]);
            return Err(Diagnostic::new(
                Code::LinkLoop,
                format!(
                    "{} is a symlink loop: {} leads back to {back_to}, which contains the link",
                    display(path),
                    display(&target),
                ),
            ));
        }
        Ok(Entry::Dir(resolved))
    }

    fn file(&self, name: &str) -> Entry {
        match self.select {
            Select::Everything => Entry::File,
            Select::Manifests if is_manifest_name(name) => Entry::File,
            Select::Manifests => Entry::Skip,
        }
    }

    /// A real directory in the user's terms: under the root as they named it when it can be.
    fn shown(&self, real: &Path) -> String {
        match real.strip_prefix(self.real_root) {
            Ok(rest) if rest.as_os_str().is_empty() => display(self.root),
            Ok(rest) => display(&self.root.join(rest)),
            Err(_) => display(real),
        }
    }
}

/// `*.yaml` and `*.yml`, except a kustomization.
pub fn is_manifest_name(name: &str) -> bool {
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    yaml && name != "kustomization.yaml" && name != "kustomization.yml"
}

/// ELOOP: too many levels of symbolic links.
fn is_loop(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn messages(walked: &Walked) -> Vec<String> {
        walked.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn names(walked: &Walked, root: &Path) -> Vec<String> {
        walked
            .files
            .iter()
            .map(|f| display(f.strip_prefix(root).unwrap()))
            .collect()
    }

    /// `tmp/in` with `a.yaml`, `sub/b.yml`, `notes.txt`, and `tmp/secret.yaml` beside it.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.yaml"), "a").unwrap();
        std::fs::write(root.join("sub/b.yml"), "b").unwrap();
        std::fs::write(root.join("notes.txt"), "n").unwrap();
        std::fs::write(tmp.path().join("secret.yaml"), "s").unwrap();
        (tmp, root)
    }

    #[test]
    fn manifests_are_found_in_sorted_order_and_everything_takes_all_files() {
        let (_tmp, root) = tree();
        let walked = walk(&root, Select::Manifests, LoadRestrictor::RootOnly);
        assert_eq!(names(&walked, &root), ["a.yaml", "sub/b.yml"]);
        let walked = walk(&root, Select::Everything, LoadRestrictor::RootOnly);
        assert_eq!(names(&walked, &root), ["a.yaml", "notes.txt", "sub/b.yml"]);
    }

    #[test]
    fn links_inside_the_root_are_followed() {
        let (_tmp, root) = tree();
        symlink("a.yaml", root.join("link.yaml")).unwrap();
        symlink("sub", root.join("linked-dir")).unwrap();
        let walked = walk(&root, Select::Manifests, LoadRestrictor::RootOnly);
        assert_eq!(messages(&walked), Vec::<String>::new());
        assert_eq!(
            names(&walked, &root),
            ["a.yaml", "link.yaml", "linked-dir/b.yml", "sub/b.yml"]
        );
    }

    #[test]
    fn a_file_or_directory_link_out_of_the_root_is_refused_and_named() {
        let (tmp, root) = tree();
        symlink("../secret.yaml", root.join("leak.yaml")).unwrap();
        symlink(tmp.path(), root.join("up")).unwrap();
        let walked = walk(&root, Select::Manifests, LoadRestrictor::RootOnly);
        let shown = display(&root);
        assert_eq!(
            messages(&walked),
            [
                format!(
                    "error[E114]: {shown}/leak.yaml is a symlink to ../secret.yaml, outside the input path {shown}; render reads only files under the paths it is given (allow it with --load-restrictor none)"
                ),
                format!(
                    "error[E114]: {shown}/up is a symlink to {}, outside the input path {shown}; render reads only files under the paths it is given (allow it with --load-restrictor none)",
                    display(tmp.path())
                ),
            ]
        );
        assert_eq!(names(&walked, &root), ["a.yaml", "sub/b.yml"]);
    }

    #[test]
    fn a_link_out_of_the_root_that_would_not_be_read_is_ignored() {
        let (tmp, root) = tree();
        symlink(tmp.path().join("secret.yaml"), root.join("notes.md")).unwrap();
        let walked = walk(&root, Select::Manifests, LoadRestrictor::RootOnly);
        assert_eq!(messages(&walked), Vec::<String>::new());
        let walked = walk(&root, Select::Everything, LoadRestrictor::RootOnly);
        assert_eq!(walked.diagnostics.len(), 1);
        assert_eq!(walked.diagnostics[0].code, Code::LinkOutsideRoot);
    }

    #[test]
    fn the_restrictor_none_follows_links_out_of_the_root() {
        let (_tmp, root) = tree();
        symlink("../secret.yaml", root.join("leak.yaml")).unwrap();
        let walked = walk(&root, Select::Manifests, LoadRestrictor::None);
        assert_eq!(messages(&walked), Vec::<String>::new());
        assert_eq!(names(&walked, &root), ["a.yaml", "leak.yaml", "sub/b.yml"]);
    }

    #[test]
    fn loops_of_links_are_reported_not_followed() {
        let (_tmp, root) = tree();
        symlink("loop-b.yaml", root.join("loop-a.yaml")).unwrap();
        symlink("loop-a.yaml", root.join("loop-b.yaml")).unwrap();
        symlink("..", root.join("sub/up")).unwrap();
        for restrictor in [LoadRestrictor::RootOnly, LoadRestrictor::None] {
            let walked = walk(&root, Select::Manifests, restrictor);
            let shown = display(&root);
            assert_eq!(
                messages(&walked),
                [
                    format!(
                        "error[E115]: {shown}/loop-a.yaml is a symlink loop: following loop-b.yaml never reaches a file"
                    ),
                    format!(
                        "error[E115]: {shown}/loop-b.yaml is a symlink loop: following loop-a.yaml never reaches a file"
                    ),
                    format!(
                        "error[E115]: {shown}/sub/up is a symlink loop: .. leads back to {shown}, which contains the link"
                    ),
                ]
            );
        }
    }

    #[test]
    fn a_root_given_as_a_file_or_a_link_is_read_as_given() {
        let (tmp, root) = tree();
        let file = tmp.path().join("secret.yaml");
        let walked = walk(&file, Select::Manifests, LoadRestrictor::RootOnly);
        assert_eq!(walked.files, [file]);
        let linked_root = tmp.path().join("linked-in");
        symlink(&root, &linked_root).unwrap();
        let walked = walk(&linked_root, Select::Manifests, LoadRestrictor::RootOnly);
        assert_eq!(messages(&walked), Vec::<String>::new());
        assert_eq!(names(&walked, &linked_root), ["a.yaml", "sub/b.yml"]);
    }
}
