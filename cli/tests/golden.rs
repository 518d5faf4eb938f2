//! The code generated from the example registry is checked in as `tests/golden/features.rs`.

use std::path::Path;

use fstore_registry::Registry;

/// `fstore codegen features.toml` for the root `features.toml` equals the checked-in
/// `tests/golden/features.rs` (which `tests/codegen_compiles.rs` of the `fstore` crate compiles
/// and runs).
///
/// After an intended change to the generator or to `features.toml`, regenerate it with
/// `UPDATE_GOLDEN=1 cargo test -p fstore-cli --test golden` and read the diff before committing.
#[test]
fn codegen_of_the_example_registry_matches_the_golden_file() {
    let registry =
        Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml")).unwrap();
    let rendered = fstore_cli::render(&registry, "features.toml");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/features.rs");
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
        "`fstore codegen features.toml` differs from {}; if the change is intended, regenerate \
         it with `UPDATE_GOLDEN=1 cargo test -p fstore-cli --test golden` and read the diff.\n\
         --- generated ---\n{rendered}",
        golden.display()
    );
}
