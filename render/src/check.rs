//! Check: is a committed `--out` tree what a fresh render would write?
//!
//! The tree is compared with the render's files both object by object (for the grouped
//! summary) and byte by byte (a reformatted or hand-added file also makes it stale), and its
//! provenance record tells hand edits from changed inputs or flags. Files and directories
//! whose names start with `.` are not compared, like the loader skips them.
//!
//! Pure: the files a render would write and the tree's contents in, a [`Report`] out; the
//! binary renders, reads the tree against the render (a file with the render's bytes is not
//! kept: [`Committed::AsRendered`]), and prints. [`prepare`] reads the committed objects (its
//! diagnostics decide whether there is anything to compare), then [`Prepared::compare`]
//! makes the report. The render names the object of each file it writes
//! ([`OutFile::object`]), so its files are not read back for their identities; tests check
//! that they read. When no file is stale and the record has nothing to say, no committed
//! object is read either: the render's objects are counted.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::diff::{self, DiffOptions, Item, read};
use crate::emit::OutFile;
use crate::emit::provenance::{FILE, Provenance, file_hash};
use crate::key::{ObjectKey, shares_identity};
use crate::load::{self, scan, walk};
use crate::shell::quote;

/// The most stale files a report lists by name.
const LISTED_FILES: usize = 20;

/// A committed tree, as read from disk.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    /// Whether the directory exists at all.
    pub exists: bool,
    /// Every file under it but dot-entries: path relative to the tree with `/`, and contents.
    pub files: BTreeMap<String, Committed>,
    /// The text of its provenance record ([`FILE`]); `None` when it cannot be read.
    pub record: Option<String>,
}

/// A committed file, as read against the render.
#[derive(Clone, Debug, PartialEq)]
pub enum Committed {
    /// The very bytes a render writes at its path: compared as it was read, and not kept.
    /// Nearly every file of a large tree is one. Only for a path the render writes.
    AsRendered,
    /// Its bytes.
    Bytes(Vec<u8>),
}

/// How a committed file differs from the one a render would write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// A render would write it; the tree lacks it.
    Missing,
    /// Its bytes differ.
    Changed,
    /// A render would not write it.
    Extra,
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            FileState::Missing => "missing",
            FileState::Changed => "changed",
            FileState::Extra => "extra",
        })
    }
}

/// A tree read against a render, ready to compare.
#[derive(Debug)]
pub struct Prepared {
    /// Problems reading the committed objects; compare only when none is an error.
    pub diagnostics: Vec<Diagnostic>,
    name: String,
    exists: bool,
    objects: Objects,
    unreadable_render: Vec<Diagnostic>,
    stale_files: Vec<(String, FileState)>,
    provenance: Vec<String>,
}

/// The objects of both sides: read only when some file differs.
#[derive(Debug)]
enum Objects {
    /// Every file holds the bytes a render writes, and nothing else is there: the render's
    /// objects are counted, not read.
    Counted(usize),
    /// Both sides' objects to compare, and the objects of the files as rendered, equal on
    /// both.
    Read {
        committed: Vec<Item>,
        expected: Vec<Item>,
        same: Vec<Item>,
    },
}

/// The outcome of a check.
#[derive(Debug)]
pub struct Report {
    /// The tree, as named on the command line.
    pub name: String,
    /// Whether the tree exists.
    pub exists: bool,
    /// How many objects a render writes.
    pub objects: usize,
    /// The committed objects against the rendered ones.
    pub diff: diff::Report,
    /// The files whose bytes differ, in path order.
    pub stale_files: Vec<(String, FileState)>,
    /// What the provenance record says: hand edits, changed inputs or flags.
    pub provenance: Vec<String>,
    /// Rendered files written as text alone (the Flux Kustomizations) that do not read back:
    /// always a bug.
    pub diagnostics: Vec<Diagnostic>,
    /// Both sides' objects, so that a caller about to exit can skip freeing them.
    pub items: (Vec<Item>, Vec<Item>),
}

/// Reads the committed tree at `dir` (`tree`) against `expected`, the files of a fresh
/// render with its provenance record last ([`crate::render::RenderOptions::out_tree`]).
pub fn prepare(dir: &Path, mut expected: Vec<OutFile>, tree: Tree) -> Prepared {
    let Tree {
        exists,
        files: on_disk,
        record: committed_record,
    } = tree;
    // The provenance record is last; it is a dot file, which the tree leaves out.
    let record = expected.pop().map(|file| file.text).unwrap_or_default();
    let Standing {
        expected_same,
        committed_same,
        stale: mut stale_files,
    } = standing(&expected, &on_disk);
    let provenance = provenance_findings(
        exists,
        committed_record.as_deref(),
        &record,
        &on_disk,
        &committed_same,
        stale_files.is_empty(),
    );
    if exists && !provenance.is_empty() && !stale_files.iter().any(|(p, _)| p == FILE) {
        stale_files.push((FILE.to_string(), FileState::Changed));
    }
    if exists && stale_files.is_empty() {
        // Up to date: the render's own files need not be read back to say so.
        let objects = expected
            .par_iter()
            .filter(|file| is_object_file(&file.path))
            .map(|file| match file.object {
                Some(_) => 1,
                None => scan::split(&file.text).len(),
            })
            .sum();
        return Prepared {
            diagnostics: Vec::new(),
            name: dir.display().to_string(),
            exists,
            objects: Objects::Counted(objects),
            unreadable_render: Vec::new(),
            stale_files,
            provenance,
        };
    }
    // Compare like with like: the objects of the files a render would write (Flux
    // Kustomizations included) against the objects committed. The render names the object
    // of each of its own files; only the others are read. A committed file with the bytes a
    // render would write holds the same objects: they are equal, so neither read again nor
    // compared, which is nearly every file of a large tree.
    let mut expected_items = Vec::new();
    let mut same_objects = Vec::new();
    let mut unnamed: Vec<(read::File, bool)> = Vec::new();
    for (OutFile { path, text, object }, same) in expected.into_iter().zip(expected_same) {
        if !is_object_file(&path) {
            continue;
        }
        let Some(key) = object else {
            unnamed.push(((Arc::from(path), Arc::new(text)), same));
            continue;
        };
        let item = read::rendered_item(key, Arc::from(path.as_str()), text);
        match same {
            true => same_objects.push(item),
            false => expected_items.push(item),
        }
    }
    let (unnamed, unnamed_same): (Vec<read::File>, Vec<bool>) = unnamed.into_iter().unzip();
    let (unnamed_items, unreadable_render) = read::items_by_file(&unnamed);
    for (items, same) in unnamed_items.into_iter().zip(unnamed_same) {
        match same {
            true => same_objects.extend(items),
            false => expected_items.extend(items),
        }
    }
    let mut expected = expected_items;
    let (mut committed, diagnostics) = committed_items(dir, on_disk, &committed_same);
    // Unless one of them shares its identity with another object: the comparison reports
    // that, so it gets them all.
    fn keys(items: &[Item]) -> impl Iterator<Item = &ObjectKey> {
        items.iter().map(|item| &item.key)
    }
    if shares_identity(keys(&same_objects), keys(&committed).chain(keys(&expected))) {
        committed.extend(same_objects.iter().cloned());
        expected.append(&mut same_objects);
    }
    Prepared {
        diagnostics,
        name: dir.display().to_string(),
        exists,
        objects: Objects::Read {
            committed,
            expected,
            same: same_objects,
        },
        unreadable_render,
        stale_files,
        provenance,
    }
}

impl Prepared {
    /// Compares the committed objects with the rendered ones.
    pub fn compare(self) -> Result<Report, diff::Error> {
        let (objects, diff, items) = match self.objects {
            Objects::Counted(objects) => {
                let diff = diff::Report {
                    unchanged: objects,
                    ..diff::Report::default()
                };
                (objects, diff, (Vec::new(), Vec::new()))
            }
            Objects::Read {
                committed,
                mut expected,
                mut same,
            } => {
                let mut diff = diff::diff_items(&committed, &expected, &DiffOptions::default())?;
                diff.unchanged += same.len();
                expected.append(&mut same);
                (expected.len(), diff, (committed, expected))
            }
        };
        Ok(Report {
            name: self.name,
            exists: self.exists,
            objects,
            diff,
            stale_files: self.stale_files,
            provenance: self.provenance,
            diagnostics: self.unreadable_render,
            items,
        })
    }
}

impl Report {
    /// True when the tree holds exactly what a render writes.
    pub fn is_up_to_date(&self) -> bool {
        self.diff.is_empty() && self.stale_files.is_empty()
    }

    /// The report as text; `regenerate` is the command that rewrites the tree.
    pub fn text(&self, regenerate: &str) -> String {
        let name = &self.name;
        if self.is_up_to_date() {
            return format!("{name} is up to date ({} objects)\n", self.objects);
        }
        let mut out = if self.exists {
            format!("{name} is out of date: ")
        } else {
            format!("{name} does not exist: ")
        };
        out.push_str(&diff::text::summary(&self.diff, false));
        for finding in &self.provenance {
            out.push_str(&format!("  {finding}\n"));
        }
        let stale = &self.stale_files;
        if !stale.is_empty() {
            out.push_str(&format!("{} file(s) differ:\n", stale.len()));
            for (path, state) in stale.iter().take(LISTED_FILES) {
                out.push_str(&format!("  {state:<8} {path}\n"));
            }
            if stale.len() > LISTED_FILES {
                out.push_str(&format!("  and {} more\n", stale.len() - LISTED_FILES));
            }
        }
        out.push_str("Regenerate it with:\n  ");
        out.push_str(regenerate);
        out.push('\n');
        out
    }
}

/// Whether a file of an `--out` tree holds objects: every YAML file but the kustomization.
fn is_object_file(path: &str) -> bool {
    walk::is_manifest_name(path.rsplit('/').next().unwrap_or(path))
}

/// The objects of a committed tree's YAML files, read as document texts, with every problem;
/// but those of the files that hold the very bytes a render would write (`same`, by file in
/// path order).
fn committed_items(
    dir: &Path,
    on_disk: BTreeMap<String, Committed>,
    same: &[bool],
) -> (Vec<Item>, Vec<Diagnostic>) {
    /// One file, sorted out on any core.
    enum Sorted {
        Text(read::File),
        Unreadable(Vec<Diagnostic>),
    }
    let files: Vec<(String, Vec<u8>)> = on_disk
        .into_iter()
        .zip(same)
        .filter(|((path, _), same)| is_object_file(path) && !**same)
        .filter_map(|((path, file), _)| match file {
            Committed::Bytes(bytes) => Some((path, bytes)),
            // Read as rendered, so in `same`.
            Committed::AsRendered => None,
        })
        .collect();
    let sorted: Vec<Sorted> = files
        .into_par_iter()
        .map(|(path, bytes)| {
            let name = load::display(&dir.join(&path));
            match String::from_utf8(bytes) {
                Ok(text) => Sorted::Text((Arc::from(name), Arc::new(text))),
                // The loader's own message, with the position of the first bad byte.
                Err(err) => Sorted::Unreadable(
                    load::load_bytes(&name, err.as_bytes(), &read::document_limits()).diagnostics,
                ),
            }
        })
        .collect();
    let mut diagnostics = Vec::new();
    let mut texts: Vec<read::File> = Vec::new();
    for file in sorted {
        match file {
            Sorted::Text(text) => texts.push(text),
            Sorted::Unreadable(found) => diagnostics.extend(found),
        }
    }
    let (items, found) = read::items(&texts);
    diagnostics.extend(found);
    (items, diagnostics)
}

/// What the committed provenance record (`committed`) says about the tree: hand edits, and
/// inputs or options that changed since it was rendered. Empty when it matches `expected`.
/// `same`: whether each file on disk holds the bytes a render writes; `as_rendered`: every
/// file, and no other, does.
fn provenance_findings(
    exists: bool,
    committed: Option<&str>,
    expected: &str,
    on_disk: &BTreeMap<String, Committed>,
    same: &[bool],
    as_rendered: bool,
) -> Vec<String> {
    let Some(text) = committed else {
        return if exists {
            vec![format!(
                "{FILE} is missing: the tree was not written by layer-render --out"
            )]
        } else {
            Vec::new()
        };
    };
    // The same record over the same files says nothing new: no need to read it.
    if as_rendered && text == expected {
        return Vec::new();
    }
    let (Ok(recorded), Ok(fresh)) =
        rayon::join(|| Provenance::parse(text), || Provenance::parse(expected))
    else {
        return vec![format!("{FILE} cannot be read")];
    };
    // A file with the bytes a render would write has the hash the fresh record holds; only
    // the others are hashed.
    let files: Vec<(&String, &Committed)> = on_disk.iter().collect();
    let hashes: Vec<(&str, Cow<'_, str>)> = files
        .par_iter()
        .zip(same)
        .filter_map(|(&(path, file), &same)| {
            let hash = match file {
                _ if same => Cow::Borrowed(fresh.files.get(path)?.as_str()),
                Committed::Bytes(bytes) => Cow::Owned(file_hash(&String::from_utf8_lossy(bytes))),
                Committed::AsRendered => return None,
            };
            Some((path.as_str(), hash))
        })
        .collect();
    let mut findings = recorded.hand_edits(hashes.iter().map(|(p, h)| (*p, h.as_ref())));
    if recorded.input_digest != fresh.input_digest {
        findings.push("the inputs changed since the last render".into());
    }
    if recorded.options_digest != fresh.options_digest {
        findings.push("the profile or the render flags changed since the last render".into());
    }
    // Other flags show in the options digest; other inputs would be rendered by a later
    // `check DIR`.
    if let (Some(before), Some(now)) = (&recorded.rendered_with, &fresh.rendered_with)
        && before.inputs != now.inputs
    {
        let words = |inputs: &[String]| {
            inputs
                .iter()
                .map(|s| quote(s))
                .collect::<Vec<_>>()
                .join(" ")
        };
        findings.push(format!(
            "the record names other inputs ({}) than these ({}), relative to the tree",
            words(&before.inputs),
            words(&now.inputs)
        ));
    }
    if recorded.renderer != fresh.renderer {
        findings.push(format!(
            "rendered by {}, checked with {}",
            recorded.renderer, fresh.renderer
        ));
    }
    findings
}

/// The render's files and the tree's, side by side.
struct Standing {
    /// Per file of the render, in its order: whether the tree holds its very bytes.
    expected_same: Vec<bool>,
    /// Per file of the tree, in path order: whether it holds the very bytes a render writes.
    committed_same: Vec<bool>,
    /// The files that a fresh render would add, change or delete, in path order.
    stale: Vec<(String, FileState)>,
}

/// Where each file stands: both sides are walked once in path order, and the files on both
/// compared on every core, instead of looking each path up on the other side.
fn standing(expected: &[OutFile], on_disk: &BTreeMap<String, Committed>) -> Standing {
    let mut order: Vec<usize> = (0..expected.len()).collect();
    order.par_sort_by(|&a, &b| expected[a].path.cmp(&expected[b].path));
    // Render writes each path once: no two of its objects share an identity (E110).
    debug_assert!(
        order
            .windows(2)
            .all(|w| expected[w[0]].path != expected[w[1]].path),
        "two render files at one path"
    );
    let disk: Vec<(&String, &Committed)> = on_disk.iter().collect();
    // (render file, tree file), by index, in path order.
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(disk.len());
    let mut next = disk
        .iter()
        .map(|(path, _)| path.as_str())
        .enumerate()
        .peekable();
    for &i in &order {
        let path = expected[i].path.as_str();
        while let Some((j, _)) = next.next_if(|(_, p)| *p < path) {
            pairs.push((None, Some(j)));
        }
        let j = next.next_if(|(_, p)| *p == path).map(|(j, _)| j);
        pairs.push((Some(i), j));
    }
    pairs.extend(next.map(|(j, _)| (None, Some(j))));
    let same: Vec<bool> = pairs
        .par_iter()
        .map(|&pair| match pair {
            (Some(i), Some(j)) => match disk[j].1 {
                Committed::AsRendered => true,
                Committed::Bytes(bytes) => *bytes == expected[i].text.as_bytes(),
            },
            _ => false,
        })
        .collect();
    let mut standing = Standing {
        expected_same: vec![false; expected.len()],
        committed_same: vec![false; disk.len()],
        stale: Vec::new(),
    };
    for (&(i, j), same) in pairs.iter().zip(same) {
        let state = match (i, j) {
            (Some(i), Some(j)) => {
                standing.expected_same[i] = same;
                standing.committed_same[j] = same;
                (!same).then_some((&expected[i].path, FileState::Changed))
            }
            (Some(i), None) => Some((&expected[i].path, FileState::Missing)),
            (None, Some(j)) => Some((disk[j].0, FileState::Extra)),
            (None, None) => None,
        };
        if let Some((path, state)) = state {
            standing.stale.push((path.clone(), state));
        }
    }
    standing
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::emit::provenance;
    use crate::load::{Limits, load_str};
    use crate::render::{RenderOptions, render};

    fn config_map(value: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  k: {value}\n"
        )
    }

    /// The files a render of `input` writes, the provenance record last.
    fn rendered(input: &str) -> Vec<OutFile> {
        let loaded = load_str("in.yaml", input, &Limits::default());
        let digest = provenance::input_digest(&loaded.documents);
        let options = RenderOptions::default();
        let out = render(loaded.documents, loaded.diagnostics, &options);
        assert!(!out.has_errors(), "{:?}", out.diagnostics);
        options.out_tree(out.objects, digest, None)
    }

    /// The files a Flux render of `input` writes, its Kustomizations reading `path`.
    fn rendered_for_flux(input: &str, path: &str) -> Vec<OutFile> {
        let loaded = load_str("in.yaml", input, &Limits::default());
        let mut options = RenderOptions {
            engine: crate::profile::Engine::Flux,
            ..RenderOptions::default()
        };
        options.profile.gitops.flux.path = path.into();
        let out = render(loaded.documents, loaded.diagnostics, &options);
        assert!(!out.has_errors(), "{:?}", out.diagnostics);
        options.out_tree(out.objects, String::new(), None)
    }

    #[test]
    fn the_objects_of_a_file_render_does_not_name_are_read() {
        // The Flux Kustomizations are one stream of objects that render writes as text only.
        let before = rendered_for_flux(&config_map("v"), "./old");
        let after = rendered_for_flux(&config_map("v"), "./new");
        let stream = "layer-kustomizations.yaml";
        assert!(after.iter().any(|f| f.path == stream && f.object.is_none()));
        assert_eq!(
            check(after, committed(&before)),
            "out is out of date: 0 added, 0 removed, 3 changed, 1 unchanged\n\
             ~ Kustomization/flux-system/layer-pools\n    \
             spec.path: \"./old/pools\" → \"./new/pools\"\n\
             ~ Kustomization/flux-system/layer-resources\n    \
             spec.path: \"./old/resources\" → \"./new/resources\"\n\
             ~ Kustomization/flux-system/layer-workloads\n    \
             spec.path: \"./old/workloads\" → \"./new/workloads\"\n  \
             the profile or the render flags changed since the last render\n\
             2 file(s) differ:\n  \
             changed  layer-kustomizations.yaml\n  \
             changed  .layer-render.json\n\
             Regenerate it with:\n  layer-render --out out in.yaml\n"
        );
    }

    /// A tree that holds `files` as they are.
    fn committed(files: &[OutFile]) -> Tree {
        let mut tree = Tree {
            exists: true,
            ..Tree::default()
        };
        for OutFile { path, text, .. } in files {
            if path == FILE {
                tree.record = Some(text.clone());
            } else {
                tree.files
                    .insert(path.clone(), Committed::Bytes(text.clone().into_bytes()));
            }
        }
        tree
    }

    fn check(expected: Vec<OutFile>, tree: Tree) -> String {
        let prepared = prepare(Path::new("out"), expected, tree);
        assert_eq!(prepared.diagnostics, []);
        let report = prepared.compare().unwrap();
        assert_eq!(report.diagnostics, []);
        report.text("layer-render --out out in.yaml")
    }

    #[test]
    fn a_tree_as_rendered_is_up_to_date() {
        let files = rendered(&config_map("v"));
        assert_eq!(
            check(files.clone(), committed(&files)),
            "out is up to date (1 objects)\n"
        );
    }

    /// A tree as the binary reads it against `files`: every file the same is not kept.
    fn read_as_rendered(files: &[OutFile]) -> Tree {
        let mut tree = committed(files);
        for file in tree.files.values_mut() {
            *file = Committed::AsRendered;
        }
        tree
    }

    #[test]
    fn a_tree_read_as_rendered_is_up_to_date_without_reading_its_objects() {
        let files = rendered(&format!(
            "{}---\n{}",
            config_map("v"),
            config_map("v").replace("settings", "other")
        ));
        let report = prepare(Path::new("out"), files.clone(), read_as_rendered(&files))
            .compare()
            .unwrap();
        assert_eq!(
            report.text("layer-render --out out in.yaml"),
            "out is up to date (2 objects)\n"
        );
        assert_eq!(report.diff.unchanged, 2);
        assert_eq!(report.items, (Vec::new(), Vec::new()));
    }

    #[test]
    fn files_as_rendered_under_another_record_are_out_of_date() {
        let files = rendered(&config_map("v"));
        let mut tree = read_as_rendered(&files);
        let record = tree.record.take().unwrap();
        let digest = Provenance::parse(&record).unwrap().input_digest;
        tree.record = Some(record.replace(&digest, "0000000000000000"));
        assert_eq!(
            check(files, tree),
            "out is out of date: 0 added, 0 removed, 0 changed, 1 unchanged\n  \
             the inputs changed since the last render\n\
             1 file(s) differ:\n  \
             changed  .layer-render.json\n\
             Regenerate it with:\n  layer-render --out out in.yaml\n"
        );
    }

    #[test]
    fn only_the_files_that_differ_are_read_back() {
        let other = |value: &str| config_map(value).replace("settings", "other");
        let before = rendered(&format!("{}---\n{}", config_map("v"), other("v")));
        let after = rendered(&format!("{}---\n{}", config_map("v"), other("w")));
        // `settings` is read as rendered; `other` is kept as the bytes of the old render.
        let mut tree = committed(&before);
        let same = "shop/v1_ConfigMap_settings.yaml";
        assert_eq!(text_of(&after, same), text_of(&before, same));
        tree.files.insert(same.to_string(), Committed::AsRendered);
        assert_eq!(check(after, tree), one_changed("other", 1));
    }

    /// The report of a tree whose ConfigMap `name` changed `k` from `v` to `w`.
    fn one_changed(name: &str, unchanged: usize) -> String {
        format!(
            "out is out of date: 0 added, 0 removed, 1 changed, {unchanged} unchanged\n\
             ~ ConfigMap/shop/{name}\n    data.k: \"v\" → \"w\"\n  \
             the inputs changed since the last render\n\
             2 file(s) differ:\n  \
             changed  shop/v1_ConfigMap_{name}.yaml\n  \
             changed  .layer-render.json\n\
             Regenerate it with:\n  layer-render --out out in.yaml\n"
        )
    }

    /// The text of file `path` of a render.
    fn text_of(files: &[OutFile], path: &str) -> String {
        let found = files.iter().find(|f| f.path == path);
        found.map(|f| f.text.clone()).unwrap_or_default()
    }

    #[test]
    fn a_copy_of_an_unchanged_object_is_still_refused() {
        // The copy is read; the file it copies is as rendered and left out of the comparison,
        // but its object is the copy's twin, so both go back in and the comparison says so.
        let files = rendered(&config_map("v"));
        let text = text_of(&files, "shop/v1_ConfigMap_settings.yaml");
        assert!(!text.is_empty());
        let mut tree = read_as_rendered(&files);
        tree.files
            .insert("shop/copy.yaml".into(), Committed::Bytes(text.into_bytes()));
        let prepared = prepare(Path::new("out"), files, tree);
        assert_eq!(prepared.diagnostics, []);
        let err = prepared.compare().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the old side holds ConfigMap/shop/settings twice"
        );
    }

    #[test]
    fn a_stale_tree_shows_the_objects_the_files_and_the_record() {
        let before = rendered(&config_map("v"));
        let after = rendered(&config_map("w"));
        assert_eq!(check(after, committed(&before)), one_changed("settings", 0));
    }

    #[test]
    fn a_hand_edit_is_told_from_a_changed_input() {
        let files = rendered(&config_map("v"));
        let mut edited = files.clone();
        edited[0].text.push_str("# note\n");
        let path = edited[0].path.clone();
        let text = check(files, committed(&edited));
        assert_eq!(
            text,
            format!(
                "out is out of date: 0 added, 0 removed, 0 changed, 1 unchanged\n  \
                 {path} was edited by hand\n\
                 2 file(s) differ:\n  \
                 changed  {path}\n  \
                 changed  .layer-render.json\n\
                 Regenerate it with:\n  layer-render --out out in.yaml\n"
            )
        );
    }

    #[test]
    fn a_missing_tree_does_not_exist() {
        let files = rendered(&config_map("v"));
        assert_eq!(
            check(files, Tree::default()),
            "out does not exist: 1 added, 0 removed, 0 changed, 0 unchanged\n\
             + ConfigMap/shop/settings\n\
             2 file(s) differ:\n  \
             missing  kustomization.yaml\n  \
             missing  shop/v1_ConfigMap_settings.yaml\n\
             Regenerate it with:\n  layer-render --out out in.yaml\n"
        );
    }

    #[test]
    fn a_tree_without_its_record_was_not_rendered() {
        let files = rendered(&config_map("v"));
        let mut tree = committed(&files);
        tree.record = None;
        assert_eq!(
            check(files, tree),
            "out is out of date: 0 added, 0 removed, 0 changed, 1 unchanged\n  \
             .layer-render.json is missing: the tree was not written by layer-render --out\n\
             1 file(s) differ:\n  \
             changed  .layer-render.json\n\
             Regenerate it with:\n  layer-render --out out in.yaml\n"
        );
    }

    #[test]
    fn at_most_twenty_stale_files_are_listed() {
        let files = rendered(&config_map("v"));
        let mut tree = committed(&files);
        for i in 0..25 {
            tree.files
                .insert(format!("notes-{i:02}.txt"), Committed::Bytes(b"x".to_vec()));
        }
        let text = check(files, tree);
        let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("  extra ")).collect();
        assert_eq!(listed.len(), 20, "{text}");
        assert_eq!(listed[19], "  extra    notes-19.txt");
        assert!(
            text.ends_with(
                "  extra    notes-19.txt\n  and 6 more\nRegenerate it with:\n  layer-render --out out in.yaml\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_committed_file_that_is_not_utf8_is_a_diagnostic_with_its_path() {
        let files = rendered(&config_map("v"));
        let mut tree = committed(&files);
        tree.files.insert(
            "shop/bad.yaml".into(),
            Committed::Bytes(b"a: \xff\n".to_vec()),
        );
        let prepared = prepare(Path::new("out"), files, tree);
        let messages: Vec<String> = prepared.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("out/shop/bad.yaml:1:4: error["),
            "{messages:?}"
        );
        assert!(prepared.diagnostics[0].is_error());
    }

    #[test]
    fn file_comparison_finds_missing_changed_and_extra_files() {
        let expected = vec![
            OutFile::other("a.yaml", "a\n".into()),
            OutFile::other("b.yaml", "b\n".into()),
            OutFile::other("c.yaml", "c\n".into()),
        ];
        let on_disk: BTreeMap<String, Committed> = [
            ("a.yaml".to_string(), Committed::Bytes(b"a\n".to_vec())),
            ("b.yaml".to_string(), Committed::Bytes(b"B\n".to_vec())),
            ("c2.yaml".to_string(), Committed::AsRendered),
            ("notes.txt".to_string(), Committed::Bytes(b"x".to_vec())),
        ]
        .into();
        let mut expected = expected;
        expected.push(OutFile::other("c2.yaml", "c2\n".into()));
        let standing = standing(&expected, &on_disk);
        assert_eq!(standing.expected_same, [true, false, false, true]);
        // a, b, c2, notes
        assert_eq!(standing.committed_same, [true, false, true, false]);
        assert_eq!(
            standing.stale,
            [
                ("b.yaml".to_string(), FileState::Changed),
                ("c.yaml".to_string(), FileState::Missing),
                ("notes.txt".to_string(), FileState::Extra)
            ]
        );
    }
}
