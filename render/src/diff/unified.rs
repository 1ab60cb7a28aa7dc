//! The unified diff of one object: its sorted-key YAML on each side, diffed line by line with
//! `similar`. An added or removed object diffs against nothing, so every line shows.

use std::borrow::Cow;

use serde_json::Value;
use similar::TextDiff;

use super::{Change, ChangeKind, Report};
use crate::emit::yaml;

/// The hunks (from the first `@@` line on) of one change of `report`, with `context` lines
/// around each difference (or as the comparison made them, see
/// [`super::DiffOptions::unified`]). Every line ends in a newline.
pub fn hunks<'a>(report: &Report, change: &'a Change, context: usize) -> Cow<'a, str> {
    if let Some(hunks) = &change.hunks {
        return Cow::Borrowed(hunks);
    }
    let (old, new) = report.objects(change);
    Cow::Owned(hunks_of(old.as_ref(), new.as_ref(), context))
}

/// The hunks between two objects, each written as sorted-key YAML.
pub(super) fn hunks_of(old: Option<&Value>, new: Option<&Value>, context: usize) -> String {
    let old = old.map(yaml::to_string).unwrap_or_default();
    let new = new.map(yaml::to_string).unwrap_or_default();
    hunks_of_text(&old, &new, context)
}

/// The hunks between two texts.
pub(super) fn hunks_of_text(old: &str, new: &str, context: usize) -> String {
    // Patience anchors on lines that occur once, such as `requests:`, so a changed map reads
    // as its changed keys rather than as lines that slid past each other (Myers pairs the
    // `memory:` of `limits` with the one of `requests`). No deadline: a timed-out diff would
    // approximate differently on a slower machine, and the output must be the same bytes
    // everywhere.
    TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(context)
        .to_string()
}

/// The `---`/`+++` names of a change: `a/Kind/namespace/name`, or `/dev/null` for the
/// missing side, as git writes them.
pub fn file_names(change: &Change) -> (String, String) {
    let name = change.key.display_ref();
    let old = match change.kind {
        ChangeKind::Added => "/dev/null".to_string(),
        _ => format!("a/{name}"),
    };
    let new = match change.kind {
        ChangeKind::Removed => "/dev/null".to_string(),
        _ => format!("b/{name}"),
    };
    (old, new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::diff::{DiffOptions, diff};
    use crate::emit::Object;
    use serde_json::json;

    fn config_map(data: Value) -> Object {
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"},
            "data": data
        }))
    }

    #[test]
    fn one_changed_line_shows_with_its_context() {
        let old = config_map(json!({"a": "1", "b": "2"}));
        let new = config_map(json!({"b": "2", "a": "3"}));
        let report = diff(&[old], &[new], &DiffOptions::default()).unwrap();
        let change = &report.changes[0];
        assert_eq!(
            hunks(&report, change, 3),
            "@@ -1,6 +1,6 @@\n apiVersion: v1\n data:\n-  a: '1'\n+  a: '3'\n   b: '2'\n kind: ConfigMap\n metadata:\n"
        );
        assert_eq!(
            file_names(change),
            ("a/ConfigMap/a/c".to_string(), "b/ConfigMap/a/c".to_string())
        );
    }

    #[test]
    fn an_added_object_shows_every_line() {
        assert_eq!(
            hunks_of(None, Some(&json!({"kind": "ConfigMap"})), 3),
            "@@ -0,0 +1 @@\n+kind: ConfigMap\n"
        );
        let report = diff(&[], &[config_map(json!({}))], &DiffOptions::default()).unwrap();
        assert_eq!(file_names(&report.changes[0]).0, "/dev/null");
    }
}
