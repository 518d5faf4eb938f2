//! The `fstore` binary, run as CI runs it: exit codes, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use fstore_registry::Registry;

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

fn fstore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fstore"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fstore-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn check_accepts_the_example_registry() {
    let out = fstore(&["check", ROOT_REGISTRY]);
    assert!(out.status.success(), "{}", stderr(&out));
    let registry = Registry::from_path(ROOT_REGISTRY).unwrap();
    assert_eq!(
        stdout(&out),
        format!(
            "{ROOT_REGISTRY}: ok (4 views, 20 features, fingerprint {})\n",
            registry.fingerprint()
        )
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_reports_every_problem_at_its_line_and_column() {
    let dir = TempDir::new();
    let path = dir.write(
        "features.toml",
        "[entities.user]\n\
         \n\
         [views.user_profile]\n\
         entity = \"usr\"\n\
         ttl = \"1w\"\n\
         \n\
         [views.user_profile.features]\n\
         age = \"integer\"\n\
         score = { type = \"flaot\" }\n",
    );
    let file = path.display().to_string();
    let out = fstore(&["check", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    let expected_at = [
        "4:10: view `user_profile` names unknown entity `usr`; did you mean `user`?",
        "5:7: invalid duration \"1w\"",
        "8:7: unknown type `integer` for feature `age`",
        "9:18: unknown type `flaot` for feature `score`",
    ];
    for (line, expected) in lines.iter().zip(expected_at) {
        assert!(
            line.starts_with(&format!("{file}:{expected}")),
            "expected `{file}:{expected}…`, got `{line}`\n{err}"
        );
    }
    assert_eq!(
        lines[3],
        format!(
            "{file}:9:18: unknown type `flaot` for feature `score` of view `user_profile`; \
             did you mean `float`? (types: int, float, string, bool, float_list)"
        )
    );
    assert_eq!(lines[4], format!("error: {file} has 4 problems"));
}

#[test]
fn every_command_fails_on_an_invalid_registry() {
    let dir = TempDir::new();
    let path = dir.write("broken.toml", "[views.v]\nentity = 1\n");
    let file = path.display().to_string();
    for command in ["check", "codegen", "fingerprint"] {
        let out = fstore(&[command, &file]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(stdout(&out), "", "{command}");
        let err = stderr(&out);
        let entity = format!("{file}:2:10: `entity` must be a string, found integer");
        assert!(err.lines().any(|l| l == entity), "{command}: {err}");
        assert!(
            err.ends_with(&format!("\nerror: {file} has 3 problems\n")),
            "{command}: {err}"
        );
    }
}

#[test]
fn a_missing_file_is_an_error_that_names_it() {
    let dir = TempDir::new();
    let missing = dir.0.join("features.toml");
    let file = missing.display().to_string();
    for command in ["check", "codegen", "fingerprint"] {
        let out = fstore(&[command, &file]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(stdout(&out), "", "{command}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: cannot read the registry {file}: ")),
            "{command}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{command}: {err}");
    }
}

#[test]
fn the_path_defaults_to_features_toml_in_the_current_directory() {
    let root = Path::new(ROOT_REGISTRY).parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fstore"))
        .arg("check")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("features.toml: ok (4 views"));
}

#[test]
fn codegen_prints_the_generated_structs() {
    let out = fstore(&["codegen", ROOT_REGISTRY]);
    assert!(out.status.success(), "{}", stderr(&out));
    let registry = Registry::from_path(ROOT_REGISTRY).unwrap();
    let code = stdout(&out);
    assert!(code.starts_with(&format!(
        "// @generated by `fstore codegen` from {ROOT_REGISTRY}; do not edit.\n\
         // Registry fingerprint: {}\n",
        registry.fingerprint()
    )));
    assert_eq!(code, fstore_cli::render(&registry, ROOT_REGISTRY));
}

#[test]
fn fingerprint_prints_sixteen_hex_digits() {
    let out = fstore(&["fingerprint", ROOT_REGISTRY]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let fingerprint = printed.strip_suffix('\n').unwrap();
    assert_eq!(fingerprint.len(), 16, "{printed:?}");
    assert!(
        fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{printed:?}"
    );
    assert_eq!(
        fingerprint,
        Registry::from_path(ROOT_REGISTRY).unwrap().fingerprint()
    );
}
