//! `layer-render check`: is a committed `--out` directory up to date with its inputs?
//!
//! Renders the inputs (by default the ones the tree's provenance record names) the way the
//! default action would, reads the committed tree, and lets [`layer_render::check`] compare
//! the two; exit 1 prints the command that regenerates the directory.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use layer_render::check::{self, Committed, Tree};
use layer_render::diagnostic::{Code, Diagnostic};
use layer_render::diff;
use layer_render::emit::provenance::{self, Provenance};
use layer_render::load;
use layer_render::load::walk::{self, Select, Walked};
use layer_render::render::render;
use layer_render::shell::quote;

use crate::cli::{CheckArgs, InputArgs, path_word};
use crate::{exit, inputs, print, record};

/// Runs `layer-render check`.
pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs { dir, paths, input } = args;
    // Usage errors first, before the record or any input is read.
    if paths.is_empty() && !input.words(|p| p.display().to_string()).is_empty() {
        bail!(
            "with no PATH, check renders with the flags recorded in {}: give the inputs too to render with other flags",
            dir.join(provenance::FILE).display()
        );
    }
    let (paths, input) = check_inputs(&dir, paths, input)?;
    let options = match inputs::render_options(&input) {
        Ok(options) => options,
        Err(diagnostics) => {
            print::diagnostics(&diagnostics, input.format)?;
            return Ok(exit::invalid());
        }
    };
    let limits = input.limits();
    let exists = dir.exists();
    if exists && !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let loaded = load::load_paths(&paths, &limits);
    // Which files the tree holds does not depend on the render: they are listed on one core
    // while it runs, filling the moments the render leaves a core idle.
    let (walked, (input_digest, rendered)) = rayon::join(
        || exists.then(|| walk::walk(&dir, Select::Everything, limits.load_restrictor)),
        || {
            let digest = provenance::input_digest(&loaded.documents);
            (
                digest,
                render(loaded.documents, loaded.diagnostics, &options),
            )
        },
    );
    print::diagnostics(&rendered.diagnostics, input.format)?;
    if rendered.has_errors() {
        return Ok(exit::invalid());
    }
    let rendered_with = record::rendered_with(&dir, &paths, &input);
    let expected = options.out_tree(rendered.objects, input_digest, rendered_with);
    // The tree is read after the render, so that each file is compared as it is read and
    // only the files that differ are kept.
    let (on_disk, unreadable) = match walked {
        Some(walked) => {
            let by_path: HashMap<&str, &[u8]> = expected
                .iter()
                .map(|file| (file.path.as_str(), file.text.as_bytes()))
                .collect();
            read_tree(&dir, walked, &by_path)
        }
        None => (BTreeMap::new(), Vec::new()),
    };
    let tree = Tree {
        exists,
        files: on_disk,
        record: record::read_no_follow(&dir.join(provenance::FILE)).ok(),
    };
    let mut prepared = check::prepare(&dir, expected, tree);
    let mut diagnostics = std::mem::take(&mut prepared.diagnostics);
    diagnostics.extend(unreadable);
    if !diagnostics.is_empty() {
        print::diagnostics(&diagnostics, input.format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(exit::invalid());
    }
    let report = match prepared.compare() {
        Ok(report) => report,
        Err(diff::Error::Unreadable(diagnostics)) => {
            print::diagnostics(&diagnostics, input.format)?;
            return Ok(exit::invalid());
        }
        Err(err) => return Err(err).with_context(|| format!("cannot compare {}", dir.display())),
    };
    // The files render writes as text alone (the Flux Kustomizations) always read; anything
    // else is a bug worth seeing.
    if !report.diagnostics.is_empty() {
        print::diagnostics(&report.diagnostics, input.format)?;
    }
    print::stdout(&report.text(&regenerate_command(&dir, &paths, &input)))?;
    let up_to_date = report.is_up_to_date();
    // As in `diff`: the process ends next.
    std::mem::forget(report);
    Ok(exit::for_same(up_to_date))
}

/// The inputs and flags of a check: as given, or as the tree's record names them.
fn check_inputs(
    dir: &Path,
    paths: Vec<PathBuf>,
    input: InputArgs,
) -> Result<(Vec<PathBuf>, InputArgs)> {
    if !paths.is_empty() {
        return Ok((paths, input));
    }
    let file = dir.join(provenance::FILE);
    let text = record::read_no_follow(&file).map_err(|err| {
        anyhow::anyhow!(
            "no PATH given, and {} cannot be read ({err}): give the inputs the tree is rendered from",
            file.display()
        )
    })?;
    let record = Provenance::parse(&text)
        .with_context(|| format!("{} is not a provenance record", file.display()))?;
    let Some(with) = record.rendered_with else {
        bail!(
            "no PATH given, and {} does not name the inputs (rendered from stdin, or by an older layer-render): give the inputs the tree is rendered from",
            file.display()
        );
    };
    let (paths, mut recorded) = record::recorded_input(dir, &with)?;
    recorded.format = input.format;
    Ok((paths, recorded))
}

/// Every file the walk of `root` found (relative path with `/`, contents), with the problems
/// that kept any from being read: links out of the tree among them (the walk's), so a
/// committed render cannot make `check` read a file elsewhere on the machine. Files are read
/// on every core, each into a buffer its core reuses; a file with the bytes `rendered` gives
/// its path is not kept.
fn read_tree(
    root: &Path,
    walked: Walked,
    rendered: &HashMap<&str, &[u8]>,
) -> (BTreeMap<String, Committed>, Vec<Diagnostic>) {
    let mut diagnostics = walked.diagnostics;
    let read: Vec<_> = walked
        .files
        .par_iter()
        .map_init(Vec::new, |buffer, path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            let relative = load::display(relative);
            buffer.clear();
            // Read without asking the file its size first (two system calls fewer per
            // file, as the loader does): the reused buffer grows for a larger one.
            File::open(path)
                .and_then(|file| file.take(u64::MAX).read_to_end(buffer))
                .map(|_| {
                    let file = if rendered.get(relative.as_str()) == Some(&buffer.as_slice()) {
                        Committed::AsRendered
                    } else {
                        Committed::Bytes(buffer.clone())
                    };
                    (relative, file)
                })
                .map_err(|err| {
                    Diagnostic::new(Code::Io, format!("cannot read {}: {err}", path.display()))
                })
        })
        .collect();
    let mut files = BTreeMap::new();
    for result in read {
        match result {
            Ok((relative, file)) => {
                files.insert(relative, file);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    (files, diagnostics)
}

/// The exact render command that rewrites `dir` from `paths` with the same flags.
fn regenerate_command(dir: &Path, paths: &[PathBuf], input: &InputArgs) -> String {
    let mut words = vec!["layer-render".to_string()];
    words.extend(input.words(path_word).iter().map(|w| quote(w)));
    words.push("--out".into());
    words.push(quote(&path_word(dir)));
    words.extend(paths.iter().map(|p| quote(&path_word(p))));
    words.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::cli::{Format, ProfileArgs};
    use layer_render::load::{Limits, LoadRestrictor};

    #[test]
    fn the_regenerate_command_carries_every_flag_that_changes_output() {
        let input = InputArgs {
            rendering: ProfileArgs {
                profile: Some(PathBuf::from("my profile.yaml")),
                namespace: "shop".into(),
                strict: true,
            },
            format: Format::Json,
            max_file_size: 1024,
            nodepools: vec![PathBuf::from("pools")],
            allow_unschedulable: true,
            gitops: Some(layer_render::profile::Engine::Flux),
            load_restrictor: LoadRestrictor::None,
        };
        let paths = [
            PathBuf::from("crs"),
            PathBuf::from("check"),
            PathBuf::from("-"),
        ];
        assert_eq!(
            regenerate_command(Path::new("rendered"), &paths, &input),
            "layer-render --profile 'my profile.yaml' --namespace shop --strict --max-file-size 1024 --nodepools pools --allow-unschedulable --load-restrictor none --gitops flux --out rendered crs ./check -"
        );
    }

    #[test]
    fn defaults_are_left_out_of_the_regenerate_command() {
        let input = InputArgs {
            rendering: ProfileArgs {
                profile: None,
                namespace: "default".into(),
                strict: false,
            },
            format: Format::Text,
            max_file_size: Limits::default().max_file_bytes,
            nodepools: Vec::new(),
            allow_unschedulable: false,
            gitops: None,
            load_restrictor: LoadRestrictor::RootOnly,
        };
        assert_eq!(
            regenerate_command(Path::new("out"), &[PathBuf::from("in")], &input),
            "layer-render --out out in"
        );
    }
}
