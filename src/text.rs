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
}
