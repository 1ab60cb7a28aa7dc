//! `layer-render discover`: Index CRs for a list of upstream namespaces.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use layer_render::api::discover;
use layer_render::emit;

use crate::cli::DiscoverArgs;
use crate::print;

/// Runs `layer-render discover`.
pub fn run(args: &DiscoverArgs) -> Result<ExitCode> {
    let text = read_text(&args.namespaces)?;
    let namespaces = discover::parse_namespace_list(&text);
    let indexes =
        discover::discovered_indexes(&namespaces, &args.namespace, args.store_ref.as_deref())?;
    print::stdout(&emit::yaml::to_stream(&indexes))
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
