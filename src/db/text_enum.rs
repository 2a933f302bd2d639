//! Enumerations stored as text. The database keeps them as `text` with a
//! CHECK constraint listing the words (adding one is a one-line migration,
//! not an `ALTER TYPE`); Rust keeps them as enums, so no code compares a
//! column with a string literal. [`text_enum!`] declares such an enum with
//! its words once and derives the rest: `as_db`/`from_db`, `Display`,
//! `Serialize` (as the word), and diesel's `ToSql`/`FromSql` for `Text`, so
//! a row's field, a filter and a bound parameter all take the enum itself.
//!
//! A word in the database that the enum lacks (a newer server's, or a
//! hand-edited row) fails the row's deserialization, which the RPC edge
//! reports as INTERNAL: the CHECK constraint and the enum must agree.

/// Declares a text-stored enumeration; see the module docs.
///
/// ```ignore
/// text_enum! {
///     /// A build pack's rendering state.
///     pub enum PackStatus {
///         /// Queued for the worker.
///         Pending = "pending",
///         Ready = "ready",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            #[allow(dead_code, reason = "not every enumeration lists its values")]
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word stored in the database.
            pub fn as_db(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The value whose stored word is `text`, if there is one.
            pub fn from_db(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_db())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_db())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_db().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                Self::from_db(text).ok_or_else(|| {
                    format!(
                        "stored {} {:?} is not one this server knows",
                        stringify!($name),
                        text
                    )
                    .into()
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test enumeration.
        pub enum Colour {
            /// The first.
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn words_round_trip_and_unknown_words_are_none() {
        for colour in Colour::ALL {
            assert_eq!(Colour::from_db(colour.as_db()), Some(*colour));
        }
        assert_eq!(Colour::DeepBlue.to_string(), "deep_blue");
        assert_eq!(Colour::from_db("green"), None);
        assert_eq!(
            serde_json::to_string(&Colour::Red).expect("serializes"),
            "\"red\""
        );
    }
}
