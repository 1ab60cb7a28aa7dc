//! `layer-render diff` and `layer-render check`: their flags and handlers.
//!
//! `diff` reads two renders (stream files, `--out` directories, stdin, or with `--render` the
//! inputs of two renders), compares them with [`layer_render::diff`] and prints the report;
//! exit 0 when equal, 1 when they differ, 2 on bad input. `check` renders its inputs the way
//! the default action would and compares the result with a committed `--out` directory, both
//! object by object (for the summary) and byte by byte (a reformatted or hand-added file also
//! makes it stale); exit 1 prints the command that regenerates the directory. Files and
//! directories whose names start with `.` are not compared, like the loader skips them.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use layer_render::diagnostic::{Code, Diagnostic};
use layer_render::diff::{self, DiffOptions, IgnoreRule, text::TextOptions};
use layer_render::emit::{self, Object};
use layer_render::load::walk::{self, Select};
use layer_render::load::{self, Limits, LoadRestrictor};
use layer_render::render::{RenderOptions, render, render_json};

use crate::cli::{Format, InputArgs};
use crate::{EXIT_INVALID, load_nodepools, load_profile, print_stdout, report};

/// Exit code when the renders differ or the committed directory is stale.
const EXIT_DIFFERENT: u8 = 1;

/// How `diff` prints its report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// A summary, then a unified diff per object.
    #[default]
    Text,
    /// A collapsible section per object, for a review comment.
    Markdown,
    /// The counts and the changed objects with their changed field paths.
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
    /// Largest input file, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,
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
    /// The inputs it is rendered from: files, directories or - for stdin.
    #[arg(value_name = "PATH", required = true)]
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
    let limits = Limits {
        max_file_bytes: max_file_size,
        load_restrictor,
        ..Limits::default()
    };
    let (old_objects, new_objects, diagnostics) = if render_first {
        let input = InputArgs {
            profile,
            namespace,
            strict,
            format: diagnostics_format,
            max_file_size,
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
        both_sides(&old, &new, |side| rendered_side(side, &options, &limits))
    } else {
        both_sides(&old, &new, |side| loaded_side(side, &limits))
    };
    // Both sides are read before deciding, so every problem shows in one run.
    if !diagnostics.is_empty() {
        report(&diagnostics, diagnostics_format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let options = DiffOptions { ignore };
    let result = diff::diff(&old_objects, &new_objects, &options)
        .with_context(|| format!("cannot compare {} with {}", old.display(), new.display()))?;
    // The process ends right after printing; freeing two large renders node by node would
    // cost more than the comparison (about 65 ms at 10,000 objects a side), so leave it to
    // the operating system.
    std::mem::forget((old_objects, new_objects));
    let out = match format {
        DiffFormat::Text => diff::text::render(
            &result,
            &TextOptions {
                context,
                color: use_color(color),
            },
        ),
        DiffFormat::Markdown => diff::markdown::render(&result, context),
        DiffFormat::Json => diff::json::render(&result),
    };
    print_stdout(&out)?;
    Ok(exit_for(result.is_empty()))
}

/// Reads both sides, the old one on a second thread: parsing dominates a large diff, and the
/// two sides are independent. Diagnostics come old side first.
fn both_sides<F>(old: &Path, new: &Path, read: F) -> (Vec<Object>, Vec<Object>, Vec<Diagnostic>)
where
    F: Fn(&Path) -> (Vec<Object>, Vec<Diagnostic>) + Sync,
{
    let ((old_objects, mut diagnostics), (new_objects, found)) = std::thread::scope(|scope| {
        let old_side = scope.spawn(|| read(old));
        let new_side = read(new);
        // A panic on the old side's thread is a bug; surface it as one rather than hide it.
        let old_side = old_side
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (old_side, new_side)
    });
    diagnostics.extend(found);
    (old_objects, new_objects, diagnostics)
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

/// One side read as rendered objects, with every problem found.
fn loaded_side(path: &Path, limits: &Limits) -> (Vec<Object>, Vec<Diagnostic>) {
    let loaded = load::load_paths(&[path.to_path_buf()], limits);
    let mut diagnostics = loaded.diagnostics;
    let mut objects = Vec::with_capacity(loaded.documents.len());
    for document in loaded.documents {
        // Without a kind and a name there is nothing to match the object on.
        let missing = if document.kind().is_none_or(str::is_empty) {
            Some((
                Code::MissingTypeMeta,
                "kind",
                "kind is required to match objects",
            ))
        } else if document.name().is_none_or(str::is_empty) {
            Some((
                Code::InvalidName,
                "metadata.name",
                "metadata.name is required to match objects",
            ))
        } else {
            None
        };
        if let Some((code, field, message)) = missing {
            let steps: Vec<String> = field.split('.').map(str::to_string).collect();
            diagnostics.push(
                Diagnostic::new(code, message)
                    .at(document.span_of(&steps))
                    .field(field),
            );
            continue;
        }
        objects.push(Object::from_value(document.root.to_json()));
    }
    (objects, diagnostics)
}

/// One side rendered from its inputs.
fn rendered_side(
    path: &Path,
    options: &RenderOptions,
    limits: &Limits,
) -> (Vec<Object>, Vec<Diagnostic>) {
    let loaded = load::load_paths(&[path.to_path_buf()], limits);
    let rendered = render_json(loaded.documents, loaded.diagnostics, options);
    (rendered.objects, rendered.diagnostics)
}

// === check ===

/// The most stale files `check` lists by name.
const LISTED_FILES: usize = 20;

/// Runs `layer-render check`.
pub fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs { dir, paths, input } = args;
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
    // The committed tree is read and parsed while the inputs render: the two are independent,
    // and each takes about half of a large check.
    let (rendered, committed) = std::thread::scope(|scope| {
        let committed = scope.spawn(|| -> Result<_> {
            if !exists {
                return Ok((Vec::new(), Vec::new(), BTreeMap::new()));
            }
            let (objects, mut diagnostics) = loaded_side(&dir, &limits);
            let (files, unreadable) = read_tree(&dir, limits.load_restrictor);
            // The YAML files' problems are already reported by loaded_side.
            let new = unreadable.into_iter().filter(|d| !diagnostics.contains(d));
            diagnostics.extend(new.collect::<Vec<_>>());
            Ok((objects, diagnostics, files))
        });
        let loaded = load::load_paths(&paths, &limits);
        let input_digest = emit::provenance::input_digest(&loaded.documents);
        let rendered = (
            render(loaded.documents, loaded.diagnostics, &options),
            input_digest,
        );
        let committed = committed
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (rendered, committed)
    });
    let (rendered, input_digest) = rendered;
    report(&rendered.diagnostics, input.format)?;
    if rendered.has_errors() {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let (committed, diagnostics, on_disk) = committed?;
    if !diagnostics.is_empty() {
        report(&diagnostics, input.format)?;
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Ok(ExitCode::from(EXIT_INVALID));
    }

    let mut expected = options.out_files(rendered.objects, input_digest);
    // The provenance record is last; it is a dot file, which read_tree leaves out.
    let record = expected.pop().map(|(_, text)| text).unwrap_or_default();
    let mut stale_files = compare_files(&expected, &on_disk);
    let provenance = provenance_findings(&dir, &record, &on_disk);
    if exists
        && !provenance.is_empty()
        && !stale_files.iter().any(|(p, _)| p == emit::provenance::FILE)
    {
        stale_files.push((emit::provenance::FILE.to_string(), "changed"));
    }
    // Compare like with like: the objects of the files a render would write (Flux
    // Kustomizations included) against the objects committed.
    let expected_objects = objects_of_files(&expected);
    let count = expected_objects.len();
    let result = diff::diff(&committed, &expected_objects, &DiffOptions::default())
        .with_context(|| format!("cannot compare {}", dir.display()))?;
    // As in `diff`: the process ends soon, so skip freeing the two renders.
    std::mem::forget((committed, expected_objects));
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
    Ok(ExitCode::from(EXIT_DIFFERENT))
}

/// Every file under `root` (relative path with `/`, bytes), skipping dot-entries, with the
/// problems that kept any from being read: links out of the tree among them, so a committed
/// render cannot make `check` read a file elsewhere on the machine.
fn read_tree(
    root: &Path,
    restrictor: LoadRestrictor,
) -> (BTreeMap<String, Vec<u8>>, Vec<Diagnostic>) {
    let walked = walk::walk(root, Select::Everything, restrictor);
    let mut diagnostics = walked.diagnostics;
    let mut files = BTreeMap::new();
    for path in walked.files {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let relative = relative.to_string_lossy().replace('\\', "/");
        match std::fs::read(&path) {
            Ok(bytes) => {
                files.insert(relative, bytes);
            }
            Err(err) => diagnostics.push(Diagnostic::new(
                Code::Io,
                format!("cannot read {}: {err}", path.display()),
            )),
        }
    }
    (files, diagnostics)
}

/// What the committed provenance record says about the tree: hand edits, and inputs or
/// options that changed since it was rendered. Empty when the record matches `expected`.
fn provenance_findings(
    dir: &Path,
    expected: &str,
    on_disk: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    use emit::provenance::{FILE, Provenance};
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
    let disk: BTreeMap<String, String> = on_disk
        .iter()
        .map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned()))
        .collect();
    let mut findings = recorded.hand_edits(&disk);
    if recorded.input_digest != fresh.input_digest {
        findings.push("the inputs changed since the last render".into());
    }
    if recorded.options_digest != fresh.options_digest {
        findings.push("the profile or the render flags changed since the last render".into());
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

/// The objects in a render's files (every YAML file but the kustomizations).
fn objects_of_files(files: &[(String, String)]) -> Vec<Object> {
    let mut objects = Vec::new();
    for (path, text) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        if !name.ends_with(".yaml") || name == "kustomization.yaml" {
            continue;
        }
        let loaded = load::load_str(path, text, &Limits::default());
        objects.extend(
            loaded
                .documents
                .iter()
                .map(|d| Object::from_value(d.root.to_json())),
        );
    }
    objects
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
    // Exhaustive, so a new input flag fails to compile until it is carried over here.
    let InputArgs {
        profile,
        namespace,
        strict,
        format: _,
        max_file_size,
        nodepools,
        allow_unschedulable,
        gitops,
        load_restrictor,
    } = input;
    let mut words = vec!["layer-render".to_string()];
    if let Some(profile) = profile {
        words.push("--profile".into());
        words.push(quote(&path_word(profile)));
    }
    if namespace != "default" {
        words.push("--namespace".into());
        words.push(quote(namespace));
    }
    if *strict {
        words.push("--strict".into());
    }
    if *max_file_size != Limits::default().max_file_bytes {
        words.push("--max-file-size".into());
        words.push(max_file_size.to_string());
    }
    for path in nodepools {
        words.push("--nodepools".into());
        words.push(quote(&path_word(path)));
    }
    if *allow_unschedulable {
        words.push("--allow-unschedulable".into());
    }
    if *load_restrictor != LoadRestrictor::RootOnly {
        words.push("--load-restrictor".into());
        words.push(
            load_restrictor
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default(),
        );
    }
    if let Some(engine) = gitops {
        words.push("--gitops".into());
        words.push(
            engine
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default(),
        );
    }
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
        assert!(parse(&["check", "rendered"]).is_err());
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
