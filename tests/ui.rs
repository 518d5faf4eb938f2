//! Compile-time guarantees of `#[derive(FeatureView)]`: each misuse in `tests/ui/` is a compile
//! error on the wrong token (its `.stderr` beside it), each case in `tests/ui-pass/` compiles.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then read the
//! diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
