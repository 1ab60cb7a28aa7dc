//! The text format: the counts, the groups of changes, then a unified diff per object,
//! coloured on request.
//!
//! Colour is a parameter: the binary decides (a terminal, `--color`, `NO_COLOR`); this module
//! only adds ANSI escapes when told to, so tests compare plain bytes.

use rayon::prelude::*;
use serde_json::Value;

use super::{Change, ChangeKind, FieldChange, Group, Report, unified};

/// How to write the text format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextOptions {
    /// Lines of context around each difference.
    pub context: usize,
    /// ANSI colours.
    pub color: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            context: 3,
            color: false,
        }
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";

/// The most objects a group names as examples.
pub(crate) const EXAMPLES: usize = 3;

/// The most fields a group lists.
pub(crate) const GROUP_FIELDS: usize = 8;

/// The longest value a field line shows, in characters; longer ones end in `…`.
const VALUE_CHARS: usize = 80;

/// The counts, then each group: a line with its mark (`+` added, `-` removed, `~` changed),
/// the object or the count and a few examples, then its fields, one per line. Every line
/// ends in a newline.
pub fn summary(report: &Report, color: bool) -> String {
    let mut out = format!("{}\n", report.summary());
    for group in &report.groups {
        out.push_str(&group_text(report, group, color));
    }
    out
}

/// One group in the text format.
fn group_text(report: &Report, group: &Group, color: bool) -> String {
    let mut out = String::new();
    let (mark, paint) = match group.kind {
        ChangeKind::Added => ('+', GREEN),
        ChangeKind::Removed => ('-', RED),
        ChangeKind::Changed => ('~', YELLOW),
    };
    if color {
        out.push_str(paint);
        out.push(mark);
        out.push_str(RESET);
    } else {
        out.push(mark);
    }
    out.push(' ');
    out.push_str(&heading(report, group, str::to_string, str::to_string));
    out.push('\n');
    let fields = group.fields(&report.changes);
    for field in fields.iter().take(GROUP_FIELDS) {
        out.push_str("    ");
        out.push_str(&field_line(field, group.follow_on, |text| text.to_string()));
        out.push('\n');
    }
    if fields.len() > GROUP_FIELDS {
        out.push_str(&format!(
            "    and {}\n",
            more_fields(fields.len() - GROUP_FIELDS)
        ));
    }
    out
}

/// `1 more field`, `2 more fields`.
pub(crate) fn more_fields(n: usize) -> String {
    if n == 1 {
        "1 more field".to_string()
    } else {
        format!("{n} more fields")
    }
}

/// A group's heading: the object for a group of one, else the count and kind with a few
/// examples; follow-on groups say so. `name` writes an object's name (plain or as code),
/// `plain` a kind (plain or escaped).
pub(crate) fn heading(
    report: &Report,
    group: &Group,
    name: impl Fn(&str) -> String,
    plain: impl Fn(&str) -> String,
) -> String {
    let changes: Vec<&Change> = group
        .members
        .iter()
        .filter_map(|i| report.changes.get(*i))
        .collect();
    let Some(first) = changes.first() else {
        return String::new();
    };
    let mut out = if changes.len() == 1 {
        name(&first.key.display_ref())
    } else {
        let examples: Vec<String> = changes
            .iter()
            .take(EXAMPLES)
            .map(|c| name(&c.key.display_ref()))
            .collect();
        let mut text = format!(
            "{} {}: {}",
            changes.len(),
            plain(&plural(&first.key.kind)),
            examples.join(", ")
        );
        if changes.len() > EXAMPLES {
            text.push_str(&format!(" and {} more", changes.len() - EXAMPLES));
        }
        text
    };
    if group.follow_on {
        out.push_str(", only in hashes that follow from the other changes");
    }
    out
}

/// One field of a group: `path: old → new`, with `(none)` for a missing side; for a
/// follow-on group only the path, as the hashes differ from object to object. `code` writes
/// a path or a value (plain or as code).
pub(crate) fn field_line(
    field: &FieldChange,
    follow_on: bool,
    code: impl Fn(&str) -> String,
) -> String {
    let path = code(&field.dotted());
    if follow_on {
        return path;
    }
    let value = |v: &Option<Value>| match v {
        Some(v) => code(&value_text(v)),
        None => "(none)".to_string(),
    };
    format!("{path}: {} → {}", value(&field.old), value(&field.new))
}

/// A value as compact JSON, cut to [`VALUE_CHARS`] characters.
fn value_text(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= VALUE_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(VALUE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A kind in the plural: `Deployments`, `Indexes`, `NetworkPolicies`; a kind that ends in
/// `s` (`InfraRules`) stays as it is.
pub(crate) fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if ["ss", "x", "ch", "sh"]
        .iter()
        .any(|end| lower.ends_with(end))
    {
        format!("{kind}es")
    } else if lower.ends_with('s') {
        kind.to_string()
    } else if lower.ends_with('y')
        && !lower.ends_with("ay")
        && !lower.ends_with("ey")
        && !lower.ends_with("oy")
    {
        format!("{}ies", &kind[..kind.len() - 1])
    } else {
        format!("{kind}s")
    }
}

/// The whole report: the summary, a blank line, and a unified diff per object (with
/// `a/`/`b/` names, `/dev/null` for a missing side). Only the summary when nothing differs.
pub fn render(report: &Report, options: &TextOptions) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every piece is UTF-8.
    let _ = write(report, options, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Changes whose diffs are made together on every core, then written, when the comparison
/// did not make them.
const BATCH: usize = 2_048;

/// Writes [`render`]'s text to `out` as it is made, so a large report is never held whole.
pub fn write(
    report: &Report,
    options: &TextOptions,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    out.write_all(summary(report, options.color).as_bytes())?;
    if report.changes.is_empty() {
        return Ok(());
    }
    out.write_all(b"\n")?;
    for batch in report.changes.chunks(BATCH) {
        let made = batch.iter().all(|c| c.hunks.is_some());
        let diffs: Vec<String> = if made {
            batch
                .iter()
                .map(|c| diff_text(report, c, options))
                .collect()
        } else {
            batch
                .par_iter()
                .map(|change| diff_text(report, change, options))
                .collect()
        };
        for diff in diffs {
            out.write_all(diff.as_bytes())?;
        }
    }
    Ok(())
}

/// One object's unified diff with its `---`/`+++` names.
fn diff_text(report: &Report, change: &Change, options: &TextOptions) -> String {
    let (old, new) = unified::file_names(change);
    let body = unified::hunks(report, change, options.context);
    if !options.color {
        return format!("--- {old}\n+++ {new}\n{body}");
    }
    let mut out = format!("{BOLD}--- {old}{RESET}\n{BOLD}+++ {new}{RESET}\n");
    for line in body.lines() {
        let paint = if line.starts_with("@@") {
            CYAN
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with('+') {
            GREEN
        } else {
            ""
        };
        if paint.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("{paint}{line}{RESET}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    fn config_map(value: &str) -> Object {
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "a"}, "data": {"k": value}
        }))
    }

    #[test]
    fn plain_text_has_no_escapes_and_colour_paints_each_line() {
        let report = diff(
            &[config_map("x")],
            &[config_map("z")],
            &DiffOptions::default(),
        )
        .unwrap();
        let plain = render(&report, &TextOptions::default());
        assert!(!plain.contains('\x1b'));
        let coloured = render(
            &report,
            &TextOptions {
                context: 3,
                color: true,
            },
        );
        assert!(coloured.contains("\x1b[31m-  k: x\x1b[0m\n"));
        assert!(coloured.contains("\x1b[32m+  k: z\x1b[0m\n"));
        assert!(coloured.contains("\x1b[33m~\x1b[0m ConfigMap/a/c\n    data.k: \"x\" → \"z\"\n"));
    }

    #[test]
    fn nothing_to_show_is_one_line() {
        let report = diff(
            &[config_map("x")],
            &[config_map("x")],
            &DiffOptions::default(),
        )
        .unwrap();
        assert_eq!(
            render(&report, &TextOptions::default()),
            "0 added, 0 removed, 0 changed, 1 unchanged\n"
        );
    }

    #[test]
    fn kinds_read_in_the_plural() {
        let got: Vec<String> = [
            "Deployment",
            "Index",
            "NodeClass",
            "InfraRules",
            "NetworkPolicy",
            "Gateway",
        ]
        .iter()
        .map(|k| plural(k))
        .collect();
        assert_eq!(
            got,
            [
                "Deployments",
                "Indexes",
                "NodeClasses",
                "InfraRules",
                "NetworkPolicies",
                "Gateways"
            ]
        );
    }
}
