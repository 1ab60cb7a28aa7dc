//! The full parser: serde-saphyr reads any YAML into the tree through `Spanned` (see
//! `node.rs`), enforces the budgets of [`Limits`] and reports every syntax error. Loading
//! uses it for what the fast path (`fast.rs`) does not read, and for every invalid input.

use super::Limits;
use super::node::{self, Node, NodeValue, TreeProblem};
use crate::diagnostic::{Code, Diagnostic, Span};

/// The parser options of every load.
fn options(limits: &Limits) -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        // YAML 1.2 core schema: only `true` and `false` are booleans, so `kind: Y` or
        // `value: on` stay strings.
        strict_booleans: true,
        // Duplicates are found by the tree builder, which knows both positions.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_aliases: limits.max_aliases,
            max_anchors: limits.max_aliases,
            max_documents: limits.max_documents,
            max_events: limits.max_nodes.saturating_mul(4),
        },
    }
}

/// The root of every document in `text`, or the diagnostic of the first problem.
pub(super) fn parse(name: &str, text: &str, limits: &Limits) -> Result<Vec<Node>, Diagnostic> {
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options(limits))
        .map_err(|err| parse_error(name, &err))
}

/// The value of one single-line plain scalar, resolved exactly as in a document; `None` when
/// serde-saphyr refuses it (`.inf` and other non-finite numbers).
pub(super) fn resolve_plain(text: &str) -> Option<NodeValue> {
    serde_saphyr::from_str_with_options::<NodeValue>(text, options(&Limits::default())).ok()
}

/// Turns a parser error into one diagnostic with the best position we have.
fn parse_error(name: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let inner = err.without_snippet();
    let text = inner.to_string();
    if let Some(problem) = TreeProblem::decode(&text) {
        return match problem {
            TreeProblem::DuplicateKey { key, pos, first } => Diagnostic::new(
                Code::DuplicateKey,
                format!(
                    "duplicate key {key:?} (first at line {}, column {})",
                    first.line, first.column
                ),
            )
            .at(Span::new(name, pos.line, pos.column)),
            TreeProblem::NonStringKey { pos } => {
                Diagnostic::new(Code::NonStringKey, "mapping keys must be strings")
                    .at(Span::new(name, pos.line, pos.column))
            }
            TreeProblem::LongScalar { len } => {
                let (line, column) = err
                    .location()
                    .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
                Diagnostic::new(
                    Code::ResourceLimit,
                    format!(
                        "a scalar of {len} bytes is longer than the limit of {} bytes",
                        node::MAX_SCALAR_BYTES
                    ),
                )
                .at(Span::new(name, line, column))
            }
        };
    }
    let (line, column) = err
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    let message = first_line(&text);
    if matches!(inner, serde_saphyr::Error::Budget { .. })
        || message.starts_with("budget breached")
        || message.contains("recursion limit")
    {
        return Diagnostic::new(Code::ResourceLimit, budget_message(&message))
            .at(Span::new(name, line, column));
    }
    Diagnostic::new(Code::YamlSyntax, message).at(Span::new(name, line, column))
}

/// A readable message for a parser budget breach.
fn budget_message(raw: &str) -> String {
    let detail = raw.trim_start_matches("budget breached: ");
    let what = if detail.starts_with("Depth") || raw.contains("recursion limit") {
        "nesting is deeper than the limit"
    } else if detail.starts_with("Alias")
        || detail.starts_with("RecordedAnchor")
        || detail.starts_with("Anchor")
    {
        "too many alias expansions (an alias bomb?)"
    } else if detail.starts_with("Nodes") || detail.starts_with("Events") {
        "too many YAML nodes"
    } else if detail.starts_with("Documents") {
        "too many documents"
    } else if detail.contains("Scalar") {
        "too much scalar text"
    } else {
        "input exceeds a parser limit"
    };
    format!("{what} ({detail})")
}

/// The first line of a message, without the parser's own trailing location text.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let line = match line.rfind(" at line ") {
        Some(i) => &line[..i],
        None => line,
    };
    line.trim_end_matches(['.', ':']).to_string()
}
