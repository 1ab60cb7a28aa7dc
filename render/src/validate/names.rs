//! Kubernetes name rules: DNS-1123 subdomains and labels, label values.
//!
//! The messages follow apimachinery's `validation` package so they read the same as the API
//! server's.

const SUBDOMAIN_MESSAGE: &str = "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_MESSAGE: &str = "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

/// A DNS-1123 subdomain: the rule for most object names.
pub fn check_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be between 1 and 253 characters".into());
    }
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !ok_chars || !alnum_ends(name) {
        return Err(SUBDOMAIN_MESSAGE.into());
    }
    Ok(())
}

/// A DNS-1123 label: the rule for namespaces and Service names.
pub fn check_label(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("must be between 1 and 63 characters".into());
    }
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok_chars || !alnum_ends(name) {
        return Err(LABEL_MESSAGE.into());
    }
    Ok(())
}

/// A label value: at most 63 characters of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if value.is_empty() {
        return Ok(());
    }
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ends = value
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_chars || !ends {
        return Err("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

fn alnum_ends(name: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    name.bytes().next().is_some_and(alnum) && name.bytes().last().is_some_and(alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_allow_dots_and_labels_do_not() {
        assert_eq!(check_subdomain("a.b-c"), Ok(()));
        assert!(check_label("a.b").is_err());
        assert_eq!(check_label("shop-1"), Ok(()));
    }

    #[test]
    fn names_must_start_and_end_alphanumeric() {
        assert!(check_subdomain("-a").is_err());
        assert!(check_subdomain("a-").is_err());
        assert!(check_subdomain("A").is_err());
    }

    #[test]
    fn label_values_allow_upper_case_and_underscores() {
        assert_eq!(check_label_value("Chart_Notes.v1"), Ok(()));
        assert!(check_label_value("a/b").is_err());
        assert!(check_label_value(&"a".repeat(64)).is_err());
    }
}
