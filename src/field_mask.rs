//! Update masks (AIP-134): the paths an Update request names. `*` alone
//! stands for every path the update may change (a full replacement of
//! them), a path named twice counts once, and a missing or empty mask is a
//! violation of `update_mask` that lists the paths there are. grpcurl's
//! JSON form (`"update_mask": "name,description"`) arrives as the same
//! paths: the JSON mapping of a FieldMask is a comma-separated string.

use std::collections::HashSet;

use crate::error::Violations;

/// The mask path that stands for every updatable path.
pub const EVERY_PATH: &str = "*";

/// The paths of `mask` for an update whose changeable paths are
/// `updatable`, each once and in the order named (`*` becomes `updatable`
/// in its order). Problems go into `violations` as `update_mask`; the
/// paths are then checked one by one by the caller, which reports an
/// unknown or immutable one in its own words.
pub fn paths(
    mask: Option<&prost_types::FieldMask>,
    updatable: &[&'static str],
    violations: &mut Violations,
) -> Vec<String> {
    let named = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if named.is_empty() {
        violations.add(
            "update_mask",
            format!(
                "must name the fields to change ({}), or `*` for all of them",
                updatable.join(", ")
            ),
        );
        return Vec::new();
    }
    if named.iter().any(|path| path == EVERY_PATH) {
        if named.len() > 1 {
            violations.add(
                "update_mask",
                "`*` stands alone: it already means every field",
            );
            return Vec::new();
        }
        return updatable.iter().map(|path| (*path).to_owned()).collect();
    }
    let mut seen = HashSet::with_capacity(named.len());
    named
        .iter()
        .filter(|path| seen.insert(path.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    const UPDATABLE: &[&str] = &["name", "description"];

    #[test]
    fn a_star_means_every_updatable_path_and_repeats_count_once() {
        let mut violations = Violations::new();
        assert_eq!(
            paths(mask(&["*"]).as_ref(), UPDATABLE, &mut violations),
            UPDATABLE
        );
        assert_eq!(
            paths(
                mask(&["description", "name", "description"]).as_ref(),
                UPDATABLE,
                &mut violations
            ),
            ["description", "name"]
        );
        assert!(violations.finish().is_ok());
    }

    #[test]
    fn no_mask_or_a_star_with_company_is_a_violation_naming_the_paths() {
        for bad in [None, mask(&[]), mask(&["*", "name"])] {
            let mut violations = Violations::new();
            assert!(paths(bad.as_ref(), UPDATABLE, &mut violations).is_empty());
            let error = violations.finish().expect_err("refused");
            assert_eq!(error.violations[0].field, "update_mask");
        }
        let mut violations = Violations::new();
        paths(None, UPDATABLE, &mut violations);
        let error = violations.finish().expect_err("refused");
        assert!(
            error.violations[0]
                .description
                .contains("name, description")
        );
    }
}
