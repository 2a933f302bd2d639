//! The ErrorInfo reasons are a documented contract: the catalogue
//! (`src/reasons.rs` and the resource kinds of `src/resources.rs`), the
//! README's "Error reasons" table and the reasons written in the source
//! agree. (The hostile-input sweep checks that every RPC's errors carry a
//! catalogue reason with its code.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use atelier::reasons::REASONS;
use atelier::resources;

/// Upper-case string literals in src/ that are not reasons.
const NOT_REASONS: &[&str] = &[
    "AAAA",
    "ASCII",
    "CHECKPOINT",
    "DATABASE_URL",
    "HOME",
    "LC_ALL",
    "PATH",
    "PGDATA",
    "PG_VERSION",
    "UTF8",
    // The JSON start-up failure's level.
    "ERROR",
    // The `code` label of RPC metrics and log lines: gRPC code names, and
    // what an RPC that ended without a status is counted as.
    "ABORTED",
    "ALREADY_EXISTS",
    "CANCELLED",
    "DATA_LOSS",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "UNAUTHENTICATED",
    "UNAVAILABLE",
    "UNIMPLEMENTED",
    "UNKNOWN",
    "NO_STATUS",
    "STREAM_ERROR",
    "TRANSPORT_ERROR",
];

/// Every reason of the catalogue with the name of its code.
fn catalogue() -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = REASONS
        .iter()
        .map(|r| (r.reason.to_owned(), format!("{:?}", r.code)))
        .collect();
    for resource in resources::ALL {
        all.insert(resource.not_found.to_owned(), "NotFound".to_owned());
    }
    all
}

/// The README's table rows: `| `REASON` | Code | meaning |`.
fn readme_table() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Error reasons\n")
        .nth(1)
        .expect("README has an 'Error reasons' section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let reason = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((reason.to_owned(), (*cells.get(2)?).to_owned()))
        })
        .collect()
}

/// Upper-snake string literals of the source files under `dir`.
fn literals_in(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            literals_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if matches!(name, "reasons.rs" | "resources.rs" | "schema.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source file");
            for quoted in text.split('"').skip(1).step_by(2) {
                let upper_snake = quoted.len() >= 4
                    && quoted.starts_with(|c: char| c.is_ascii_uppercase())
                    && quoted
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if upper_snake && !quoted.starts_with("ATELIER_") {
                    found.insert(quoted.to_owned());
                }
            }
        }
    }
}

#[test]
fn the_readme_lists_every_reason_of_the_catalogue_with_its_code() {
    let catalogue = catalogue();
    let table = readme_table();
    if table != catalogue {
        let rows: String = REASONS
            .iter()
            .map(|r| format!("| `{}` | {:?} | {} |\n", r.reason, r.code, r.meaning))
            .chain(resources::ALL.iter().map(|r| {
                format!(
                    "| `{}` | NotFound | no such {} (ResourceInfo type `{}`) |\n",
                    r.not_found, r.name, r.proto_type
                )
            }))
            .collect();
        panic!("README's 'Error reasons' table differs from src/reasons.rs; its rows:\n{rows}");
    }
}

#[test]
fn every_reason_written_in_the_source_is_in_the_catalogue_and_every_one_is_used() {
    let mut literals = BTreeSet::new();
    literals_in(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut literals,
    );
    let catalogue = catalogue();
    let undocumented: Vec<&String> = literals
        .iter()
        .filter(|l| !catalogue.contains_key(*l) && !NOT_REASONS.contains(&l.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "reasons missing from src/reasons.rs: {undocumented:?}"
    );
    let unused: Vec<&&str> = REASONS
        .iter()
        .map(|r| &r.reason)
        .filter(|r| !literals.contains(**r))
        .collect();
    assert!(
        unused.is_empty(),
        "catalogue reasons no code uses: {unused:?}"
    );
}
