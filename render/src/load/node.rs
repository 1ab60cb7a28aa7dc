//! A YAML tree that remembers where every node came from.
//!
//! serde-saphyr parses into it through `Spanned` (`full.rs`), and the fast path builds it
//! directly (`fast.rs`), so each mapping key and value keeps its 1-based line and column.
//! Validation walks this tree, so every diagnostic can point at the exact place in the file.
//! Mappings keep their input order; emit sorts later.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::field_path::{FieldPath, Step};

/// A line and column (both 1-based) in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
}

/// One YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it holds.
    pub value: NodeValue,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A non-negative integer above `i64::MAX`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in input order. Keys are unique (the parser rejects duplicates).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Where the key starts.
    pub pos: Pos,
    /// The key text.
    pub name: String,
}

/// A structural problem found while building the tree; the loader turns it into a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeProblem {
    /// The same key twice in one mapping.
    DuplicateKey { key: String, pos: Pos, first: Pos },
    /// A key that is not a string.
    NonStringKey { pos: Pos },
    /// A scalar longer than [`MAX_SCALAR_BYTES`].
    LongScalar { len: usize },
}

/// The longest scalar render reads. Kubernetes caps all annotations of an object at 256 KiB
/// and a whole object at about 1.5 MiB, so no real field comes near it.
pub const MAX_SCALAR_BYTES: usize = 512 * 1024;

// Problems are carried out of serde through the error message, with a marker so the loader
// can tell them from parser errors and keep the position.
const PROBLEM_MARKER: &str = "layer-tree-problem:";

impl TreeProblem {
    fn encode(&self) -> String {
        match self {
            TreeProblem::DuplicateKey { key, pos, first } => format!(
                "{PROBLEM_MARKER}dup:{}:{}:{}:{}:{}:{key}",
                pos.line,
                pos.column,
                first.line,
                first.column,
                key.len()
            ),
            TreeProblem::NonStringKey { pos } => {
                format!("{PROBLEM_MARKER}nonstring:{}:{}", pos.line, pos.column)
            }
            TreeProblem::LongScalar { len } => format!("{PROBLEM_MARKER}long:{len}"),
        }
    }

    /// Recovers a problem from a parser error message, if the message carries one.
    pub fn decode(message: &str) -> Option<TreeProblem> {
        let rest = &message[message.find(PROBLEM_MARKER)? + PROBLEM_MARKER.len()..];
        let mut parts = rest.splitn(7, ':');
        let num = |p: Option<&str>| -> Option<u64> {
            // The parser may append its own text after ours: read the leading digits only.
            p.and_then(|s| {
                s.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()
            })
        };
        match parts.next()? {
            "dup" => {
                let pos = Pos {
                    line: num(parts.next())?,
                    column: num(parts.next())?,
                };
                let first = Pos {
                    line: num(parts.next())?,
                    column: num(parts.next())?,
                };
                // The parser appends its own location text after ours: the length says where
                // the key ends.
                let len: usize = parts.next()?.parse().ok()?;
                let key = parts.next()?.get(..len)?.to_string();
                Some(TreeProblem::DuplicateKey { key, pos, first })
            }
            "long" => Some(TreeProblem::LongScalar {
                len: num(parts.next())? as usize,
            }),
            "nonstring" => Some(TreeProblem::NonStringKey {
                pos: Pos {
                    line: num(parts.next())?,
                    column: num(parts.next())?,
                },
            }),
            _ => None,
        }
    }
}

impl Node {
    /// A node at `pos`.
    pub fn new(pos: Pos, value: NodeValue) -> Self {
        Node { pos, value }
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key entry for `key` when this node is a mapping.
    pub fn get_key(&self, key: &str) -> Option<&Key> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The string value under `key`, if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match &self.get(key)?.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The position of the deepest node along `path`. Missing steps stop the walk: the
    /// position of the last node found is the best place to point at for a missing field.
    pub fn locate(&self, path: &FieldPath) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for step in path.steps() {
            let next = match (&node.value, step) {
                (NodeValue::Map(entries), step) => {
                    let Some(key) = step.as_key() else {
                        return pos;
                    };
                    entries.iter().find(|(k, _)| k.name == key)
                }
                (NodeValue::Seq(items), Step::Index(i)) => match items.get(*i) {
                    Some(item) => {
                        pos = item.pos;
                        node = item;
                        continue;
                    }
                    None => return pos,
                },
                _ => None,
            };
            match next {
                Some((key, value)) => {
                    pos = key.pos;
                    node = value;
                }
                None => return pos,
            }
        }
        pos
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Int(_) | NodeValue::UInt(_) => "integer",
            NodeValue::Float(_) => "number",
            NodeValue::String(_) => "string",
            NodeValue::Seq(_) => "list",
            NodeValue::Map(_) => "object",
        }
    }

    /// The node as JSON, for typed deserialization. Non-finite floats become null.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::UInt(u) => Value::from(*u),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// [`Node::to_json`], moving the strings instead of copying them: for a tree that is not
    /// needed afterwards, such as each of the documents a diff compares.
    pub fn into_json(self) -> Value {
        match self.value {
            NodeValue::String(s) => Value::String(s),
            NodeValue::Seq(items) => Value::Array(items.into_iter().map(Node::into_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.name, v.into_json()))
                    .collect(),
            ),
            _ => self.to_json(),
        }
    }
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    Pos {
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        let pos = pos_of(&spanned);
        Ok(Node {
            pos,
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn check_scalar_len<E: de::Error>(len: usize) -> Result<(), E> {
    if len > MAX_SCALAR_BYTES {
        return Err(de::Error::custom(TreeProblem::LongScalar { len }.encode()));
    }
    Ok(())
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::UInt(v), NodeValue::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        if let Ok(i) = i64::try_from(v) {
            Ok(NodeValue::Int(i))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(NodeValue::UInt(u))
        } else {
            // Beyond 64 bits no Kubernetes field can hold it; keep it as a number so the
            // schema check reports it as out of range.
            Ok(NodeValue::Float(v as f64))
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Ok(NodeValue::Float(v as f64)),
        }
    }

    fn visit_f64<E>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        check_scalar_len(v.len())?;
        Ok(NodeValue::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        check_scalar_len(v.len())?;
        Ok(NodeValue::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let name = match key.value {
                NodeValue::String(s) => s,
                _ => {
                    return Err(de::Error::custom(
                        TreeProblem::NonStringKey { pos: key.pos }.encode(),
                    ));
                }
            };
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                let problem = TreeProblem::DuplicateKey {
                    key: name,
                    pos: key.pos,
                    first: first.pos,
                };
                return Err(de::Error::custom(problem.encode()));
            }
            let value = map.next_value::<Node>()?;
            entries.push((Key { pos: key.pos, name }, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        serde_saphyr::from_str::<Node>(text).unwrap()
    }

    #[test]
    fn keys_and_values_keep_their_positions() {
        let node = parse("kind: Pipeline\nspec:\n  scaling:\n    pool: gpu\n");
        let spec = node.get("spec").unwrap();
        assert_eq!(
            node.get_key("spec").unwrap().pos,
            Pos { line: 2, column: 1 }
        );
        let pool_key = spec.get("scaling").unwrap().get_key("pool").unwrap();
        assert_eq!(pool_key.pos, Pos { line: 4, column: 5 });
        let path = FieldPath::keys(&["spec", "scaling", "pool"]);
        assert_eq!(node.locate(&path), Pos { line: 4, column: 5 });
    }

    #[test]
    fn locate_stops_at_the_deepest_existing_node() {
        let node = parse("spec:\n  scaling: {}\n");
        let path = FieldPath::keys(&["spec", "scaling", "replicas", "max"]);
        assert_eq!(node.locate(&path), Pos { line: 2, column: 3 });
    }

    #[test]
    fn scalars_resolve_by_the_yaml_core_schema() {
        let node = parse("a: 1\nb: '1'\nc: true\nd: 1.5\ne: null\nf: x\n");
        assert_eq!(node.get("a").unwrap().value, NodeValue::Int(1));
        assert_eq!(node.get("b").unwrap().value, NodeValue::String("1".into()));
        assert_eq!(node.get("c").unwrap().value, NodeValue::Bool(true));
        assert_eq!(node.get("d").unwrap().value, NodeValue::Float(1.5));
        assert_eq!(node.get("e").unwrap().value, NodeValue::Null);
        assert_eq!(node.get("f").unwrap().value, NodeValue::String("x".into()));
    }

    #[test]
    fn a_non_string_key_is_reported() {
        let err = serde_saphyr::from_str::<Node>("a:\n  [1, 2]: x\n").unwrap_err();
        let problem = TreeProblem::decode(&err.to_string());
        assert!(
            matches!(problem, Some(TreeProblem::NonStringKey { .. })),
            "{err}"
        );
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let loaded = crate::load::load_str("in.yaml", "a: yes\nb: on\nc: Y\n", &Default::default());
        let root = &loaded.documents[0].root;
        for key in ["a", "b", "c"] {
            assert!(
                matches!(root.get(key).unwrap().value, NodeValue::String(_)),
                "{key}"
            );
        }
    }

    #[test]
    fn to_json_keeps_every_value() {
        let node = parse("a: [1, x, {b: null, c: 1.5, d: true}]\n");
        let json = serde_json::json!({"a": [1, "x", {"b": null, "c": 1.5, "d": true}]});
        assert_eq!(node.to_json(), json);
        assert_eq!(node.into_json(), json);
    }
}
