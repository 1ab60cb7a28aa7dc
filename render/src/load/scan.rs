//! Reading a large stream without parsing it: documents are cut at their `---` and `...`
//! lines, and the identity of each (apiVersion, kind, namespace, name) is read from a few of
//! its lines.
//!
//! `diff` and `check` compare renders of up to 100,000 objects a side, nearly all unchanged.
//! Two documents with the same identity and the same text are the same object, so only the
//! documents whose text differs need a tree. Cutting is exact: YAML forbids `---` and `...`
//! at the start of a line inside a document, so those lines always end one; `%` directive
//! lines stay with the document they precede. The identity reader is conservative: it answers
//! only for block mappings whose top-level keys, and the keys directly under `metadata:`, are
//! plain words at the start of their lines, and whose apiVersion, kind, name and namespace
//! are simple one-line strings. For anything else (flow style, anchors, tags, a `kind: List`,
//! a missing field) it answers `None` and the caller parses the document. The differential
//! tests hold it to the parser.

use std::ops::Range;

use crate::key::ObjectKey;

/// One document of a stream: where its text is, and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The document's bytes in the stream, its `---` line included.
    pub range: Range<usize>,
    /// Where its content starts: after a bare `---` line (which adds nothing to the document),
    /// else at `range.start`. Two documents are equal when their content is.
    pub body: usize,
    /// The 1-based line of `range.start`.
    pub line: u64,
}

/// What a line holds, for cutting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// A `---` line.
    Start,
    /// A `...` line.
    End,
    /// Blank, a comment or a `%` directive: nothing of a document yet.
    Nothing,
    /// Anything else.
    Content,
}

fn cut(line: &[u8]) -> Cut {
    if is_marker(line, b"---") {
        return Cut::Start;
    }
    if is_marker(line, b"...") {
        return Cut::End;
    }
    match trim_start(line).first() {
        None | Some(b'\r' | b'#') => Cut::Nothing,
        Some(b'%') if line[0] == b'%' => Cut::Nothing,
        Some(_) => Cut::Content,
    }
}

/// The documents of `text`, in order, leaving out those that hold nothing but blank lines,
/// comments and bare markers (empty documents, which loading skips too).
pub fn split(text: &str) -> Vec<Piece> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    // The open piece: where it starts, its first line, whether it holds content, and whether
    // it opened with a `---` line.
    let (mut start, mut start_line, mut content, mut opened) = (0, 1, false, false);
    let mut line = 1;
    let mut at = 0;
    while at < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let next = (end + 1).min(bytes.len());
        match cut(&bytes[at..end]) {
            Cut::Start => {
                // Directives and comments before the first `---` go with its document.
                if content || opened {
                    close(text, start..at, start_line, content, &mut pieces);
                    start = at;
                    start_line = line;
                }
                content = !is_bare(&bytes[at..end]);
                opened = true;
            }
            Cut::End => {
                close(text, start..next, start_line, content, &mut pieces);
                (start, start_line, content, opened) = (next, line + 1, false, false);
            }
            Cut::Nothing => {}
            Cut::Content => content = true,
        }
        at = next;
        line += 1;
    }
    close(text, start..bytes.len(), start_line, content, &mut pieces);
    pieces
}

/// Adds the piece at `range` when it holds content.
fn close(text: &str, range: Range<usize>, line: u64, content: bool, pieces: &mut Vec<Piece>) {
    if !content || range.is_empty() {
        return;
    }
    let bytes = text.as_bytes();
    let first_end = memchr::memchr(b'\n', &bytes[range.start..range.end])
        .map_or(range.end, |i| range.start + i);
    let first = &bytes[range.start..first_end];
    let body = if is_marker(first, b"---") && is_bare(first) {
        (first_end + 1).min(range.end)
    } else {
        range.start
    };
    pieces.push(Piece { range, body, line });
}

/// Whether a line is a `---` or `...` marker: the three characters, then nothing, a space, a
/// tab or a carriage return.
fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    line.starts_with(marker) && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r'))
}

/// Whether a marker line holds nothing after its marker but spaces and maybe a comment.
fn is_bare(line: &[u8]) -> bool {
    let rest = &line[3..];
    let trimmed = trim_start(rest);
    trimmed.is_empty() || trimmed == b"\r" || (trimmed[0] == b'#' && rest.len() > trimmed.len())
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    &bytes[n..]
}

/// Where the identity reader is in a document.
enum Place {
    /// At the top level, after a key whose value it skips.
    Top,
    /// Right after a top-level scalar: nothing may be nested under it.
    AfterScalar,
    /// In the `metadata:` block, whose keys are at this indentation once known.
    Metadata(Option<usize>),
    /// In the metadata block, right after a scalar at this indentation.
    MetadataScalar(usize),
}

/// The identity of a document from its text, or `None` when the text is not of the simple
/// shape this reader vouches for (see the module documentation).
pub fn identity(body: &str) -> Option<ObjectKey> {
    let bytes = body.as_bytes();
    let (mut api_version, mut kind, mut name, mut namespace) = (None, None, None, None);
    let (mut seen_key, mut seen_metadata) = (false, false);
    let mut place = Place::Top;
    let mut at = 0;
    while at < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let raw = &body[at..end];
        at = end + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let Some(&first) = line.as_bytes().first() else {
            continue;
        };
        if first == b' ' {
            if let Place::Top = place {
                continue; // the value of a key this reader does not need
            }
            let text = line.trim_start_matches(' ');
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let indent = line.len() - text.len();
            match place {
                Place::Top => {}
                Place::AfterScalar => return None, // a scalar going on over more lines
                Place::MetadataScalar(at_indent) if indent > at_indent => return None,
                Place::Metadata(Some(keys)) if indent > keys => {}
                Place::Metadata(_) | Place::MetadataScalar(_) => {
                    let keys = match place {
                        Place::Metadata(Some(keys)) | Place::MetadataScalar(keys) => keys,
                        _ => indent,
                    };
                    if indent != keys || text.starts_with('\t') {
                        return None;
                    }
                    place = Place::Metadata(Some(keys));
                    if text == "-" || text.starts_with("- ") {
                        continue; // an indentless sequence under the previous key
                    }
                    let (key, rest) = plain_key(text)?;
                    let slot = match key {
                        "name" => &mut name,
                        "namespace" => &mut namespace,
                        _ => continue,
                    };
                    if slot.is_some() {
                        return None;
                    }
                    *slot = Some(scalar(rest)?);
                    place = Place::MetadataScalar(keys);
                }
            }
            continue;
        }
        match first {
            b'#' => continue,
            // The document's own `---`, after comments that came before it.
            b'-' if !seen_key && is_marker(line.as_bytes(), b"---") && is_bare(line.as_bytes()) => {
                continue;
            }
            b'-' if line == "-" || line.starts_with("- ") => {
                // Only an indentless sequence under a top-level key this reader skips: not a
                // sequence at the root, nor `metadata` or a scalar's continuation.
                if !seen_key || !matches!(place, Place::Top) {
                    return None;
                }
                continue;
            }
            _ => {}
        }
        let (key, rest) = plain_key(line)?;
        seen_key = true;
        place = Place::Top;
        match key {
            "apiVersion" | "kind" => {
                let slot = if key == "kind" {
                    &mut kind
                } else {
                    &mut api_version
                };
                if slot.is_some() {
                    return None;
                }
                *slot = Some(scalar(rest)?);
                place = Place::AfterScalar;
            }
            "metadata" => {
                if seen_metadata || !is_blank_or_comment(rest) {
                    return None; // a duplicate, or flow style, an anchor or an alias
                }
                seen_metadata = true;
                place = Place::Metadata(None);
            }
            _ => {}
        }
    }
    let (api_version, kind, name) = (api_version?, kind?, name?);
    // A List is split into its items by the parser.
    if kind.ends_with("List") || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(ObjectKey::new(api_version, kind, namespace, name))
}

/// A `key:` at the start of a line, when the key is a plain word: letters, digits, `_`, `-`,
/// `.` and `/`, starting with a letter. Returns the key and the rest of the line after the
/// colon. Anything else (a quoted or complex key, a merge key, flow style) is `None`.
pub(crate) fn plain_key(text: &str) -> Option<(&str, &str)> {
    let colon = text.find(':')?;
    let (key, rest) = (&text[..colon], &text[colon + 1..]);
    let word = key.chars().next()?.is_ascii_alphabetic()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    (word && (rest.is_empty() || rest.starts_with(' '))).then_some((key, rest))
}

/// Whether the rest of a line is spaces and maybe a comment after a space.
fn is_blank_or_comment(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && rest.len() > trimmed.len())
}

/// A one-line string value after `key:`: plain (starting with a letter, made of letters,
/// digits, `_`, `-`, `.` and `/`, and not a YAML null or boolean), single-quoted without
/// quotes inside, or double-quoted without quotes or escapes inside; then maybe a comment.
pub(crate) fn scalar(rest: &str) -> Option<&str> {
    let text = rest.trim_start_matches(' ');
    if text.len() == rest.len() {
        return None; // `key:value` is not a key
    }
    let (value, after) = match text.as_bytes().first()? {
        quote @ (b'\'' | b'"') => {
            let close = text[1..].find(*quote as char)? + 1;
            let value = &text[1..close];
            if value.contains(['\\', '\'', '"']) {
                return None;
            }
            (value, &text[close + 1..])
        }
        _ => {
            let end = text.find(' ').unwrap_or(text.len());
            let value = &text[..end];
            let plain = value.chars().next()?.is_ascii_alphabetic()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
                && !matches!(
                    value,
                    "null"
                        | "Null"
                        | "NULL"
                        | "true"
                        | "True"
                        | "TRUE"
                        | "false"
                        | "False"
                        | "FALSE"
                );
            if !plain {
                return None;
            }
            (value, &text[end..])
        }
    };
    is_blank_or_comment(after).then_some(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<(&str, &str, u64)> {
        split(text)
            .into_iter()
            .map(|p| (&text[p.range.clone()], &text[p.body..p.range.end], p.line))
            .collect()
    }

    #[test]
    fn a_stream_is_cut_at_its_markers_and_empty_documents_are_left_out() {
        let text =
            "# head\n---\nkind: A\n---\n# only a comment\n---\nkind: B\n...\n---  # c\nkind: C\n";
        assert_eq!(
            pieces(text),
            [
                ("# head\n---\nkind: A\n", "# head\n---\nkind: A\n", 1),
                ("---\nkind: B\n...\n", "kind: B\n...\n", 6),
                ("---  # c\nkind: C\n", "kind: C\n", 9),
            ]
        );
    }

    #[test]
    fn a_first_document_without_a_marker_and_content_on_the_marker_line() {
        let text = "kind: A\n--- {kind: B}\n---\r\nkind: C";
        assert_eq!(
            pieces(text),
            [
                ("kind: A\n", "kind: A\n", 1),
                ("--- {kind: B}\n", "--- {kind: B}\n", 2),
                ("---\r\nkind: C", "kind: C", 3),
            ]
        );
        assert_eq!(pieces("---\n---\n"), []);
        assert_eq!(pieces(""), []);
        // `----` and `---x` are not markers.
        assert_eq!(pieces("a: 1\n----\n---x\n").len(), 1);
    }

    #[test]
    fn directives_stay_with_the_document_they_precede() {
        let text = "kind: A\n...\n%YAML 1.2\n---\nkind: B\n";
        assert_eq!(
            pieces(text),
            [
                ("kind: A\n...\n", "kind: A\n...\n", 1),
                ("%YAML 1.2\n---\nkind: B\n", "%YAML 1.2\n---\nkind: B\n", 3),
            ]
        );
    }

    fn key(text: &str) -> Option<String> {
        identity(text).map(|k| format!("{}|{}", k.api_version(), k.display_ref()))
    }

    #[test]
    fn the_identity_of_a_rendered_object_is_read_from_its_lines() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    a: b\n  labels:\n    name: not-this\n  name: embed-worker\n  namespace: 'hev-shop'  # c\nspec:\n  replicas: 1\n  name: nor-this\n";
        assert_eq!(
            key(text).as_deref(),
            Some("apps/v1|Deployment/hev-shop/embed-worker")
        );
        assert_eq!(
            key("# Source: chart/x.yaml\n---\nkind: Namespace\napiVersion: v1\nmetadata:\n    name: \"shop\"\n").as_deref(),
            Some("v1|Namespace/shop")
        );
        assert_eq!(
            key("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  finalizers:\n  - name: x\n  name: c\n")
                .as_deref(),
            Some("v1|ConfigMap/c")
        );
        assert_eq!(
            key("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\nrules:\n- apiGroups:\n  - ''\n  name: x\n")
                .as_deref(),
            Some("rbac.authorization.k8s.io/v1|ClusterRole/r")
        );
    }

    #[test]
    fn anything_unusual_is_left_to_the_parser() {
        for text in [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 123\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: true\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  name: d\n",
            "apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata:\n  name: c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n    d\n",
            "apiVersion: v1\nkind: Config\n  Map\nmetadata:\n  name: c\n",
            "apiVersion: v1\nkind: !!str ConfigMap\nmetadata:\n  name: c\n",
            "apiVersion: v1\nkind: &k ConfigMap\nmetadata:\n  name: c\n",
            "apiVersion: v1\nkind: ConfigMapList\nmetadata:\n  name: c\nitems: []\n",
            "apiVersion: v1\nkind: ConfigMap\n<<: {metadata: {name: x}}\nmetadata:\n  name: c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'c''d'\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"c\\td\"\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  \"name\": c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  \tname: c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n name: c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n- name: c\n",
            "apiVersion: v1\nkind: ConfigMap\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:c\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'c'#d\n",
            "- a\n- b\n",
            "\tkind: A\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c#d\n",
        ] {
            assert_eq!(key(text), None, "{text}");
        }
    }
}
