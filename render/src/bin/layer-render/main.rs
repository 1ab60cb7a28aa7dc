//! The `layer-render` binary: parse flags, call the library, write the result, and map it to
//! an exit code (0 ok, 1 differences, 2 invalid input or usage).

mod cli;
mod diff_cmd;
mod output;
mod record;

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use cli::{Cli, Command, DiscoverArgs, Format, InputArgs, RenderArgs};
use layer_render::api::{self, discover};
use layer_render::diagnostic::{Code, Diagnostic};
use layer_render::emit;
use layer_render::load;
use layer_render::profile::{DEFAULT_PROFILE_YAML, Engine, Profile};
use layer_render::render::{RenderOptions, render};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for invalid input or usage.
const EXIT_INVALID: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("layer-render: {err:#}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// A closed stdout (`layer-render ... | head`) is not an error; see ripgrep's
/// `crates/core/main.rs`.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => run_render(cli.render),
        Some(Command::Crds) => {
            let docs: Vec<serde_json::Value> = api::crds()
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            print_stdout(&emit::yaml::to_stream(&docs))
        }
        Some(Command::Profile) => print_stdout(DEFAULT_PROFILE_YAML),
        Some(Command::Discover(args)) => run_discover(&args),
        Some(Command::Diff(args)) => diff_cmd::run_diff(args),
        Some(Command::Check(args)) => diff_cmd::run_check(args),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "layer-render", &mut out);
            std::io::stdout().write_all(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_stdout(text: &str) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints diagnostics on stderr in the chosen format.
fn report(diagnostics: &[Diagnostic], format: Format) -> Result<()> {
    let mut stderr = std::io::stderr().lock();
    match format {
        Format::Text => {
            for d in diagnostics {
                writeln!(stderr, "{d}")?;
            }
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = diagnostics.len() - errors;
            if errors > 0 {
                writeln!(
                    stderr,
                    "layer-render: {errors} error(s), {warnings} warning(s); nothing was written"
                )?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut stderr, diagnostics)?;
            writeln!(stderr)?;
        }
    }
    Ok(())
}

/// Reads the profile, or reports why it cannot be read.
fn load_profile(input: &InputArgs) -> Result<Profile, Vec<Diagnostic>> {
    let Some(path) = &input.profile else {
        return Ok(Profile::default());
    };
    let name = path.to_string_lossy().replace('\\', "/");
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![Diagnostic::new(
            Code::Io,
            format!("cannot read profile {name}: {err}"),
        )]
    })?;
    Profile::parse(&name, &text)
}

/// Reads the `--nodepools` files and directories, or reports why they cannot be read.
fn load_nodepools(input: &InputArgs) -> Result<Vec<load::Document>, Vec<Diagnostic>> {
    let loaded = load::load_paths(&input.nodepools, &input.limits());
    if loaded.diagnostics.is_empty() {
        Ok(loaded.documents)
    } else {
        Err(loaded.diagnostics)
    }
}

fn run_render(args: RenderArgs) -> Result<ExitCode> {
    let RenderArgs { paths, out, input } = args;
    if paths.is_empty() {
        anyhow::bail!(
            "no input: give one or more files or directories, or - for stdin (see --help)"
        );
    }
    let (profile, nodepools) = match (load_profile(&input), load_nodepools(&input)) {
        (Ok(profile), Ok(nodepools)) => (profile, nodepools),
        (profile, nodepools) => {
            let mut diagnostics = profile.err().unwrap_or_default();
            diagnostics.extend(nodepools.err().unwrap_or_default());
            report(&diagnostics, input.format)?;
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let options = RenderOptions {
        engine: input.gitops.unwrap_or(profile.gitops.engine),
        profile,
        namespace: input.namespace.clone(),
        strict: input.strict,
        nodepools,
        allow_unschedulable: input.allow_unschedulable,
    };
    // Before any input is read: a usage error should not wait for a large load.
    if options.engine == Engine::Flux && out.is_none() {
        anyhow::bail!("--gitops flux writes a directory layout: add --out DIR");
    }
    let loaded = load::load_paths(&paths, &input.limits());
    // Only an --out tree records its inputs.
    let input_digest = out
        .as_ref()
        .map(|_| emit::provenance::input_digest(&loaded.documents));
    let rendered = render(loaded.documents, loaded.diagnostics, &options);
    report(&rendered.diagnostics, input.format)?;
    if rendered.has_errors() {
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    match out {
        Some(dir) => {
            let rendered_with = record::rendered_with(&dir, &paths, &input);
            let files = options.out_files(
                rendered.objects,
                input_digest.unwrap_or_default(),
                rendered_with,
            );
            output::write_tree(&dir, &files)
                .with_context(|| format!("cannot write {}", dir.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            emit::write_stream(&rendered.objects, &mut stdout)?;
            stdout.flush()?;
            // The process ends next: freeing millions of nodes one by one would only add time.
            std::mem::forget(rendered);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_discover(args: &DiscoverArgs) -> Result<ExitCode> {
    let text = read_text(&args.namespaces)?;
    let namespaces = discover::parse_namespace_list(&text);
    let indexes =
        discover::discovered_indexes(&namespaces, &args.namespace, args.store_ref.as_deref())?;
    print_stdout(&emit::yaml::to_stream(&indexes))
}

fn read_text(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
