//! Content hashes over canonical JSON: sorted keys, no whitespace, never `Debug` or YAML text.
//!
//! The syncer recomputes the spec hash from the live object, so it must not depend on
//! anything but the JSON value: not on key order, not on formatting, not on the machine.

use serde_json::Value;
use std::cell::RefCell;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Hex characters kept from the SHA-256 digest: 64 bits, ample to tell renders apart.
const HASH_HEX_LEN: usize = 16;

/// Writes `value` as canonical JSON: object keys sorted, no insignificant whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_canonical(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

// serde_json's Map is a BTreeMap (no `preserve_order`; the YAML writer's tests guard it), so
// iteration is already in key order and compact serialization is canonical.
fn write_canonical(out: &mut impl std::io::Write, value: &Value) -> std::io::Result<()> {
    serde_json::to_writer(out, value).map_err(std::io::Error::other)
}

thread_local! {
    // Hashing runs for every object on every core: one buffer per thread, reused, keeps the
    // allocator out of it.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The short hash of a JSON value's canonical form.
pub fn content_hash(value: &Value) -> String {
    // One buffer, one digest call: far cheaper than feeding the hasher token by token.
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        let _ = write_canonical(buffer, value);
        short_digest(buffer)
    })
}

/// [`content_hash`] of a JSON string, without copying the text into a value first.
pub fn string_hash(text: &str) -> String {
    let mut buffer = Vec::with_capacity(text.len() + text.len() / 8 + 2);
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut buffer, text);
    short_digest(&buffer)
}

fn short_digest(canonical: &[u8]) -> String {
    let digest = Sha256::digest(canonical);
    let mut hex = String::with_capacity(HASH_HEX_LEN);
    for byte in digest.iter().take(HASH_HEX_LEN / 2) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap_or_default();
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": null, "y": [1, 2]}, "b": 1}"#).unwrap_or_default();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
    }

    #[test]
    fn any_change_changes_the_hash() {
        assert_ne!(
            content_hash(&json!({"a": [1, 2]})),
            content_hash(&json!({"a": [2, 1]}))
        );
        assert_ne!(
            content_hash(&json!({"a": "1"})),
            content_hash(&json!({"a": 1}))
        );
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        // A changed value here breaks every committed render: the syncer compares them.
        assert_eq!(
            content_hash(&json!({"spec": {"x": 1}})),
            content_hash(&json!({"spec": {"x": 1}}))
        );
        assert_eq!(content_hash(&json!({})), "44136fa355b3678a");
    }

    #[test]
    fn a_string_hashes_as_its_json_value() {
        for text in ["", "a: 1\n", "quote \" and \\ and \u{1}"] {
            assert_eq!(string_hash(text), content_hash(&json!(text)));
        }
    }
}
