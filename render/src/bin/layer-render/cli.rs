//! Flags. Rendering is the default action; everything else is a subcommand.
//!
//! `Cli` is what clap parses; each command's file under `cmd/` checks its flags against each
//! other before it reads any input, then turns them into the library's options. Flag groups
//! that several commands take are flattened structs, declared once.

use std::path::{Path, PathBuf};

use clap::{Arg, Args, Parser, Subcommand, ValueEnum};
use layer_render::diff::IgnoreRule;
use layer_render::diff::markdown;
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
    Diff(DiffArgs),
    /// Fail (exit 1) when a committed --out directory is out of date with its inputs.
    Check(CheckArgs),
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

/// The profile and the flags that every render takes: render's, check's and diff --render's.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The profile: the install context (see `layer-render profile`).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Namespace for namespaced hev layer objects that set none.
    #[arg(long, short = 'n', value_name = "NS", default_value = "default", value_parser = namespace)]
    pub namespace: String,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Flags shared by every command that renders input.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The profile, the namespace and --strict.
    #[command(flatten)]
    pub rendering: ProfileArgs,
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
            rendering:
                ProfileArgs {
                    profile,
                    namespace,
                    strict,
                },
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

/// `diff` flags. The render flags are render's own, worded for --render, which they need.
#[derive(Debug, Args)]
#[command(mut_args(diff_wording))]
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
    /// With --render: the profile, the namespace and --strict.
    #[command(flatten)]
    pub rendering: ProfileArgs,
    /// Largest file of OLD and NEW, in bytes. Default: no limit (the parser's limits still
    /// bound each document); with --render, the render's own limit of 64 MiB per input file.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Where symlinks inside OLD and NEW may lead: `root-only` or `none` (see render's flag).
    #[arg(long, value_enum, value_name = "RESTRICTOR", default_value_t = LoadRestrictor::RootOnly)]
    pub load_restrictor: LoadRestrictor,
}

/// diff's wording of the flattened render flags, which apply only with --render: --profile
/// and --strict need it (--namespace has a default, so it cannot). Changed in place, so the
/// flags keep their order in help and completions.
fn diff_wording(arg: Arg) -> Arg {
    match arg.get_id().as_str() {
        "profile" => arg
            .help("With --render: the profile (see `layer-render profile`)")
            .requires("render"),
        "namespace" => {
            arg.help("With --render: namespace for namespaced hev layer objects that set none")
        }
        "strict" => arg
            .help("With --render: treat warnings as errors")
            .requires("render"),
        _ => arg,
    }
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
pub fn path_word(path: &Path) -> String {
    let text = path.to_string_lossy().into_owned();
    if text != "-" && (text.starts_with('-') || SUBCOMMANDS.contains(&text.as_str())) {
        format!("./{text}")
    } else {
        text
    }
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("layer-render").chain(args.iter().copied()))
    }

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
        assert!(cli.render.input.rendering.strict);
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
        assert_eq!(args.rendering.profile, Some(PathBuf::from("p.yaml")));
        assert_eq!(args.rendering.namespace, "x");
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
        assert!(args.input.rendering.strict);
        // Without inputs, check reads them from the tree's record.
        let cli = parse(&["check", "rendered"]).unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not a check");
        };
        assert!(args.paths.is_empty());
    }

    #[test]
    fn diff_words_the_shared_render_flags_for_render_and_keeps_their_order() {
        let cli = Cli::command();
        let diff = cli.find_subcommand("diff").unwrap();
        let ids: Vec<&str> = diff.get_arguments().map(|a| a.get_id().as_str()).collect();
        assert_eq!(
            ids,
            [
                "old",
                "new",
                "render",
                "format",
                "budget",
                "full_diff",
                "color",
                "ignore",
                "context",
                "profile",
                "namespace",
                "strict",
                "max_file_size",
                "load_restrictor"
            ]
        );
        let help = |id: &str| {
            diff.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help())
                .map(ToString::to_string)
                .unwrap()
        };
        assert_eq!(
            help("profile"),
            "With --render: the profile (see `layer-render profile`)"
        );
        assert_eq!(
            help("namespace"),
            "With --render: namespace for namespaced hev layer objects that set none"
        );
        assert_eq!(help("strict"), "With --render: treat warnings as errors");
    }
}
