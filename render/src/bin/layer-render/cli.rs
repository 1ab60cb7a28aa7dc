//! Flags. Rendering is the default action; everything else is a subcommand.
//!
//! `Cli` is what clap parses; [`RenderArgs::options`] turns it into the library's validated
//! `RenderOptions` before any work starts.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use layer_render::load::{Limits, LoadRestrictor};
use layer_render::profile::Engine;

/// Render hev layer custom resources into plain, deterministic Kubernetes YAML.
///
/// Reads VectorStore, Index, InfraRules, Pipeline and Function objects (and passes any other
/// object through), validates them and prints the worker Deployments, Services and KEDA
/// objects they stand for, followed by the CRs themselves. Exit codes: 0 success, 1
/// differences found (diff, check), 2 invalid input or usage.
#[derive(Debug, Parser)]
#[command(name = "layer-render", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, render PATH...
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Render flags.
    #[command(flatten)]
    pub render: RenderArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the five CustomResourceDefinitions.
    Crds,
    /// Print the default profile, with comments, to start a profile file from.
    Profile,
    /// Print Index CRs for a list of upstream namespaces, to commit to Git.
    Discover(DiscoverArgs),
    /// Compare two renders object by object; exit 1 when they differ.
    Diff(crate::diff_cmd::DiffArgs),
    /// Fail (exit 1) when a committed --out directory is out of date with its inputs.
    Check(crate::diff_cmd::CheckArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per diagnostic: `file:line:column: error[CODE]: object: field: message`.
    #[default]
    Text,
    /// A JSON array of diagnostics.
    Json,
}

/// Flags shared by every command that reads input.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The profile: the install context (see `layer-render profile`).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Namespace for namespaced hev layer objects that set none.
    #[arg(long, short = 'n', value_name = "NS", default_value = "default", value_parser = namespace)]
    pub namespace: String,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// How to print diagnostics (on stderr).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Largest input file, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,
    /// The cluster's other Karpenter NodePools, to check that every worker can schedule
    /// (a file or directory of karpenter.sh/v1 NodePools; other kinds are skipped). Repeatable.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub nodepools: Vec<PathBuf>,
    /// Report workers that fit no known NodePool as warnings, not errors.
    #[arg(long)]
    pub allow_unschedulable: bool,
    /// The GitOps engine the output is for: `argo` adds sync waves, `flux` (with --out) writes
    /// ordered Flux Kustomizations. Default: the profile's `gitops.engine`.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub gitops: Option<Engine>,
    /// Where symlinks inside an input directory may lead: `root-only` (inside the directory
    /// named on the command line) or `none` (anywhere), as kustomize's flag of that name.
    #[arg(long, value_enum, value_name = "RESTRICTOR", default_value_t = LoadRestrictor::RootOnly)]
    pub load_restrictor: LoadRestrictor,
}

impl InputArgs {
    /// The loader's limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.max_file_size,
            load_restrictor: self.load_restrictor,
            ..Limits::default()
        }
    }

    /// The flags that change what a render writes, as command-line words, defaults left out;
    /// `path` writes a path. (`--format` only changes how diagnostics print.)
    pub fn words(&self, path: impl Fn(&Path) -> String) -> Vec<String> {
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
        } = self;
        let mut words = Vec::new();
        if let Some(profile) = profile {
            words.push("--profile".into());
            words.push(path(profile));
        }
        if namespace != "default" {
            words.push("--namespace".into());
            words.push(namespace.clone());
        }
        if *strict {
            words.push("--strict".into());
        }
        if *max_file_size != Limits::default().max_file_bytes {
            words.push("--max-file-size".into());
            words.push(max_file_size.to_string());
        }
        for file in nodepools {
            words.push("--nodepools".into());
            words.push(path(file));
        }
        if *allow_unschedulable {
            words.push("--allow-unschedulable".into());
        }
        if *load_restrictor != LoadRestrictor::RootOnly {
            words.push("--load-restrictor".into());
            words.push(value_name(load_restrictor));
        }
        if let Some(engine) = gitops {
            words.push("--gitops".into());
            words.push(value_name(engine));
        }
        words
    }
}

/// The name a flag value is written with on the command line.
fn value_name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// The render flags alone, to read back the words of [`InputArgs::words`].
#[derive(Debug, Parser)]
#[command(name = "layer-render", no_binary_name = true)]
pub struct RecordedFlags {
    /// Input flags.
    #[command(flatten)]
    pub input: InputArgs,
}

/// The default action: render.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Files, directories (searched for *.yaml and *.yml) or - for stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write one file per object under DIR, with a kustomization.yaml, instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Input flags.
    #[command(flatten)]
    pub input: InputArgs,
}

/// `discover` flags.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A file with one upstream namespace per line (`#` starts a comment); - for stdin.
    #[arg(long, value_name = "FILE")]
    pub namespaces: PathBuf,
    /// Namespace of the Index CRs (the gateway's index namespace).
    #[arg(long, short = 'n', value_name = "NS", default_value = "layer")]
    pub namespace: String,
    /// VectorStore the Index CRs use; the namespace's default store when not set.
    #[arg(long, value_name = "NAME")]
    pub store_ref: Option<String>,
}

/// A `--namespace` value: a DNS-1123 label, as every namespace.
pub fn namespace(value: &str) -> Result<String, String> {
    layer_render::validate::names::check_label(value)?;
    Ok(value.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn render_is_the_default_action() {
        let cli = Cli::try_parse_from(["layer-render", "a.yaml", "dir", "--strict", "--out", "o"])
            .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(
            cli.render.paths,
            [PathBuf::from("a.yaml"), PathBuf::from("dir")]
        );
        assert!(cli.render.input.strict);
        assert_eq!(cli.render.out, Some(PathBuf::from("o")));
    }

    #[test]
    fn a_subcommand_name_is_a_subcommand() {
        let cli = Cli::try_parse_from(["layer-render", "crds"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Crds)));
    }

    #[test]
    fn a_directory_named_like_a_subcommand_is_written_with_a_path() {
        let cli = Cli::try_parse_from(["layer-render", "./crds"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.render.paths, [PathBuf::from("./crds")]);
    }

    #[test]
    fn nodepools_repeats_and_allow_unschedulable_is_a_switch() {
        let cli = Cli::try_parse_from([
            "layer-render",
            "in",
            "--nodepools",
            "a.yaml",
            "--nodepools=pools/",
            "--allow-unschedulable",
        ])
        .unwrap();
        assert_eq!(
            cli.render.input.nodepools,
            [PathBuf::from("a.yaml"), PathBuf::from("pools/")]
        );
        assert!(cli.render.input.allow_unschedulable);
        let cli = Cli::try_parse_from(["layer-render", "in"]).unwrap();
        assert!(cli.render.input.nodepools.is_empty());
        assert!(!cli.render.input.allow_unschedulable);
    }

    #[test]
    fn the_load_restrictor_takes_ours_and_kustomizes_spelling() {
        let parse =
            |args: &[&str]| Cli::try_parse_from(args).map(|c| c.render.input.load_restrictor);
        assert_eq!(
            parse(&["layer-render", "a"]).unwrap(),
            LoadRestrictor::RootOnly
        );
        assert_eq!(
            parse(&["layer-render", "a", "--load-restrictor", "none"]).unwrap(),
            LoadRestrictor::None
        );
        assert_eq!(
            parse(&[
                "layer-render",
                "a",
                "--load-restrictor=LoadRestrictionsNone"
            ])
            .unwrap(),
            LoadRestrictor::None
        );
        assert!(parse(&["layer-render", "a", "--load-restrictor", "all"]).is_err());
    }

    #[test]
    fn a_namespace_flag_must_be_a_dns_label() {
        let err = Cli::try_parse_from(["layer-render", "a", "-n", "../.."]).unwrap_err();
        assert!(
            err.to_string().contains(
                "invalid value '../..' for '--namespace <NS>': must consist of lower case alphanumeric characters or '-'"
            ),
            "{err}"
        );
    }

    #[test]
    fn format_accepts_only_known_values() {
        assert!(Cli::try_parse_from(["layer-render", "--format", "json", "a"]).is_ok());
        assert!(Cli::try_parse_from(["layer-render", "--format", "xml", "a"]).is_err());
    }
}
