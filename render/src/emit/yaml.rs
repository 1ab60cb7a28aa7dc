//! A small deterministic YAML writer for JSON-shaped values.
//!
//! Block style, two-space indent, sequences at their parent's indent (kubectl and kustomize
//! write them so), mapping keys sorted. Every string, in every position, reads back as the same
//! string in Go's `yaml.v2` and `yaml.v3` (kubectl, kustomize, Argo CD, Flux), in YAML 1.1
//! readers (PyYAML) and in YAML 1.2 readers (ruamel.yaml): `tests/yaml_readers.rs` holds the
//! writer to that with those readers. The rules, from the cheapest form to the safest:
//!
//! - plain, when no reader could take it for anything else: not `on`, `y`, `null`, `0755`,
//!   `1_000`, `1:20`, `.inf`, `2026-01-01`, `<<`, `...` and the like, in any case;
//! - a literal block (`|`) for multi-line values without special characters;
//! - single quotes when only the characters are fine;
//! - double quotes with escapes when the string holds a control character (C0, DEL, C1), a
//!   character that YAML 1.1 readers take for a line break (U+0085, U+2028, U+2029), a byte
//!   order mark (U+FEFF) or a non-character that no reader accepts raw (U+FFFE, U+FFFF).
//!
//! A key whose written form is longer than YAML's 1024-character limit on implicit keys is
//! written as an explicit key (`? key` then `: value`).

use std::cell::RefCell;
use std::fmt::Write as _;

use serde_json::Value;

thread_local! {
    // Every object is written on some core: one growing buffer per thread, then one
    // allocation of the exact size, keeps the allocator out of the writing.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Writes one value as a YAML document (no `---` marker), ending in a newline.
pub fn to_string(value: &Value) -> String {
    SCRATCH.with_borrow_mut(|out| {
        out.clear();
        match value {
            Value::Object(map) if !map.is_empty() => write_map(out, map, 0),
            Value::Array(items) if !items.is_empty() => write_seq(out, items, 0),
            scalar => {
                // A block scalar at the top level still needs an indent (PyYAML requires one).
                write_scalar(out, scalar, 2);
                out.push('\n');
            }
        }
        out.as_str().to_owned()
    })
}

/// Writes several documents as one stream, separated by `---`.
pub fn to_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_string(value));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    // serde_json's Map is a BTreeMap (no `preserve_order`), so keys come out sorted; a test
    // in this module fails if a dependency ever turns that feature on.
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a map inside a sequence item shares the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        let start = out.len();
        write_string(out, key, level, true);
        let key_text = &out[start..];
        // Never more characters than bytes: most keys are decided without counting.
        if key_text.len() > MAX_IMPLICIT_KEY_CHARS
            && key_text.chars().count() > MAX_IMPLICIT_KEY_CHARS
        {
            // Readers drop a key candidate after 1024 characters: make this one explicit.
            out.insert_str(start, "? ");
            out.push('\n');
            indent(out, level);
        }
        out.push(':');
        write_value_after_key(out, value, level);
    }
}

/// YAML readers (libyaml, PyYAML, ruamel.yaml, Go's) give up on an implicit key whose text
/// runs past 1024 characters before its `:`.
const MAX_IMPLICIT_KEY_CHARS: usize = 1024;

fn write_value_after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, level);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, level + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        // The first item of a sequence nested in a sequence shares the parent's `- ` line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, level + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, level + 2),
            scalar => {
                write_scalar(out, scalar, level + 2);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let text = n.to_string();
            out.push_str(&text);
            if n.is_f64() && !text.contains(['.', 'e', 'E']) {
                out.push_str(".0");
            }
        }
        Value::String(s) => write_string(out, s, level, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_string(out: &mut String, s: &str, level: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && is_literal_block_safe(s) {
        write_literal_block(out, s, level);
    } else if !s.chars().any(needs_escape) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        write_double_quoted(out, s);
    }
}

fn write_literal_block(out: &mut String, s: &str, level: usize) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in s
        .split('\n')
        .take(body.split('\n').count() + trailing.saturating_sub(1))
    {
        out.push('\n');
        if !line.is_empty() {
            indent(out, level);
            out.push_str(line);
        }
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters written only as escapes: control characters (C0, DEL and C1, U+0085 among them),
/// the line and paragraph separators (line breaks to YAML 1.1 readers and Go's), the byte order
/// mark (Go's reader drops it at the start of a line) and the two non-characters that YAML
/// does not allow raw.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// Multi-line text that a literal block keeps exactly: no escaped characters but newlines,
/// no leading space on the first line (it would set the indent) and no trailing spaces.
fn is_literal_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && !s.chars().any(|c| c != '\n' && needs_escape(c))
        && s.split('\n').all(|line| !line.ends_with([' ', '\t']))
}

/// True when `s` reads back as the same string without quotes under YAML 1.1 and 1.2.
fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if b"-?:,[]{}#&*!|>'\"%@` \t".contains(&first) {
        // A `-` start is fine when not followed by a space, a dash or a number.
        let ok_dash = first == b'-'
            && bytes.len() > 1
            && !matches!(bytes[1], b' ' | b'-')
            && !looks_numeric(s);
        if !ok_dash {
            return false;
        }
    }
    if matches!(bytes[bytes.len() - 1], b' ' | b':') {
        return false;
    }
    // One pass for the characters that need quotes anywhere, and for ": " and " #".
    let mut previous = 0u8;
    for &b in bytes {
        match b {
            b'{' | b'}' | b'[' | b']' | b',' | b'"' | b'\'' | b'`' => return false,
            b' ' if previous == b':' => return false,
            b'#' if previous == b' ' => return false,
            b if b < 0x20 || b == 0x7f => return false,
            _ => {}
        }
        previous = b;
    }
    // C1 controls and the other escaped characters need quotes too.
    if !s.is_ascii() && s.chars().any(needs_escape) {
        return false;
    }
    // `---` and `...` at the start of a line mark documents (a top-level key is at one).
    !s.starts_with("...") && !is_reserved_word(s) && !looks_numeric(s) && !looks_like_timestamp(s)
}

/// Booleans and nulls of YAML 1.1 (Go's `yaml.v2` also takes `y` and `n`) and 1.2, the 1.1
/// merge (`<<`) and value (`=`) keys. Any case: quoting `yEs` costs nothing.
fn is_reserved_word(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<",
    ];
    s.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Anything a YAML 1.1 or 1.2 reader might take as a number: decimal, octal (`012`, `0o17`),
/// hex, binary, floats with exponents, `.inf`/`.nan`, and base-60 forms (`1:20`). Go's readers
/// drop every `_` of a string that starts with a sign or digit before they try (`+_1` is 1),
/// so underscores are ignored here.
fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    // Most strings start with a letter: decide those without looking further.
    let Some(&first) = body.as_bytes().first() else {
        return false;
    };
    let signed = body.len() < s.len();
    if !(first.is_ascii_digit() || first == b'.' || (signed && first == b'_')) {
        return false;
    }
    let owned;
    let body = if body.contains('_') {
        owned = body.replace('_', "");
        owned.as_str()
    } else {
        body
    };
    let bytes = body.as_bytes();
    if body.eq_ignore_ascii_case(".inf") || body.eq_ignore_ascii_case(".nan") {
        return true;
    }
    if bytes.len() > 2
        && bytes[0] == b'0'
        && matches!(bytes[1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
    {
        return bytes[2..].iter().all(u8::is_ascii_hexdigit);
    }
    // Digits, dots, colons (base 60) and one exponent.
    let mut seen_digit = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => seen_digit = true,
            b'.' | b':' => {}
            b'e' | b'E' => {
                let mut rest = &bytes[i + 1..];
                if let [b'-' | b'+', tail @ ..] = rest {
                    rest = tail;
                }
                return seen_digit && !rest.is_empty() && rest.iter().all(u8::is_ascii_digit);
            }
            _ => return false,
        }
    }
    seen_digit
}

/// YAML 1.1 timestamps such as `2026-11-24` or `2026-11-24T08:00:00Z`.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_kubernetes_object_is_written_in_kubectl_style() {
        let value = json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "embed-worker", "labels": {"b": "2", "a": "x"}},
            "spec": {
                "template": {"spec": {"containers": [{"name": "worker", "args": ["a", "b"], "env": []}]}},
                "replicas": 1
            }
        });
        assert_eq!(
            to_string(&value),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    a: x\n    b: '2'\n  name: embed-worker\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - args:\n        - a\n        - b\n        env: []\n        name: worker\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "",
            "on",
            "yes",
            "Y",
            "null",
            "~",
            "1",
            "0755",
            "1e3",
            "-1",
            "+1",
            ".5",
            "1_000",
            "0x1F",
            "1:20",
            ".inf",
            "2026-11-24",
            "a: b",
            "a #b",
            "-",
            "- a",
            "[x]",
            "{x}",
            "*a",
            "&a",
            "!t",
            "%x",
            "@x",
            "`x",
            "x:",
            " x",
            "x ",
        ] {
            let written = to_string(&json!(s));
            assert!(
                written.starts_with('\'') || written.starts_with('"'),
                "{s:?} -> {written}"
            );
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "2Gi",
            "250m",
            "cpu-large",
            "http://layer-gateway.layer.svc:8080/v2/metrics",
            "nvidia.com/gpu",
            "Etc/UTC",
            "0 * * * *",
            "-X",
            "v1.2.3",
            "a-b_c",
            "NoSchedule",
        ] {
            assert_eq!(to_string(&json!(s)), format!("{s}\n"), "{s:?}");
        }
    }

    #[test]
    fn quotes_inside_single_quotes_are_doubled() {
        assert_eq!(to_string(&json!("it's {\"a\":1}")), "'it''s {\"a\":1}'\n");
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        assert_eq!(to_string(&json!({"a": "x\ny\n"})), "a: |\n  x\n  y\n");
        assert_eq!(to_string(&json!({"a": "x\n\ny"})), "a: |-\n  x\n\n  y\n");
        assert_eq!(to_string(&json!({"a": " x\ny"})), "a: \" x\\ny\"\n");
    }

    #[test]
    fn json_maps_iterate_in_key_order() {
        let mut map = serde_json::Map::new();
        map.insert("b".into(), json!(1));
        map.insert("a".into(), json!(2));
        let keys: Vec<&String> = map.keys().collect();
        assert_eq!(
            keys,
            ["a", "b"],
            "serde_json's preserve_order feature is on; sort keys again"
        );
    }

    #[test]
    fn floats_keep_a_decimal_point() {
        assert_eq!(to_string(&json!({"a": 1.0, "b": 2.5})), "a: 1.0\nb: 2.5\n");
    }

    #[test]
    fn nested_sequences_and_empty_collections() {
        assert_eq!(
            to_string(&json!({"a": [[1, 2], []], "b": {}, "c": [{"x": {}}]})),
            "a:\n- - 1\n  - 2\n- []\nb: {}\nc:\n- x: {}\n"
        );
    }

    #[test]
    fn line_breaks_of_yaml_1_1_and_other_special_characters_are_escaped() {
        for (s, written) in [
            ("\u{2028}", "\"\\u2028\""),
            ("a\u{2029}b", "\"a\\u2029b\""),
            ("a\u{85}b", "\"a\\u0085b\""),
            ("\u{feff}x", "\"\\ufeffx\""),
            ("\u{fffe}\u{ffff}", "\"\\ufffe\\uffff\""),
            (
                "\u{0}\u{1b}\u{7f}\u{80}\u{9f}",
                "\"\\u0000\\u001b\\u007f\\u0080\\u009f\"",
            ),
            ("tab\there\r\n", "\"tab\\there\\r\\n\""),
            ("x\ny\u{2028}", "\"x\\ny\\u2028\""),
            ("say \"hi\" \\", "'say \"hi\" \\'"),
        ] {
            assert_eq!(to_string(&json!(s)), format!("{written}\n"), "{s:?}");
            assert_eq!(
                to_string(&json!({ s: 1 })),
                format!("{written}: 1\n"),
                "{s:?} as a key"
            );
        }
    }

    #[test]
    fn words_and_numbers_of_every_yaml_version_are_quoted_in_any_case() {
        for s in [
            "yEs", "n", "NO", "oFf", "TRUE", "Null", "<<", "=", "0o17", "012", "0b101", "+_1",
            "-_0x1f", "1_0.5", ".NaN", "-.Inf", "1e+3", "1:20:30", "2026-1-1", "...", "... x",
        ] {
            assert_eq!(to_string(&json!(s)), format!("'{s}'\n"), "{s:?}");
        }
        for s in [
            "_1", "yess", "0x", "0x1p3", "1.2.x", "..x", "é", "日本", "😀", "a\u{a0}b",
        ] {
            assert_eq!(to_string(&json!(s)), format!("{s}\n"), "{s:?}");
        }
    }

    #[test]
    fn a_key_longer_than_an_implicit_key_may_be_is_explicit() {
        let short = "k".repeat(1024);
        assert_eq!(to_string(&json!({ &short: "v" })), format!("{short}: v\n"));
        let long = "k".repeat(1025);
        assert_eq!(
            to_string(&json!({ &long: "v", "a": {&long: [1]} })),
            format!("a:\n  ? {long}\n  :\n  - 1\n? {long}\n: v\n")
        );
        // Quotes and escapes count: 511 escaped characters and two quotes are 3068 characters.
        let escaped = "\u{2028}".repeat(511);
        let written = to_string(&json!([{ &escaped: "v" }]));
        assert!(written.starts_with("- ? \"\\u2028"), "{written}");
        assert!(written.ends_with("\"\n  : v\n"), "{written}");
    }

    #[test]
    fn a_top_level_block_scalar_is_indented() {
        assert_eq!(to_string(&json!("x\ny")), "|-\n  x\n  y\n");
    }
}
