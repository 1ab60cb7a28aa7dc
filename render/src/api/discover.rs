//! Offline namespace discovery: Index CRs for a list of upstream namespaces.
//!
//! Upstream's operator creates one Index CR per Turbopuffer namespace in-cluster. We print
//! them instead, for review and commit (DESIGN.md section 7), named by upstream's rule
//! (upstream spec section 1.6) and annotated `hevlayer.com/discovered: "true"`.

/// The annotation upstream puts on discovered Index CRs.
pub const DISCOVERED_ANNOTATION: &str = "hevlayer.com/discovered";

/// The Index CR name for an upstream namespace, or `None` when nothing is left after
/// normalizing (upstream then creates no CR).
///
/// Trim, lowercase, map every character outside `[a-z0-9-]` to `-`, trim `-`. If that equals
/// the input and fits in 63 characters it is the name; otherwise the first 54 characters
/// (re-trimmed, `namespace` when empty) plus `-` and the FNV-1a 32-bit hash of the input.
pub fn index_name_for_namespace(namespace: &str) -> Option<String> {
    let normalized: String = namespace
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let normalized = normalized.trim_matches('-');
    if normalized.is_empty() {
        return None;
    }
    if normalized == namespace && normalized.len() <= 63 {
        return Some(normalized.to_string());
    }
    // Every character is ASCII now, so byte slicing is character slicing.
    let prefix = normalized[..normalized.len().min(54)].trim_matches('-');
    let prefix = if prefix.is_empty() {
        "namespace"
    } else {
        prefix
    };
    Some(format!("{prefix}-{:08x}", fnv1a_32(namespace.as_bytes())))
}

/// FNV-1a, 32-bit (offset basis 0x811c9dc5, prime 0x01000193).
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The Index CRs for `namespaces`, in `index_namespace`, with defaults applied, sorted by
/// name. Namespaces that normalize to nothing are skipped, as upstream skips them; two that
/// normalize to one name keep the first.
pub fn discovered_indexes(
    namespaces: &[String],
    index_namespace: &str,
    store_ref: Option<&str>,
) -> Result<Vec<serde_json::Value>, serde_json::Error> {
    let mut by_name = std::collections::BTreeMap::new();
    for namespace in namespaces {
        let Some(name) = index_name_for_namespace(namespace) else {
            continue;
        };
        if by_name.contains_key(&name) {
            continue;
        }
        let mut backend = serde_json::json!({"namespace": namespace});
        if let Some(store) = store_ref {
            backend["storeRef"] = serde_json::Value::String(store.to_string());
        }
        let raw = serde_json::json!({
            "apiVersion": "hevlayer.com/v1",
            "kind": "Index",
            "metadata": {
                "name": name,
                "namespace": index_namespace,
                "annotations": {DISCOVERED_ANNOTATION: "true"},
            },
            "spec": {"backend": backend},
        });
        // Through the typed Index, so the defaults are those of every other emitted Index.
        let index: crate::api::Index = serde_json::from_value(raw)?;
        by_name.insert(name, serde_json::to_value(index)?);
    }
    Ok(by_name.into_values().collect())
}

/// Reads a namespace list: one per line; blank lines and `#` comments are ignored.
pub fn parse_namespace_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_test_vectors_hold() {
        assert_eq!(
            index_name_for_namespace("products-2026").as_deref(),
            Some("products-2026")
        );
        assert_eq!(
            index_name_for_namespace("Shop/Products").as_deref(),
            Some("shop-products-7d9f38a6")
        );
        assert_eq!(index_name_for_namespace("___"), None);
    }

    #[test]
    fn long_names_are_cut_to_54_characters_and_hashed() {
        let long = "a".repeat(70);
        let name = index_name_for_namespace(&long).unwrap_or_default();
        assert_eq!(name.len(), 54 + 1 + 8);
        assert!(name.starts_with(&"a".repeat(54)));
    }

    #[test]
    fn a_name_that_is_only_changed_by_trimming_gets_a_hash() {
        let name = index_name_for_namespace(" docs ").unwrap_or_default();
        assert!(name.starts_with("docs-") && name.len() == 13, "{name}");
    }

    #[test]
    fn the_namespace_list_skips_blanks_and_comments() {
        assert_eq!(parse_namespace_list("a\n\n# note\nb # tail\n"), ["a", "b"]);
    }
}
