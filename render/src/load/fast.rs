//! The fast path: a hand-written reader for the block YAML that manifests are written in.
//!
//! It reads block mappings and sequences (indentless ones too), single-line plain, single- and
//! double-quoted scalars, single-line flow collections, comments and `---` separators, and
//! builds the tree serde-saphyr builds (`full.rs`), positions included. It gives up on
//! everything else: anchors, aliases, tags, block scalars, multi-line scalars and flow
//! collections, tabs, `\r`, directives, duplicate or non-string keys, and input near a budget
//! of [`Limits`]. The caller then parses the whole file with serde-saphyr, which also writes
//! every diagnostic, so this reader never has to be right about an error, only about what it
//! accepts. The differential tests (`differential.rs`) hold it to that on every fixture and on
//! random YAML.
//!
//! Positions follow serde-saphyr's, some of which are not where a reader would look (found by
//! those tests): a block mapping is at its first key, a block sequence at its first `-`, but
//! an indentless one (`key:` then `- x` at the key's indentation) at the first thing after
//! that `-`, or at the end of its line when nothing follows; an empty entry `-` is at the end
//! of its line, and an empty value `key:` at its colon.

use super::Limits;
use super::full;
use super::node::{Key, MAX_SCALAR_BYTES, Node, NodeValue, Pos};

/// The fast path does not read this input; the caller parses it with serde-saphyr.
#[derive(Debug)]
struct Unsupported;

type Result<T> = std::result::Result<T, Unsupported>;

/// Larger files go to serde-saphyr, which counts their scalar and comment bytes against its
/// budgets of 64 MiB each.
const MAX_TEXT_BYTES: usize = 32 * 1024 * 1024;

/// YAML's implicit keys end within 1024 characters; stay clear of that limit.
const MAX_KEY_BYTES: usize = 1000;

/// The parser buffers the comments between `key:` (or `-`) and its value, and fails past 32
/// of them ("too many buffered comments"); stay clear of that limit.
const MAX_PENDING_COMMENTS: usize = 8;

/// Above this many entries, duplicate keys are found by hash instead of by a scan.
const MAX_SCANNED_KEYS: usize = 16;

/// The roots of every document in `text`, or `None` when the fast path does not read it.
pub(super) fn parse(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    if text.len() > MAX_TEXT_BYTES {
        return None;
    }
    let ascii = check_chars(text)?;
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        ascii,
        limits,
        start: 0,
        end: line_end(text.as_bytes(), 0),
        line: 1,
        eof: false,
        pending_comments: 0,
        depth: 0,
        events: 0,
        counted: (0, 0),
    };
    reader.stream().ok()
}

/// Whether every character is one the fast path reads, and whether all are ASCII. Tabs and
/// `\r` change indentation and line breaks; control characters, the BOM, NEL and the
/// Unicode line separators are either errors or breaks to the parser.
fn check_chars(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    if bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f) {
        return None;
    }
    if text.is_ascii() {
        return Some(true);
    }
    let readable = text.chars().all(|c| {
        matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
            && !matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}')
    });
    readable.then_some(false)
}

/// The offset of the `\n` ending the line that starts at `start`, or the text's length.
fn line_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| start + i)
}

/// What the next line that is neither blank nor a comment holds.
enum Line {
    /// Content indented by this many spaces.
    Content(usize),
    /// A `---` separator.
    DocumentStart,
    /// The end of the text.
    End,
}

/// What an item on a line is: a mapping key, or a whole value.
enum Item {
    /// A key, and the offset of its `:`.
    Key(Key, usize),
    /// A value, and the offset just after it.
    Value(Node, usize),
}

/// Where a plain scalar stopped.
enum Stop {
    /// At a `:` followed by a space or the end of the line: the scalar is a key.
    Colon(usize),
    /// At the end of the line, a comment, or (in a flow collection) an indicator.
    Other,
}

/// The reader's state: the current line, and counts against the budgets.
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    ascii: bool,
    limits: &'a Limits,
    /// Offset of the current line's first byte.
    start: usize,
    /// Offset of the current line's `\n`, or the text's length.
    end: usize,
    /// 1-based number of the current line.
    line: u64,
    /// The current line is past the end of the text.
    eof: bool,
    /// Comment lines skipped by the last [`Reader::next_line`].
    pending_comments: usize,
    /// Collections open around the current node.
    depth: usize,
    /// Parser events so far (nodes, keys, comments, documents), an upper bound of what
    /// serde-saphyr counts against its node and event budgets.
    events: usize,
    /// The last offset on the current line whose column was counted, and that column, so a
    /// long line of non-ASCII text is counted once, not once per node.
    counted: (usize, u64),
}

impl Reader<'_> {
    // === lines ===

    /// Moves to the next line.
    fn advance(&mut self) {
        if self.end >= self.bytes.len() {
            self.eof = true;
            return;
        }
        self.start = self.end + 1;
        self.end = line_end(self.bytes, self.start);
        self.line += 1;
        self.counted = (self.start, 0);
    }

    /// Skips blank and comment lines up to the next line with content, and says what it is.
    /// The current line stays there, so asking again gives the same answer.
    fn next_line(&mut self) -> Result<Line> {
        self.pending_comments = 0;
        loop {
            if self.eof {
                return Ok(Line::End);
            }
            let first = self.skip_spaces(self.start);
            if first == self.end {
                self.advance();
                continue;
            }
            if self.bytes[first] == b'#' {
                self.pending_comments += 1;
                self.events += 1;
                self.advance();
                continue;
            }
            if first == self.start {
                if self.is_marker(b"---") {
                    return Ok(Line::DocumentStart);
                }
                if self.is_marker(b"...") || self.bytes[first] == b'%' {
                    return Err(Unsupported);
                }
            }
            return Ok(Line::Content(first - self.start));
        }
    }

    /// Whether the current line starts with `marker` followed by a space or its end.
    fn is_marker(&self, marker: &[u8]) -> bool {
        let after = self.start + marker.len();
        self.bytes[self.start..self.end].starts_with(marker)
            && (after == self.end || self.bytes[after] == b' ')
    }

    /// The first offset at or after `i` on the current line that is not a space.
    fn skip_spaces(&self, mut i: usize) -> usize {
        while i < self.end && self.bytes[i] == b' ' {
            i += 1;
        }
        i
    }

    /// Whether a block sequence entry (`-` then a space or the line's end) starts at `i`.
    fn is_entry(&self, i: usize) -> bool {
        self.bytes[i] == b'-' && (i + 1 == self.end || self.bytes[i + 1] == b' ')
    }

    /// Checks that the rest of the current line from `i` is spaces and maybe a comment, and
    /// moves to the next line.
    fn end_line(&mut self, i: usize) -> Result<()> {
        let j = self.skip_spaces(i);
        if j < self.end {
            // A comment needs a space before its `#`.
            if self.bytes[j] != b'#' || j == i {
                return Err(Unsupported);
            }
            self.events += 1;
        }
        self.advance();
        Ok(())
    }

    /// The position of offset `i` on the current line; columns count characters.
    fn pos(&mut self, i: usize) -> Pos {
        let column = if self.ascii {
            (i - self.start) as u64
        } else {
            let (mut from, mut column) = self.counted;
            if i < from {
                (from, column) = (self.start, 0);
            }
            column += self.text[from..i].chars().count() as u64;
            self.counted = (i, column);
            column
        };
        Pos {
            line: self.line,
            column: column + 1,
        }
    }

    /// A new node, counted against the budgets.
    fn node(&mut self, pos: Pos, value: NodeValue) -> Node {
        self.events += 1;
        Node::new(pos, value)
    }

    /// Opens a collection, refusing to come near the depth budget.
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth * 2 >= self.limits.max_depth {
            return Err(Unsupported);
        }
        Ok(())
    }

    // === documents and block collections ===

    /// Every document of the text.
    fn stream(&mut self) -> Result<Vec<Node>> {
        let mut roots = Vec::new();
        let mut documents = 0usize;
        loop {
            match self.next_line()? {
                Line::End => break,
                Line::DocumentStart => {
                    documents += 1;
                    let after = self.start + 3;
                    self.end_line(after)?;
                }
                Line::Content(indent) => {
                    documents += 1;
                    roots.push(self.block_node(indent)?);
                    if let Line::Content(_) = self.next_line()? {
                        return Err(Unsupported); // less indented than the root
                    }
                }
            }
        }
        // Stay well inside serde-saphyr's budgets: it counts a little differently.
        let events = self.events + 4 * documents + 8;
        if events.saturating_mul(2) > self.limits.max_nodes
            || (documents + 2).saturating_mul(2) > self.limits.max_documents
        {
            return Err(Unsupported);
        }
        Ok(roots)
    }

    /// The block collection whose first line is the current one, indented by `indent`.
    fn block_node(&mut self, indent: usize) -> Result<Node> {
        let first = self.start + indent;
        if self.is_entry(first) {
            return self.block_seq(indent, false);
        }
        match self.item(first)? {
            Item::Key(key, colon) => self.block_map(indent, key, colon),
            // A scalar on a line of its own may go on over the next lines.
            Item::Value(..) => Err(Unsupported),
        }
    }

    /// A block mapping indented by `indent`, whose first key is already read.
    fn block_map(&mut self, indent: usize, mut key: Key, mut colon: usize) -> Result<Node> {
        self.enter()?;
        let pos = key.pos;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if key.name == "<<" || is_duplicate(&entries, &mut seen, &key.name) {
                return Err(Unsupported);
            }
            let value = self.block_value(indent, colon)?;
            entries.push((key, value));
            match self.next_line()? {
                Line::Content(k) if k == indent => match self.item(self.start + k)? {
                    Item::Key(next, next_colon) => (key, colon) = (next, next_colon),
                    Item::Value(..) => return Err(Unsupported),
                },
                Line::Content(k) if k > indent => return Err(Unsupported),
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(self.node(pos, NodeValue::Map(entries)))
    }

    /// The value after the `:` at `colon` of a key in a mapping indented by `indent`.
    fn block_value(&mut self, indent: usize, colon: usize) -> Result<Node> {
        let i = self.skip_spaces(colon + 1);
        if i < self.end && self.bytes[i] != b'#' {
            return self.inline_value(i);
        }
        let trailing = usize::from(i < self.end);
        self.events += trailing;
        let null = self.pos(colon);
        self.advance();
        let line = self.next_line()?;
        if self.pending_comments + trailing >= MAX_PENDING_COMMENTS {
            return Err(Unsupported);
        }
        match line {
            Line::Content(k) if k > indent => self.block_node(k),
            Line::Content(k) if k == indent && self.is_entry(self.start + k) => {
                self.block_seq(k, true)
            }
            _ => Ok(self.node(null, NodeValue::Null)),
        }
    }

    /// A block sequence whose first `-` is on the current line, indented by `indent`.
    /// An indentless sequence is a mapping value at the mapping's own indentation; it ends at
    /// the first line there that is not an entry.
    fn block_seq(&mut self, indent: usize, indentless: bool) -> Result<Node> {
        self.enter()?;
        let dash = self.start + indent;
        let pos = if indentless {
            let first = self.skip_spaces(dash + 1);
            if first == self.end || self.bytes[first] == b'#' {
                self.pos(self.end)
            } else {
                self.pos(first)
            }
        } else {
            self.pos(dash)
        };
        let mut items = Vec::new();
        loop {
            items.push(self.seq_entry(indent)?);
            match self.next_line()? {
                Line::Content(k) if k == indent && self.is_entry(self.start + k) => {}
                Line::Content(k) if k == indent && indentless => break,
                Line::Content(k) if k >= indent => return Err(Unsupported),
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(self.node(pos, NodeValue::Seq(items)))
    }

    /// The entry after the `-` indented by `indent` on the current line.
    fn seq_entry(&mut self, indent: usize) -> Result<Node> {
        let i = self.skip_spaces(self.start + indent + 1);
        if i == self.end || self.bytes[i] == b'#' {
            let trailing = usize::from(i < self.end);
            self.events += trailing;
            let null = self.pos(self.end);
            self.advance();
            let line = self.next_line()?;
            if self.pending_comments + trailing >= MAX_PENDING_COMMENTS {
                return Err(Unsupported);
            }
            return match line {
                Line::Content(k) if k > indent => self.block_node(k),
                _ => Ok(self.node(null, NodeValue::Null)),
            };
        }
        // Only spaces and `-` come before `i`, so its byte offset is its column.
        let column = i - self.start;
        if self.is_entry(i) {
            return self.block_seq(column, false);
        }
        match self.item(i)? {
            Item::Key(key, colon) => self.block_map(column, key, colon),
            Item::Value(node, after) => {
                self.end_line(after)?;
                Ok(node)
            }
        }
    }

    /// A value that starts at `i` and ends on the current line.
    fn inline_value(&mut self, i: usize) -> Result<Node> {
        match self.item(i)? {
            Item::Value(node, after) => {
                self.end_line(after)?;
                Ok(node)
            }
            // `a: b: c`
            Item::Key(..) => Err(Unsupported),
        }
    }

    /// The key or value that starts at `i` in block context.
    fn item(&mut self, i: usize) -> Result<Item> {
        let pos = self.pos(i);
        match self.bytes[i] {
            b'[' | b'{' => {
                let (node, after) = self.flow_node(i)?;
                Ok(Item::Value(node, after))
            }
            b'"' | b'\'' => {
                let (text, after) = self.quoted(i)?;
                let j = self.skip_spaces(after);
                if self.is_colon(j, false) {
                    Ok(Item::Key(self.key(pos, i, j, text)?, j))
                } else {
                    let node = self.node(pos, NodeValue::String(text));
                    Ok(Item::Value(node, after))
                }
            }
            _ => {
                let (end, stop) = self.plain(i, false)?;
                let text = &self.text[i..end];
                match stop {
                    Stop::Colon(colon) => match resolve_plain(text)? {
                        NodeValue::String(name) => {
                            Ok(Item::Key(self.key(pos, i, colon, name)?, colon))
                        }
                        _ => Err(Unsupported),
                    },
                    Stop::Other => {
                        let value = resolve_plain(text)?;
                        let node = self.node(pos, value);
                        Ok(Item::Value(node, end))
                    }
                }
            }
        }
    }

    /// A key that starts at `start` and whose `:` is at `colon`.
    fn key(&mut self, pos: Pos, start: usize, colon: usize, name: String) -> Result<Key> {
        if colon - start > MAX_KEY_BYTES {
            return Err(Unsupported);
        }
        self.events += 1;
        Ok(Key { pos, name })
    }

    /// Whether a `:` that makes a key (followed by a space, the line's end, or in a flow
    /// collection an indicator) is at `i`.
    fn is_colon(&self, i: usize, flow: bool) -> bool {
        i < self.end
            && self.bytes[i] == b':'
            && (i + 1 == self.end
                || self.bytes[i + 1] == b' '
                || (flow && is_flow_indicator(self.bytes[i + 1])))
    }

    // === scalars ===

    /// The plain scalar that starts at `i`: the offset where its text ends, and where it
    /// stopped. It must end on this line.
    fn plain(&self, i: usize, flow: bool) -> Result<(usize, Stop)> {
        self.check_plain_start(i, flow)?;
        let mut j = i;
        let mut end = i;
        let stop = loop {
            if j == self.end {
                if flow {
                    return Err(Unsupported);
                }
                break Stop::Other;
            }
            match self.bytes[j] {
                b' ' => {
                    let k = self.skip_spaces(j);
                    if k == self.end || self.bytes[k] == b'#' {
                        if flow {
                            return Err(Unsupported);
                        }
                        break Stop::Other;
                    }
                    j = k;
                }
                b':' if self.is_colon(j, flow) => break Stop::Colon(j),
                b if flow && is_flow_indicator(b) => break Stop::Other,
                _ => {
                    j += 1;
                    end = j;
                }
            }
        };
        if end - i > MAX_SCALAR_BYTES {
            return Err(Unsupported);
        }
        Ok((end, stop))
    }

    /// Refuses what cannot start a plain scalar, or starts one the fast path leaves alone.
    fn check_plain_start(&self, i: usize, flow: bool) -> Result<()> {
        let rest = &self.bytes[i..self.end];
        match rest[0] {
            b'-' => {
                let next = rest.get(1).copied().unwrap_or(b' ');
                if next == b' ' || (flow && is_flow_indicator(next)) || rest.starts_with(b"---") {
                    return Err(Unsupported);
                }
            }
            b'.' if rest.starts_with(b"...") => return Err(Unsupported),
            b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
            | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return Err(Unsupported),
            _ => {}
        }
        Ok(())
    }

    /// The text of the quoted scalar that starts at `i`, and the offset after its closing
    /// quote. It must end on this line.
    fn quoted(&self, i: usize) -> Result<(String, usize)> {
        let (text, after) = if self.bytes[i] == b'\'' {
            self.single_quoted(i)?
        } else {
            self.double_quoted(i)?
        };
        if text.len() > MAX_SCALAR_BYTES {
            return Err(Unsupported);
        }
        Ok((text, after))
    }

    fn single_quoted(&self, i: usize) -> Result<(String, usize)> {
        let mut out = String::new();
        let mut from = i + 1;
        let mut j = from;
        loop {
            if j == self.end {
                return Err(Unsupported);
            }
            if self.bytes[j] == b'\'' {
                if j + 1 < self.end && self.bytes[j + 1] == b'\'' {
                    // `''` is one quote: keep the first.
                    out.push_str(&self.text[from..=j]);
                    j += 2;
                    from = j;
                    continue;
                }
                out.push_str(&self.text[from..j]);
                return Ok((out, j + 1));
            }
            j += 1;
        }
    }

    fn double_quoted(&self, i: usize) -> Result<(String, usize)> {
        let mut out = String::new();
        let mut from = i + 1;
        let mut j = from;
        loop {
            if j == self.end {
                return Err(Unsupported);
            }
            match self.bytes[j] {
                b'"' => {
                    out.push_str(&self.text[from..j]);
                    return Ok((out, j + 1));
                }
                b'\\' => {
                    out.push_str(&self.text[from..j]);
                    let (c, len) = self.escape(j)?;
                    out.push(c);
                    j += len;
                    from = j;
                }
                _ => j += 1,
            }
        }
    }

    /// The character of the escape sequence at `i` (a `\`), and the sequence's length.
    fn escape(&self, i: usize) -> Result<(char, usize)> {
        let Some(&code) = self.bytes[i..self.end].get(1) else {
            return Err(Unsupported); // an escaped line break
        };
        let c = match code {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' | b'u' | b'U' => {
                let digits = match code {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = self.text.get(i + 2..i + 2 + digits).ok_or(Unsupported)?;
                if i + 2 + digits > self.end || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Unsupported);
                }
                let value = u32::from_str_radix(hex, 16).map_err(|_| Unsupported)?;
                // Surrogates pair up across two escapes; leave them to the parser.
                let c = char::from_u32(value).ok_or(Unsupported)?;
                return Ok((c, 2 + digits));
            }
            _ => return Err(Unsupported),
        };
        Ok((c, 2))
    }

    // === flow collections ===

    /// The flow collection or scalar that starts at `i` inside (or as) a flow collection, and
    /// the offset after it. It must end on this line.
    fn flow_node(&mut self, i: usize) -> Result<(Node, usize)> {
        let pos = self.pos(i);
        match self.bytes[i] {
            b'[' => self.flow_seq(i),
            b'{' => self.flow_map(i),
            b'"' | b'\'' => {
                let (text, after) = self.quoted(i)?;
                Ok((self.node(pos, NodeValue::String(text)), after))
            }
            _ => {
                let (end, stop) = self.plain(i, true)?;
                if let Stop::Colon(_) = stop {
                    return Err(Unsupported); // `[a: b]`
                }
                let value = resolve_plain(&self.text[i..end])?;
                Ok((self.node(pos, value), end))
            }
        }
    }

    /// After an entry of a flow collection: the offset of the next entry, or the offset past
    /// the closing `close` and `true`.
    fn flow_next(&self, i: usize, close: u8) -> Result<(usize, bool)> {
        let j = self.skip_spaces(i);
        if j == self.end {
            return Err(Unsupported);
        }
        if self.bytes[j] == close {
            return Ok((j + 1, true));
        }
        if self.bytes[j] != b',' {
            return Err(Unsupported);
        }
        let k = self.skip_spaces(j + 1);
        // A trailing comma, or a line break inside the collection.
        if k == self.end || self.bytes[k] == close {
            return Err(Unsupported);
        }
        Ok((k, false))
    }

    /// Reads the flow collection that opens at `i` and closes with `close`: `entry` reads each
    /// entry from its offset and returns the offset after it. Returns the offset past `close`.
    fn flow_entries(
        &mut self,
        i: usize,
        close: u8,
        mut entry: impl FnMut(&mut Self, usize) -> Result<usize>,
    ) -> Result<usize> {
        self.enter()?;
        let mut j = self.skip_spaces(i + 1);
        if j == self.end {
            return Err(Unsupported);
        }
        let after = if self.bytes[j] == close {
            j + 1
        } else {
            loop {
                let after = entry(self, j)?;
                let (next, closed) = self.flow_next(after, close)?;
                if closed {
                    break next;
                }
                j = next;
            }
        };
        self.depth -= 1;
        Ok(after)
    }

    fn flow_seq(&mut self, i: usize) -> Result<(Node, usize)> {
        let pos = self.pos(i);
        let mut items = Vec::new();
        let after = self.flow_entries(i, b']', |reader, j| {
            let (item, after) = reader.flow_node(j)?;
            items.push(item);
            Ok(after)
        })?;
        Ok((self.node(pos, NodeValue::Seq(items)), after))
    }

    fn flow_map(&mut self, i: usize) -> Result<(Node, usize)> {
        let pos = self.pos(i);
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let after = self.flow_entries(i, b'}', |reader, j| {
            let key_pos = reader.pos(j);
            let (name, colon) = if matches!(reader.bytes[j], b'"' | b'\'') {
                let (name, after) = reader.quoted(j)?;
                (name, reader.skip_spaces(after))
            } else {
                let (end, stop) = reader.plain(j, true)?;
                let Stop::Colon(colon) = stop else {
                    return Err(Unsupported); // a key without a value
                };
                match resolve_plain(&reader.text[j..end])? {
                    NodeValue::String(name) => (name, colon),
                    _ => return Err(Unsupported),
                }
            };
            // Only `key: value`; `"key":value` and `key:,` are left to the parser.
            if colon + 1 >= reader.end
                || reader.bytes[colon] != b':'
                || reader.bytes[colon + 1] != b' '
            {
                return Err(Unsupported);
            }
            let key = reader.key(key_pos, j, colon, name)?;
            if key.name == "<<" || is_duplicate(&entries, &mut seen, &key.name) {
                return Err(Unsupported);
            }
            let v = reader.skip_spaces(colon + 1);
            if v == reader.end || matches!(reader.bytes[v], b',' | b'}') {
                return Err(Unsupported);
            }
            let (value, after) = reader.flow_node(v)?;
            entries.push((key, value));
            Ok(after)
        })?;
        Ok((self.node(pos, NodeValue::Map(entries)), after))
    }
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// Whether `name` is already a key of `entries`. Small mappings are scanned; large ones keep
/// the hashes of their keys in `seen`, where a collision only sends the file to the parser.
fn is_duplicate(
    entries: &[(Key, Node)],
    seen: &mut std::collections::HashSet<u64>,
    name: &str,
) -> bool {
    use std::hash::BuildHasher;
    if entries.len() < MAX_SCANNED_KEYS {
        return entries.iter().any(|(k, _)| k.name == name);
    }
    let hasher =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    if seen.is_empty() {
        seen.extend(entries.iter().map(|(k, _)| hasher.hash_one(&k.name)));
    }
    !seen.insert(hasher.hash_one(name))
}

/// The value of a single-line plain scalar by the YAML 1.2 core schema, as serde-saphyr
/// resolves it with `strict_booleans`. Anything that may be a number other than a plain
/// decimal integer is resolved by serde-saphyr itself, which is exact by construction and
/// rare in manifests.
fn resolve_plain(text: &str) -> Result<NodeValue> {
    match text {
        "~" | "null" | "Null" | "NULL" => return Ok(NodeValue::Null),
        "true" | "True" | "TRUE" => return Ok(NodeValue::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(NodeValue::Bool(false)),
        _ => {}
    }
    let bytes = text.as_bytes();
    if matches!(bytes.first(), Some(b'0'..=b'9' | b'+' | b'-' | b'.')) {
        if let Some(int) = small_int(bytes) {
            return Ok(NodeValue::Int(int));
        }
        // Numbers are made of these; any other character makes a string. Of the letters,
        // numbers use only hex digits, the `o` and `x` of `0o` and `0x`, `e`, and the letters
        // of `.inf` and `.nan`: a quantity such as `250m` or `4Gi` is a string for sure, and
        // need not go to the parser (which would cost more than the rest of the document).
        let numeric = bytes.iter().all(|b| {
            matches!(b, b'0'..=b'9' | b'_' | b'+' | b'-' | b'.')
                || b"abcdefABCDEFoOxXiInNtTyY".contains(b)
        });
        if numeric && !is_word_after_digit(bytes) {
            return full::resolve_plain(text).ok_or(Unsupported);
        }
    }
    Ok(NodeValue::String(text.to_string()))
}

/// Whether a scalar that starts with a digit (after a sign) is a word and not a number: it
/// has no radix prefix (`0x`, `0o`, `0b`), and a letter other than an exponent's `e`. A
/// decimal number has no other letter, so a render hash such as `8bbeceead1a41f9b` is a
/// string without asking the parser.
fn is_word_after_digit(bytes: &[u8]) -> bool {
    let digits = bytes
        .strip_prefix(b"+")
        .or(bytes.strip_prefix(b"-"))
        .unwrap_or(bytes);
    match digits {
        [b'0', b'x' | b'X' | b'o' | b'O' | b'b' | b'B', ..] => false,
        [b'0'..=b'9', ..] => digits
            .iter()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')),
        _ => false,
    }
}

/// `0`, or up to 18 decimal digits without a leading zero, maybe after a `-`: an `i64`.
fn small_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let well_formed = !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    if !well_formed {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}
