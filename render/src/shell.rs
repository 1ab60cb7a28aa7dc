//! Shell words: the commands a report prints (`check`'s regenerate line, `diff`'s hint) are
//! pasted into a POSIX shell, so a word with anything but safe characters is quoted.

/// Quotes a word for a POSIX shell when it holds anything but safe characters.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_safe_words_alone() {
        assert_eq!(quote("a/b-c_d.yaml"), "a/b-c_d.yaml");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
