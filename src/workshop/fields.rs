//! Workshop inputs, parsed into the values the repositories accept.

use crate::proto::workshop as pb;

/// Longest title.
pub const TITLE_MAX: usize = 200;
/// Longest original idea.
pub const IDEA_MAX: usize = 4000;
/// Longest org or template id.
pub const REF_MAX: usize = 100;

/// A workshop's lifecycle status, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Active,
    Paused,
    Completed,
}

impl Status {
    pub fn from_proto(value: i32) -> Result<Option<Self>, String> {
        match pb::WorkshopStatus::try_from(value) {
            Ok(pb::WorkshopStatus::Unspecified) => Ok(None),
            Ok(pb::WorkshopStatus::Draft) => Ok(Some(Self::Draft)),
            Ok(pb::WorkshopStatus::Active) => Ok(Some(Self::Active)),
            Ok(pb::WorkshopStatus::Paused) => Ok(Some(Self::Paused)),
            Ok(pb::WorkshopStatus::Completed) => Ok(Some(Self::Completed)),
            Err(_) => Err(format!("{value} is not a WorkshopStatus")),
        }
    }

    pub fn as_db(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
        }
    }

    pub fn from_db(text: &str) -> Option<Self> {
        [Self::Draft, Self::Active, Self::Paused, Self::Completed]
            .into_iter()
            .find(|s| s.as_db() == text)
    }

    pub fn to_proto(self) -> pb::WorkshopStatus {
        match self {
            Self::Draft => pb::WorkshopStatus::Draft,
            Self::Active => pb::WorkshopStatus::Active,
            Self::Paused => pb::WorkshopStatus::Paused,
            Self::Completed => pb::WorkshopStatus::Completed,
        }
    }

    /// Where a workshop in this status may go: draft → active,
    /// active ⇄ paused, active or paused → completed.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Self::Draft => &[Self::Active],
            Self::Active => &[Self::Paused, Self::Completed],
            Self::Paused => &[Self::Active, Self::Completed],
            Self::Completed => &[],
        }
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
        crate::text::storable(raw)?;
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

/// A member role: 1–50 lowercase letters, digits, `-` or `_`.
pub fn role(raw: &str) -> Result<String, String> {
    let valid = (1..=50).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(
            "must be 1-50 lowercase letters, digits, `-` or `_` (e.g. owner, editor, viewer)"
                .to_owned(),
        )
    }
}

/// A step's progress, as stored.
pub fn step_status_from_proto(value: i32) -> Result<Option<&'static str>, String> {
    match pb::StepStatus::try_from(value) {
        Ok(pb::StepStatus::Unspecified) => Ok(None),
        Ok(pb::StepStatus::NotStarted) => Ok(Some("not_started")),
        Ok(pb::StepStatus::InProgress) => Ok(Some("in_progress")),
        Ok(pb::StepStatus::Complete) => Ok(Some("complete")),
        Err(_) => Err(format!("{value} is not a StepStatus")),
    }
}

/// The proto step status of a stored one.
pub fn step_status_to_proto(text: &str) -> pb::StepStatus {
    match text {
        "not_started" => pb::StepStatus::NotStarted,
        "in_progress" => pb::StepStatus::InProgress,
        "complete" => pb::StepStatus::Complete,
        _ => pb::StepStatus::Unspecified,
    }
}

/// A build pack format, as stored.
pub fn format_from_proto(value: i32) -> Result<&'static str, String> {
    match pb::BuildPackFormat::try_from(value) {
        Ok(pb::BuildPackFormat::Markdown) => Ok("markdown"),
        Ok(pb::BuildPackFormat::Json) => Ok("json"),
        Ok(pb::BuildPackFormat::Pdf) => Ok("pdf"),
        Ok(pb::BuildPackFormat::Unspecified) => {
            Err("is required: MARKDOWN, JSON or PDF".to_owned())
        }
        Err(_) => Err(format!("{value} is not a BuildPackFormat")),
    }
}

/// The role that manages members and deletes the workshop (stored in
/// `workshop_members.role`).
pub const OWNER: &str = "owner";
/// The role that edits steps and creates build packs.
pub const EDITOR: &str = "editor";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions_follow_the_lifecycle() {
        assert_eq!(Status::Draft.allowed_next(), &[Status::Active]);
        assert!(Status::Paused.allowed_next().contains(&Status::Active));
        assert!(Status::Completed.allowed_next().is_empty());
        assert!(!Status::Draft.allowed_next().contains(&Status::Completed));
    }

    #[test]
    fn roles_are_lowercase_words() {
        assert!(role("editor").is_ok());
        assert!(role("guest_2").is_ok());
        assert!(role("Owner").is_err());
        assert!(role("").is_err());
        assert!(role(&"a".repeat(51)).is_err());
    }
}
