//! The files that input flags name besides the inputs: the profile and `--nodepools`, and the
//! render options they make.

use layer_render::diagnostic::{Code, Diagnostic};
use layer_render::load;
use layer_render::profile::Profile;
use layer_render::render::RenderOptions;

use crate::cli::InputArgs;

/// Reads the profile, or reports why it cannot be read.
pub fn load_profile(input: &InputArgs) -> Result<Profile, Vec<Diagnostic>> {
    let Some(path) = &input.rendering.profile else {
        return Ok(Profile::default());
    };
    let name = layer_render::load::display(path);
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![Diagnostic::new(
            Code::Io,
            format!("cannot read profile {name}: {err}"),
        )]
    })?;
    Profile::parse(&name, &text)
}

/// Reads the `--nodepools` files and directories, or reports why they cannot be read.
pub fn load_nodepools(input: &InputArgs) -> Result<Vec<load::Document>, Vec<Diagnostic>> {
    let loaded = load::load_paths(&input.nodepools, &input.limits());
    if loaded.diagnostics.is_empty() {
        Ok(loaded.documents)
    } else {
        Err(loaded.diagnostics)
    }
}

/// The render options from the input flags, or why the profile (first) or the NodePools
/// cannot be read.
pub fn render_options(input: &InputArgs) -> Result<RenderOptions, Vec<Diagnostic>> {
    let profile = load_profile(input)?;
    Ok(options(input, profile, load_nodepools(input)?))
}

/// The render options from the input flags and the files they name.
pub fn options(
    input: &InputArgs,
    profile: Profile,
    nodepools: Vec<load::Document>,
) -> RenderOptions {
    RenderOptions {
        engine: input.gitops.unwrap_or(profile.gitops.engine),
        profile,
        namespace: input.rendering.namespace.clone(),
        strict: input.rendering.strict,
        nodepools,
        allow_unschedulable: input.allow_unschedulable,
    }
}
