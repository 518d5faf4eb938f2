//! Every crate of the workspace is ready for crates.io: the metadata crates.io and docs.rs show
//! (description, licence, readme, keywords, categories, documentation link), and a package that
//! carries both licence texts and its readme. `scripts/test` also runs `cargo package --workspace`,
//! which builds each package on its own.

mod cargo;

use std::path::Path;

use cargo::{cargo, root};

use serde_json::Value;

/// The workspace's own crates, as `cargo metadata` describes them.
fn members() -> Vec<Value> {
    let metadata: Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"])).unwrap();
    let members = metadata["packages"].as_array().unwrap().clone();
    assert_eq!(members.len(), 6, "the workspace has six crates");
    members
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// crates.io's category slugs that the workspace uses (https://crates.io/category_slugs).
const CATEGORIES: &[&str] = &[
    "asynchronous",
    "command-line-utilities",
    "database",
    "development-tools",
    "parser-implementations",
];

#[test]
fn every_crate_has_the_metadata_crates_io_shows() {
    let mut problems = Vec::new();
    for p in members() {
        let name = p["name"].as_str().unwrap();
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap();
        let mut problem = |what: String| problems.push(format!("{name}: {what}"));
        if p["description"].as_str().is_none_or(str::is_empty) {
            problem("no description".into());
        }
        if p["license"] != "MIT OR Apache-2.0" {
            problem(format!(
                "license is {}, not MIT OR Apache-2.0",
                p["license"]
            ));
        }
        match p["readme"].as_str() {
            Some(readme) if dir.join(readme).is_file() => {}
            readme => problem(format!("readme {readme:?} is not a file")),
        }
        let documentation = format!("https://docs.rs/{name}");
        if p["documentation"] != documentation.as_str() {
            problem(format!(
                "documentation is {}, not {documentation}",
                p["documentation"]
            ));
        }
        // There is no public repository yet: a made-up URL would send users nowhere.
        if !p["repository"].is_null() {
            problem(format!("repository {} is set", p["repository"]));
        }
        let keywords = strings(&p["keywords"]);
        if keywords.is_empty() || keywords.len() > 5 {
            problem(format!(
                "{} keywords (crates.io takes 1 to 5)",
                keywords.len()
            ));
        }
        for keyword in keywords {
            let valid = keyword.len() <= 20
                && keyword.starts_with(|c: char| c.is_ascii_alphabetic())
                && keyword
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                problem(format!("keyword {keyword:?} is not valid on crates.io"));
            }
        }
        let categories = strings(&p["categories"]);
        if categories.is_empty() {
            problem("no categories".into());
        }
        for category in categories {
            if !CATEGORIES.contains(&category) {
                problem(format!(
                    "category {category:?} is not one of {CATEGORIES:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn crates_with_features_are_documented_with_all_of_them() {
    for p in members() {
        let name = p["name"].as_str().unwrap();
        let has_features = p["features"]
            .as_object()
            .unwrap()
            .keys()
            .any(|f| f != "default");
        if has_features {
            assert_eq!(
                p["metadata"]["docs"]["rs"]["all-features"], true,
                "{name} has features: docs.rs must build it with all of them \
                 ([package.metadata.docs.rs] all-features = true)"
            );
        }
    }
}

#[test]
fn every_package_carries_both_licences_and_its_readme() {
    let mit = std::fs::read(root().join("LICENSE-MIT")).unwrap();
    let apache = std::fs::read(root().join("LICENSE-APACHE")).unwrap();
    assert!(String::from_utf8_lossy(&mit).contains("Copyright (c) The fstore developers"));
    assert!(String::from_utf8_lossy(&apache).contains("Apache License"));
    for p in members() {
        let name = p["name"].as_str().unwrap();
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_owned();
        // Each sub-crate carries a copy of the root's texts (plain files: a packaged crate and
        // every checkout then hold the text itself).
        assert_eq!(
            std::fs::read(dir.join("LICENSE-MIT")).unwrap(),
            mit,
            "{name}"
        );
        assert_eq!(
            std::fs::read(dir.join("LICENSE-APACHE")).unwrap(),
            apache,
            "{name}"
        );
        let list = cargo(&["package", "--list", "--allow-dirty", "-p", name]);
        let files: Vec<&str> = list.lines().collect();
        for file in ["LICENSE-MIT", "LICENSE-APACHE", "README.md", "Cargo.toml"] {
            assert!(
                files.contains(&file),
                "the {name} package lacks {file}: {files:?}"
            );
        }
        let outside: Vec<&&str> = files.iter().filter(|f| f.starts_with("..")).collect();
        assert!(outside.is_empty(), "{name}: {outside:?}");
    }
}

/// `fstore-registry` tests the repository's registry through a copy inside its package (so that
/// its packaged tests run): the copy is the root's file, byte for byte.
#[test]
fn the_registry_crate_tests_the_root_registry() {
    let copy = std::fs::read(root().join("registry/tests/fixtures/features.toml")).unwrap();
    let original = std::fs::read(root().join("features.toml")).unwrap();
    assert!(
        copy == original,
        "registry/tests/fixtures/features.toml differs from features.toml: copy it again \
         (`cp features.toml registry/tests/fixtures/features.toml`)"
    );
}
