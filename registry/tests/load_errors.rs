//! A registry that cannot be loaded prints as `file:line:column: message` lines, with `Display`
//! and with `Debug` (which is what `main` prints for a returned error), and says where a
//! relative path was looked for.

use std::error::Error;

use fstore_registry::Registry;

#[test]
fn a_missing_file_prints_as_a_line_from_main() {
    let errors = Registry::from_path("missing.toml").unwrap_err();
    let display = errors.to_string();
    assert!(
        display.starts_with("missing.toml:1:1: cannot read the registry: "),
        "{display}"
    );
    let cwd = std::env::current_dir().unwrap();
    assert!(
        display.ends_with(&format!(
            "; the path is relative to the working directory {}",
            cwd.display()
        )),
        "{display}"
    );
    // `fn main() -> Result<(), Box<dyn Error>>` prints `Error: {:?}` of what `?` returned.
    let boxed: Box<dyn Error> = errors.clone().into();
    assert_eq!(format!("{boxed:?}"), display);
    assert!(
        format!("{errors:#?}").starts_with("Errors {"),
        "{errors:#?}"
    );
}

#[test]
fn an_absolute_path_is_named_as_given() {
    let path = std::env::temp_dir().join("fstore-no-such-registry.toml");
    let errors = Registry::from_path(&path).unwrap_err();
    assert_eq!(errors.diagnostics().len(), 1);
    let line = format!("{errors:?}");
    assert!(
        line.starts_with(&format!(
            "{}:1:1: cannot read the registry: ",
            path.display()
        )),
        "{line}"
    );
    assert!(!line.contains("working directory"), "{line}");
}

#[test]
fn an_invalid_file_prints_one_line_per_problem() {
    let dir = std::env::temp_dir().join(format!("fstore-load-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[views.x]\nentity = 1\nttl = \"1h\"\n[views.x.features]\nn = \"intt\"\n",
    )
    .unwrap();
    let errors = Registry::from_path(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = format!("{:?}", Box::<dyn Error>::from(errors.clone()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), errors.diagnostics().len(), "{text}");
    let prefix = path.display().to_string();
    assert!(
        lines[0].starts_with(&format!("{prefix}:2:10: `entity` must be a string")),
        "{text}"
    );
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{text}");
}
