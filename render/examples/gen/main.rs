//! Writes a realistic input set for benchmarks: N Pipelines and N Functions with varied pools,
//! modes, dispatch, podSpec patches and schedules, N/2 Indexes, two VectorStores and one
//! InfraRules, in files of 100 objects across a few namespaces (see `corpus.rs`).
//!
//! `cargo run --release -p layer-render --example gen -- N OUT_DIR [--values FILE]`
//!
//! With `--values FILE` it also writes the values file of the Helm peer chart
//! (`bench/helm-peer/`), which produces the same worker objects from the same N.

mod corpus;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen N OUT_DIR [--values FILE]";
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| std::io::Error::other(usage))?;
    let out_dir = PathBuf::from(args.get(1).ok_or_else(|| std::io::Error::other(usage))?);
    let values = args
        .iter()
        .position(|a| a == "--values")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);

    let corpus = corpus::generate(n);
    std::fs::create_dir_all(&out_dir)?;
    for (name, text) in &corpus.files {
        std::fs::write(out_dir.join(name), text)?;
    }
    if let Some(values) = values {
        std::fs::write(values, corpus.values)?;
    }
    Ok(())
}
