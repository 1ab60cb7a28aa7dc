//! The fast YAML reader against serde-saphyr: any text the fast reader takes must give the
//! same documents, positions and diagnostics as serde-saphyr gives it. The fast reader
//! exists only for speed (`docs/fuzzing.md`), so any difference is a bug in it.
#![no_main]

use layer_render::load::{Limits, compare_readers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Bytes that are not UTF-8 are refused before either reader runs.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(both) = compare_readers("fuzz.yaml", text, &Limits::default()) {
        let (fast, full) = *both;
        panic!("the readers disagree on {text:?}:\nfast: {fast:#?}\nfull: {full:#?}");
    }
});
