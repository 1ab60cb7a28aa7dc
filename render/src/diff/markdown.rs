//! The markdown format, for a review comment that always fits: the counts, the groups of
//! changes, then one collapsible `<details>` section per object with its unified diff, for as
//! many objects as the budget allows.
//!
//! Code hosts cap a comment's size (GitHub at 65,536 characters), so the comment never
//! exceeds [`MarkdownOptions::budget`] characters. The counts come first, then the groups
//! (largest first), then the objects' diffs: the first object of each group, then the others
//! in apply order, each only if it fits. Last comes a line that says what was left out and
//! how to get the full diff. Everything that comes from the input is escaped: names and
//! values go in code spans whose fences are longer than any run of backticks in them, names
//! in the HTML of a section are HTML-escaped, and each code block's fence is longer than any
//! run of backticks in the diff, so no object can break out of its place.

use super::{Change, Report, text, unified};

/// The default budget: under GitHub's 65,536 characters, with room for a line of the CI job.
pub const DEFAULT_BUDGET: usize = 65_000;

/// The smallest budget: the counts and the last line must fit.
pub const MIN_BUDGET: usize = 1_000;

/// How to write the markdown format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// Lines of context around each difference.
    pub context: usize,
    /// The most characters (Unicode scalar values) of the comment.
    pub budget: usize,
    /// How to get the full diff, for the last line when anything is left out: markdown such
    /// as ``run `layer-render diff old/ new/` ``.
    pub full_diff: String,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            context: 3,
            budget: DEFAULT_BUDGET,
            full_diff: "run `layer-render diff` on the same inputs".to_string(),
        }
    }
}

/// The most field paths named in an object's section heading.
const SUMMARY_FIELDS: usize = 4;

/// Objects whose section does not fit in a row before the rest are left out unshown: each
/// costs a unified diff to measure.
const MAX_MISSES: usize = 20;

/// A comment being written within a budget.
struct Comment {
    out: String,
    used: usize,
    limit: usize,
}

impl Comment {
    /// Appends `text` if it fits; says whether it did.
    fn push(&mut self, text: &str) -> bool {
        let chars = text.chars().count();
        if self.used + chars > self.limit {
            return false;
        }
        self.out.push_str(text);
        self.used += chars;
        true
    }
}

/// The report as markdown of at most `options.budget` characters.
pub fn render(report: &Report, options: &MarkdownOptions) -> String {
    let budget = options.budget.max(MIN_BUDGET);
    let head = format!("### layer-render diff\n\n**{}**\n", report.summary());
    // The last line, as long as it can get: its counts are at most the totals.
    let groups_total = report.groups.len();
    let objects_total = report.changes.len();
    let mut full_diff = options.full_diff.as_str();
    let mut reserve = left_out(
        groups_total,
        groups_total,
        objects_total,
        objects_total,
        full_diff,
    )
    .chars()
    .count();
    if head.chars().count() + reserve > budget {
        full_diff = "";
        reserve = left_out(groups_total, groups_total, objects_total, objects_total, "")
            .chars()
            .count();
    }
    let mut comment = Comment {
        out: String::new(),
        used: 0,
        limit: budget.saturating_sub(reserve),
    };
    comment.push(&head);

    let mut groups_shown = 0;
    if !report.groups.is_empty() {
        comment.push("\n");
        for group in &report.groups {
            if !comment.push(&group_item(report, group)) {
                break;
            }
            groups_shown += 1;
        }
    }

    // The first object of each group, then the others in apply order.
    let firsts: Vec<usize> = report
        .groups
        .iter()
        .filter_map(|g| g.members.first().copied())
        .collect();
    let mut shown = vec![false; report.changes.len()];
    let order = firsts
        .iter()
        .copied()
        .chain((0..report.changes.len()).filter(|i| !firsts.contains(i)));
    let mut misses = 0;
    let mut objects_shown = 0;
    for i in order {
        if misses >= MAX_MISSES || comment.limit.saturating_sub(comment.used) < 100 {
            break;
        }
        let Some(change) = report.changes.get(i) else {
            continue;
        };
        if comment.push(&section(report, change, options.context)) {
            shown[i] = true;
            objects_shown += 1;
            misses = 0;
        } else {
            misses += 1;
        }
    }
    if groups_shown < groups_total || objects_shown < objects_total {
        comment.limit = budget;
        comment.push(&left_out(
            groups_total - groups_shown,
            groups_total,
            objects_total - objects_shown,
            objects_total,
            full_diff,
        ));
    }
    comment.out
}

/// The last line: what was left out and how to get it.
fn left_out(
    groups: usize,
    groups_total: usize,
    objects: usize,
    objects_total: usize,
    full_diff: &str,
) -> String {
    let mut parts = Vec::new();
    if groups > 0 {
        parts.push(format!("{groups} of {groups_total} groups"));
    }
    if objects > 0 {
        parts.push(format!("the diffs of {objects} of {objects_total} objects"));
    }
    let mut line = format!(
        "\n**Left out** to keep this comment short: {}.",
        parts.join(" and ")
    );
    if !full_diff.is_empty() {
        line.push_str(" The full diff: ");
        line.push_str(full_diff);
        line.push('.');
    }
    line.push('\n');
    line
}

/// A group as a list item: its heading, then its fields as a nested list.
fn group_item(report: &Report, group: &super::Group) -> String {
    let mut out = format!(
        "- {} {}\n",
        group.kind.as_str(),
        text::heading(report, group, code, escape_markdown)
    );
    let fields = group.fields(&report.changes);
    for field in fields.iter().take(text::GROUP_FIELDS) {
        out.push_str("  - ");
        out.push_str(&text::field_line(field, group.follow_on, code));
        out.push('\n');
    }
    if fields.len() > text::GROUP_FIELDS {
        out.push_str(&format!(
            "  - and {}\n",
            text::more_fields(fields.len() - text::GROUP_FIELDS)
        ));
    }
    out
}

/// One object's collapsible section with its unified diff.
fn section(report: &Report, change: &Change, context: usize) -> String {
    let mut out = String::from("\n<details>\n<summary>");
    out.push_str(change.kind.as_str());
    out.push_str(" <code>");
    out.push_str(&escape_html(&change.key.display_ref()));
    out.push_str("</code>");
    let own: Vec<_> = change.fields.iter().filter(|f| !f.derived).collect();
    let fields = if own.is_empty() {
        change.fields.iter().collect()
    } else {
        own
    };
    if !fields.is_empty() {
        let mut listed: Vec<String> = fields
            .iter()
            .take(SUMMARY_FIELDS)
            .map(|f| format!("<code>{}</code>", escape_html(&f.dotted())))
            .collect();
        if fields.len() > SUMMARY_FIELDS {
            listed.push(format!("and {} more", fields.len() - SUMMARY_FIELDS));
        }
        out.push_str(": ");
        out.push_str(&listed.join(", "));
    }
    out.push_str("</summary>\n\n");
    let body = unified::hunks(report, change, context);
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    out.push_str(&format!("{fence}diff\n{body}{fence}\n\n</details>\n"));
    out
}

/// A code span of `text`, for markdown: its fence longer than any run of backticks inside, line breaks
/// and other control characters shown as `�`.
pub fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text with the characters that markdown or HTML would read escaped, so it reads as
/// itself.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_[]<>!|~&".contains(c) {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            out.push('\u{FFFD}');
        } else {
            out.push(c);
        }
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    fn config_map(name: &str, value: &str) -> Object {
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}
        }))
    }

    #[test]
    fn backticks_in_a_value_lengthen_the_fence() {
        let report = diff(
            &[config_map("c", "a")],
            &[config_map("c", "````")],
            &DiffOptions::default(),
        )
        .unwrap();
        let out = render(&report, &MarkdownOptions::default());
        assert!(out.contains("\n`````diff\n"), "{out}");
        assert!(
            out.contains("  - `data.k`: `\"a\"` → `````\"````\"`````\n"),
            "{out}"
        );
        assert!(out.ends_with("`````\n\n</details>\n"), "{out}");
    }

    #[test]
    fn html_and_markdown_in_names_are_escaped() {
        assert_eq!(escape_html("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(escape_markdown("*a_<b>.c"), "\\*a\\_\\<b\\>.c");
        assert_eq!(code("a\nb"), "`a\u{FFFD}b`");
    }

    /// `n` ConfigMaps changed the same way, and one changed differently.
    fn many(n: usize) -> (Vec<Object>, Vec<Object>) {
        let names: Vec<String> = (0..=n).map(|i| format!("c{i:05}")).collect();
        let old = names.iter().map(|name| config_map(name, "old")).collect();
        let new = names
            .iter()
            .enumerate()
            .map(|(i, name)| config_map(name, if i == n { "other" } else { "new" }))
            .collect();
        (old, new)
    }

    #[test]
    fn the_comment_stays_within_its_budget_and_says_what_it_left_out() {
        let (old, new) = many(2_000);
        let report = diff(&old, &new, &DiffOptions::default()).unwrap();
        for budget in [MIN_BUDGET, 5_000, DEFAULT_BUDGET] {
            let options = MarkdownOptions {
                budget,
                full_diff: "see `full.txt`".into(),
                ..MarkdownOptions::default()
            };
            let out = render(&report, &options);
            assert!(
                out.chars().count() <= budget,
                "{budget}: {}",
                out.chars().count()
            );
            assert!(out.starts_with("### layer-render diff\n\n**0 added, 0 removed, 2001 changed, 0 unchanged**\n\n- changed 2000 ConfigMaps: `ConfigMap/c00000`, `ConfigMap/c00001`, `ConfigMap/c00002` and 1997 more\n  - `data.k`: `\"old\"` → `\"new\"`\n"), "{out}");
            let last = out.lines().last().unwrap();
            assert!(
                last.starts_with("**Left out** to keep this comment short: the diffs of "),
                "{last}"
            );
            assert!(
                last.ends_with(" of 2001 objects. The full diff: see `full.txt`."),
                "{last}"
            );
        }
    }

    #[test]
    fn nothing_is_left_out_of_a_small_diff() {
        let report = diff(
            &[config_map("c", "a")],
            &[config_map("c", "b")],
            &DiffOptions::default(),
        )
        .unwrap();
        let out = render(&report, &MarkdownOptions::default());
        assert!(!out.contains("Left out"), "{out}");
    }
}
