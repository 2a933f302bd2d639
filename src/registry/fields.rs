//! The registry's input types, parsed at the edge: a value of one of these
//! types is valid, so the code behind the service never checks again.
//!
//! Each parser returns the problem as a sentence; the service attaches the
//! field path and gathers every violation of a request into one
//! INVALID_ARGUMENT.

use crate::db::text_enum::text_enum;
use crate::proto::registry::SkillCategory;

/// A skill's unique, URL-safe handle: lowercase letters, digits and single
/// hyphens, 3–64 characters, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if !(3..=64).contains(&len) {
            return Err(format!("must be 3-64 characters, not {len}"));
        }
        let allowed = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !allowed {
            return Err("may contain only lowercase letters, digits and hyphens".to_owned());
        }
        if raw.starts_with('-') || raw.ends_with('-') || raw.contains("--") {
            return Err(
                "must start and end with a letter or digit and not repeat hyphens".to_owned(),
            );
        }
        Ok(Self(raw.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text of bounded length that is not blank, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText(String);

impl BoundedText {
    /// Parses text of 1 to `max` characters (after trimming).
    pub fn parse(raw: &str, max: usize) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("must not be empty".to_owned());
        }
        let len = text.chars().count();
        if len > max {
            return Err(format!("must be at most {max} characters, not {len}"));
        }
        crate::text::storable(text)?;
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Longest skill name.
pub const NAME_MAX: usize = 200;
/// Longest skill description.
pub const DESCRIPTION_MAX: usize = 4000;

text_enum! {
    /// A skill category, as stored (`skills.category`).
    pub enum Category {
        /// A prompt or prompt template.
        Prompt = "prompt",
        /// A multi-step workflow.
        Workflow = "workflow",
        /// An agent configuration.
        Agent = "agent",
        /// An MCP tool configuration.
        Mcp = "mcp",
    }
}

impl Category {
    /// Parses the proto enum; UNSPECIFIED and unknown numbers are errors.
    pub fn from_proto(value: i32) -> Result<Self, String> {
        match SkillCategory::try_from(value) {
            Ok(SkillCategory::Prompt) => Ok(Self::Prompt),
            Ok(SkillCategory::Workflow) => Ok(Self::Workflow),
            Ok(SkillCategory::Agent) => Ok(Self::Agent),
            Ok(SkillCategory::Mcp) => Ok(Self::Mcp),
            Ok(SkillCategory::Unspecified) => Err("must be set".to_owned()),
            Err(_) => Err(format!("{value} is not a known category")),
        }
    }

    /// The proto enum value.
    pub fn to_proto(self) -> SkillCategory {
        match self {
            Self::Prompt => SkillCategory::Prompt,
            Self::Workflow => SkillCategory::Workflow,
            Self::Agent => SkillCategory::Agent,
            Self::Mcp => SkillCategory::Mcp,
        }
    }
}

/// Hours saved, 0–10000.
pub fn hours_saved(value: i32) -> Result<i32, String> {
    if (0..=10_000).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be 0-10000, not {value}"))
    }
}

/// Stars of a rating, 1–5.
pub fn stars(value: i32) -> Result<i16, String> {
    match i16::try_from(value) {
        Ok(stars @ 1..=5) => Ok(stars),
        _ => Err(format!("must be 1-5, not {value}")),
    }
}

/// A rating's comment: at most 2000 characters; empty means none.
pub fn comment(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let len = text.chars().count();
    if len > 2000 {
        return Err(format!("must be at most 2000 characters, not {len}"));
    }
    crate::text::storable(text)?;
    Ok(Some(text.to_owned()))
}

/// A version number, 1 or more.
pub fn version(value: u32) -> Result<i32, String> {
    match i32::try_from(value) {
        Ok(version) if version >= 1 => Ok(version),
        _ => Err(format!("must be 1 or more (and fit 32 bits), not {value}")),
    }
}

/// The tool that used a skill: at most 100 printable characters.
pub fn tool_name(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > 100 || text.chars().any(char::is_control) {
        return Err("must be at most 100 printable characters".to_owned());
    }
    Ok(text.to_owned())
}

/// A MIME type such as `text/markdown` or `application/json; charset=utf-8`:
/// required, at most 200 characters, `type/subtype` with optional
/// parameters. Stored lowercased up to the parameters.
pub fn content_type(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must be set, e.g. text/markdown".to_owned());
    }
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err("must be at most 200 printable characters".to_owned());
    }
    let (essence, parameters) = text
        .split_once(';')
        .map_or((text, None), |(e, p)| (e, Some(p)));
    let token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    match essence.trim().split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => {
            let essence = essence.trim().to_ascii_lowercase();
            Ok(match parameters {
                Some(parameters) => format!("{essence};{parameters}"),
                None => essence,
            })
        }
        _ => Err(format!(
            "{} is not a MIME type like text/markdown",
            crate::text::quote(text)
        )),
    }
}

/// An expected SHA-256: 64 hex digits (either case); empty means none.
pub fn sha256(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(Some(text.to_ascii_lowercase()))
    } else {
        Err("must be 64 hexadecimal digits".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_single_hyphens() {
        for good in ["abc", "code-review", "a1-b2-c3", &"x".repeat(64)] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Code",
            "a--b",
            "-ab",
            "ab-",
            "a b",
            "a_b",
            "é-ab",
            &"x".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_text_is_trimmed_and_counted_in_characters() {
        assert_eq!(
            BoundedText::parse("  hi  ", 2).map(BoundedText::into_string),
            Ok("hi".to_owned())
        );
        assert!(BoundedText::parse("   ", 10).is_err());
        assert!(BoundedText::parse("ééé", 3).is_ok());
        assert!(BoundedText::parse("éééé", 3).is_err());
    }

    #[test]
    fn search_queries_keep_negation_but_not_runs_of_dashes() {
        use crate::text::search_query;
        assert_eq!(search_query("  "), Ok(None));
        assert_eq!(search_query("pdf -docx"), Ok(Some("pdf -docx".to_owned())));
        assert_eq!(search_query("e-mail"), Ok(Some("e-mail".to_owned())));
        assert_eq!(search_query(&"-".repeat(200)), Ok(None));
        assert_eq!(search_query("a - - b"), Ok(Some("a     b".to_owned())));
        assert_eq!(search_query("a --b"), Ok(Some("a   b".to_owned())));
        assert!(search_query("a\0b").is_err());
    }

    #[test]
    fn category_rejects_unspecified_and_unknown_numbers() {
        assert!(Category::from_proto(0).is_err());
        assert!(Category::from_proto(99).is_err());
        for category in [
            Category::Prompt,
            Category::Workflow,
            Category::Agent,
            Category::Mcp,
        ] {
            assert_eq!(
                Category::from_proto(category.to_proto() as i32),
                Ok(category)
            );
            assert_eq!(Category::from_db(category.as_db()), Some(category));
        }
    }
}
