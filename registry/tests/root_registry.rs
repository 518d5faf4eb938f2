//! The repository's features.toml is valid and has the views the examples use. The test reads
//! `tests/fixtures/features.toml`, a copy inside this package so that the packaged crate's tests
//! run; `tests/packaging.rs` of the `fstore` crate checks that it equals the root's.

use fstore_registry::{FeatureType, Registry};

fn root() -> Registry {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/features.toml");
    Registry::from_path(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn root_registry_is_valid() {
    let r = root();
    let names: Vec<&str> = r.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "user_profile",
            "user_risk_profile",
            "user_activity",
            "item_stats"
        ]
    );
    let up = r.view("user_profile").unwrap();
    assert_eq!(up.ttl_seconds, 3600);
    let types: Vec<FeatureType> = up.features.iter().map(|f| f.ty).collect();
    for ty in FeatureType::ALL {
        assert!(types.contains(&ty), "user_profile lacks a {ty:?} feature");
    }
    assert!(up.features.len() >= 6);
    assert_eq!(r.view("user_risk_profile").unwrap().features.len(), 4);
    assert_eq!(r.view("user_activity").unwrap().features.len(), 4);
    assert_eq!(r.view("item_stats").unwrap().entity, "item");
    println!("{}", r.fingerprint());
}
