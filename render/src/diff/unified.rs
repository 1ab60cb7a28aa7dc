//! The unified diff of one object: its sorted-key YAML on each side, diffed line by line with
//! `similar`. An added or removed object diffs against nothing, so every line shows.

use similar::TextDiff;

use super::Change;
use crate::emit::yaml;

/// The hunks (from the first `@@` line on) of one change, with `context` lines around each
/// difference. Every line ends in a newline.
pub fn hunks(change: &Change, context: usize) -> String {
    let old = change.old.as_ref().map(yaml::to_string).unwrap_or_default();
    let new = change.new.as_ref().map(yaml::to_string).unwrap_or_default();
    // Patience anchors on lines that occur once, such as `requests:`, so a changed map reads
    // as its changed keys rather than as lines that slid past each other (Myers pairs the
    // `memory:` of `limits` with the one of `requests`). No deadline: a timed-out diff would
    // approximate differently on a slower machine, and the output must be the same bytes
    // everywhere.
    TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(&old, &new)
        .unified_diff()
        .context_radius(context)
        .to_string()
}

/// The `---`/`+++` names of a change: `a/Kind/namespace/name`, or `/dev/null` for the
/// missing side, as git writes them.
pub fn file_names(change: &Change) -> (String, String) {
    let name = change.key.display_ref();
    let old = match change.old {
        Some(_) => format!("a/{name}"),
        None => "/dev/null".to_string(),
    };
    let new = match change.new {
        Some(_) => format!("b/{name}"),
        None => "/dev/null".to_string(),
    };
    (old, new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::ChangeKind;
    use crate::key::ObjectKey;
    use serde_json::json;

    #[test]
    fn one_changed_line_shows_with_its_context() {
        let change = Change {
            kind: ChangeKind::Changed,
            key: ObjectKey::new("v1", "ConfigMap", Some("a"), "c"),
            old: Some(json!({"data": {"a": "1", "b": "2"}})),
            new: Some(json!({"data": {"b": "2", "a": "3"}})),
            fields: vec![],
        };
        assert_eq!(
            hunks(&change, 3),
            "@@ -1,3 +1,3 @@\n data:\n-  a: '1'\n+  a: '3'\n   b: '2'\n"
        );
        assert_eq!(
            file_names(&change),
            ("a/ConfigMap/a/c".to_string(), "b/ConfigMap/a/c".to_string())
        );
    }

    #[test]
    fn an_added_object_shows_every_line() {
        let change = Change {
            kind: ChangeKind::Added,
            key: ObjectKey::new("v1", "ConfigMap", None, "c"),
            old: None,
            new: Some(json!({"kind": "ConfigMap"})),
            fields: vec![],
        };
        assert_eq!(hunks(&change, 3), "@@ -0,0 +1 @@\n+kind: ConfigMap\n");
        assert_eq!(file_names(&change).0, "/dev/null");
    }
}
