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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    /// The modules of the binary that each module uses (`crate::NAME`), read from its source.
    fn imports(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        for (at, _) in source.match_indices("crate::") {
            let rest = &source[at + "crate::".len()..];
            let listed = match rest.strip_prefix('{') {
                Some(list) => list.split('}').next().unwrap_or_default(),
                None => rest,
            };
            for item in listed.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && !names.contains(&name) {
                    names.push(name);
                }
                if rest.starts_with(|c: char| c != '{') {
                    break;
                }
            }
        }
        names
    }

    #[test]
    fn the_modules_depend_one_way() {
        // main uses cmd, a command uses the shared modules, and a shared module uses only
        // those listed here: never a command, main, or a module that uses it.
        let shared: &[(&str, &str, &[&str])] = &[
            ("cli.rs", include_str!("cli.rs"), &[]),
            ("exit.rs", include_str!("exit.rs"), &[]),
            ("output.rs", include_str!("output.rs"), &[]),
            ("print.rs", include_str!("print.rs"), &["cli"]),
            ("inputs.rs", include_str!("inputs.rs"), &["cli"]),
            ("record.rs", include_str!("record.rs"), &["cli"]),
        ];
        for (name, source, allowed) in shared {
            assert_eq!(imports(source), *allowed, "{name}");
        }
        let commands = [
            include_str!("cmd/check.rs"),
            include_str!("cmd/completions.rs"),
            include_str!("cmd/crds.rs"),
            include_str!("cmd/diff.rs"),
            include_str!("cmd/discover.rs"),
            include_str!("cmd/profile.rs"),
            include_str!("cmd/render.rs"),
        ];
        let modules = ["cli", "exit", "inputs", "output", "print", "record"];
        for source in commands {
            for name in imports(source) {
                assert!(modules.contains(&name.as_str()), "a command uses {name}");
            }
            assert!(!source.contains("super::super"), "a command uses another");
        }
        assert_eq!(
            imports("use crate::{a, b::C};\nuse crate::cli::X;\nlet y = crate::d::f();"),
            ["a", "b", "cli", "d"]
        );
    }
}
