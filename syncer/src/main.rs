//! The `layer-syncer` binary: parse flags, set up JSON logs, run the library.

use std::process::ExitCode;

use clap::Parser;
use layer_syncer::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
    }
    let opts = match cli.validate() {
        Ok(opts) => opts,
        Err(err) => {
            eprintln!("layer-syncer: {err}");
            return ExitCode::from(2);
        }
    };
    match layer_syncer::run::run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(
                error = format!("{:#}", anyhow::Error::new(err)),
                "layer-syncer failed"
            );
            ExitCode::FAILURE
        }
    }
}
