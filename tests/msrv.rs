//! The minimum supported Rust version is honest: every crate of the workspace declares the same
//! `rust-version`, and no package in the resolved dependency graph (all features, every platform,
//! dev- and build-dependencies included) declares a `rust_version` above it.
//!
//! What the code itself needs is checked by clippy, which reads `rust-version` as its MSRV: its
//! `incompatible_msrv` lint rejects any std API stabilised after it, and the edition rejects
//! language features that would need more (CHANGELOG.md, "Minimum supported Rust version").

mod cargo;

use serde_json::Value;

/// `cargo metadata` of the whole workspace, with every feature enabled.
fn metadata() -> Value {
    let json = cargo::cargo(&["metadata", "--format-version", "1", "--all-features"]);
    serde_json::from_str(&json).unwrap()
}

/// `"1.88"` or `"1.88.0"` as `(1, 88, 0)`.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|part| {
        part.parse::<u64>()
            .unwrap_or_else(|e| panic!("rust_version {text:?} is not a version: {e}"))
    });
    let major = parts.next().unwrap();
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    assert!(
        parts.next().is_none(),
        "rust_version {text:?} has more than three parts"
    );
    (major, minor, patch)
}

struct Package<'a> {
    name: &'a str,
    version: &'a str,
    rust_version: Option<&'a str>,
    member: bool,
}

fn packages(metadata: &Value) -> Vec<Package<'_>> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Package {
            name: p["name"].as_str().unwrap(),
            version: p["version"].as_str().unwrap(),
            rust_version: p["rust_version"].as_str(),
            member: members.contains(&p["id"].as_str().unwrap()),
        })
        .collect()
}

/// The root crate's `rust-version`, which the workspace's `[workspace.package]` also sets.
fn workspace_msrv(packages: &[Package<'_>]) -> &'static str {
    let root = packages
        .iter()
        .find(|p| p.member && p.name == env!("CARGO_PKG_NAME"))
        .expect("the root crate is a workspace member");
    let declared = root
        .rust_version
        .expect("the root crate declares a rust-version");
    assert_eq!(declared, env!("CARGO_PKG_RUST_VERSION"));
    env!("CARGO_PKG_RUST_VERSION")
}

#[test]
fn every_workspace_crate_declares_the_same_rust_version() {
    let metadata = metadata();
    let packages = packages(&metadata);
    let msrv = workspace_msrv(&packages);
    let members: Vec<&Package<'_>> = packages.iter().filter(|p| p.member).collect();
    assert_eq!(members.len(), 6, "the workspace has six crates");
    let different: Vec<String> = members
        .iter()
        .filter(|p| p.rust_version != Some(msrv))
        .map(|p| format!("{} declares {:?}", p.name, p.rust_version))
        .collect();
    assert!(
        different.is_empty(),
        "every crate must declare rust-version {msrv} (`rust-version.workspace = true`): {}",
        different.join(", ")
    );
}

#[test]
fn no_dependency_needs_a_newer_rust_than_the_declared_one() {
    let metadata = metadata();
    let packages = packages(&metadata);
    let msrv = workspace_msrv(&packages);
    let dependencies: Vec<&Package<'_>> = packages.iter().filter(|p| !p.member).collect();
    assert!(
        dependencies.len() > 50,
        "cargo metadata listed only {} dependencies",
        dependencies.len()
    );
    let mut above: Vec<String> = dependencies
        .iter()
        .filter_map(|p| {
            let needs = p.rust_version?;
            (version(needs) > version(msrv))
                .then(|| format!("{} {} needs {needs}", p.name, p.version))
        })
        .collect();
    above.sort();
    assert!(
        above.is_empty(),
        "the workspace declares rust-version {msrv}, but {} dependencies need more: {}.\n\
         Raise rust-version in [workspace.package] and [package] of Cargo.toml (and say so in \
         CHANGELOG.md), or hold the dependency back.",
        above.len(),
        above.join(", ")
    );
}

#[test]
fn the_msrv_is_the_highest_dependency_requirement() {
    // The declared MSRV is the lowest one allowed: today it is the `rust_version` of the most
    // demanding dependencies (`redis` among them), the code itself needing no more (clippy's
    // `incompatible_msrv`). If the code comes to need a newer Rust than every dependency, raise
    // rust-version and change this test to say why.
    let metadata = metadata();
    let packages = packages(&metadata);
    let msrv = workspace_msrv(&packages);
    let (highest, needs, name) = packages
        .iter()
        .filter(|p| !p.member)
        .filter_map(|p| p.rust_version.map(|v| (version(v), v, p.name)))
        .max()
        .unwrap();
    assert_eq!(
        version(msrv),
        highest,
        "rust-version {msrv} is not the highest rust_version among the dependencies ({name} \
         needs {needs}): set it to {needs} in [workspace.package] and [package] of Cargo.toml, \
         unless the code itself needs more"
    );
}
