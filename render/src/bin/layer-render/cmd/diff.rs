//! `layer-render diff`: compare two renders.
//!
//! Reads two renders (stream files, `--out` directories, stdin, or with `--render` the inputs
//! of two renders), compares them with [`layer_render::diff`] and prints the report; exit 0
//! when equal, 1 when they differ, 2 on bad input. Each side is read as document texts
//! ([`diff::read`]): a document whose text is the same on both sides is never parsed.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use layer_render::diagnostic::Diagnostic;
use layer_render::diff::markdown::{self, MarkdownOptions};
use layer_render::diff::{self, DiffOptions, IgnoreRule, Item, Recorded, read, text::TextOptions};
use layer_render::emit::provenance::{self, Provenance};
use layer_render::load::{self, Limits};
use layer_render::render::{RenderOptions, render_pair};
use layer_render::shell::quote;

use crate::cli::{ColorChoice, DiffArgs, DiffFormat, Format, InputArgs, path_word};
use crate::{exit, inputs, print, record};

/// Runs `layer-render diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let DiffArgs {
        old,
        new,
        render: render_first,
        format,
        budget,
        full_diff,
        color,
        ignore,
        context,
        rendering,
        max_file_size,
        load_restrictor,
    } = args;
    // Usage errors first, before either side is read.
    if is_stdin(&old) && is_stdin(&new) {
        bail!("OLD and NEW cannot both be - (stdin)");
    }
    let diagnostics_format = match format {
        DiffFormat::Json => Format::Json,
        DiffFormat::Text | DiffFormat::Markdown => Format::Text,
    };
    // `unchanged`: objects known equal without comparing them; with --render, the families
    // of workloads that are equal on both sides (render::render_pair).
    let (old_items, new_items, diagnostics, unchanged) = if render_first {
        let input = InputArgs {
            rendering,
            format: diagnostics_format,
            max_file_size: max_file_size.unwrap_or(Limits::default().max_file_bytes),
            nodepools: Vec::new(),
            allow_unschedulable: false,
            gitops: None,
            load_restrictor,
        };
        let options = match inputs::render_options(&input) {
            Ok(options) => options,
            Err(diagnostics) => {
                print::diagnostics(&diagnostics, diagnostics_format)?;
                return Ok(exit::invalid());
            }
        };
        rendered_sides(&old, &new, &options, &input.limits())
    } else {
        let limits = Limits {
            max_file_bytes: max_file_size.unwrap_or(u64::MAX),
            load_restrictor,
            ..Limits::default()
        };
        let (old_items, new_items, diagnostics) =
            both_sides(&old, &new, |side| loaded_side(side, &limits));
        (old_items, new_items, diagnostics, 0)
    };
    // Both sides are read before deciding, so every problem shows in one run.
    if !diagnostics.is_empty() {
        print::diagnostics(&diagnostics, diagnostics_format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(exit::invalid());
    }
    // The text format shows every object's diff: make them while each pair is parsed.
    let every_diff = format == DiffFormat::Text || full_diff.is_some();
    let options = DiffOptions {
        ignore,
        unified: every_diff.then_some(context),
    };
    let result = match diff::diff_items(&old_items, &new_items, &options) {
        Ok(mut result) => {
            result.unchanged += unchanged;
            result
        }
        Err(diff::Error::Unreadable(diagnostics)) => {
            print::diagnostics(&diagnostics, diagnostics_format)?;
            return Ok(exit::invalid());
        }
        Err(err) => {
            return Err(err).with_context(|| {
                format!("cannot compare {} with {}", old.display(), new.display())
            });
        }
    };
    if let Some(file) = &full_diff {
        let plain = TextOptions {
            context,
            color: false,
        };
        let written = std::fs::File::create(file).and_then(|f| {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
            diff::text::write(&result, &plain, &mut out)?;
            out.flush()
        });
        written.with_context(|| format!("cannot write {}", file.display()))?;
    }
    match format {
        DiffFormat::Text => {
            let options = TextOptions {
                context,
                color: use_color(color),
            };
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            diff::text::write(&result, &options, &mut out)?;
            out.flush()?;
        }
        DiffFormat::Markdown => {
            let how = full_diff_hint(
                &old,
                &new,
                render_first,
                &options.ignore,
                full_diff.as_deref(),
            );
            let options = MarkdownOptions {
                context,
                budget: usize::try_from(budget).unwrap_or(usize::MAX),
                full_diff: how,
            };
            print::stdout(&markdown::render(&result, &options))?;
        }
        DiffFormat::Json => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            diff::json::write(&result, &mut out)?;
            out.flush()?;
        }
    }
    let same = result.is_empty();
    // The process ends right after printing; freeing two large renders piece by piece would
    // only add time, so leave it to the operating system.
    std::mem::forget((old_items, new_items, result));
    Ok(exit::for_same(same))
}

/// How to get the full diff, for the last line of a comment that left something out.
fn full_diff_hint(
    old: &Path,
    new: &Path,
    render_first: bool,
    ignore: &[IgnoreRule],
    file: Option<&Path>,
) -> String {
    let mut words = vec!["layer-render".to_string(), "diff".to_string()];
    if render_first {
        words.push("--render".into());
    }
    for rule in ignore {
        words.push("--ignore".into());
        words.push(quote(&rule.to_string()));
    }
    words.push(quote(&path_word(old)));
    words.push(quote(&path_word(new)));
    let command = format!("run {}", markdown::code(&words.join(" ")));
    match file {
        Some(file) => format!(
            "{}, written by the same run; or {command}",
            markdown::code(&file.display().to_string())
        ),
        None => command,
    }
}

/// Reads both sides, the old one on a second thread: the two sides are independent.
/// Diagnostics come old side first.
fn both_sides<F>(old: &Path, new: &Path, read: F) -> (Vec<Item>, Vec<Item>, Vec<Diagnostic>)
where
    F: Fn(&Path) -> (Vec<Item>, Vec<Diagnostic>) + Sync,
{
    let ((old_items, mut diagnostics), (new_items, found)) = std::thread::scope(|scope| {
        let old_side = scope.spawn(|| read(old));
        let new_side = read(new);
        // A panic on the old side's thread is a bug; surface it as one rather than hide it.
        let old_side = old_side
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (old_side, new_side)
    });
    diagnostics.extend(found);
    (old_items, new_items, diagnostics)
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `auto` colours only a terminal, and honours `NO_COLOR` (https://no-color.org) and a
/// `dumb` terminal.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            std::io::stdout().is_terminal() && !no_color && !dumb
        }
    }
}

/// One side read as document texts, with every problem found.
fn loaded_side(path: &Path, limits: &Limits) -> (Vec<Item>, Vec<Diagnostic>) {
    let (texts, mut diagnostics) = load::read_texts(&[path.to_path_buf()], limits);
    let (items, found) = read::items_of_tree(&texts, &recorded(path, &texts));
    diagnostics.extend(found);
    (items, diagnostics)
}

/// The hashes the provenance record of the tree at `dir` gives the files read from it, by
/// their names: empty when `dir` is not a tree or its record cannot be read.
fn recorded(dir: &Path, files: &[read::File]) -> Recorded {
    let record = record::read_no_follow(&dir.join(provenance::FILE))
        .ok()
        .and_then(|text| Provenance::parse(&text).ok());
    let Some(record) = record else {
        return Recorded::new();
    };
    files
        .iter()
        .filter_map(|(name, _)| {
            let relative = Path::new(&**name).strip_prefix(dir).ok()?;
            let hash = record.files.get(&load::display(relative))?;
            Some((name.clone(), Arc::from(hash.as_str())))
        })
        .collect()
}

/// Both sides rendered from their inputs, as render writes them, less the objects that are
/// equal on both (counted in the last value).
fn rendered_sides(
    old: &Path,
    new: &Path,
    options: &RenderOptions,
    limits: &Limits,
) -> (Vec<Item>, Vec<Item>, Vec<Diagnostic>, usize) {
    let load = |path: &Path| {
        let loaded = load::load_paths(&[path.to_path_buf()], limits);
        (loaded.documents, loaded.diagnostics)
    };
    let pair = render_pair(load(old), load(new), options);
    let mut diagnostics = pair.old.diagnostics;
    diagnostics.extend(pair.new.diagnostics);
    (
        read::rendered(pair.old.objects, &load::display(old)),
        read::rendered(pair.new.objects, &load::display(new)),
        diagnostics,
        pair.same,
    )
}
