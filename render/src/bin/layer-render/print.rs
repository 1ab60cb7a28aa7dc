//! Printing: text on stdout, diagnostics on stderr in the chosen format.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use layer_render::diagnostic::Diagnostic;

use crate::cli::Format;

/// Prints `text` on stdout.
pub fn stdout(text: &str) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints diagnostics on stderr in the chosen format.
pub fn diagnostics(diagnostics: &[Diagnostic], format: Format) -> Result<()> {
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
