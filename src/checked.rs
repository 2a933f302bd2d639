//! Parsing a request into a typed input: every field checked, every
//! violation reported in one INVALID_ARGUMENT, and nothing left to unpack.
//!
//! Each field parses to a [`Checked`] value; a tuple of them turns into the
//! tuple of values only when all are `Ok` ([`AllChecked::all`]), otherwise
//! into every violation at once. Total by construction: there is no "a
//! checked field is missing" branch to reach.

use crate::error::{ApiError, ApiResult, FieldViolation, Violations};

/// A parsed field, or what is wrong with it (one or more violations).
pub type Checked<T> = Result<T, Vec<FieldViolation>>;

/// Field `name` from a parser that explains a refusal in words.
pub fn field<T>(name: &str, parsed: Result<T, String>) -> Checked<T> {
    parsed.map_err(|problem| vec![FieldViolation::new(name, problem)])
}

/// An optional field: `None` when absent, else parsed as `field`.
pub fn optional<T, U>(
    name: &str,
    raw: Option<T>,
    parse: impl FnOnce(T) -> Result<U, String>,
) -> Checked<Option<U>> {
    raw.map(|raw| field(name, parse(raw))).transpose()
}

/// `value`, built while `violations` were gathered, if there were none.
pub fn gathered<T>(violations: Violations, value: T) -> Checked<T> {
    let violations = violations.into_vec();
    if violations.is_empty() {
        Ok(value)
    } else {
        Err(violations)
    }
}

/// Every item checked: the values, or the violations of all of them.
pub fn each<T>(items: impl IntoIterator<Item = Checked<T>>) -> Checked<Vec<T>> {
    let mut values = Vec::new();
    let mut violations = Vec::new();
    for item in items {
        match item {
            Ok(value) => values.push(value),
            Err(mut problems) => violations.append(&mut problems),
        }
    }
    if violations.is_empty() {
        Ok(values)
    } else {
        Err(violations)
    }
}

/// A tuple of [`Checked`] fields.
pub trait AllChecked {
    /// The tuple of their values.
    type Output;

    /// The values when every field is `Ok`, else every violation.
    fn checked(self) -> Checked<Self::Output>;

    /// The values, or INVALID_ARGUMENT listing every violation.
    fn all(self) -> ApiResult<Self::Output>
    where
        Self: Sized,
    {
        self.checked().map_err(ApiError::invalid)
    }
}

macro_rules! all_checked {
    ($($name:ident),+) => {
        impl<$($name),+> AllChecked for ($(Checked<$name>,)+) {
            type Output = ($($name,)+);

            #[allow(non_snake_case)]
            fn checked(self) -> Checked<Self::Output> {
                let ($($name,)+) = self;
                let mut violations = Vec::new();
                $(
                    let $name = match $name {
                        Ok(value) => Some(value),
                        Err(mut problems) => {
                            violations.append(&mut problems);
                            None
                        }
                    };
                )+
                match ($($name,)+) {
                    ($(Some($name),)+) => Ok(($($name,)+)),
                    _ => Err(violations),
                }
            }
        }
    };
}

all_checked!(A);
all_checked!(A, B);
all_checked!(A, B, C);
all_checked!(A, B, C, D);
all_checked!(A, B, C, D, E);
all_checked!(A, B, C, D, E, F);
all_checked!(A, B, C, D, E, F, G);
all_checked!(A, B, C, D, E, F, G, H);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_fields_or_every_violation() {
        let good: (Checked<i32>, Checked<&str>) = (Ok(1), Ok("a"));
        assert_eq!(good.checked().ok(), Some((1, "a")));
        let bad: (Checked<i32>, Checked<i32>, Checked<i32>) = (
            field("a", Err("no".to_owned())),
            Ok(2),
            field("c", Err("never".to_owned())),
        );
        let fields: Vec<String> = bad
            .checked()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["a", "c"]);
        assert!(each(vec![Ok(1), field("x", Err::<i32, _>("bad".to_owned()))]).is_err());
    }
}
