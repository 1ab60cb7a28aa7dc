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
///
/// The lines both texts start and end with, beyond `context` lines of the first and last
/// difference, cannot show, so only the rest is diffed and the hunk headers are moved back
/// by the lines left out; a large object whose change is one line no longer has every line
/// hashed. As in git, lines both texts start or end with are never taken as moved, so a
/// line repeated there and next to the change may pair otherwise than in a diff of the
/// whole texts: the same change, shown a little differently.
pub(super) fn hunks_of_text(old: &str, new: &str, context: usize) -> String {
    let Some((skip, old, new)) = middle(old, new, context) else {
        return diff_lines(old, new, context);
    };
    let hunks = in_place(old, new, context).unwrap_or_else(|| diff_lines(old, new, context));
    if skip == 0 {
        return hunks;
    }
    let mut out = String::with_capacity(hunks.len() + 16);
    for line in hunks.split_inclusive('\n') {
        match line.strip_prefix("@@ -") {
            Some(header) => shift_header(header, skip, &mut out).unwrap_or_else(|| {
                out.push_str(line);
            }),
            None => out.push_str(line),
        }
    }
    out
}

fn diff_lines(old: &str, new: &str, context: usize) -> String {
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

/// Most changed lines a text may have for [`in_place`] to try: it looks each one up among the
/// other side's lines.
const MAX_IN_PLACE: usize = 16;

/// Fewest lines at which `similar` (3.2) may leave the longest common subsequence: from 512
/// lines on each side, its Myers step first drops lines that repeat often between changes.
const MAX_IN_PLACE_LINES: usize = 511;

/// The hunks `similar` writes for two texts that differ line for line in place: as many lines
/// on each side, each with its line break, and no changed line found anywhere on the other
/// side. Then the unchanged lines are the same positions on both sides and a changed line
/// pairs with nothing, so every longest common subsequence pairs line i with line i, and so
/// does `similar` below [`MAX_IN_PLACE_LINES`]; writing its hunks directly skips hashing every
/// line. A value changed in place, the usual change of a render, is such a diff. `None` for
/// any other.
fn in_place(old: &str, new: &str, context: usize) -> Option<String> {
    if !old.ends_with('\n') || !new.ends_with('\n') {
        return None;
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    if a.len() != b.len() || a.len() > MAX_IN_PLACE_LINES {
        return None;
    }
    let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    if changed.is_empty() || changed.len() > MAX_IN_PLACE {
        return None;
    }
    if changed
        .iter()
        .any(|&i| b.contains(&a[i]) || a.contains(&b[i]))
    {
        return None;
    }
    // Runs of changed lines, as [start, end).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        match runs.last_mut() {
            Some((_, end)) if *end == i => *end += 1,
            _ => runs.push((i, i + 1)),
        }
    }
    // As `similar` groups them: a hunk ends where more than twice the context is unchanged.
    let mut out = String::new();
    let mut first = 0;
    for k in 0..runs.len() {
        let last = k + 1 == runs.len() || runs[k + 1].0 - runs[k].1 > 2 * context;
        if !last {
            continue;
        }
        let start = runs[first].0.saturating_sub(context);
        let end = (runs[k].1 + context).min(a.len());
        let range = match end - start {
            1 => format!("{}", start + 1),
            len => format!("{},{len}", start + 1),
        };
        out.push_str(&format!("@@ -{range} +{range} @@\n"));
        let mut at = start;
        for &(from, to) in &runs[first..=k] {
            for line in &a[at..from] {
                out.push(' ');
                out.push_str(line);
            }
            for line in &a[from..to] {
                out.push('-');
                out.push_str(line);
            }
            for line in &b[from..to] {
                out.push('+');
                out.push_str(line);
            }
            at = to;
        }
        for line in &a[at..end] {
            out.push(' ');
            out.push_str(line);
        }
        first = k + 1;
    }
    Some(out)
}

/// The two texts without the lines they both start and end with, less `context` lines next
/// to the middle, with how many lines were cut from the start; `None` for a text with a
/// carriage return, whose lines `similar` may cut elsewhere.
fn middle<'a>(old: &'a str, new: &'a str, context: usize) -> Option<(usize, &'a str, &'a str)> {
    if old.contains('\r') || new.contains('\r') {
        return None;
    }
    let (a, b) = (old.as_bytes(), new.as_bytes());
    // Whole lines in common at the start: up to the last line break within the common bytes.
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let head = memchr::memrchr(b'\n', &a[..common]).map_or(0, |i| i + 1);
    // Whole lines in common at the end, not reaching into the head on either side.
    let room = a.len().min(b.len()) - head;
    let common_tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    // The tail starts a line on both sides.
    let starts_line = |text: &[u8], n: usize| {
        let at = text.len() - n;
        at == 0 || text[at - 1] == b'\n'
    };
    let tail = (0..=common_tail)
        .rev()
        .find(|&n| n == 0 || (starts_line(a, n) && starts_line(b, n)))
        .unwrap_or(0);
    let head_lines = memchr::memchr_iter(b'\n', &a[..head]).count();
    let tail_lines = memchr::memchr_iter(b'\n', &a[a.len() - tail..]).count()
        + usize::from(tail > 0 && !a.ends_with(b"\n"));
    let skip = head_lines.saturating_sub(context);
    let keep_tail = tail_lines.saturating_sub(context);
    let start = nth_line_start(a, skip);
    let (old_end, new_end) = (
        line_end_from_back(a, keep_tail),
        line_end_from_back(b, keep_tail),
    );
    Some((skip, old.get(start..old_end)?, new.get(start..new_end)?))
}

/// The byte where line `n` (0-based) starts.
fn nth_line_start(text: &[u8], n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    memchr::memchr_iter(b'\n', text)
        .nth(n - 1)
        .map_or(text.len(), |i| i + 1)
}

/// The byte where the text ends once its last `n` lines are cut.
fn line_end_from_back(text: &[u8], n: usize) -> usize {
    if n == 0 {
        return text.len();
    }
    // The last line may lack its line break; it still counts as a line.
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    memchr::memrchr_iter(b'\n', body)
        .nth(n - 1)
        .map_or(0, |i| i + 1)
}

/// Writes `@@ -` and `header` (the rest of a hunk header line) with both start lines moved
/// down by `skip`; `None` when the header is not one `similar` writes.
fn shift_header(header: &str, skip: usize, out: &mut String) -> Option<()> {
    let (old, rest) = header.split_once(" +")?;
    let (new, rest) = rest.split_once(" @@")?;
    let shift = |range: &str| -> Option<String> {
        let (start, len) = match range.split_once(',') {
            Some((start, len)) => (start, Some(len)),
            None => (range, None),
        };
        let start = start.parse::<usize>().ok()? + skip;
        Some(match len {
            Some(len) => format!("{start},{len}"),
            None => start.to_string(),
        })
    };
    let (old, new) = (shift(old)?, shift(new)?);
    out.push_str(&format!("@@ -{old} +{new} @@{rest}"));
    Some(())
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

    /// `old` patched with unified `hunks`, checking every context and removed line.
    fn apply(old: &str, hunks: &str) -> Option<String> {
        let old: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut at = 0;
        let mut added = false;
        for line in hunks.split_inclusive('\n') {
            let after_added = std::mem::replace(&mut added, line.starts_with('+'));
            if let Some(header) = line.strip_prefix("@@ -") {
                // The line before the range when it is empty, else its first line (1-based).
                let first = |range: &str| -> Option<usize> {
                    let (start, len) = range.split_once(',').unwrap_or((range, "1"));
                    let start: usize = start.parse().ok()?;
                    Some(if len == "0" { start } else { start - 1 })
                };
                let mut ranges = header.split(' ');
                let old_first = first(ranges.next()?)?;
                let new_first = first(ranges.next()?.strip_prefix('+')?)?;
                while at < old_first {
                    out.push_str(old.get(at)?);
                    at += 1;
                }
                (out.matches('\n').count() == new_first).then_some(())?;
            } else if line == "\\ No newline at end of file\n" {
                // An added line before it has no line break (a kept one was copied as it is).
                if after_added && out.ends_with('\n') {
                    out.pop();
                }
            } else if let Some(kept) = line.strip_prefix(' ') {
                (old.get(at)?.trim_end_matches('\n') == kept.trim_end_matches('\n'))
                    .then_some(())?;
                out.push_str(old[at]);
                at += 1;
            } else if let Some(removed) = line.strip_prefix('-') {
                (old.get(at)?.trim_end_matches('\n') == removed.trim_end_matches('\n'))
                    .then_some(())?;
                at += 1;
            } else {
                out.push_str(line.strip_prefix('+')?);
            }
        }
        while at < old.len() {
            out.push_str(old[at]);
            at += 1;
        }
        Some(out)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Cutting the common start and end gives hunks that turn the old text into the new
        /// one, with the right line numbers. (Where lines repeat, they may pair them otherwise
        /// than the hunks of the whole texts: patience anchors on lines that occur once, and a
        /// line can occur once in the middle but not in the whole.) Lines come from a small
        /// set so that many repeat, with or without a last line break.
        #[test]
        fn the_middle_has_hunks_as_good_as_the_whole(
            old in proptest::collection::vec(0u8..6, 0..40),
            edits in proptest::collection::vec((0usize..40, 0u8..8), 0..4),
            old_end in proptest::bool::ANY,
            new_end in proptest::bool::ANY,
            context in 0usize..5,
        ) {
            let mut new = old.clone();
            for (at, what) in edits {
                let at = at.min(new.len());
                match what {
                    6 if at < new.len() => { new.remove(at); }
                    7 => new.insert(at, 9),
                    v => new.insert(at, v),
                }
            }
            let text = |lines: &[u8], end: bool| {
                let mut t: String = lines.iter().map(|l| format!("  line: {l}\n")).collect();
                if !end && !t.is_empty() {
                    t.pop();
                }
                t
            };
            let (old, new) = (text(&old, old_end), text(&new, new_end));
            let (cut, whole) = (hunks_of_text(&old, &new, context), diff_lines(&old, &new, context));
            proptest::prop_assert_eq!(apply(&old, &cut), Some(new.clone()), "{}", cut);
            proptest::prop_assert_eq!(apply(&old, &whole), Some(new), "{}", whole);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Where the in-place hunks are written directly, they are byte for byte the ones
        /// `similar` writes. Lines come from a set whose size varies, so some repeat and some
        /// do not; changed lines are new ones, or ones from the set (which may stop the fast
        /// way, and must not make it wrong).
        #[test]
        fn in_place_hunks_are_the_ones_similar_writes(
            lines in proptest::collection::vec(0u8..40, 1..40),
            set in 2u8..40,
            changes in proptest::collection::vec((0usize..40, 0u8..50), 1..6),
            context in 0usize..5,
        ) {
            let old: Vec<String> = lines.iter().map(|l| format!("  line: {}\n", l % set)).collect();
            let mut new = old.clone();
            for (at, what) in changes {
                let at = at % new.len();
                new[at] = if what < 40 {
                    format!("  line: {}\n", what % set)
                } else {
                    format!("  new: {what}\n")
                };
            }
            let (old, new) = (old.concat(), new.concat());
            if let Some(fast) = in_place(&old, &new, context) {
                proptest::prop_assert_eq!(fast, diff_lines(&old, &new, context));
            }
        }

        /// Lines that never repeat, changed in place: always written directly, and the same.
        #[test]
        fn distinct_lines_changed_in_place_take_the_fast_way(
            len in 1usize..60,
            changed in proptest::collection::btree_set(0usize..60, 1..10),
            context in 0usize..5,
        ) {
            let old: Vec<String> = (0..len).map(|i| format!("key{i}: v\n")).collect();
            let mut new = old.clone();
            for &at in changed.iter().filter(|&&at| at < len) {
                new[at] = format!("key{at}: w\n");
            }
            let (old, new) = (old.concat(), new.concat());
            proptest::prop_assume!(old != new);
            let fast = in_place(&old, &new, context);
            proptest::prop_assert_eq!(fast, Some(diff_lines(&old, &new, context)));
        }
    }

    #[test]
    fn from_512_lines_similar_decides_even_for_changes_in_place() {
        // Between changes, 546 lines that all repeat, `F` 27 times: from 512 lines on each
        // side, similar's Myers step drops such a line and shows the unchanged `F` as removed
        // and added. The fast way would keep it as context, so it stands aside there.
        let text = |v: u8| {
            let mut lines = vec![format!("p: {v}\n"), format!("q: {v}\n"), "F\n".to_string()];
            lines.extend([format!("r: {v}\n"), format!("s: {v}\n")]);
            for i in 0..520 {
                lines.push(format!("x{}\n", i % 260));
                if i % 20 == 0 {
                    lines.push("F\n".to_string());
                }
            }
            lines.push(format!("t: {v}\n"));
            lines.concat()
        };
        let (old, new) = (text(1), text(2));
        assert_eq!(old.lines().count(), 552);
        let similar = diff_lines(&old, &new, 3);
        assert!(similar.contains("\n-F\n"), "{similar}");
        assert_eq!(in_place(&old, &new, 3), None);
        assert_eq!(hunks_of_text(&old, &new, 3), similar);
    }

    #[test]
    fn lines_in_common_far_from_the_change_are_left_out_and_counted() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 50\n", "line fifty\n");
        assert_eq!(
            hunks_of_text(&old, &new, 2),
            "@@ -49,5 +49,5 @@\n line 48\n line 49\n-line 50\n+line fifty\n line 51\n line 52\n"
        );
        assert_eq!(hunks_of_text(&old, &new, 2), diff_lines(&old, &new, 2));
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
