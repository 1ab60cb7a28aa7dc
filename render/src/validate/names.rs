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

/// Any object's name, whatever its kind: the rule every name must meet before it becomes part
/// of a file path. Each kind may be stricter (most are DNS-1123 subdomains); this is the floor
/// the API server puts under all of them (`IsValidPathSegmentName`), plus the length limit
/// and no control characters.
pub fn check_object_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("may not be empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("may not be '{name}'"));
    }
    if name.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    if name.contains('/') {
        return Err("may not contain '/'".into());
    }
    if name.contains('%') {
        return Err("may not contain '%'".into());
    }
    if name.chars().any(char::is_control) {
        return Err("may not contain control characters".into());
    }
    Ok(())
}

/// A kind: an identifier, a letter followed by letters and digits (at most 63).
pub fn check_kind(kind: &str) -> Result<(), String> {
    let mut chars = kind.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts || !chars.all(|c| c.is_ascii_alphanumeric()) || kind.len() > 63 {
        return Err(
            "must be an identifier of at most 63 letters and digits, starting with a letter".into(),
        );
    }
    Ok(())
}

/// An `apiVersion`: `version` for the core group, or `group/version` with a DNS-1123
/// subdomain group and a DNS-1123 label version.
pub fn check_api_version(api_version: &str) -> Result<(), String> {
    if api_version.matches('/').count() > 1 {
        return Err("must be version or group/version, with one '/' at most".into());
    }
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (Some(group), version),
        None => (None, api_version),
    };
    if let Some(group) = group {
        check_subdomain(group).map_err(|problem| format!("the group {group:?} {problem}"))?;
    }
    check_label(version).map_err(|problem| format!("the version {version:?} {problem}"))
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
    fn object_names_may_hold_anything_but_path_separators_and_dot_names() {
        assert_eq!(check_object_name("system:node-proxier"), Ok(()));
        assert_eq!(check_object_name("Mixed_Case.v1"), Ok(()));
        let refused = [
            ("", "may not be empty"),
            (".", "may not be '.'"),
            ("..", "may not be '..'"),
            ("../../tmp/pwned", "may not contain '/'"),
            ("a/b", "may not contain '/'"),
            ("a%2fb", "may not contain '%'"),
            ("a\0b", "may not contain control characters"),
            ("a\nb", "may not contain control characters"),
        ];
        for (name, problem) in refused {
            assert_eq!(
                check_object_name(name),
                Err(problem.to_string()),
                "{name:?}"
            );
        }
        assert!(check_object_name(&"a".repeat(254)).is_err());
    }

    #[test]
    fn kinds_are_identifiers() {
        assert_eq!(check_kind("ConfigMap"), Ok(()));
        assert_eq!(check_kind("V1Thing2"), Ok(()));
        for kind in ["..", ".", "a/b", "Config-Map", "1Kind", "", "Kind_"] {
            assert!(check_kind(kind).is_err(), "{kind:?}");
        }
    }

    #[test]
    fn api_versions_have_a_subdomain_group_and_a_label_version() {
        for ok in ["v1", "apps/v1", "keda.sh/v1alpha1", "hevlayer.com/v1"] {
            assert_eq!(check_api_version(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_api_version("../v1"),
            Err(format!("the group \"..\" {SUBDOMAIN_MESSAGE}"))
        );
        assert_eq!(
            check_api_version("apps/.."),
            Err(format!("the version \"..\" {LABEL_MESSAGE}"))
        );
        for bad in ["a/b/v1", "/v1", "apps/", "..", "Apps/v1", "apps/v1/"] {
            assert!(check_api_version(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn label_values_allow_upper_case_and_underscores() {
        assert_eq!(check_label_value("Chart_Notes.v1"), Ok(()));
        assert!(check_label_value("a/b").is_err());
        assert!(check_label_value(&"a".repeat(64)).is_err());
    }
}
