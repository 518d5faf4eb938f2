//! Helpers the registry's validation suites share (`validate.rs`, `aggregations.rs`).

use fstore_registry::Registry;

/// The file name diagnostics are reported in.
pub const FILE: &str = "features.toml";

/// Every diagnostic of an invalid registry, one per line.
pub fn errors(src: &str) -> String {
    match Registry::parse(src, FILE) {
        Ok(r) => panic!("expected errors, but the registry parsed:\n{src}\n{r:#?}"),
        Err(e) => e.to_string(),
    }
}

/// A registry that must be valid.
pub fn parse_ok(src: &str) -> Registry {
    Registry::parse(src, FILE).unwrap_or_else(|e| panic!("{e}\n--- in ---\n{src}"))
}

/// `base` with `from` replaced by `to`; `from` must occur.
pub fn variant(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "`{from}` is not in the base registry");
    base.replacen(from, to, 1)
}
