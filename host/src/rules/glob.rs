//! The patterns a rule's `source` and `type` are: the exact name, or a glob
//! where `*` stands for any run of characters (`alert.*`, `*.firing`, `*`).
//! Without this, `type = "*"` (what a new user writes for "every type")
//! would be stored as the literal type `*` and never match anything.

/// Whether `text` matches `pattern`; `*` matches any run of characters,
/// every other character only itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = rest.split('*').collect();
    // The piece after the last `*` must end the text; the ones between
    // stars are found left to right, each as early as it can be.
    let last = pieces.pop().unwrap_or("");
    for piece in pieces {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// Whether an optional pattern (absent = everything) matches `text`.
pub fn matches_optional(pattern: Option<&str>, text: &str) -> bool {
    pattern.is_none_or(|p| matches(p, text))
}

/// Refuses a pattern that can never match an event: an empty one.
pub fn validate(field: &str, pattern: Option<&str>) -> Result<(), String> {
    match pattern {
        Some(p) if p.trim().is_empty() => Err(format!(
            "{field}: an empty pattern matches nothing; leave it out to match every {field}, or use \"*\""
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn exact_names_and_globs() {
        assert!(matches("alert", "alert"));
        assert!(!matches("alert", "alerts"));
        assert!(matches("*", "anything.at.all"));
        assert!(matches("*", ""));
        assert!(matches("alert.*", "alert.firing"));
        assert!(!matches("alert.*", "alerts.firing"));
        assert!(matches("*.firing", "alert.firing"));
        assert!(!matches("*.firing", "alert.resolved"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-c-b"));
        // The last piece may not reuse what a middle piece consumed.
        assert!(!matches("*ab*ab", "ab"));
        assert!(matches("*ab*ab", "abab"));
    }
}
