//! The full parser: serde-saphyr reads any YAML into the tree through `Spanned` (see
//! `node.rs`), enforces the budgets of [`Limits`] and reports every syntax error. Loading
//! uses it for what the fast path (`fast.rs`) does not read, and for every invalid input.

use serde_saphyr::budget::BudgetBreach;

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
            max_events: max_events(limits),
        },
    }
}

/// The root of every document in `text`, or the diagnostic of the first problem.
pub(super) fn parse(name: &str, text: &str, limits: &Limits) -> Result<Vec<Node>, Diagnostic> {
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options(limits))
        .map_err(|err| parse_error(name, &err, limits))
}

/// The value of one single-line plain scalar, resolved exactly as in a document; `None` when
/// serde-saphyr refuses it (`.inf` and other non-finite numbers).
pub(super) fn resolve_plain(text: &str) -> Option<NodeValue> {
    serde_saphyr::from_str_with_options::<NodeValue>(text, options(&Limits::default())).ok()
}

/// Turns a parser error into one diagnostic with the best position we have.
fn parse_error(name: &str, err: &serde_saphyr::Error, limits: &Limits) -> Diagnostic {
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
    let breach = match root_error(err) {
        serde_saphyr::Error::Budget { breach, .. } => Some(breach),
        _ => None,
    };
    if breach.is_some() || message.contains("recursion limit") {
        return Diagnostic::new(Code::ResourceLimit, budget_message(breach, limits))
            .at(Span::new(name, line, column));
    }
    Diagnostic::new(Code::YamlSyntax, message).at(Span::new(name, line, column))
}

/// The error under the wrappers that add a snippet or the alias being expanded.
fn root_error(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = err
    {
        err = error;
    }
    err
}

/// The limit a parser budget breach hit, in plain words, and what to do about it. `None` is
/// the parser's own nesting limit.
fn budget_message(breach: Option<&BudgetBreach>, limits: &Limits) -> String {
    const SPLIT: &str = "split the file (the limit is per file)";
    let Some(breach) = breach else {
        return depth_message(limits);
    };
    match breach {
        BudgetBreach::Depth { .. } => depth_message(limits),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => format!(
            "more than {} aliases (*name) or anchors (&name) in one file, the limit against \
             alias bombs; write the repeated values out, or {SPLIT}",
            limits.max_aliases
        ),
        BudgetBreach::Nodes { .. } => format!(
            "more than {} YAML nodes (keys, values, lists and maps) in one file; {SPLIT}",
            limits.max_nodes
        ),
        BudgetBreach::Events { .. } => format!(
            "more than {} YAML parser events in one file; {SPLIT}",
            max_events(limits)
        ),
        BudgetBreach::Documents { .. } => format!(
            "more than {} documents in one file; {SPLIT}",
            limits.max_documents
        ),
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} bytes of keys and values in one file; {SPLIT}",
            serde_saphyr::Budget::default().max_total_scalar_bytes
        ),
        BudgetBreach::MergeKeys { .. } => format!(
            "more than {} merge keys (<<) in one file; {SPLIT}",
            serde_saphyr::Budget::default().max_merge_keys
        ),
        _ => format!("the file is larger or more complex than the YAML parser allows; {SPLIT}"),
    }
}

fn depth_message(limits: &Limits) -> String {
    format!(
        "nesting is deeper than the limit of {} levels; no Kubernetes object nests that deep",
        limits.max_depth
    )
}

/// The parser's budget of events: every key, value and collection start and end is one.
fn max_events(limits: &Limits) -> usize {
    limits.max_nodes.saturating_mul(4)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_budget_breach_reads_as_plain_words() {
        let limits = Limits::default();
        let message = |breach: BudgetBreach| budget_message(Some(&breach), &limits);
        assert_eq!(
            message(BudgetBreach::Events { events: 20_000_001 }),
            "more than 20000000 YAML parser events in one file; split the file (the limit is per file)"
        );
        assert_eq!(
            message(BudgetBreach::ScalarBytes {
                total_scalar_bytes: 1 << 27
            }),
            "more than 67108864 bytes of keys and values in one file; split the file (the limit \
             is per file)"
        );
        assert_eq!(
            message(BudgetBreach::MergeKeys { merge_keys: 10_001 }),
            "more than 10000 merge keys (<<) in one file; split the file (the limit is per file)"
        );
        assert_eq!(
            message(BudgetBreach::SequenceUnbalanced),
            "the file is larger or more complex than the YAML parser allows; split the file (the \
             limit is per file)"
        );
        assert_eq!(
            budget_message(None, &limits),
            "nesting is deeper than the limit of 100 levels; no Kubernetes object nests that deep"
        );
    }
}
