//! Workshop inputs, parsed into the values the repositories accept.

use crate::db::text_enum::text_enum;
use crate::proto::workshop as pb;

/// Longest title.
pub const TITLE_MAX: usize = 200;
/// Longest original idea.
pub const IDEA_MAX: usize = 4000;
/// Longest org or template id.
pub const REF_MAX: usize = 100;

text_enum! {
    /// A workshop's lifecycle status (`workshops.status`).
    pub enum Status {
        Draft = "draft",
        Active = "active",
        Paused = "paused",
        Completed = "completed",
    }
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

text_enum! {
    /// Whether a workshop is shared by token (`workshops.visibility`).
    pub enum Visibility {
        Private = "private",
        Shared = "shared",
    }
}

impl Visibility {
    pub fn to_proto(self) -> pb::Visibility {
        match self {
            Self::Private => pb::Visibility::Private,
            Self::Shared => pb::Visibility::Shared,
        }
    }
}

text_enum! {
    /// A step's progress (`workshop_steps.status`).
    pub enum StepStatus {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Complete = "complete",
    }
}

impl StepStatus {
    /// Parses the proto enum; UNSPECIFIED is `None` (no change).
    pub fn from_proto(value: i32) -> Result<Option<Self>, String> {
        match pb::StepStatus::try_from(value) {
            Ok(pb::StepStatus::Unspecified) => Ok(None),
            Ok(pb::StepStatus::NotStarted) => Ok(Some(Self::NotStarted)),
            Ok(pb::StepStatus::InProgress) => Ok(Some(Self::InProgress)),
            Ok(pb::StepStatus::Complete) => Ok(Some(Self::Complete)),
            Err(_) => Err(format!("{value} is not a StepStatus")),
        }
    }

    pub fn to_proto(self) -> pb::StepStatus {
        match self {
            Self::NotStarted => pb::StepStatus::NotStarted,
            Self::InProgress => pb::StepStatus::InProgress,
            Self::Complete => pb::StepStatus::Complete,
        }
    }
}

text_enum! {
    /// What a build pack is rendered as (`build_packs.format`).
    pub enum PackFormat {
        Markdown = "markdown",
        Json = "json",
        Pdf = "pdf",
    }
}

impl PackFormat {
    /// Parses the proto enum; the format is required.
    pub fn from_proto(value: i32) -> Result<Self, String> {
        match pb::BuildPackFormat::try_from(value) {
            Ok(pb::BuildPackFormat::Markdown) => Ok(Self::Markdown),
            Ok(pb::BuildPackFormat::Json) => Ok(Self::Json),
            Ok(pb::BuildPackFormat::Pdf) => Ok(Self::Pdf),
            Ok(pb::BuildPackFormat::Unspecified) => {
                Err("is required: MARKDOWN, JSON or PDF".to_owned())
            }
            Err(_) => Err(format!("{value} is not a BuildPackFormat")),
        }
    }

    pub fn to_proto(self) -> pb::BuildPackFormat {
        match self {
            Self::Markdown => pb::BuildPackFormat::Markdown,
            Self::Json => pb::BuildPackFormat::Json,
            Self::Pdf => pb::BuildPackFormat::Pdf,
        }
    }

    /// The file extension of the stored content.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Json => "json",
            Self::Pdf => "pdf",
        }
    }
}

text_enum! {
    /// Where a build pack's rendering is (`build_packs.status`).
    pub enum PackStatus {
        /// Queued for the outbox worker.
        Pending = "pending",
        /// Rendered and stored.
        Ready = "ready",
        /// Rendering kept failing; `failure_reason` says why.
        Failed = "failed",
    }
}

impl PackStatus {
    pub fn to_proto(self) -> pb::BuildPackStatus {
        match self {
            Self::Pending => pb::BuildPackStatus::Pending,
            Self::Ready => pb::BuildPackStatus::Ready,
            Self::Failed => pb::BuildPackStatus::Failed,
        }
    }
}

/// A member's role (`workshop_members.role`). Roles are open words by
/// design (the column's CHECK allows any 1–50 lowercase letters, digits,
/// `-` or `_`): `owner` manages the workshop, `editor` edits it, and any
/// other word — `viewer` is the usual one — reads only.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    /// Manages members, status, sharing; deletes.
    Owner,
    /// Changes steps, title and idea; creates build packs.
    Editor,
    /// Any other role: reads.
    Other(String),
}

impl Role {
    /// Parses a role: 1–50 lowercase letters, digits, `-` or `_`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (1..=50).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self::from_word(raw))
        } else {
            Err(
                "must be 1-50 lowercase letters, digits, `-` or `_` (e.g. owner, editor, viewer)"
                    .to_owned(),
            )
        }
    }

    fn from_word(word: &str) -> Self {
        match word {
            "owner" => Self::Owner,
            "editor" => Self::Editor,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The stored word.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Other(word) => word,
        }
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for Role {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        std::io::Write::write_all(out, self.as_str().as_bytes())?;
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for Role {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(Self::from_word(std::str::from_utf8(value.as_bytes())?))
    }
}

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
        assert_eq!(Role::parse("editor"), Ok(Role::Editor));
        assert_eq!(Role::parse("owner"), Ok(Role::Owner));
        assert_eq!(
            Role::parse("guest_2"),
            Ok(Role::Other("guest_2".to_owned()))
        );
        assert!(Role::parse("Owner").is_err());
        assert!(Role::parse("").is_err());
        assert!(Role::parse(&"a".repeat(51)).is_err());
    }
}
