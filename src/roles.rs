//! Member roles and the powers they give, shared by workshops and
//! workspaces: `owner` manages members and deletes, `editor` writes, and
//! any other role — `viewer` is the usual one — reads.

/// What a call needs to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Power {
    /// Read the workshop or workspace and everything in it.
    Read,
    /// Write: steps, title and idea, build packs; signals, projects, links.
    Edit,
    /// Manage members (and a workshop's status and sharing); delete.
    Own,
}

impl Power {
    /// What the power allows, for messages ("may not …").
    pub fn describe(self) -> &'static str {
        match self {
            Self::Read => "read it",
            Self::Edit => "edit it (editor or owner)",
            Self::Own => "manage it (owner)",
        }
    }
}

/// A member's role (`workshop_members.role`, `workspace_members.role`).
/// Roles are open words by design (the columns' CHECK allows any 1–50
/// lowercase letters, digits, `-` or `_`); only `owner` and `editor`
/// carry powers beyond reading.
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
    /// Manages members; deletes.
    Owner,
    /// Writes.
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

    /// The powers of this role.
    pub fn power(&self) -> Power {
        match self {
            Self::Owner => Power::Own,
            Self::Editor => Power::Edit,
            Self::Other(_) => Power::Read,
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

    #[test]
    fn owners_own_editors_edit_and_any_other_role_reads() {
        assert_eq!(Role::Owner.power(), Power::Own);
        assert_eq!(Role::Editor.power(), Power::Edit);
        assert_eq!(Role::Other("viewer".to_owned()).power(), Power::Read);
        assert!(Power::Read < Power::Edit && Power::Edit < Power::Own);
    }
}
