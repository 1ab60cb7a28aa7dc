//! The markdown format, for a review comment: the counts, then one collapsible `<details>`
//! section per object with its unified diff in a `diff` code block.
//!
//! Everything that comes from the input is escaped for HTML, and the code fence is longer
//! than any run of backticks in the diff, so no object can break out of its block. Limits:
//! code hosts cap comment size (GitHub at 65,536 characters); a very large diff needs
//! `--ignore` or the text format.

use super::{Report, text, unified};

/// The report as markdown. `context` is the lines of context around each difference.
pub fn render(report: &Report, context: usize) -> String {
    let mut out = String::from("### layer-render diff\n\n");
    out.push_str(&format!("**{}**\n", report.summary()));
    for change in &report.changes {
        out.push_str("\n<details>\n<summary>");
        out.push_str(change.kind.as_str());
        out.push_str(" <code>");
        out.push_str(&escape(&change.key.display_ref()));
        out.push_str("</code>");
        let fields = text::field_list(change, text::SUMMARY_FIELDS);
        if !fields.is_empty() {
            let listed: Vec<String> = fields
                .iter()
                .map(|f| {
                    if f.starts_with("and ") {
                        escape(f)
                    } else {
                        format!("<code>{}</code>", escape(f))
                    }
                })
                .collect();
            out.push_str(": ");
            out.push_str(&listed.join(", "));
        }
        out.push_str("</summary>\n\n");
        let body = unified::hunks(change, context);
        let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
        out.push_str(&format!("{fence}diff\n{body}{fence}\n\n</details>\n"));
    }
    out
}

fn escape(text: &str) -> String {
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

    #[test]
    fn backticks_in_a_value_lengthen_the_fence() {
        let old = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a"}
        }));
        let new = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "````"}
        }));
        let report = diff(&[old], &[new], &DiffOptions::default()).unwrap();
        let out = render(&report, 3);
        assert!(out.contains("\n`````diff\n"), "{out}");
        assert!(out.ends_with("`````\n\n</details>\n"), "{out}");
    }

    #[test]
    fn html_in_names_is_escaped() {
        assert_eq!(escape("<b>&"), "&lt;b&gt;&amp;");
    }
}
