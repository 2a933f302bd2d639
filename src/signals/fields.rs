//! The Signals domain's enumerations (stored as text, see
//! `db::text_enum!`) and input limits, with their proto forms.

use crate::db::text_enum::text_enum;
use crate::proto::signals as pb;

/// Longest workspace or project name.
pub const NAME_MAX: usize = 200;
/// Longest project description.
pub const DESCRIPTION_MAX: usize = 4000;
/// Longest verbatim and interpretation.
pub const VERBATIM_MAX: usize = 20_000;
/// Longest user segment.
pub const SEGMENT_MAX: usize = 200;
/// Longest source reference (the id in the source system).
pub const REF_MAX: usize = 500;
/// Longest persona id and inbox item id (the caller's own ids).
pub const OWN_ID_MAX: usize = 200;
/// Longest link reason.
pub const REASON_MAX: usize = 2000;
/// Largest `source_metadata` or `ai_classification`, as JSON.
pub const JSON_OBJECT_MAX: usize = 64 * 1024;
/// Most floats in an embedding.
pub const EMBEDDING_MAX: usize = 4096;
/// Most signals in one BatchCreateSignals.
pub const BATCH_MAX: usize = 500;

text_enum! {
    /// How much a signal hurts (`signals.severity`).
    pub enum Severity {
        Critical = "critical",
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

text_enum! {
    /// How often the user meets it (`signals.frequency`).
    pub enum Frequency {
        Common = "common",
        Occasional = "occasional",
        Rare = "rare",
    }
}

text_enum! {
    /// Where a signal came from (`signals.source`; adding one is a
    /// one-line migration of its named CHECK constraint).
    pub enum Source {
        Webhook = "webhook",
        Upload = "upload",
        Paste = "paste",
        Video = "video",
        Slack = "slack",
        Pylon = "pylon",
        Email = "email",
        Interview = "interview",
        Other = "other",
    }
}

text_enum! {
    /// Where a signal is in its triage (`signals.status`).
    pub enum SignalStatus {
        New = "new",
        Reviewed = "reviewed",
        Linked = "linked",
        Archived = "archived",
    }
}

impl SignalStatus {
    /// Where UpdateSignal may move a signal in this status: new →
    /// reviewed → linked, anything → archived, archived → reviewed.
    /// (Links move it too: linking a new or reviewed signal makes it
    /// linked, removing its last link makes it reviewed.)
    pub fn allowed_next(self) -> &'static [SignalStatus] {
        match self {
            Self::New => &[Self::Reviewed, Self::Archived],
            Self::Reviewed => &[Self::Linked, Self::Archived],
            Self::Linked => &[Self::Archived],
            Self::Archived => &[Self::Reviewed],
        }
    }
}

text_enum! {
    /// Whether a project takes new work (`projects.status`).
    pub enum ProjectStatus {
        Active = "active",
        Archived = "archived",
    }
}

/// Proto enum conversions: `from_proto` maps UNSPECIFIED to `None` and an
/// unknown number to a field problem; `to_proto` is total.
macro_rules! proto_enum {
    ($name:ident, $proto:ident, $($variant:ident),+) => {
        impl $name {
            /// The value of a proto enum field; UNSPECIFIED is `None`.
            pub fn from_proto(value: i32) -> Result<Option<Self>, String> {
                match pb::$proto::try_from(value) {
                    Ok(pb::$proto::Unspecified) => Ok(None),
                    $( Ok(pb::$proto::$variant) => Ok(Some(Self::$variant)), )+
                    Err(_) => Err(format!("{value} is not a {}", stringify!($proto))),
                }
            }

            /// The proto enum value.
            pub fn to_proto(self) -> pb::$proto {
                match self {
                    $( Self::$variant => pb::$proto::$variant, )+
                }
            }
        }
    };
}

proto_enum!(Severity, Severity, Critical, High, Medium, Low);
proto_enum!(Frequency, Frequency, Common, Occasional, Rare);
proto_enum!(
    Source, Source, Webhook, Upload, Paste, Video, Slack, Pylon, Email, Interview, Other
);
proto_enum!(SignalStatus, SignalStatus, New, Reviewed, Linked, Archived);
proto_enum!(ProjectStatus, ProjectStatus, Active, Archived);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_status_moves_follow_the_triage() {
        use SignalStatus::*;
        assert_eq!(New.allowed_next(), &[Reviewed, Archived]);
        assert!(Reviewed.allowed_next().contains(&Linked));
        assert!(!New.allowed_next().contains(&Linked));
        assert_eq!(Archived.allowed_next(), &[Reviewed]);
        for status in SignalStatus::ALL {
            assert!(*status == Archived || status.allowed_next().contains(&Archived));
        }
    }

    #[test]
    fn every_value_round_trips_through_its_proto_enum() {
        for source in Source::ALL {
            assert_eq!(
                Source::from_proto(source.to_proto().into()),
                Ok(Some(*source))
            );
        }
        for severity in Severity::ALL {
            assert_eq!(
                Severity::from_proto(severity.to_proto().into()),
                Ok(Some(*severity))
            );
        }
        assert_eq!(Source::from_proto(0), Ok(None));
        assert!(Source::from_proto(99).is_err());
    }
}
