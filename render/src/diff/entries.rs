//! The changed fields of two documents from the entries whose text differs, without parsing
//! the rest.
//!
//! Two versions of a rendered object share almost all of their text: a worker whose gateway
//! moved differs in one env value and its render hash, its CR only in the children map.
//! Block YAML shows its structure in its indentation, so the entries of a mapping can be cut
//! apart by their key lines and compared as text: an entry whose text is the same on both
//! sides has the same value, one that differs is compared entry by entry again when both of
//! its values are block mappings, item by item when both are block sequences whose items a
//! merge key names (`containers[worker]`, `env[HEVLAYER_BASE_URL]`: only the changed item is
//! read, not the whole list), or else parsed on its own (a few lines) and compared as data
//! by [`fields`](super::fields). The result is the field list that parsing the whole
//! documents would give, in the same order.
//!
//! It answers only for plain block mappings whose keys are plain words (`scan.rs`'s rule) and
//! that define no anchor (an alias would tie an unchanged entry to a changed one); `None`
//! sends the pair to the full parse, which also reports any syntax error. Like an unchanged
//! document, an unchanged entry is not parsed, so an error in it goes unreported.

use std::ops::Range;

use serde_json::Value;

use super::fields::{self, FieldChange, Step};
use crate::load;
use crate::load::scan::{self, plain_key};

/// One line of a document: where it is (with its line break, and where its text ends
/// without it), its indentation, and whether it holds content.
struct Line {
    range: Range<usize>,
    end: usize,
    indent: usize,
    content: bool,
}

/// A mapping entry: its key and its lines (key line first, then its value's lines).
struct Entry<'a> {
    key: &'a str,
    lines: Range<usize>,
}

/// One document's text cut into lines.
struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
}

impl<'a> Doc<'a> {
    /// `None` when a line is not plain enough: a tab in its indentation, or a quoted scalar or
    /// flow collection that goes on to the next line (which may sit less deep and read as keys).
    fn new(text: &'a str) -> Option<Doc<'a>> {
        let bytes = text.as_bytes();
        let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
        let mut at = 0;
        // The column a block scalar's lines must be deeper than, inside one.
        let mut block_scalar: Option<usize> = None;
        while at < bytes.len() {
            let newline = memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i);
            let next = newline.map_or(bytes.len(), |i| i + 1);
            let mut end = newline.unwrap_or(bytes.len());
            while end > at && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            let indent = bytes[at..end].iter().take_while(|&&b| b == b' ').count();
            let rest = &text[at + indent..end];
            if rest.starts_with('\t') {
                return None;
            }
            let content = !rest.is_empty() && !rest.starts_with('#');
            if content && block_scalar.is_none_or(|column| indent <= column) {
                let (column, value) = value_of(indent, rest);
                if !ends_on_its_line(value) {
                    return None;
                }
                block_scalar = value.starts_with(['|', '>']).then_some(column);
            }
            lines.push(Line {
                range: at..next,
                end,
                indent,
                content,
            });
            at = next;
        }
        Some(Doc { text, lines })
    }

    /// The text of lines `range`.
    fn text_of(&self, range: &Range<usize>) -> &'a str {
        match (
            self.lines.get(range.start),
            range.end.checked_sub(1).and_then(|i| self.lines.get(i)),
        ) {
            (Some(first), Some(last)) if range.start < range.end => {
                &self.text[first.range.start..last.range.end]
            }
            _ => "",
        }
    }

    /// A line's text after its indentation, without the line break.
    fn rest(&self, i: usize) -> &'a str {
        let line = &self.lines[i];
        self.text
            .get(line.range.start + line.indent..line.end)
            .unwrap_or_default()
    }

    /// The entries of the block mapping in lines `range` whose keys sit at `indent`, sorted
    /// by key; `None` when the lines are not such a mapping or repeat a key.
    fn entries(&self, range: Range<usize>, indent: usize) -> Option<Vec<Entry<'a>>> {
        self.entries_from(range, indent, None)
    }

    /// [`Doc::entries`], the first line's content given as `first` when it is not the line's
    /// own: a sequence item's, after its dash, at `indent`.
    fn entries_from(
        &self,
        range: Range<usize>,
        indent: usize,
        first: Option<&'a str>,
    ) -> Option<Vec<Entry<'a>>> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        for i in range.clone() {
            let line = &self.lines[i];
            if !line.content {
                if let Some(last) = entries.last_mut() {
                    last.lines.end = i + 1;
                }
                continue;
            }
            let (at, rest) = match first {
                Some(first) if i == range.start => (indent, first),
                _ => (line.indent, self.rest(i)),
            };
            if at > indent || (at == indent && is_entry(rest)) {
                // The value of the entry before: deeper lines, or an indentless sequence.
                entries.last_mut()?.lines.end = i + 1;
                continue;
            }
            if at < indent {
                return None;
            }
            let (key, _) = plain_key(rest)?;
            entries.push(Entry {
                key,
                lines: i..i + 1,
            });
        }
        // Sorted by key, for [`compare`] to walk both sides in step; the writer's own output
        // is sorted already, which this sort checks in one pass.
        entries.sort_by(|a, b| a.key.cmp(b.key));
        if entries.windows(2).any(|w| w[0].key == w[1].key) {
            return None; // a duplicate key: the parser's to report
        }
        Some(entries)
    }

    /// Whether an entry's value is on the lines below its key: its key line ends at the colon.
    fn value_below(&self, entry: &Entry<'_>) -> Option<()> {
        let (_, after) = plain_key(self.rest(entry.lines.start))?;
        let after = after.trim_start_matches(' ');
        (after.is_empty() || after.starts_with('#')).then_some(())
    }

    /// The indentation of the keys of an entry's value, when the value is a block mapping: its
    /// key line ends at the colon, and its next content line is deeper and not a sequence entry.
    fn nested_indent(&self, entry: &Entry<'_>) -> Option<usize> {
        self.value_below(entry)?;
        let first = entry.lines.start;
        let next = (first + 1..entry.lines.end).find(|i| self.lines[*i].content)?;
        let indent = self.lines[next].indent;
        (indent > self.lines[first].indent && !is_entry(self.rest(next))).then_some(indent)
    }

    /// The items of an entry's value when it is a block sequence (its key line ends at the
    /// colon, and items follow): each item's lines, its first line at the dash.
    fn sequence(&self, entry: &Entry<'_>) -> Option<Vec<Range<usize>>> {
        self.value_below(entry)?;
        let first = entry.lines.start;
        let mut items: Vec<Range<usize>> = Vec::new();
        let mut dash = None;
        for i in first + 1..entry.lines.end {
            let line = &self.lines[i];
            if !line.content {
                if let Some(last) = items.last_mut() {
                    last.end = i + 1;
                }
                continue;
            }
            let starts_item = is_entry(self.rest(i));
            match dash {
                None if starts_item => dash = Some(line.indent),
                Some(d) if line.indent == d && starts_item => {}
                Some(d) if line.indent > d => {
                    items.last_mut()?.end = i + 1;
                    continue;
                }
                _ => return None,
            }
            items.push(i..i + 1);
        }
        // No item: a null, not an empty list.
        (!items.is_empty()).then_some(items)
    }

    /// The merge-key fields of a block sequence's item (see [`Doc::sequence`]) with the names
    /// they give: its keys are on its first line after the dash and on the lines at that
    /// column ([`Doc::entries_from`]). `None` when the item is not such a mapping (a key twice
    /// among them), or a merge-key field is not a one-line string or decimal number: it is
    /// then the parser's.
    fn named_fields(&self, item: &Range<usize>) -> Option<Vec<(&'static str, String)>> {
        let dash = self.lines.get(item.start)?.indent;
        let first = self.rest(item.start).strip_prefix("- ")?;
        if first.starts_with(' ') {
            return None;
        }
        let mut found = Vec::new();
        for entry in self.entries_from(item.clone(), dash + 2, Some(first))? {
            let Some(field) = fields::MERGE_KEYS.iter().find(|k| **k == entry.key) else {
                continue;
            };
            // One line, or the value goes on below: a nested node or a plain scalar that
            // continues; only the parser tells.
            if (entry.lines.start + 1..entry.lines.end).any(|i| self.lines[i].content) {
                return None;
            }
            let line = if entry.lines.start == item.start {
                first
            } else {
                self.rest(entry.lines.start)
            };
            let (_, after) = plain_key(line)?;
            found.push((*field, name_of_value(after)?));
        }
        Some(found)
    }

    /// An item of a block sequence as the block mapping it holds, its dash made a space:
    /// `- name: a` is read as `  name: a`. `None` when the item does not start with a key.
    fn item_text(&self, item: &Range<usize>) -> Option<String> {
        let line = self.lines.get(item.start)?;
        let rest = self.rest(item.start);
        let key_line = rest.strip_prefix("- ")?;
        if key_line.starts_with(' ') {
            return None;
        }
        plain_key(key_line)?;
        let mut text = self.text_of(item).to_string();
        let dash = line.indent;
        text.replace_range(dash..dash + 1, " ");
        Some(text)
    }
}

/// The name a merge-key field's one-line value gives its item, as [`fields`] writes it: a
/// string, or a decimal number; `None` for anything else, which is the parser's.
fn name_of_value(after: &str) -> Option<String> {
    match scan::scalar(after) {
        Some(value) => Some(value.to_string()),
        None => {
            let word = after.trim_start_matches(' ');
            let word = word.split(" #").next().unwrap_or(word);
            fields::number_name(word.trim_end_matches(' '))
        }
    }
}

/// Compares two block sequences item by item when a merge key names their items, as
/// [`fields`] compares the parsed lists: items whose text is the same are equal, the others
/// are compared as mappings again, and an added or removed item is parsed on its own. `None`
/// sends the entry to the parser: other lists, items not plain enough, a change of order.
fn compare_keyed(
    (old_doc, a): (&Doc<'_>, &Entry<'_>),
    (new_doc, b): (&Doc<'_>, &Entry<'_>),
    path: &mut Vec<Step>,
    out: &mut Vec<FieldChange>,
) -> Option<()> {
    let (old_items, new_items) = (old_doc.sequence(a)?, new_doc.sequence(b)?);
    let named = |doc: &Doc<'_>, items: &[Range<usize>]| -> Option<Vec<_>> {
        items.iter().map(|item| doc.named_fields(item)).collect()
    };
    let (old_named, new_named) = (named(old_doc, &old_items)?, named(new_doc, &new_items)?);
    let name_of = |item: &Vec<(&'static str, String)>, field: &str| {
        item.iter()
            .find(|(f, _)| *f == field)
            .map(|(_, name)| name.clone())
    };
    let field = fields::choose_merge_key(&old_named, &new_named, name_of)?;
    let names = |named: &[Vec<(&'static str, String)>]| -> Option<Vec<String>> {
        named.iter().map(|item| name_of(item, field)).collect()
    };
    let pairs = fields::keyed_pairs(field, &names(&old_named)?, &names(&new_named)?);
    if pairs.reordered {
        return None;
    }
    let before = out.len();
    for (step, o, n) in pairs.steps {
        let (old_item, new_item) = (o.map(|i| &old_items[i]), n.map(|i| &new_items[i]));
        if old_item.map(|i| old_doc.text_of(i)) == new_item.map(|i| new_doc.text_of(i)) {
            continue;
        }
        path.push(step);
        // The items that differ, as the mappings they hold.
        let as_mapping = |doc: &Doc<'_>, item: Option<&Range<usize>>| match item {
            Some(item) => doc.item_text(item).map(Some),
            None => Some(None),
        };
        let (old_text, new_text) = (
            as_mapping(old_doc, old_item)?,
            as_mapping(new_doc, new_item)?,
        );
        match (old_text.as_ref(), new_text.as_ref()) {
            (Some(x), Some(y)) => {
                let (x_doc, y_doc) = (Doc::new(x)?, Doc::new(y)?);
                let block = |doc: &Doc<'_>| -> Option<(Range<usize>, usize)> {
                    Some((
                        0..doc.lines.len(),
                        doc.lines.iter().find(|l| l.content)?.indent,
                    ))
                };
                let ((x_lines, x_indent), (y_lines, y_indent)) = (block(&x_doc)?, block(&y_doc)?);
                compare(
                    (&x_doc, x_lines, x_indent),
                    (&y_doc, y_lines, y_indent),
                    path,
                    out,
                )?;
            }
            (x, y) => {
                // An added or removed item, parsed on its own.
                let value = |text: Option<&String>| -> Option<Option<Value>> {
                    match text {
                        None => Some(None),
                        Some(text) => match parse_alone(text)? {
                            value @ Value::Object(_) => Some(Some(value)),
                            _ => None,
                        },
                    }
                };
                let (x, y) = (value(x)?, value(y)?);
                fields::changes_at(x.as_ref(), y.as_ref(), path, out);
            }
        }
        path.pop();
    }
    // Texts that differ with no field that does: formatting, or something only the parser
    // can tell.
    (out.len() > before).then_some(())
}

/// Where a line's value starts: after its sequence dashes and its key, if any; with the column
/// its block scalar's lines must be deeper than: the key's, or the dash's for a value right
/// after a dash.
fn value_of(indent: usize, rest: &str) -> (usize, &str) {
    let mut column = indent;
    let mut dash = None;
    let mut value = rest;
    while let Some(after) = value.strip_prefix("- ").or((value == "-").then_some("")) {
        dash = Some(column);
        let trimmed = after.trim_start_matches(' ');
        column += value.len() - trimmed.len();
        value = trimmed;
    }
    if value.starts_with(['"', '\'', '[', '{']) {
        // A quoted or flow node: a key or a value; [`ends_on_its_line`] tells.
        return (column, value);
    }
    // A plain key holds no `: `, so the value follows the first one.
    let bytes = value.as_bytes();
    let colon =
        memchr::memchr_iter(b':', bytes).find(|&i| matches!(bytes.get(i + 1), None | Some(b' ')));
    match colon {
        Some(i) => (column, value[i + 1..].trim_start_matches(' ')),
        None => (dash.unwrap_or(column), value),
    }
}

/// Whether a value ends on its line: a quoted scalar or a flow collection closes there (and
/// when it is a key, so does the value after it). A tag or a complex key is not read here, so
/// it does not. Conservative: a quote inside a plain scalar in a flow collection counts as
/// one too.
fn ends_on_its_line(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'!' | b'?') => return false,
        Some(b'"' | b'\'' | b'[' | b'{') => {}
        _ => return true,
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => loop {
                i += 1;
                match bytes.get(i) {
                    None => return false,
                    Some(b'\\') => i += 1,
                    Some(b'"') => break,
                    Some(_) => {}
                }
            },
            b'\'' => loop {
                i += 1;
                match bytes.get(i) {
                    None => return false,
                    Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 1,
                    Some(b'\'') => break,
                    Some(_) => {}
                }
            },
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
        if depth == 0 {
            // The node closed. A key's value follows its `: `.
            let after = &value[i..];
            return match after.strip_prefix(':') {
                Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                    ends_on_its_line(rest.trim_start_matches(' '))
                }
                _ => true,
            };
        }
    }
    false
}

/// Whether a line's content starts a block sequence entry.
fn is_entry(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// Whether a document can be read in parts: it defines no anchor (an alias of it would tie
/// an unchanged entry to a changed one; an alias with no anchor to name cannot parse, so a
/// changed entry that holds one goes to the full parse) and has no tab or directive.
///
/// An anchor starts a node: its `&` follows a space, a line start or a flow indicator. A `&`
/// inside a word, as in a URL's query, is text. A `&` after a space inside a quoted string
/// is refused too, which only costs a full parse.
fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let starts_node =
        |at: usize| at == 0 || matches!(bytes[at - 1], b' ' | b'\n' | b'[' | b'{' | b',');
    !text.contains('\t')
        && !text.starts_with('%')
        && !text.contains("\n%")
        && !memchr::memchr_iter(b'&', bytes).any(starts_node)
}

/// The fields that differ between two documents, as [`fields::changes`] would list them for
/// the parsed documents; `None` when the texts are not plain enough to be read in parts.
pub(super) fn changes(old: &str, new: &str) -> Option<Vec<FieldChange>> {
    if [old, new].iter().any(|t| !is_plain(t)) {
        return None;
    }
    let (old_doc, new_doc) = (Doc::new(old)?, Doc::new(new)?);
    let root = |doc: &Doc<'_>| {
        let start = doc.lines.iter().position(|l| l.content)?;
        // The document's own bare `---` before its first key; content after one is odd.
        let first = doc.rest(start);
        let start = match first.strip_prefix("---") {
            Some(rest) if rest.trim_start_matches(' ').is_empty() || rest.starts_with(" #") => {
                start + 1
            }
            Some(_) => return None,
            None => start,
        };
        Some((
            start..doc.lines.len(),
            doc.lines
                .get(start..)?
                .iter()
                .find(|l| l.content)
                .map_or(0, |l| l.indent),
        ))
    };
    let ((old_range, old_indent), (new_range, new_indent)) = (root(&old_doc)?, root(&new_doc)?);
    if old_indent != 0 || new_indent != 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut path = Vec::new();
    compare(
        (&old_doc, old_range, 0),
        (&new_doc, new_range, 0),
        &mut path,
        &mut out,
    )?;
    Some(out)
}

/// One side of a mapping being compared: the document, the mapping's lines, its keys' indent.
type Block<'d, 'a> = (&'d Doc<'a>, Range<usize>, usize);

fn compare(
    old: Block<'_, '_>,
    new: Block<'_, '_>,
    path: &mut Vec<Step>,
    out: &mut Vec<FieldChange>,
) -> Option<()> {
    let (old_doc, new_doc) = (old.0, new.0);
    let old_entries = old_doc.entries(old.1, old.2)?;
    let new_entries = new_doc.entries(new.1, new.2)?;
    // Both sides are sorted by key: walk them in step, in key order.
    let (mut i, mut j) = (0, 0);
    while i < old_entries.len() || j < new_entries.len() {
        let (a, b) = match (old_entries.get(i), new_entries.get(j)) {
            (Some(a), Some(b)) if a.key == b.key => (Some(a), Some(b)),
            (Some(a), Some(b)) if a.key < b.key => (Some(a), None),
            (Some(_), Some(b)) => (None, Some(b)),
            (a, b) => (a, b),
        };
        i += usize::from(a.is_some());
        j += usize::from(b.is_some());
        let key = a.or(b).map_or("", |e| e.key);
        let (a_text, b_text) = (
            a.map(|e| old_doc.text_of(&e.lines)),
            b.map(|e| new_doc.text_of(&e.lines)),
        );
        if a_text == b_text {
            continue;
        }
        path.push(Step::Key(key.to_string()));
        let nested = match (a, b) {
            (Some(a), Some(b)) => {
                old_doc
                    .nested_indent(a)
                    .zip(new_doc.nested_indent(b))
                    .map(|(i, j)| {
                        (
                            (a.lines.start + 1..a.lines.end, i),
                            (b.lines.start + 1..b.lines.end, j),
                        )
                    })
            }
            _ => None,
        };
        // A mapping on both sides is compared entry by entry; when its lines turn out not to
        // be one after all, the whole entry is parsed instead.
        // A try that gives up leaves the path and the list as they were.
        let (depth, before) = (path.len(), out.len());
        let mut done = false;
        if let Some(((a_lines, i), (b_lines, j))) = nested {
            done = compare((old_doc, a_lines, i), (new_doc, b_lines, j), path, out).is_some();
        }
        // A list named by a merge key on both sides is compared item by item.
        if let (false, Some(a), Some(b)) = (done, a, b) {
            path.truncate(depth);
            out.truncate(before);
            done = compare_keyed((old_doc, a), (new_doc, b), path, out).is_some();
        }
        if !done {
            path.truncate(depth);
            out.truncate(before);
        }
        if !done {
            let value = |text: Option<&str>| -> Option<Option<Value>> {
                match text {
                    None => Some(None),
                    Some(text) => entry_value(text, key).map(Some),
                }
            };
            let (x, y) = (value(a_text)?, value(b_text)?);
            fields::changes_at(x.as_ref(), y.as_ref(), path, out);
        }
        path.pop();
    }
    Some(())
}

/// The value of the one entry in `text`, parsed on its own; `None` when it does not parse
/// alone.
fn entry_value(text: &str, key: &str) -> Option<Value> {
    match parse_alone(text)? {
        Value::Object(mut map) if map.len() == 1 => map.remove(key),
        _ => None,
    }
}

/// A few lines parsed on their own, with the limits of one document; `None` when they do not
/// parse.
fn parse_alone(text: &str) -> Option<Value> {
    let loaded = load::load_str("entry", text, &super::read::document_limits());
    if !loaded.diagnostics.is_empty() || loaded.documents.len() != 1 {
        return None;
    }
    Some(loaded.documents.into_iter().next()?.root.into_json())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::emit::yaml;
    use crate::load::Limits;
    use proptest::prelude::*;
    use serde_json::json;

    fn full(old: &str, new: &str) -> Vec<FieldChange> {
        let parse = |t: &str| {
            load::load_str("t", t, &Limits::default()).documents[0]
                .root
                .to_json()
        };
        fields::changes(&parse(old), &parse(new))
    }

    fn listed(found: &[FieldChange]) -> Vec<String> {
        found
            .iter()
            .map(|f| format!("{} {} {:?} {:?}", f.kind.as_str(), f.dotted(), f.old, f.new))
            .collect()
    }

    #[test]
    fn only_the_changed_entries_are_read() {
        let old = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    layer.hev.dev/render-hash: aa\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n      - env:\n        - name: URL\n          value: http://a\n        name: worker\n";
        let new = old.replace("aa", "bb").replace("http://a", "http://b");
        let found = changes(old, &new).unwrap();
        assert_eq!(
            listed(&found),
            [
                "changed metadata.annotations[layer.hev.dev/render-hash] Some(String(\"aa\")) Some(String(\"bb\"))",
                "changed spec.template.spec.containers[worker].env[URL].value Some(String(\"http://a\")) Some(String(\"http://b\"))",
            ]
        );
        assert_eq!(found, full(old, &new));
    }

    #[test]
    fn formatting_alone_is_no_change_and_added_keys_are_added() {
        let old = "a:\n  b: 1\n  c: [1, 2]\n";
        assert_eq!(
            changes(old, "a:\n  b: 1\n  c:\n  - 1\n  - 2\n").unwrap(),
            vec![]
        );
        let new = "a:\n  b: 1\n  c: [1, 2]\n  d: {x: 1}\n";
        assert_eq!(listed(&changes(old, new).unwrap()), listed(&full(old, new)));
    }

    #[test]
    fn what_it_cannot_read_in_parts_goes_to_the_parser() {
        for (old, new) in [
            ("a: &x 1\nb: *x\n", "a: &x 2\nb: *x\n"),
            ("a: 1\n\tb: 2\n", "a: 2\n"),
            ("'a': 1\n", "'a': 2\n"),
            ("- a\n", "- b\n"),
            ("a: 1\na: 2\n", "a: 1\na: 3\n"),
            ("a: [1,\n", "a: [2,\n"),
            ("a: [&x 1]\nb: 2\n", "a: [&x 1]\nb: 3\n"),
            ("a:\n  &x b: 1\nc: 2\n", "a:\n  &x b: 1\nc: 3\n"),
            ("%YAML 1.2\n---\na: 1\n", "%YAML 1.2\n---\na: 2\n"),
        ] {
            assert_eq!(changes(old, new), None, "{old}");
        }
    }

    #[test]
    fn an_ampersand_or_an_asterisk_inside_a_value_is_text() {
        // A cron schedule and a URL's query: no anchor is defined, so no alias can tie the
        // unchanged entries to the changed one.
        let old = "cron: 27 3 * * *\nurl: http://a/?b=1&c=2\nimage: w:1\n";
        let new = "cron: 27 3 * * *\nurl: http://a/?b=1&c=2\nimage: w:2\n";
        let found = changes(old, new).unwrap();
        let paths: Vec<String> = found.iter().map(FieldChange::dotted).collect();
        assert_eq!(paths, ["image"]);
        assert_eq!(found, full(old, new));
        // An alias with no anchor does not parse: a changed entry that holds one goes to the
        // parser, which reports it.
        assert_eq!(changes("a: 1\n", "a: *x\n"), None);
    }

    #[test]
    fn a_list_named_by_a_merge_key_is_read_item_by_item() {
        // The unchanged item holds an alias with no anchor, which does not parse: reading the
        // list item by item leaves it alone, as an unchanged entry is.
        let old = "spec:\n  env:\n  - name: A\n    value: *x\n  - name: B\n    value: b1\n  - name: C\n    value: c\n";
        let new = old
            .replace("b1", "b2")
            .replace("  - name: C\n    value: c\n", "  - name: D\n    value: d\n");
        assert_eq!(
            listed(&changes(old, &new).unwrap()),
            [
                "changed spec.env[B].value Some(String(\"b1\")) Some(String(\"b2\"))",
                "added spec.env[D] None Some(Object {\"name\": String(\"D\"), \"value\": String(\"d\")})",
                "removed spec.env[C] Some(Object {\"name\": String(\"C\"), \"value\": String(\"c\")}) None",
            ]
        );
        // Numbers name items too, as the parsed list names them.
        let old = "ports:\n- containerPort: 8080\n  protocol: TCP\n- containerPort: 9090\n  protocol: TCP\n";
        let new = old.replace("9090\n  protocol: TCP", "9090\n  protocol: UDP");
        let found = changes(old, &new).unwrap();
        assert_eq!(
            listed(&found),
            [
                "changed ports[containerPort=9090].protocol Some(String(\"TCP\")) Some(String(\"UDP\"))"
            ]
        );
        assert_eq!(found, full(old, &new));
    }

    #[test]
    fn a_list_item_by_item_gives_way_to_the_parser_when_it_must() {
        for (old, new) in [
            // A change of order is a change of the whole list.
            (
                "l:\n- name: a\n  v: 1\n- name: b\n  v: 1\n",
                "l:\n- name: b\n  v: 1\n- name: a\n  v: 2\n",
            ),
            // Names the line does not tell: a leading zero, a name below its key, a flow item.
            ("l:\n- port: 080\n  v: 1\n", "l:\n- port: 080\n  v: 2\n"),
            (
                "l:\n- name:\n    a\n  v: 1\n",
                "l:\n- name:\n    a\n  v: 2\n",
            ),
            ("l:\n- {name: a, v: 1}\n", "l:\n- {name: a, v: 2}\n"),
            // Items that only look different.
            ("l:\n- name: a\n  v: 1\n", "l:\n-   name: a\n    v: 1\n"),
            ("l:\n- name: a\n  v: 1\n", "l:\n- name: a\n  v: 1 # one\n"),
        ] {
            assert_eq!(changes(old, new), Some(full(old, new)), "{old}{new}");
        }
    }

    #[test]
    fn what_the_parser_reads_differently_is_left_to_it() {
        for (old, new) in [
            // A key with no value is a null, not an empty list.
            ("l:\n", "l:\n- name: a\n"),
            ("l: # none\n", "l:\n- name: a\n"),
            // A number too large for a u64 reads as a float.
            (
                "l:\n- port: 99999999999999999999999\n  v: 1\n",
                "l:\n- port: 99999999999999999999999\n  v: 2\n",
            ),
            // A quoted scalar or a flow collection that goes on to a line less deep.
            (
                "l:\n- name: a\n  v: \"x\n- name: b #\"\n",
                "l:\n- name: a\n  v: \"x\n- name: c #\"\n",
            ),
            ("a: \"x\nb: 1 #\"\n", "a: \"x\nb: 2 #\"\n"),
            ("a: 'x\nb: 1 #'\n", "a: 'x\nb: 2 #'\n"),
            ("a: [x,\nb: 1]\n", "a: [x,\nb: 2]\n"),
            // The same behind a tag, or after a quoted key.
            ("a: !!str \"one\nb: 1\"\n", "a: !!str \"one\nb: 2\"\n"),
            (
                "data:\n  \"k\": \"one\nz: a\"\n",
                "data:\n  \"k\": \"one\nz: b\"\n",
            ),
            // A merge key twice in an item, or its value below its key.
            (
                "l:\n- name: a\n  name: b\n  v: 1\n",
                "l:\n- name: a\n  name: b\n  v: 2\n",
            ),
            (
                "l:\n- v: 1\n  name: a\n    b\n",
                "l:\n- v: 2\n  name: a\n    b\n",
            ),
        ] {
            for (old, new) in [(old, new), (new, old)] {
                if let Some(found) = changes(old, new) {
                    assert_eq!(found, full(old, new), "{old}{new}");
                }
            }
        }
        // A block scalar's lines are its own, whatever they hold, under a key or a dash.
        for old in [
            "a: |\n  {\"x\n  [\nb: 1\n",
            "args:\n- |\n  {\n    \"a\": [1,\n  }\nb: 1\n",
        ] {
            let new = old.replace("b: 1", "b: 2");
            assert_eq!(changes(old, &new), Some(full(old, &new)), "{old}");
        }
    }

    /// A list of mappings named by a merge key, in any order: by `name` (strings, one of them
    /// numeric) or by `port` (numbers).
    fn keyed_list() -> impl Strategy<Value = Vec<Value>> {
        let named = |field: &'static str, names: Vec<Value>| {
            prop::collection::btree_map(0..names.len(), (value(), value()), 0..4).prop_map(
                move |items| {
                    items
                        .into_iter()
                        .map(|(i, (v, w))| {
                            let mut item = serde_json::Map::new();
                            item.insert(field.to_string(), names[i].clone());
                            item.insert("v".to_string(), v);
                            item.insert("w".to_string(), w);
                            Value::Object(item)
                        })
                        .collect::<Vec<_>>()
                },
            )
        };
        prop_oneof![
            named(
                "name",
                vec![json!("a"), json!("b"), json!("8080"), json!("x y")]
            ),
            named("port", vec![json!(0), json!(80), json!(8080)]),
        ]
        .prop_shuffle()
    }

    /// Small JSON values: the shapes manifests have, with keys that collide often.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            prop::sample::select(
                &[
                    "a", "b", "", "x y", "1", "true", "#c", "a: b", "- x", "é", "* * *", "a&b",
                    "&x", "*x"
                ][..]
            )
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop::sample::select(&["a", "b", "name", "c.d/e", "x y", "1"][..]),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    fn document() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(
            prop::sample::select(&["apiVersion", "kind", "metadata", "spec", "data"][..]),
            value(),
            1..5,
        )
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    /// Compares `a` and `b` as render writes them: when the entries answer, they give the
    /// fields of the parsed documents; `must_answer`: and they do answer.
    fn agrees_with_the_parse(a: &Value, b: &Value, must_answer: bool) -> Result<(), TestCaseError> {
        let (old, new) = (yaml::to_string(a), yaml::to_string(b));
        let found = changes(&old, &new);
        prop_assert!(found.is_some() || !must_answer, "{}\n{}", old, new);
        if let Some(found) = found {
            prop_assert_eq!(found, fields::changes(a, b));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn entries_give_the_fields_of_the_whole_documents(a in document(), b in document()) {
            agrees_with_the_parse(&a, &b, false)?;
        }

        #[test]
        fn keyed_lists_give_the_fields_of_the_whole_lists(
            a in keyed_list(),
            b in keyed_list(),
            x in value(),
        ) {
            let (a, b) = (json!({"spec": {"l": a, "x": 0}}), json!({"spec": {"l": b, "x": x}}));
            agrees_with_the_parse(&a, &b, false)?;
        }

        #[test]
        fn an_edited_item_gives_its_fields(
            list in keyed_list(),
            pick in any::<prop::sample::Index>(),
            v in value(),
        ) {
            prop_assume!(!list.is_empty());
            let mut edited = list.clone();
            edited[pick.index(list.len())]["v"] = v;
            let (a, b) = (json!({"spec": {"l": list}}), json!({"spec": {"l": edited}}));
            agrees_with_the_parse(&a, &b, true)?;
        }

        #[test]
        fn a_small_edit_is_read_in_parts(a in document(), b in value()) {
            // One entry replaced deep inside: the common case, which must not fall back.
            let mut edited = a.clone();
            if let Some(map) = edited.as_object_mut() {
                map.insert("spec".into(), json!({"template": {"x": b}}));
            }
            let mut base = a.clone();
            if let Some(map) = base.as_object_mut() {
                map.insert("spec".into(), json!({"template": {"x": 0}}));
            }
            agrees_with_the_parse(&base, &edited, true)?;
        }
    }
}
