//! The documentation keeps up with the code: every diagnostic code has an entry.

use layer_render::diagnostic::Code;

use crate::tools::repo_root;

#[test]
fn every_diagnostic_code_is_documented() {
    let doc = std::fs::read_to_string(repo_root().join("docs/diagnostics.md")).unwrap();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !doc.contains(&format!("\n## {code}: ")))
        .collect();
    assert_eq!(
        missing,
        Vec::<&str>::new(),
        "codes without an entry in docs/diagnostics.md"
    );
}

#[test]
fn every_documented_code_exists() {
    let doc = std::fs::read_to_string(repo_root().join("docs/diagnostics.md")).unwrap();
    let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let stale: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        // Retired codes keep their entry, marked so, and are never reused.
        .filter(|l| !l.ends_with("(retired)"))
        .filter_map(|l| l.split(':').next())
        .filter(|code| !known.contains(code))
        .collect();
    assert_eq!(
        stale,
        Vec::<&str>::new(),
        "entries for codes the registry does not have"
    );
}
