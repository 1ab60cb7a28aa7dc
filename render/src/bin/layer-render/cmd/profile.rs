//! `layer-render profile`: the default profile, with comments.

use std::process::ExitCode;

use anyhow::Result;

use layer_render::profile::DEFAULT_PROFILE_YAML;

use crate::print;

/// Runs `layer-render profile`.
pub fn run() -> Result<ExitCode> {
    print::stdout(DEFAULT_PROFILE_YAML)
}
