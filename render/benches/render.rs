//! The render pipeline's hot paths at 10,000 workloads: the corpus of `bench/run.sh` for
//! N = 10,000 (10,000 Pipelines, 10,000 Functions, 5,000 Indexes, two VectorStores, one
//! InfraRules; 25,003 input objects, 53,003 output objects), generated here by the same code as
//! the example `gen`.
//!
//! - `load`: every input file through `load_str` (YAML to located documents);
//! - `decode_validate`: `validate::objects::decode` and `validate::check_all`;
//! - `expand`: `expand::expand` (the children of every CR, as JSON);
//! - `expand_link_write`: expansion as `render` runs it, each family linked and written to
//!   YAML text as it is built;
//! - `sort_stream`: `emit::sort` and `emit::stream` of the written objects;
//! - `total`: the whole `render::render` from documents, plus `emit::stream` (everything the
//!   binary does but reading files and writing stdout).
//!
//! Run with `cargo bench -p layer-render --bench render`. Figures: `docs/performance.md`.

use divan::Bencher;
use layer_render::emit::{self, Emitted, Object};
use layer_render::expand::{expand as expand_inputs, expand_with, linkage};
use layer_render::load::{Document, Limits, load_str};
use layer_render::profile::Profile;
use layer_render::render::{RenderOptions, render};
use layer_render::validate::{self, objects::Inputs};

// The bench reads only the input half of the corpus, not the Helm peer's values.
#[allow(dead_code)]
#[path = "../examples/gen/corpus.rs"]
mod corpus;

/// The binary's allocator, so the phases are timed as `layer-render` runs them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Workloads of each kind.
const N: usize = 10_000;

fn main() {
    divan::main();
}

fn files() -> Vec<(String, String)> {
    corpus::generate(N).files
}

fn load_all(files: &[(String, String)]) -> Vec<Document> {
    let limits = Limits::default();
    files
        .iter()
        .flat_map(|(name, text)| load_str(name, text, &limits).documents)
        .collect()
}

fn decode(documents: Vec<Document>) -> Inputs {
    validate::objects::decode(documents, "default").0
}

/// Every family linked and written, as `render` has them before sorting.
fn written(inputs: Inputs) -> Vec<Emitted> {
    let finish = |mut family: Vec<Object>| {
        linkage::link(&mut family, &linkage::Children::default());
        family.into_iter().map(Emitted::from).collect()
    };
    expand_with(inputs, &Profile::default(), &finish).objects
}

#[divan::bench(sample_count = 10)]
fn load(bencher: Bencher) {
    let files = files();
    bencher.bench(|| load_all(&files));
}

#[divan::bench(sample_count = 10)]
fn decode_validate(bencher: Bencher) {
    let documents = load_all(&files());
    let profile = Profile::default();
    bencher
        .with_inputs(|| documents.clone())
        .bench_values(|documents| {
            let (inputs, mut diagnostics) = validate::objects::decode(documents, "default");
            diagnostics.extend(validate::check_all(&inputs, &profile, "default"));
            (inputs, diagnostics)
        });
}

#[divan::bench(sample_count = 10)]
fn expand(bencher: Bencher) {
    let inputs = decode(load_all(&files()));
    let profile = Profile::default();
    bencher
        .with_inputs(|| inputs.clone())
        .bench_values(|inputs| expand_inputs(inputs, &profile));
}

#[divan::bench(sample_count = 10)]
fn expand_link_write(bencher: Bencher) {
    let inputs = decode(load_all(&files()));
    bencher.with_inputs(|| inputs.clone()).bench_values(written);
}

#[divan::bench(sample_count = 10)]
fn sort_stream(bencher: Bencher) {
    let objects = written(decode(load_all(&files())));
    bencher
        .with_inputs(|| objects.clone())
        .bench_values(|mut objects| {
            emit::sort(&mut objects);
            emit::stream(&objects)
        });
}

#[divan::bench(sample_count = 10)]
fn total(bencher: Bencher) {
    let documents = load_all(&files());
    let options = RenderOptions::default();
    bencher
        .with_inputs(|| documents.clone())
        .bench_values(|documents| {
            let rendered = render(documents, Vec::new(), &options);
            emit::stream(&rendered.objects)
        });
}
