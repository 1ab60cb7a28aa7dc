//! `layer-render crds`: the five CustomResourceDefinitions.

use std::process::ExitCode;

use anyhow::Result;

use layer_render::{api, emit};

use crate::print;

/// Runs `layer-render crds`.
pub fn run() -> Result<ExitCode> {
    let docs: Vec<serde_json::Value> = api::crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    print::stdout(&emit::yaml::to_stream(&docs))
}
