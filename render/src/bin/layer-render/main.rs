//! The `layer-render` binary: parse flags, run the command, and map the result to an exit
//! code (0 ok, 1 differences, 2 invalid input or usage).
//!
//! Modules depend one way: `main` on `cmd/`, a command on the shared modules (`cli` for
//! flags, `inputs`, `print`, `exit`, `output`, `record`), and none of those on a command.

mod cli;
mod cmd;
mod exit;
mod inputs;
mod output;
mod print;
mod record;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("layer-render: {err:#}");
            exit::invalid()
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
        None => cmd::render::run(cli.render),
        Some(Command::Crds) => cmd::crds::run(),
        Some(Command::Profile) => cmd::profile::run(),
        Some(Command::Discover(args)) => cmd::discover::run(&args),
        Some(Command::Diff(args)) => cmd::diff::run(args),
        Some(Command::Check(args)) => cmd::check::run(args),
        Some(Command::Completions { shell }) => cmd::completions::run(shell),
    }
}
