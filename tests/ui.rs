//! Compile-time guarantees of `#[derive(FeatureView)]` and `fstore::registry!`: each misuse in
//! `tests/ui/` is a compile error on the wrong token (its `.stderr` beside it), each case in
//! `tests/ui-pass/` compiles and runs.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then read the
//! diff.

use std::path::{Path, PathBuf};

#[test]
fn ui() {
    install_registries();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}

/// trybuild compiles every case as part of one crate in `<target>/tests/trybuild/fstore/`, which
/// is then the cases' `CARGO_MANIFEST_DIR`: the registries the cases name must be there.
fn install_registries() {
    let exe = std::env::current_exe().unwrap();
    // <target>/debug/deps/ui-<hash>
    let target: PathBuf = exe.ancestors().nth(3).unwrap().to_path_buf();
    let project = target.join("tests").join("trybuild").join("fstore");
    std::fs::create_dir_all(&project).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/registry");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, project.join(path.file_name().unwrap())).unwrap();
    }
}
