//! Diagnostics: every error of a registry, each at its file:line:column.

use std::fmt;

/// A 1-based line and column (in characters) in the registry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `source`.
    pub fn of_offset(source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }
}

/// One problem in a registry file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as it was named to the parser, such as `features.toml`.
    pub file: String,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong and what to do, lowercase, names in backticks.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.location.line, self.location.column, self.message
        )
    }
}

/// Every problem found in a registry file, in file order; never empty.
///
/// Both `Display` and `Debug` print one `file:line:column: message` line per problem, so that
/// `Registry::from_path("features.toml")?` in a `main` returning `Result<(), Box<dyn Error>>`
/// prints `Error: features.toml:1:1: cannot read the registry: …` rather than a dump of this
/// struct. `{:#?}` shows the struct.
#[derive(Clone, PartialEq, Eq)]
pub struct Errors {
    diagnostics: Vec<Diagnostic>,
}

impl Errors {
    pub(crate) fn new(mut diagnostics: Vec<Diagnostic>) -> Errors {
        diagnostics.sort_by_key(|d| d.location);
        // Names from the file are quoted verbatim; a control character in one (a quoted key
        // holding `\n`) must not split a diagnostic over several lines.
        for d in &mut diagnostics {
            if d.message.contains(char::is_control) {
                d.message = d
                    .message
                    .chars()
                    .flat_map(|c| {
                        let escaped: Vec<char> = if c.is_control() {
                            c.escape_debug().collect()
                        } else {
                            vec![c]
                        };
                        escaped
                    })
                    .collect();
            }
        }
        Errors { diagnostics }
    }

    /// The diagnostics, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for Errors {
    /// One diagnostic per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Errors {
    /// As `Display`: `main` prints a returned error with `Debug`. `{:#?}` shows the fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.debug_struct("Errors")
                .field("diagnostics", &self.diagnostics)
                .finish()
        } else {
            fmt::Display::fmt(self, f)
        }
    }
}

impl std::error::Error for Errors {}

#[cfg(test)]
mod tests {
    use super::{Diagnostic, Errors, Location};

    #[test]
    fn control_characters_in_names_are_escaped() {
        let d = Diagnostic {
            file: "features.toml".into(),
            location: Location { line: 1, column: 1 },
            message: "unknown key `a\nb\t\u{1b}` in the registry".into(),
        };
        let errors = Errors::new(vec![d.clone(), d]);
        let text = errors.to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.starts_with(r"features.toml:1:1: unknown key `a\nb\t\u{1b}` in the registry"),
            "{text}"
        );
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(Location::of_offset(src, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of_offset(src, 6), Location { line: 2, column: 1 });
        // `é` is two bytes but one column.
        assert_eq!(Location::of_offset(src, 9), Location { line: 2, column: 3 });
        assert_eq!(
            Location::of_offset(src, 999),
            Location { line: 3, column: 1 }
        );
    }
}
