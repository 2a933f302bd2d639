//! Client text on its way into PostgreSQL and back out in error messages.
//!
//! PostgreSQL cannot store a NUL character in `text`, nor `\u0000` in
//! `jsonb`: such input must be refused as a field violation at the edge, not
//! discovered as an INTERNAL error at the insert. And an error message that
//! quotes what a client sent must quote only a short prefix of it, or a
//! 3 MB id becomes a 3 MB `grpc-message` header that clients drop.

/// Characters of client input an error message quotes at most.
pub const QUOTE_MAX_CHARS: usize = 40;

/// Refuses text PostgreSQL cannot store (a NUL character).
pub fn storable(raw: &str) -> Result<(), String> {
    match raw.find('\0') {
        None => Ok(()),
        Some(at) => Err(format!(
            "must not contain a NUL character (U+0000), found at byte {at}"
        )),
    }
}

/// Required text of 1..=max characters, trimmed of nothing (what the user
/// typed is kept), refusing blank text.
pub fn required_text(raw: &str, max: usize) -> Result<String, String> {
    let chars = raw.chars().count();
    if raw.trim().is_empty() {
        Err("is required".to_owned())
    } else if chars > max {
        Err(format!("must be at most {max} characters, not {chars}"))
    } else {
        storable(raw)?;
        Ok(raw.to_owned())
    }
}

/// Optional text of at most `max` characters; empty means none.
pub fn optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    required_text(raw, max).map(Some)
}

/// Text of at most `max` characters (may be empty), storable.
pub fn bounded_text(raw: &str, max: usize) -> Result<String, String> {
    let chars = raw.chars().count();
    if chars > max {
        Err(format!("must be at most {max} characters, not {chars}"))
    } else {
        storable(raw)?;
        Ok(raw.to_owned())
    }
}

/// A full-text search query in `websearch_to_tsquery` syntax: at most 200
/// characters; blank means none.
///
/// A `-` negates only the word or quoted phrase right after it; any other
/// `-` (runs of them, or one before a space) is dropped, because each
/// becomes a nested NOT and 60 of them overflow PostgreSQL's tsquery stack
/// ("tsquery stack too small"). What remains reads as the caller meant it.
pub fn search_query(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    let len = text.chars().count();
    if len > 200 {
        return Err(format!("must be at most 200 characters, not {len}"));
    }
    storable(text)?;
    let mut query = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        let negates = |next: Option<&char>| next.is_some_and(|n| n.is_alphanumeric() || *n == '"');
        let kept = if c == '-' {
            // Inside a word (`e-mail`) it joins; before a word it negates.
            previous.is_alphanumeric() || (previous != '-' && negates(chars.peek()))
        } else {
            true
        };
        query.push(if kept { c } else { ' ' });
        previous = c;
    }
    let query = query.trim();
    Ok((!query.is_empty()).then(|| query.to_owned()))
}

/// `raw` quoted for an error message: in full when short, otherwise its
/// first [`QUOTE_MAX_CHARS`] characters and its length.
pub fn quote(raw: &str) -> String {
    let mut chars = raw.char_indices();
    match chars.nth(QUOTE_MAX_CHARS) {
        None => format!("{raw:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &raw[..cut], raw.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_whatever_the_input() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "é".repeat(1_000_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 120, "{quoted}");
        assert!(quoted.ends_with("(2000000 bytes)"), "{quoted}");
    }

    #[test]
    fn nul_is_refused_anywhere() {
        assert!(storable("fine text").is_ok());
        assert!(storable("\0").is_err());
        assert!(storable("tail\0").is_err());
    }

    mod properties {
        use super::super::search_query;
        use super::super::*;
        use crate::registry::fields::BoundedText;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn a_quote_is_short_whatever_it_quotes(raw in "\\PC{0,300}|\\PC{0,5}\\x00\\PC{0,5}") {
                // Debug escapes at most 10 bytes a character.
                prop_assert!(quote(&raw).len() <= QUOTE_MAX_CHARS * 10 + 40);
            }

            #[test]
            fn text_with_a_nul_is_never_accepted(
                before in "\\PC{0,20}",
                after in "\\PC{0,20}",
            ) {
                let raw = format!("{before}\0{after}");
                prop_assert!(storable(&raw).is_err());
                prop_assert!(BoundedText::parse(&raw, 100).is_err());
                prop_assert!(search_query(&raw).is_err());
            }

            #[test]
            fn search_queries_never_keep_a_dash_that_negates_nothing(raw in "[-a-z \"!|()]{0,200}") {
                if let Ok(Some(query)) = search_query(&raw) {
                    let chars: Vec<char> = query.chars().collect();
                    for (at, c) in chars.iter().enumerate() {
                        if *c == '-' {
                            let joins = at > 0 && chars[at - 1].is_alphanumeric();
                            let negates = chars.get(at + 1).is_some_and(|n| n.is_alphanumeric() || *n == '"');
                            prop_assert!(joins || negates, "{query:?}");
                            prop_assert!(at == 0 || chars[at - 1] != '-', "{query:?}");
                        }
                    }
                }
            }
        }
    }
}
