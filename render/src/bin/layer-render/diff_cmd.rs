//! `layer-render diff` and `layer-render check`: their flags and handlers.
//!
//! `diff` reads two renders (stream files, `--out` directories, stdin, or with `--render` the
//! inputs of two renders), compares them with [`layer_render::diff`] and prints the report;
//! exit 0 when equal, 1 when they differ, 2 on bad input. Each side is read as document texts
//! ([`diff::read`]): a document whose text is the same on both sides is never parsed.
//! `check` renders its inputs (by default the ones its tree's provenance record names) the
//! way the default action would and compares the result with a committed `--out` directory,
//! both object by object (for the grouped summary) and byte by byte (a reformatted or
//! hand-added file also makes it stale); exit 1 prints the command that regenerates the
//! directory. Files and directories whose names start with `.` are not compared, like the
//! loader skips them.

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use layer_render::diagnostic::{Code, Diagnostic};
use layer_render::diff::markdown::{self, MarkdownOptions};
use layer_render::diff::{self, DiffOptions, IgnoreRule, Item, read, text::TextOptions};
use layer_render::emit;
use layer_render::load::walk::{self, Select};
use layer_render::load::{self, Limits, LoadRestrictor};
use layer_render::render::{RenderOptions, render};

use crate::cli::{Format, InputArgs};
use crate::{EXIT_INVALID, load_nodepools, load_profile, print_stdout, record, report};

/// Exit code when the renders differ or the committed directory is stale.
const EXIT_DIFFERENT: u8 = 1;

/// How `diff` prints its report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The counts, the groups of changes, then a unified diff per object.
    #[default]
    Text,
    /// A review comment within --budget characters: the counts, the groups, then a
    /// collapsible section per object while there is room.
    Markdown,
    /// The counts, the groups and every changed object with its changed field paths.
    Json,
}

/// When to colour the text format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `diff` flags.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old render: a YAML stream, an --out directory, or - for stdin. With --render, the
    /// inputs it is rendered from.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new render, in the same forms as OLD.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Render OLD and NEW from hev layer inputs first, both with the same profile and flags.
    #[arg(long)]
    pub render: bool,
    /// The output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// With --format markdown: the most characters the comment may have (at least 1000).
    #[arg(long, value_name = "CHARS", default_value_t = markdown::DEFAULT_BUDGET as u64,
          value_parser = clap::value_parser!(u64).range(markdown::MIN_BUDGET as u64..))]
    pub budget: u64,
    /// Also write the full diff (the text format, every object, no colour) to FILE.
    #[arg(long, value_name = "FILE")]
    pub full_diff: Option<PathBuf>,
    /// Colour the text format: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Drop a field from both sides before comparing: a JSON pointer, optionally after KIND:,
    /// such as Deployment:/spec/replicas (`~1` for `/`, `*` for any key). Repeatable.
    #[arg(long = "ignore", value_name = "[KIND:]POINTER")]
    pub ignore: Vec<IgnoreRule>,
    /// Lines of context around each difference.
    #[arg(long, value_name = "LINES", default_value_t = 3)]
    pub context: usize,
    /// With --render: the profile (see `layer-render profile`).
    #[arg(long, value_name = "FILE", requires = "render")]
    pub profile: Option<PathBuf>,
    /// With --render: namespace for namespaced hev layer objects that set none.
    #[arg(long, short = 'n', value_name = "NS", default_value = "default", value_parser = crate::cli::namespace)]
    pub namespace: String,
    /// With --render: treat warnings as errors.
    #[arg(long, requires = "render")]
    pub strict: bool,
    /// Largest file of OLD and NEW, in bytes. Default: no limit (the parser's limits still
    /// bound each document); with --render, the render's own limit of 64 MiB per input file.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Where symlinks inside OLD and NEW may lead: `root-only` or `none` (see render's flag).
    #[arg(long, value_enum, value_name = "RESTRICTOR", default_value_t = LoadRestrictor::RootOnly)]
    pub load_restrictor: LoadRestrictor,
}

/// `check` flags: the directory, then the same inputs and flags as the render that wrote it.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The committed --out directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The inputs it is rendered from: files, directories or - for stdin. Default: the inputs
    /// and render flags recorded in DIR/.layer-render.json.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Input flags, as for rendering.
    #[command(flatten)]
    pub input: InputArgs,
}

// === diff ===

/// Runs `layer-render diff`.
pub fn run_diff(args: DiffArgs) -> Result<ExitCode> {
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
        profile,
        namespace,
        strict,
        max_file_size,
        load_restrictor,
    } = args;
    if is_stdin(&old) && is_stdin(&new) {
        bail!("OLD and NEW cannot both be - (stdin)");
    }
    let diagnostics_format = match format {
        DiffFormat::Json => Format::Json,
        DiffFormat::Text | DiffFormat::Markdown => Format::Text,
    };
    let (old_items, new_items, diagnostics) = if render_first {
        let input = InputArgs {
            profile,
            namespace,
            strict,
            format: diagnostics_format,
            max_file_size: max_file_size.unwrap_or(Limits::default().max_file_bytes),
            nodepools: Vec::new(),
            allow_unschedulable: false,
            gitops: None,
            load_restrictor,
        };
        let options = match render_options(&input) {
            Ok(options) => options,
            Err(diagnostics) => {
                report(&diagnostics, diagnostics_format)?;
                return Ok(ExitCode::from(EXIT_INVALID));
            }
        };
        let limits = input.limits();
        // One render after the other: each already runs on every core, and the second reuses
        // the memory the first one freed, where two side by side would fault in fresh pages
        // for both (page clearing was a fifth of the time at 10,000 workloads).
        let (old_items, mut diagnostics) = rendered_side(&old, &options, &limits);
        let (new_items, found) = rendered_side(&new, &options, &limits);
        diagnostics.extend(found);
        (old_items, new_items, diagnostics)
    } else {
        let limits = Limits {
            max_file_bytes: max_file_size.unwrap_or(u64::MAX),
            load_restrictor,
            ..Limits::default()
        };
        both_sides(&old, &new, |side| loaded_side(side, &limits))
    };
    // Both sides are read before deciding, so every problem shows in one run.
    if !diagnostics.is_empty() {
        report(&diagnostics, diagnostics_format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    // The text format shows every object's diff: make them while each pair is parsed.
    let every_diff = format == DiffFormat::Text || full_diff.is_some();
    let options = DiffOptions {
        ignore,
        unified: every_diff.then_some(context),
    };
    let result = match diff::diff_items(&old_items, &new_items, &options) {
        Ok(result) => result,
        Err(diff::Error::Unreadable(diagnostics)) => {
            report(&diagnostics, diagnostics_format)?;
            return Ok(ExitCode::from(EXIT_INVALID));
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
            print_stdout(&markdown::render(&result, &options))?;
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
    Ok(exit_for(same))
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

fn exit_for(is_same: bool) -> ExitCode {
    if is_same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DIFFERENT)
    }
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

/// The render options from the input flags, or why the profile cannot be read.
fn render_options(input: &InputArgs) -> Result<RenderOptions, Vec<Diagnostic>> {
    let profile = load_profile(input)?;
    Ok(RenderOptions {
        engine: input.gitops.unwrap_or(profile.gitops.engine),
        profile,
        namespace: input.namespace.clone(),
        strict: input.strict,
        nodepools: load_nodepools(input)?,
        allow_unschedulable: input.allow_unschedulable,
    })
}

/// One side read as document texts, with every problem found.
fn loaded_side(path: &Path, limits: &Limits) -> (Vec<Item>, Vec<Diagnostic>) {
    let (texts, mut diagnostics) = load::read_texts(&[path.to_path_buf()], limits);
    let (items, found) = read::items(&texts);
    diagnostics.extend(found);
    (items, diagnostics)
}

/// One side rendered from its inputs: its objects' YAML, as render writes it.
fn rendered_side(
    path: &Path,
    options: &RenderOptions,
    limits: &Limits,
) -> (Vec<Item>, Vec<Diagnostic>) {
    let loaded = load::load_paths(&[path.to_path_buf()], limits);
    let rendered = render(loaded.documents, loaded.diagnostics, options);
    let name = load_display(path);
    (
        read::rendered(rendered.objects, &name),
        rendered.diagnostics,
    )
}

fn load_display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

// === check ===

/// The most stale files `check` lists by name.
const LISTED_FILES: usize = 20;

/// The inputs and flags of a check: as given, or as the tree's record names them.
fn check_inputs(
    dir: &Path,
    paths: Vec<PathBuf>,
    input: InputArgs,
) -> Result<(Vec<PathBuf>, InputArgs)> {
    if !paths.is_empty() {
        return Ok((paths, input));
    }
    let file = dir.join(emit::provenance::FILE);
    let text = read_no_follow(&file).map_err(|err| {
        anyhow::anyhow!(
            "no PATH given, and {} cannot be read ({err}): give the inputs the tree is rendered from",
            file.display()
        )
    })?;
    let record = emit::provenance::Provenance::parse(&text)
        .with_context(|| format!("{} is not a provenance record", file.display()))?;
    let Some(with) = record.rendered_with else {
        bail!(
            "no PATH given, and {} does not name the inputs (rendered from stdin, or by an older layer-render): give the inputs the tree is rendered from",
            file.display()
        );
    };
    if !input.words(|p| p.display().to_string()).is_empty() {
        bail!(
            "with no PATH, check renders with the flags recorded in {}: give the inputs too to render with other flags",
            file.display()
        );
    }
    let (paths, mut recorded) = record::recorded_input(dir, &with)?;
    recorded.format = input.format;
    Ok((paths, recorded))
}

/// Runs `layer-render check`.
pub fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs { dir, paths, input } = args;
    let (paths, input) = check_inputs(&dir, paths, input)?;
    let options = match render_options(&input) {
        Ok(options) => options,
        Err(diagnostics) => {
            report(&diagnostics, input.format)?;
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let limits = input.limits();
    let exists = dir.exists();
    if exists && !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    // The committed tree is read while the inputs render: the two are independent.
    let (rendered, input_digest, (on_disk, unreadable)) = std::thread::scope(|scope| {
        let committed = scope.spawn(|| {
            if exists {
                read_tree(&dir, limits.load_restrictor)
            } else {
                (BTreeMap::new(), Vec::new())
            }
        });
        let loaded = load::load_paths(&paths, &limits);
        let input_digest = emit::provenance::input_digest(&loaded.documents);
        let rendered = render(loaded.documents, loaded.diagnostics, &options);
        let committed = committed
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (rendered, input_digest, committed)
    });
    report(&rendered.diagnostics, input.format)?;
    if rendered.has_errors() {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let rendered_with = record::rendered_with(&dir, &paths, &input);
    let mut expected = options.out_files(rendered.objects, input_digest, rendered_with);
    // The provenance record is last; it is a dot file, which read_tree leaves out.
    let record = expected.pop().map(|(_, text)| text).unwrap_or_default();
    let mut stale_files = compare_files(&expected, &on_disk);
    let provenance = provenance_findings(&dir, &record, &expected, &on_disk);
    if exists
        && !provenance.is_empty()
        && !stale_files.iter().any(|(p, _)| p == emit::provenance::FILE)
    {
        stale_files.push((emit::provenance::FILE.to_string(), "changed"));
    }
    // Compare like with like: the objects of the files a render would write (Flux
    // Kustomizations included) against the objects committed.
    let expected_files: Vec<read::File> = expected
        .into_iter()
        .filter(|(path, _)| is_object_file(path))
        .map(|(path, text)| (Arc::from(path), Arc::new(text)))
        .collect();
    let (expected_by_file, found) = read::items_by_file(&expected_files);
    // A committed file with the bytes a render would write holds the same objects: it is not
    // read again, which is nearly every file of a large tree.
    let rendered_files: HashMap<&str, (&[u8], &Vec<Item>)> = expected_files
        .iter()
        .zip(&expected_by_file)
        .map(|((path, text), items)| (&**path, (text.as_bytes(), items)))
        .collect();
    let (committed, mut diagnostics) = committed_items(&dir, on_disk, |path, bytes| {
        rendered_files
            .get(path)
            .filter(|(text, _)| *text == bytes)
            .map(|(_, items)| (*items).clone())
    });
    drop(rendered_files);
    diagnostics.extend(unreadable);
    if !diagnostics.is_empty() {
        report(&diagnostics, input.format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let expected_items: Vec<Item> = expected_by_file.into_iter().flatten().collect();
    let count = expected_items.len();
    let result = match diff::diff_items(&committed, &expected_items, &DiffOptions::default()) {
        Ok(result) => result,
        Err(diff::Error::Unreadable(diagnostics)) => {
            report(&diagnostics, input.format)?;
            return Ok(ExitCode::from(EXIT_INVALID));
        }
        Err(err) => return Err(err).with_context(|| format!("cannot compare {}", dir.display())),
    };
    // Render's own output always reads; anything else is a bug worth seeing.
    if !found.is_empty() {
        report(&found, input.format)?;
    }
    let name = dir.display();
    if result.is_empty() && stale_files.is_empty() {
        return print_stdout(&format!("{name} is up to date ({count} objects)\n"));
    }

    let mut out = if exists {
        format!("{name} is out of date: ")
    } else {
        format!("{name} does not exist: ")
    };
    out.push_str(&diff::text::summary(&result, false));
    for finding in &provenance {
        out.push_str(&format!("  {finding}\n"));
    }
    if !stale_files.is_empty() {
        out.push_str(&format!("{} file(s) differ:\n", stale_files.len()));
        for (path, state) in stale_files.iter().take(LISTED_FILES) {
            out.push_str(&format!("  {state:<8} {path}\n"));
        }
        if stale_files.len() > LISTED_FILES {
            out.push_str(&format!(
                "  and {} more\n",
                stale_files.len() - LISTED_FILES
            ));
        }
    }
    out.push_str("Regenerate it with:\n  ");
    out.push_str(&regenerate_command(&dir, &paths, &input));
    out.push('\n');
    print_stdout(&out)?;
    // As in `diff`: the process ends next.
    std::mem::forget((committed, expected_items, result, expected_files));
    Ok(ExitCode::from(EXIT_DIFFERENT))
}

/// Whether a file of an `--out` tree holds objects: every YAML file but the kustomization.
fn is_object_file(path: &str) -> bool {
    walk::is_manifest_name(path.rsplit('/').next().unwrap_or(path))
}

/// The objects of a committed tree's YAML files, read as document texts, with every problem.
/// `known` gives the objects of a file that a render would write with these very bytes.
fn committed_items(
    dir: &Path,
    on_disk: BTreeMap<String, Vec<u8>>,
    known: impl Fn(&str, &[u8]) -> Option<Vec<Item>>,
) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut items = Vec::new();
    let mut texts: Vec<read::File> = Vec::new();
    for (path, bytes) in on_disk {
        if !is_object_file(&path) {
            continue;
        }
        if let Some(found) = known(&path, &bytes) {
            items.extend(found);
            continue;
        }
        let name = load_display(&dir.join(&path));
        match String::from_utf8(bytes) {
            Ok(text) => texts.push((Arc::from(name), Arc::new(text))),
            // The loader's own message, with the position of the first bad byte.
            Err(err) => diagnostics.extend(
                load::load_bytes(&name, err.as_bytes(), &read::document_limits()).diagnostics,
            ),
        }
    }
    let (read, found) = read::items(&texts);
    items.extend(read);
    diagnostics.extend(found);
    (items, diagnostics)
}

/// Every file under `root` (relative path with `/`, bytes), skipping dot-entries, with the
/// problems that kept any from being read: links out of the tree among them, so a committed
/// render cannot make `check` read a file elsewhere on the machine. Files are read on every
/// core.
fn read_tree(
    root: &Path,
    restrictor: LoadRestrictor,
) -> (BTreeMap<String, Vec<u8>>, Vec<Diagnostic>) {
    let walked = walk::walk(root, Select::Everything, restrictor);
    let mut diagnostics = walked.diagnostics;
    let read: Vec<_> = walked
        .files
        .par_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            let relative = relative.to_string_lossy().replace('\\', "/");
            std::fs::read(path)
                .map(|bytes| (relative, bytes))
                .map_err(|err| {
                    Diagnostic::new(Code::Io, format!("cannot read {}: {err}", path.display()))
                })
        })
        .collect();
    let mut files = BTreeMap::new();
    for result in read {
        match result {
            Ok((relative, bytes)) => {
                files.insert(relative, bytes);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    (files, diagnostics)
}

/// What the committed provenance record says about the tree: hand edits, and inputs or
/// options that changed since it was rendered. Empty when the record matches `expected`.
fn provenance_findings(
    dir: &Path,
    expected: &str,
    files: &[(String, String)],
    on_disk: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    use emit::provenance::{FILE, Provenance, file_hash};
    let Ok(text) = read_no_follow(&dir.join(FILE)) else {
        return if dir.exists() {
            vec![format!(
                "{FILE} is missing: the tree was not written by layer-render --out"
            )]
        } else {
            Vec::new()
        };
    };
    let (Ok(recorded), Ok(fresh)) = (Provenance::parse(&text), Provenance::parse(expected)) else {
        return vec![format!("{FILE} cannot be read")];
    };
    // A file with the bytes a render would write has the hash the fresh record holds; only
    // the others are hashed.
    let rendered: HashMap<&str, &str> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let hashes: Vec<(String, String)> = on_disk
        .par_iter()
        .map(|(path, bytes)| {
            let known = rendered
                .get(path.as_str())
                .filter(|text| text.as_bytes() == bytes.as_slice())
                .and_then(|_| fresh.files.get(path.as_str()).cloned());
            let hash = known.unwrap_or_else(|| file_hash(&String::from_utf8_lossy(bytes)));
            ((*path).clone(), hash)
        })
        .collect();
    let mut findings = recorded.hand_edits(&hashes.into_iter().collect());
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

/// A file's text, refused when the file is a symlink: the provenance record is read from a
/// committed tree, which may hold a link planted anywhere.
fn read_no_follow(path: &Path) -> std::io::Result<String> {
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

/// The files that a fresh render would add, change or delete, in path order.
fn compare_files(
    expected: &[(String, String)],
    on_disk: &BTreeMap<String, Vec<u8>>,
) -> Vec<(String, &'static str)> {
    let mut stale = BTreeMap::new();
    for (path, content) in expected {
        match on_disk.get(path) {
            None => {
                stale.insert(path.clone(), "missing");
            }
            Some(bytes) if bytes != content.as_bytes() => {
                stale.insert(path.clone(), "changed");
            }
            Some(_) => {}
        }
    }
    let expected_paths: std::collections::BTreeSet<&str> =
        expected.iter().map(|(p, _)| p.as_str()).collect();
    for path in on_disk.keys() {
        if !expected_paths.contains(path.as_str()) {
            stale.insert(path.clone(), "extra");
        }
    }
    stale.into_iter().collect()
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

/// Subcommand names that a path must not be mistaken for (DESIGN.md section 5: `./crds`).
const SUBCOMMANDS: &[&str] = &[
    "crds",
    "profile",
    "discover",
    "diff",
    "check",
    "completions",
    "help",
];

/// A path as a command-line word: `./` in front of one that reads as a flag or a subcommand.
fn path_word(path: &Path) -> String {
    let text = path.to_string_lossy().into_owned();
    if text != "-" && (text.starts_with('-') || SUBCOMMANDS.contains(&text.as_str())) {
        format!("./{text}")
    } else {
        text
    }
}

/// Quotes a word for a POSIX shell when it holds anything but safe characters.
fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("layer-render").chain(args.iter().copied()))
    }

    #[test]
    fn diff_takes_two_sides_and_repeatable_ignores() {
        let cli = parse(&[
            "diff",
            "old.yaml",
            "new/",
            "--format",
            "markdown",
            "--ignore",
            "/metadata/annotations/a~1b",
            "--ignore",
            "Deployment:/spec/replicas",
            "--color",
            "always",
        ])
        .unwrap();
        let Some(Command::Diff(args)) = cli.command else {
            panic!("not a diff: {cli:?}");
        };
        assert_eq!(args.old, PathBuf::from("old.yaml"));
        assert_eq!(args.new, PathBuf::from("new/"));
        assert_eq!(args.format, DiffFormat::Markdown);
        assert_eq!(args.color, ColorChoice::Always);
        let rules: Vec<String> = args.ignore.iter().map(ToString::to_string).collect();
        assert_eq!(
            rules,
            ["/metadata/annotations/a~1b", "Deployment:/spec/replicas"]
        );
        assert!(!args.render);
    }

    #[test]
    fn diff_rejects_a_bad_ignore_rule_and_an_unknown_format() {
        let err = parse(&["diff", "a", "b", "--ignore", "spec.replicas"]).unwrap_err();
        assert!(err.to_string().contains("JSON pointer"), "{err}");
        assert!(parse(&["diff", "a", "b", "--format", "html"]).is_err());
        assert!(parse(&["diff", "a"]).is_err());
    }

    #[test]
    fn render_flags_of_diff_need_render() {
        assert!(parse(&["diff", "a", "b", "--profile", "p.yaml"]).is_err());
        assert!(parse(&["diff", "a", "b", "--strict"]).is_err());
        let cli = parse(&[
            "diff",
            "--render",
            "a",
            "b",
            "--profile",
            "p.yaml",
            "-n",
            "x",
        ])
        .unwrap();
        let Some(Command::Diff(args)) = cli.command else {
            panic!("not a diff");
        };
        assert!(args.render);
        assert_eq!(args.profile, Some(PathBuf::from("p.yaml")));
        assert_eq!(args.namespace, "x");
    }

    #[test]
    fn check_takes_a_directory_and_inputs_with_render_flags() {
        let cli = parse(&[
            "check",
            "rendered",
            "crs/",
            "--profile",
            "p.yaml",
            "--strict",
        ])
        .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not a check");
        };
        assert_eq!(args.dir, PathBuf::from("rendered"));
        assert_eq!(args.paths, [PathBuf::from("crs/")]);
        assert!(args.input.strict);
        // Without inputs, check reads them from the tree's record.
        let cli = parse(&["check", "rendered"]).unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not a check");
        };
        assert!(args.paths.is_empty());
    }

    #[test]
    fn the_regenerate_command_carries_every_flag_that_changes_output() {
        let input = InputArgs {
            profile: Some(PathBuf::from("my profile.yaml")),
            namespace: "shop".into(),
            strict: true,
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
            profile: None,
            namespace: "default".into(),
            strict: false,
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

    #[test]
    fn quoting_leaves_safe_words_alone() {
        assert_eq!(quote("a/b-c_d.yaml"), "a/b-c_d.yaml");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn file_comparison_finds_missing_changed_and_extra_files() {
        let expected = vec![
            ("a.yaml".to_string(), "a\n".to_string()),
            ("b.yaml".to_string(), "b\n".to_string()),
            ("c.yaml".to_string(), "c\n".to_string()),
        ];
        let on_disk: BTreeMap<String, Vec<u8>> = [
            ("a.yaml".to_string(), b"a\n".to_vec()),
            ("b.yaml".to_string(), b"B\n".to_vec()),
            ("notes.txt".to_string(), b"x".to_vec()),
        ]
        .into();
        assert_eq!(
            compare_files(&expected, &on_disk),
            [
                ("b.yaml".to_string(), "changed"),
                ("c.yaml".to_string(), "missing"),
                ("notes.txt".to_string(), "extra")
            ]
        );
    }
}
