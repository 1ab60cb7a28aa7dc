//! The default action: render PATH... to stdout, or to an `--out` tree with its provenance
//! record.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use layer_render::emit;
use layer_render::load;
use layer_render::profile::Engine;
use layer_render::render::render;

use crate::cli::RenderArgs;
use crate::{exit, inputs, output, print, record};

/// Runs a render.
pub fn run(args: RenderArgs) -> Result<ExitCode> {
    let RenderArgs { paths, out, input } = args;
    // Usage errors first: none of them should wait for the profile or a large load.
    if paths.is_empty() {
        bail!("no input: give one or more files or directories, or - for stdin (see --help)");
    }
    if let Some(dir) = &out {
        output::out_dir(dir).with_context(|| format!("cannot write {}", dir.display()))?;
    }
    if let Some(engine) = input.gitops {
        flux_needs_out(engine, out.as_deref())?;
    }
    let (profile, nodepools) = match (inputs::load_profile(&input), inputs::load_nodepools(&input))
    {
        (Ok(profile), Ok(nodepools)) => (profile, nodepools),
        (profile, nodepools) => {
            let mut diagnostics = profile.err().unwrap_or_default();
            diagnostics.extend(nodepools.err().unwrap_or_default());
            print::diagnostics(&diagnostics, input.format)?;
            return Ok(exit::invalid());
        }
    };
    let options = inputs::options(&input, profile, nodepools);
    // The profile's engine: still before any input is read.
    flux_needs_out(options.engine, out.as_deref())?;
    let loaded = load::load_paths(&paths, &input.limits());
    // Only an --out tree records its inputs.
    let input_digest = out
        .as_ref()
        .map(|_| emit::provenance::input_digest(&loaded.documents));
    let rendered = render(loaded.documents, loaded.diagnostics, &options);
    print::diagnostics(&rendered.diagnostics, input.format)?;
    if rendered.has_errors() {
        return Ok(exit::invalid());
    }
    match out {
        Some(dir) => {
            let rendered_with = record::rendered_with(&dir, &paths, &input);
            let files = options.out_tree(
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

/// Flux output is a directory layout, so it needs `--out`.
fn flux_needs_out(engine: Engine, out: Option<&Path>) -> Result<()> {
    if engine == Engine::Flux && out.is_none() {
        bail!("--gitops flux writes a directory layout: add --out DIR");
    }
    Ok(())
}
