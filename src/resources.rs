//! The kinds of resource an error can be about. Each names itself in
//! messages (`skill`), in `google.rpc.ResourceInfo.resource_type` (its
//! proto message, `atelier.registry.v1.Skill`) and in the ErrorInfo reason
//! of its NOT_FOUND (`SKILL_NOT_FOUND`), so a client tells a missing skill
//! from a missing version without reading the message.

/// A kind of resource.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// What messages call it, e.g. `build pack`.
    pub name: &'static str,
    /// Its proto message, for `ResourceInfo.resource_type`.
    pub proto_type: &'static str,
    /// The ErrorInfo reason of its NOT_FOUND.
    pub not_found: &'static str,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! resources {
    ($($(#[$doc:meta])* $konst:ident = $name:literal, $proto:literal, $reason:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $konst: &Resource = &Resource {
                name: $name,
                proto_type: $proto,
                not_found: $reason,
            };
        )*
        /// Every kind, for the reference of error reasons.
        pub const ALL: &[&Resource] = &[$($konst),*];
    };
}

resources! {
    /// A skill of the registry.
    SKILL = "skill", "atelier.registry.v1.Skill", "SKILL_NOT_FOUND";
    /// One version of a skill.
    SKILL_VERSION = "version", "atelier.registry.v1.SkillVersion", "SKILL_VERSION_NOT_FOUND";
    /// A user's rating of a skill.
    RATING = "rating", "atelier.registry.v1.Rating", "RATING_NOT_FOUND";
    /// A workshop.
    WORKSHOP = "workshop", "atelier.workshop.v1.WorkshopInfo", "WORKSHOP_NOT_FOUND";
    /// A workshop behind a share token.
    SHARED_WORKSHOP = "shared workshop", "atelier.workshop.v1.WorkshopInfo", "SHARED_WORKSHOP_NOT_FOUND";
    /// One of a workshop's ten steps.
    STEP = "step", "atelier.workshop.v1.WorkshopStep", "STEP_NOT_FOUND";
    /// A member of a workshop.
    MEMBER = "member", "atelier.workshop.v1.Member", "MEMBER_NOT_FOUND";
    /// A build pack of a workshop.
    BUILD_PACK = "build pack", "atelier.workshop.v1.BuildPack", "BUILD_PACK_NOT_FOUND";
    /// A session of a workshop.
    SESSION = "session", "atelier.workshop.v1.Session", "SESSION_NOT_FOUND";
    /// A Signals workspace.
    WORKSPACE = "workspace", "atelier.signals.v1.Workspace", "WORKSPACE_NOT_FOUND";
    /// A member of a workspace.
    WORKSPACE_MEMBER = "member", "atelier.signals.v1.WorkspaceMember", "WORKSPACE_MEMBER_NOT_FOUND";
    /// A project of a workspace.
    PROJECT = "project", "atelier.signals.v1.Project", "PROJECT_NOT_FOUND";
    /// A signal of a workspace.
    SIGNAL = "signal", "atelier.signals.v1.Signal", "SIGNAL_NOT_FOUND";
    /// A signal's link to a project.
    PROJECT_LINK = "link", "atelier.signals.v1.ProjectLink", "PROJECT_LINK_NOT_FOUND";
    /// A signal's link to a persona.
    PERSONA_LINK = "link", "atelier.signals.v1.PersonaLink", "PERSONA_LINK_NOT_FOUND";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_reason_and_a_proto_type_of_its_package() {
        let reasons: std::collections::BTreeSet<_> = ALL.iter().map(|r| r.not_found).collect();
        assert_eq!(reasons.len(), ALL.len(), "two kinds share a reason");
        for resource in ALL {
            assert!(resource.not_found.ends_with("_NOT_FOUND"), "{resource:?}");
            assert!(resource.proto_type.starts_with("atelier."), "{resource:?}");
        }
    }
}
