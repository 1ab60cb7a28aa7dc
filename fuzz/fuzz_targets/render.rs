//! Fuzz the whole render path: any bytes, loaded as one file, then validated, expanded and
//! emitted. A panic, a hang or runaway memory is a bug; diagnostics are the expected answer
//! to bad input. The same bytes must render the same way twice.
#![no_main]

use layer_render::emit;
use layer_render::load::{Limits, load_bytes};
use layer_render::render::{RenderOptions, render};
use libfuzzer_sys::fuzz_target;

fn render_once(data: &[u8]) -> (String, Vec<String>) {
    let loaded = load_bytes("fuzz.yaml", data, &Limits::default());
    let rendered = render(loaded.documents, loaded.diagnostics, &RenderOptions::default());
    let diagnostics = rendered.diagnostics.iter().map(ToString::to_string).collect();
    (emit::stream(&rendered.objects), diagnostics)
}

fuzz_target!(|data: &[u8]| {
    let first = render_once(data);
    assert_eq!(first, render_once(data), "render is not deterministic");
});
