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
}
