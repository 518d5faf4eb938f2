//! The code generated from the example registry is checked in as `tests/golden/features.rs`, and
//! the code generated from the aggregations fixture (`tests/fixtures/aggregations.toml` at the
//! repository's root) as `tests/golden/aggregations.rs`.

use std::path::Path;

use fstore_registry::Registry;

/// `fstore codegen` of the registry at `registry` (relative to the repository's root, and named
/// so in the header) equals the checked-in `tests/golden/{golden}`, or is written there with
/// `UPDATE_GOLDEN=1`.
fn check(registry: &str, golden: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let parsed = Registry::from_path(root.join(registry)).unwrap();
    let rendered = fstore_cli::render(&parsed, registry);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with `UPDATE_GOLDEN=1 cargo test -p fstore-cli --test golden`",
            golden.display()
        )
    });
    assert!(
        rendered == expected,
        "`fstore codegen {registry}` differs from {}; if the change is intended, regenerate \
         it with `UPDATE_GOLDEN=1 cargo test -p fstore-cli --test golden` and read the diff.\n\
         --- generated ---\n{rendered}",
        golden.display()
    );
}

/// `fstore codegen features.toml` for the root `features.toml` equals the checked-in
/// `tests/golden/features.rs` (which `tests/codegen_compiles.rs` of the `fstore` crate compiles
/// and runs).
///
/// After an intended change to the generator or to `features.toml`, regenerate it with
/// `UPDATE_GOLDEN=1 cargo test -p fstore-cli --test golden` and read the diff before committing.
#[test]
fn codegen_of_the_example_registry_matches_the_golden_file() {
    check("features.toml", "features.rs");
}

/// The typed aggregation structs `fstore codegen` prints for `tests/fixtures/aggregations.toml`
/// equal the checked-in `tests/golden/aggregations.rs` (which `tests/codegen_compiles.rs` of the
/// `fstore` crate compiles and runs). Regenerate it as the other.
#[test]
fn codegen_of_the_aggregations_fixture_matches_the_golden_file() {
    check("tests/fixtures/aggregations.toml", "aggregations.rs");
}
