//! The text format: a summary, then a unified diff per object, coloured on request.
//!
//! Colour is a parameter: the binary decides (a terminal, `--color`, `NO_COLOR`); this module
//! only adds ANSI escapes when told to, so tests compare plain bytes.

use super::{Change, ChangeKind, Report, unified};

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

/// The most field paths listed for one object in a summary line.
pub(crate) const SUMMARY_FIELDS: usize = 4;

/// The counts, then one line per changed object: `+` added, `-` removed, `~` changed with the
/// fields that changed. Every line ends in a newline.
pub fn summary(report: &Report, color: bool) -> String {
    let mut out = format!("{}\n", report.summary());
    for change in &report.changes {
        let (mark, paint) = match change.kind {
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
        out.push_str(&change.key.display_ref());
        let fields = field_list(change, SUMMARY_FIELDS);
        if !fields.is_empty() {
            out.push_str(": ");
            out.push_str(&fields.join(", "));
        }
        out.push('\n');
    }
    out
}

/// The dotted paths of a change's fields, at most `max`, then `and N more`.
pub(crate) fn field_list(change: &Change, max: usize) -> Vec<String> {
    let mut names: Vec<String> = change.fields.iter().take(max).map(|f| f.dotted()).collect();
    if change.fields.len() > max {
        names.push(format!("and {} more", change.fields.len() - max));
    }
    names
}

/// The whole report: the summary, a blank line, and a unified diff per object (with
/// `a/`/`b/` names, `/dev/null` for a missing side). Only the summary when nothing differs.
pub fn render(report: &Report, options: &TextOptions) -> String {
    let mut out = summary(report, options.color);
    if report.changes.is_empty() {
        return out;
    }
    out.push('\n');
    for change in &report.changes {
        let (old, new) = unified::file_names(change);
        let body = unified::hunks(change, options.context);
        if !options.color {
            out.push_str(&format!("--- {old}\n+++ {new}\n"));
            out.push_str(&body);
            continue;
        }
        out.push_str(&format!("{BOLD}--- {old}{RESET}\n{BOLD}+++ {new}{RESET}\n"));
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
        assert!(coloured.contains("\x1b[33m~\x1b[0m ConfigMap/a/c: data.k\n"));
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
}
