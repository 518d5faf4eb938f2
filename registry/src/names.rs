//! Names: identifiers, keywords, PascalCase and "did you mean".

/// Rust keywords (strict and reserved, all editions): a feature named like one becomes a raw
/// identifier (`r#type`) in generated code.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers either.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// `true` when `name` is a Rust keyword that needs `r#` to be a field name.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Why `name` cannot be a Rust identifier (a struct or field name), if it cannot.
pub fn identifier_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some(format!(
            "`{name}` is not an identifier: use ASCII letters, digits and `_`, not starting with a digit"
        ));
    };
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(format!(
            "`{name}` is not an identifier: use ASCII letters, digits and `_`, not starting with a digit"
        ));
    }
    if NOT_RAW.contains(&name) {
        return Some(format!(
            "`{name}` is a Rust keyword that cannot be a field or struct name"
        ));
    }
    None
}

/// `user_profile` → `UserProfile`.
pub fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The candidate closest to `name`, when it is close enough to be a likely typo
/// (Jaro–Winkler similarity of at least 0.8, or one edit away; ignoring case).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let name = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let c_lower = c.to_lowercase();
            let score = strsim::jaro_winkler(&name, &c_lower);
            // One edit away is a typo even where Jaro–Winkler is low for short names (`tll`).
            let close = score >= 0.8
                || (name.chars().count() >= 3 && strsim::damerau_levenshtein(&name, &c_lower) <= 1);
            (if close { score } else { -1.0 }, c)
        })
        .filter(|(score, _)| *score >= 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" when a close match exists, else "expected one of `a`, `b`".
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(name, candidates.clone()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            match all.len() {
                0 => "there are none".to_owned(),
                1 => format!("expected {}", all[0]),
                _ => format!("expected one of {}", all.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(identifier_problem("age"), None);
        assert_eq!(identifier_problem("type"), None);
        assert!(is_keyword("type"));
        assert!(identifier_problem("2fa").is_some());
        assert!(identifier_problem("user-profile").is_some());
        assert!(identifier_problem("self").unwrap().contains("cannot be"));
    }

    #[test]
    fn pascal() {
        assert_eq!(pascal_case("user_profile"), "UserProfile");
        assert_eq!(pascal_case("item_stats_v2"), "ItemStatsV2");
        assert_eq!(pascal_case("user__profile"), "UserProfile");
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("agee", ["age", "segment"]), Some("age"));
        assert_eq!(did_you_mean("zzz", ["age", "segment"]), None);
        assert_eq!(
            suggestion("zzz", ["int", "float"]),
            "expected one of `int`, `float`"
        );
        assert_eq!(
            suggestion("flaot", ["int", "float"]),
            "did you mean `float`?"
        );
    }
}
