//! Fuzzing the registry parser (proptest): random text, random TOML-ish token soup, mutations of
//! the repository's `features.toml` (bit flips, deleted, duplicated and swapped lines, truncation,
//! inserted and replaced tokens) and generated registries with odd names and values never panic
//! `Registry::parse`.
//!
//! On every input that fails, the errors keep the documented promises (`diag.rs`, `lib.rs`): at
//! least one diagnostic, in file order, each `features.toml:line:column: message` with a 1-based
//! location inside the file and a non-empty lowercase message. On every input that parses, the
//! registry keeps the validator's documented rules, and `canonical`, `fingerprint` and
//! `fstore_codegen::generate` run without panicking: the fingerprint is 16 hex digits that do not
//! depend on the file name or comments, and the generated code names every view's struct and
//! every feature's field and lexes back as Rust tokens.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use fstore_registry::{
    identifier_problem, is_keyword, pascal_case, DefaultValue, Errors, FeatureType, Registry,
    MAX_BUCKETS_PER_WINDOW, MAX_GRANULARITIES,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const ROOT: &str = include_str!("../../features.toml");
const FILE: &str = "features.toml";

/// Runs `test` on `cases` values of `strategy`; no failure files are written.
fn check<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The checks every input goes through
// ---------------------------------------------------------------------------------------------

/// How many inputs parsed and how many failed, to show that a strategy reaches both.
#[derive(Default)]
struct Tally {
    ok: AtomicU32,
    err: AtomicU32,
}

impl Tally {
    fn assert_both(&self, what: &str) {
        let (ok, err) = (
            self.ok.load(Ordering::Relaxed),
            self.err.load(Ordering::Relaxed),
        );
        eprintln!("{what}: {ok} inputs parsed, {err} failed");
        assert!(
            ok > 0 && err > 0,
            "{what}: {ok} inputs parsed and {err} failed; the strategy should reach both"
        );
    }
}

/// Parses `source` (which must not panic) and checks the result.
fn parse_and_check(source: &str, tally: &Tally) -> Result<(), TestCaseError> {
    match Registry::parse(source, FILE) {
        Ok(registry) => {
            tally.ok.fetch_add(1, Ordering::Relaxed);
            check_registry(source, &registry)
        }
        Err(errors) => {
            tally.err.fetch_add(1, Ordering::Relaxed);
            check_errors(source, &errors)
        }
    }
}

/// Every diagnostic at a `features.toml:line:column` inside the file, in file order, with a
/// message ("what is wrong and what to do, lowercase").
fn check_errors(source: &str, errors: &Errors) -> Result<(), TestCaseError> {
    let diagnostics = errors.diagnostics();
    prop_assert!(!diagnostics.is_empty(), "an error without diagnostics");
    prop_assert!(
        diagnostics
            .windows(2)
            .all(|w| w[0].location <= w[1].location),
        "diagnostics out of file order: {}",
        errors
    );
    // Lines as `Location` counts them: separated by `\n`, columns in characters.
    let lines: Vec<&str> = source.split('\n').collect();
    for d in diagnostics {
        let (line, column) = (d.location.line, d.location.column);
        prop_assert_eq!(&d.file, FILE);
        prop_assert!(line >= 1 && column >= 1, "{}", d);
        prop_assert!(
            line <= lines.len(),
            "line {} of {}: {}",
            line,
            lines.len(),
            d
        );
        let width = lines[line - 1].chars().count();
        prop_assert!(column <= width + 1, "column {} of {}: {}", column, width, d);
        prop_assert!(
            !d.message.trim().is_empty(),
            "an empty message at {}:{}",
            line,
            column
        );
        prop_assert!(
            !d.message.starts_with(|c: char| c.is_uppercase()),
            "not lowercase: {}",
            d
        );
        let shown = d.to_string();
        prop_assert!(
            shown.starts_with(&format!("{FILE}:{line}:{column}: ")),
            "{}",
            shown
        );
        prop_assert!(shown.ends_with(&d.message), "{}", shown);
        prop_assert!(errors.to_string().contains(&shown));
    }
    Ok(())
}

/// The validator's rules hold for a registry it accepted, and everything built from it works.
fn check_registry(source: &str, r: &Registry) -> Result<(), TestCaseError> {
    prop_assert_eq!(&r.file, FILE);
    prop_assert!(r.version >= 1);
    prop_assert!(
        !r.namespace.is_empty()
            && r.namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
        "namespace {:?}",
        r.namespace
    );
    prop_assert_eq!(
        r.key_namespace(),
        format!("{}:v{}:", r.namespace, r.version)
    );
    for e in &r.entities {
        prop_assert_eq!(identifier_problem(&e.name), None, "entity {:?}", e.name);
    }
    let mut structs: Vec<String> = Vec::new();
    for v in &r.views {
        prop_assert_eq!(identifier_problem(&v.name), None, "view {:?}", v.name);
        let pascal = pascal_case(&v.name);
        prop_assert_eq!(identifier_problem(&pascal), None, "struct of {:?}", v.name);
        prop_assert!(
            !structs.contains(&pascal),
            "two views generate `{}`",
            pascal
        );
        structs.push(pascal);
        prop_assert!(
            r.entity(&v.entity).is_some(),
            "view {} names {:?}",
            v.name,
            v.entity
        );
        prop_assert!(v.ttl_seconds >= 1, "view {}", v.name);
        prop_assert!(v.max_age_seconds.is_none_or(|s| s >= 1), "view {}", v.name);
        prop_assert!(!v.features.is_empty(), "view {} has no features", v.name);
        prop_assert_eq!(r.view(&v.name).map(|x| &x.name), Some(&v.name));
        for f in &v.features {
            let what = format!("{}.{}", v.name, f.name);
            prop_assert_eq!(identifier_problem(&f.name), None, "{}", what);
            prop_assert!(!f.name.starts_with('_'), "{} is reserved", what);
            prop_assert!(!(f.optional && f.default.is_some()), "{}", what);
            prop_assert!(
                f.len
                    .is_none_or(|n| n >= 1 && f.ty == FeatureType::FloatList),
                "{}",
                what
            );
            if let Some(vocab) = &f.vocab {
                prop_assert_eq!(f.ty, FeatureType::String, "{}", what);
                prop_assert!(!vocab.is_empty(), "{}", what);
                let mut sorted = vocab.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), vocab.len(), "{} repeats a vocab entry", what);
            }
            prop_assert_eq!(f.vocab.is_some(), f.encode.is_some(), "{}", what);
            let default_fits = matches!(
                (&f.default, f.ty),
                (None, _)
                    | (Some(DefaultValue::Int(_)), FeatureType::Int)
                    | (Some(DefaultValue::Float(_)), FeatureType::Float)
                    | (Some(DefaultValue::String(_)), FeatureType::String)
                    | (Some(DefaultValue::Bool(_)), FeatureType::Bool)
            );
            prop_assert!(default_fits, "{}: {:?} for {:?}", what, f.default, f.ty);
            prop_assert_eq!(v.feature(&f.name).map(|x| &x.name), Some(&f.name));
        }
    }

    for a in &r.aggregations {
        check_aggregation(r, a)?;
    }

    // The fingerprint: 16 hex digits of the schema only, not of the file name or comments.
    let canonical = r.canonical();
    prop_assert!(canonical.starts_with("namespace="), "{}", canonical);
    let fingerprint = r.fingerprint();
    prop_assert!(
        fingerprint.len() == 16 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        fingerprint
    );
    match Registry::parse(source, "elsewhere/other.toml") {
        Ok(other) => prop_assert_eq!(other.fingerprint(), fingerprint.clone()),
        Err(e) => prop_assert!(false, "valid as {} but not as another file: {}", FILE, e),
    }
    let commented = format!("{source}\n# a comment that changes nothing\n");
    match Registry::parse(&commented, FILE) {
        Ok(other) => prop_assert_eq!(other.fingerprint(), fingerprint.clone()),
        Err(e) => prop_assert!(false, "a trailing comment made it invalid: {}", e),
    }

    // The generated code: the fingerprint, one struct per view, one field per feature.
    let code = fstore_codegen::generate(r).to_string();
    prop_assert!(
        code.contains(&format!("REGISTRY_FINGERPRINT : & str = \"{fingerprint}\"")),
        "{}",
        code
    );
    for v in &r.views {
        prop_assert!(
            code.contains(&format!("pub struct {} ", pascal_case(&v.name))),
            "no struct for view {}",
            v.name
        );
        for f in &v.features {
            let raw = if is_keyword(&f.name) { "r#" } else { "" };
            prop_assert!(
                code.contains(&format!("pub {raw}{} :", f.name)),
                "no field for {}.{}",
                v.name,
                f.name
            );
        }
    }
    prop_assert!(
        proc_macro2::TokenStream::from_str(&code).is_ok(),
        "the generated code does not lex: {}",
        code
    );
    Ok(())
}

/// The validator's rules for an aggregation it accepted.
fn check_aggregation(r: &Registry, a: &fstore_registry::Aggregation) -> Result<(), TestCaseError> {
    let name = &a.name;
    prop_assert_eq!(identifier_problem(name), None, "aggregation {:?}", name);
    prop_assert_eq!(
        identifier_problem(&pascal_case(name)),
        None,
        "struct of {:?}",
        name
    );
    prop_assert!(
        r.view(name).is_none(),
        "aggregation {} is also a view",
        name
    );
    prop_assert!(
        r.entity(name).is_none(),
        "aggregation {} is also an entity",
        name
    );
    prop_assert!(
        r.entity(&a.entity).is_some(),
        "{} names {:?}",
        name,
        a.entity
    );
    prop_assert_eq!(r.aggregation(name).map(|x| &x.name), Some(name));
    let g = &a.granularity_ms;
    prop_assert!(
        !g.is_empty() && g.len() <= MAX_GRANULARITIES,
        "{}: {:?}",
        name,
        g
    );
    prop_assert!(
        g.iter().all(|&s| s >= 1_000 && s % 1_000 == 0),
        "{}: {:?}",
        name,
        g
    );
    prop_assert!(
        g.windows(2).all(|w| w[1] > w[0] && w[1] % w[0] == 0),
        "{}: {:?}",
        name,
        g
    );
    for e in &a.event {
        prop_assert_eq!(identifier_problem(&e.name), None, "{}.{}", name, e.name);
        prop_assert!(!e.name.starts_with('_'), "{}.{} is reserved", name, e.name);
        prop_assert!(e.ty != FeatureType::FloatList, "{}.{}", name, e.name);
    }
    prop_assert!(
        !a.features.is_empty(),
        "aggregation {} has no features",
        name
    );
    for f in &a.features {
        let what = format!("{name}.{}", f.name);
        prop_assert_eq!(identifier_problem(&f.name), None, "{}", what);
        prop_assert!(!f.name.starts_with('_'), "{} is reserved", what);
        prop_assert_eq!(f.of.is_some(), f.function.takes_of(), "{}", what);
        if let Some(of) = &f.of {
            let field = a.event_field(of);
            prop_assert!(
                field.is_some_and(|e| f.function.accepts(e.ty)),
                "{} reads {:?}",
                what,
                of
            );
        }
        let max = u64::from(MAX_BUCKETS_PER_WINDOW);
        let best = g
            .iter()
            .copied()
            .find(|&s| f.window_ms % s == 0 && f.window_ms / s <= max);
        prop_assert_eq!(Some(f.resolution_ms), best, "{}", what);
        prop_assert_eq!(
            f.window_ms,
            f.resolution_ms * u64::from(f.buckets),
            "{}",
            what
        );
        prop_assert!(
            f.buckets >= 1 && f.buckets <= MAX_BUCKETS_PER_WINDOW,
            "{}",
            what
        );
        prop_assert!(
            a.retention_buckets(f.resolution_ms) >= f.buckets,
            "{}",
            what
        );
        prop_assert_eq!(a.feature(&f.name).map(|x| &x.name), Some(&f.name));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) Random text
// ---------------------------------------------------------------------------------------------

/// Pieces of TOML and of registries: punctuation, strings with escapes, numbers at and past
/// every limit, dates, keywords, names, whole lines.
const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    ".",
    ",",
    "{",
    "}",
    "\n",
    " ",
    "\t",
    "#",
    "\\",
    "\r\n",
    "\r",
    "\u{0}",
    "\u{feff}",
    "0",
    "-1",
    "1",
    "+1",
    "1e400",
    "-0.0",
    "nan",
    "-nan",
    "+inf",
    "-inf",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "0x10",
    "0xFFFFFFFFFFFFFFFFFF",
    "0o7",
    "0b1",
    "1_000",
    "1__0",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "true",
    "false",
    "é",
    "🦀",
    "\"\\u0000\"",
    "\"\\n\"",
    "\"a\\nb\"",
    "\"\\uD800\"",
    "\"\\U0010FFFF\"",
    "\"\\x\"",
    "views",
    "entities",
    "store",
    "features",
    "user",
    "item",
    "type",
    "\"int\"",
    "\"float\"",
    "\"string\"",
    "\"bool\"",
    "\"float_list\"",
    "\"integer\"",
    "len",
    "vocab",
    "default",
    "optional",
    "encode",
    "encoding",
    "\"json\"",
    "\"f32le\"",
    "\"onehot\"",
    "\"index\"",
    "ttl",
    "\"1h\"",
    "\"0s\"",
    "\"99999999999999999999d\"",
    "max_age",
    "namespace",
    "version",
    "description",
    "self",
    "Self",
    "crate",
    "r#type",
    "_x",
    "1x",
    "[views.x]",
    "[views.x.features]",
    "[entities.x]",
    "[store]",
    "[[views]]",
    "x = \"int\"",
    "x = { type = \"float_list\", len = 0 }",
    "aggregations",
    "granularity",
    "window",
    "fn",
    "of",
    "event",
    "\"count\"",
    "\"sum\"",
    "\"last\"",
    "\"distinct\"",
    "\"1m\"",
    "\"7d\"",
    "\"500ms\"",
    "[\"1m\", \"1h\"]",
    "[aggregations.x]",
    "[aggregations.x.event]",
    "[aggregations.x.features]",
    "x = { fn = \"count\", window = \"1h\" }",
    "x = { fn = \"sum\", of = \"x\", window = \"24h\" }",
    "= {",
    "[]",
    "{}",
    "\"\"",
    "''",
];

fn token_soup() -> impl Strategy<Value = String> {
    vec(select(TOKENS), 0..80).prop_map(|t| t.concat())
}

#[test]
fn random_text_never_panics() {
    let tally = Tally::default();
    let text = prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..200).prop_map(String::from_iter),
        token_soup(),
    ];
    check(3000, text, |source| parse_and_check(&source, &tally));
    assert!(
        tally.err.load(Ordering::Relaxed) > 0,
        "random text always parsed"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Mutations of the real features.toml
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    /// Flips one bit of one byte (an invalid UTF-8 result is read lossily).
    FlipBit(Index, u8),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Truncates at a character boundary.
    Truncate(Index),
    /// Inserts a token at a character boundary.
    Insert(Index, String),
    /// Replaces up to `n` characters with a token.
    Replace(Index, usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        4 => select(TOKENS).prop_map(str::to_owned),
        1 => vec(any::<char>(), 0..4).prop_map(String::from_iter),
        1 => token_soup(),
    ];
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        4 => (any::<Index>(), token.clone()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        3 => (any::<Index>(), 1usize..12, token).prop_map(|(i, n, t)| Mutation::Replace(i, n, t)),
    ]
}

/// The character boundary at or before `index` of `s`.
fn boundary(s: &str, index: &Index) -> usize {
    let mut i = index.index(s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(source: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = source.split_inclusive('\n').collect();
    match m {
        Mutation::FlipBit(at, bit) => {
            let mut bytes = source.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::DeleteLine(at) if !lines.is_empty() => {
            lines.remove(at.index(lines.len()));
            lines.concat()
        }
        Mutation::DuplicateLine(at) if !lines.is_empty() => {
            let i = at.index(lines.len());
            lines.insert(i, lines[i]);
            lines.concat()
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let n = lines.len();
            lines.swap(a.index(n), b.index(n));
            lines.concat()
        }
        Mutation::Truncate(at) => source[..boundary(source, at)].to_owned(),
        Mutation::Insert(at, token) => {
            let i = boundary(source, at);
            format!("{}{token}{}", &source[..i], &source[i..])
        }
        Mutation::Replace(at, n, token) => {
            let i = boundary(source, at);
            let end = source[i..]
                .char_indices()
                .nth(*n)
                .map_or(source.len(), |(j, _)| i + j);
            format!("{}{token}{}", &source[..i], &source[end..])
        }
        _ => source.to_owned(),
    }
}

#[test]
fn the_real_registry_parses() {
    // The base of the mutations is valid: mutations start from a registry that parses.
    let tally = Tally::default();
    parse_and_check(ROOT, &tally).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tally.ok.load(Ordering::Relaxed),
        1,
        "features.toml does not parse"
    );
}

#[test]
fn mutated_features_toml_never_panics() {
    let tally = Tally::default();
    check(3000, vec(mutation(), 1..6), |mutations| {
        let mut source = ROOT.to_owned();
        for m in &mutations {
            source = apply(&source, m);
        }
        parse_and_check(&source, &tally)
    });
    tally.assert_both("mutations of features.toml");
}

// ---------------------------------------------------------------------------------------------
// (c) Generated registries: well-formed TOML, odd names and values
// ---------------------------------------------------------------------------------------------

/// `s` as a TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name: usually an identifier, sometimes a keyword, a reserved, prelude-shadowing or
/// non-identifier name, or any text.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z][a-z0-9_]{0,8}",
        2 => select(&[
            "type", "match", "self", "Self", "crate", "super", "_", "_x", "x_", "__", "a__b",
            "string", "option", "vec", "Vec", "String", "Option", "r#x", "1x", "é", "a-b", "a.b",
            "gen", "try", "async", "dyn", "union", "REGISTRY_FINGERPRINT", "user", "_updated_at",
        ][..])
        .prop_map(str::to_owned),
        1 => vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

const TEXT_CHARS: &[char] = &[
    '"', '\\', '\n', '\r', '\t', '\0', '`', '#', '*', '/', ' ', 'é', '🦀', 'a',
];

/// Text for descriptions, vocabularies and string defaults: unicode, quotes, newlines, controls.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ]{0,12}",
        2 => vec(select(TEXT_CHARS), 0..12)
        .prop_map(String::from_iter),
        1 => vec(any::<char>(), 0..12).prop_map(String::from_iter),
    ]
}

fn integer() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<i64>().prop_map(|i| i.to_string()),
        2 => (0i64..20).prop_map(|i| i.to_string()),
        1 => select(&[
            "99999999999999999999", "-9223372036854775808", "9223372036854775807", "4294967295",
            "4294967296", "0x10", "0x7FFFFFFFFFFFFFFF", "0o777", "0b101", "1_000", "+7", "-0",
        ][..])
        .prop_map(str::to_owned),
    ]
}

fn float() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<f64>().prop_map(|x| format!("{x:?}")),
        1 => select(&[
            "nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e400", "-1e400", "1e-400", "-0.0",
            "0.0", "6.02e23", "1_000.5", "3.14",
        ][..])
        .prop_map(str::to_owned),
    ]
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(&["\"1h\"", "\"30s\"", "\"15m\"", "\"7d\"", "3600", "\"45\""][..])
            .prop_map(str::to_owned),
        2 => "[0-9]{1,4}[smhd]?".prop_map(|d| quoted(&d)),
        1 => select(&[
            "\"0s\"", "0", "-1", "\"1.5h\"", "\"1 h\"", "\"h\"", "\" 2d \"",
            "\"99999999999999999999d\"", "\"213503982334601d\"", "1e3", "true", "0x10",
        ][..])
        .prop_map(str::to_owned),
        1 => integer(),
    ]
}

/// A value of some type, usually `ty`'s.
fn value_like(ty: &'static str) -> BoxedStrategy<String> {
    let own: BoxedStrategy<String> = match ty {
        "int" => integer().boxed(),
        "float" => prop_oneof![float(), integer()].boxed(),
        "string" => text().prop_map(|t| quoted(&t)).boxed(),
        "bool" => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        _ => vec(float(), 0..3)
            .prop_map(|v| format!("[{}]", v.join(", ")))
            .boxed(),
    };
    prop_oneof![
        6 => own,
        1 => integer(),
        1 => float(),
        1 => text().prop_map(|t| quoted(&t)),
        1 => any::<bool>().prop_map(|b| b.to_string()),
    ]
    .boxed()
}

const TYPES: &[&str] = &["int", "float", "string", "bool", "float_list"];

/// One feature line: the short form, or a table with some of the feature keys.
fn feature() -> impl Strategy<Value = String> {
    let ty = prop_oneof![
        12 => select(TYPES),
        1 => select(&["integer", "Int", "list", ""][..]),
    ];
    (name(), ty).prop_flat_map(|(feature, ty)| {
        let key = quoted(&feature);
        let short = Just(format!("{key} = {}", quoted(ty)));
        let vocab = vec(text(), 0..4).prop_map(|v| {
            let items: Vec<String> = v.iter().map(|s| quoted(s)).collect();
            format!("[{}]", items.join(", "))
        });
        let parts = (
            prop::option::weighted(0.3, text().prop_map(|t| quoted(&t))),
            prop::option::weighted(0.3, value_like(ty)),
            prop::option::weighted(
                0.2,
                prop_oneof![4 => any::<bool>().prop_map(|b| b.to_string()), 1 => integer()],
            ),
            prop::option::weighted(if ty == "float_list" { 0.7 } else { 0.05 }, integer()),
            prop::option::weighted(if ty == "string" { 0.4 } else { 0.05 }, vocab),
            prop::option::weighted(
                0.2,
                select(&["\"onehot\"", "\"index\"", "\"binary\"", "1"][..]),
            ),
            prop::option::weighted(0.05, name()),
            prop::option::weighted(
                if ty == "float_list" { 0.4 } else { 0.05 },
                select(&["\"json\"", "\"f32le\"", "\"f32\"", "1"][..]),
            ),
        );
        let table = parts.prop_map(
            move |(description, default, optional, len, vocab, encode, unknown, encoding)| {
                let mut items = vec![format!("type = {}", quoted(ty))];
                let mut add = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        items.push(format!("{k} = {v}"));
                    }
                };
                add("description", description);
                add("default", default);
                add("optional", optional);
                add("len", len);
                add("vocab", vocab);
                add("encode", encode.map(str::to_owned));
                add("encoding", encoding.map(str::to_owned));
                if let Some(u) = unknown {
                    items.push(format!("{} = 1", quoted(&u)));
                }
                format!("{key} = {{ {} }}", items.join(", "))
            },
        );
        prop_oneof![1 => short, 2 => table]
    })
}

#[derive(Clone, Debug)]
struct ViewSpec {
    name: String,
    entity: Option<usize>,
    ttl: Option<String>,
    max_age: Option<String>,
    description: Option<String>,
    features: Vec<String>,
}

fn view() -> impl Strategy<Value = ViewSpec> {
    (
        name(),
        prop::option::weighted(0.95, 0usize..4),
        prop::option::weighted(0.95, duration()),
        prop::option::weighted(0.2, duration()),
        prop::option::weighted(0.3, text()),
        vec(feature(), 0..6),
    )
        .prop_map(
            |(name, entity, ttl, max_age, description, features)| ViewSpec {
                name,
                entity,
                ttl,
                max_age,
                description,
                features,
            },
        )
}

#[derive(Clone, Debug)]
struct AggregationSpec {
    name: String,
    entity: Option<usize>,
    granularity: Option<String>,
    event: Vec<String>,
    features: Vec<String>,
}

/// A bucket size of `granularity`, or sometimes something else.
fn bucket_size() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(&["\"1s\"", "\"10s\"", "\"1m\"", "\"5m\"", "\"1h\"", "\"3h\"", "\"1d\"", "60"][..])
            .prop_map(str::to_owned),
        1 => duration(),
        1 => select(&["\"500ms\"", "\"0s\"", "\"90m\"", "true", "[]"][..]).prop_map(str::to_owned),
    ]
}

/// The event fields of generated aggregations, usually a subset of these four.
const EVENT_FIELDS: &[&str] = &[
    "amount = \"float\"",
    "n = \"int\"",
    "merchant = { type = \"string\", description = \"Merchant\" }",
    "flag = \"bool\"",
];

/// One aggregation feature: usually a function over a field it can read (of [`EVENT_FIELDS`]),
/// sometimes any function over any name, or a table missing a key.
fn aggregation_feature() -> impl Strategy<Value = String> {
    let valid = select(
        &[
            ("count", None),
            ("sum", Some("amount")),
            ("sum", Some("n")),
            ("avg", Some("amount")),
            ("min", Some("n")),
            ("max", Some("amount")),
            ("last", Some("merchant")),
            ("last", Some("flag")),
            ("distinct", Some("merchant")),
            ("distinct", Some("n")),
        ][..],
    )
    .prop_map(|(f, of)| (Some(f.to_owned()), of.map(str::to_owned)));
    let any_pair = (
        prop::option::weighted(
            0.9,
            prop_oneof![
                4 => select(&["count", "sum", "avg", "min", "max", "last", "distinct"][..])
                    .prop_map(str::to_owned),
                1 => select(&["cnt", "Count", "median", ""][..]).prop_map(str::to_owned),
            ],
        ),
        prop::option::weighted(
            0.7,
            prop_oneof![
                3 => select(&["amount", "n", "merchant", "flag"][..]).prop_map(str::to_owned),
                1 => name(),
            ],
        ),
    );
    let pair = prop_oneof![6 => valid, 1 => any_pair];
    let window = prop_oneof![
        8 => select(&["\"1m\"", "\"10m\"", "\"1h\"", "3600"][..]).prop_map(str::to_owned),
        2 => select(&["\"24h\"", "\"7d\"", "\"90s\"", "\"30s\"", "\"67m\""][..])
            .prop_map(str::to_owned),
        1 => duration(),
    ];
    (
        name(),
        pair,
        prop::option::weighted(0.95, window),
        prop::option::weighted(0.1, text()),
        prop::option::weighted(0.03, name()),
    )
        .prop_map(|(feature, (function, of), window, description, unknown)| {
            let mut items = Vec::new();
            if let Some(f) = function {
                items.push(format!("fn = {}", quoted(&f)));
            }
            if let Some(of) = of {
                items.push(format!("of = {}", quoted(&of)));
            }
            if let Some(w) = window {
                items.push(format!("window = {w}"));
            }
            if let Some(d) = description {
                items.push(format!("description = {}", quoted(&d)));
            }
            if let Some(u) = unknown {
                items.push(format!("{} = 1", quoted(&u)));
            }
            format!("{} = {{ {} }}", quoted(&feature), items.join(", "))
        })
}

fn aggregation() -> impl Strategy<Value = AggregationSpec> {
    let granularity = prop_oneof![
        4 => select(&["\"1m\"", "[\"1m\", \"1h\"]", "[\"10s\", \"1m\", \"1h\", \"1d\"]", "[60]"][..])
            .prop_map(str::to_owned),
        1 => bucket_size(),
        1 => vec(bucket_size(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
    ];
    let all_fields: Vec<String> = EVENT_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    let event = prop_oneof![
        4 => Just(all_fields),
        2 => prop::sample::subsequence(EVENT_FIELDS, 0..=EVENT_FIELDS.len())
            .prop_map(|fields| fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>()),
        1 => vec(
            (name(), select(TYPES)).prop_map(|(n, t)| format!("{} = {}", quoted(&n), quoted(t))),
            0..3,
        ),
    ];
    (
        name(),
        prop::option::weighted(0.95, prop_oneof![4 => Just(0usize), 1 => 0usize..4]),
        prop::option::weighted(0.95, granularity),
        event,
        prop_oneof![1 => Just(Vec::new()), 8 => vec(aggregation_feature(), 1..4)],
    )
        .prop_map(
            |(name, entity, granularity, event, features)| AggregationSpec {
                name,
                entity,
                granularity,
                event,
                features,
            },
        )
}

/// The `[aggregations]` of a registry declaring `entities`.
fn aggregations_text(entities: &[&str], aggregations: &[AggregationSpec]) -> String {
    let mut out = String::new();
    for a in aggregations {
        let key = quoted(&a.name);
        out.push_str(&format!("\n[aggregations.{key}]\n"));
        if let Some(e) = a.entity {
            // Mostly a declared entity, sometimes an undeclared one.
            let entity = entities.get(e).copied().unwrap_or("ghost");
            out.push_str(&format!("entity = {}\n", quoted(entity)));
        }
        if let Some(g) = &a.granularity {
            out.push_str(&format!("granularity = {g}\n"));
        }
        out.push_str(&format!("\n[aggregations.{key}.event]\n"));
        for field in &a.event {
            out.push_str(field);
            out.push('\n');
        }
        out.push_str(&format!("\n[aggregations.{key}.features]\n"));
        for f in &a.features {
            out.push_str(f);
            out.push('\n');
        }
    }
    out
}

/// A registry file: an optional `[store]`, entities, then views with their features, then
/// aggregations.
fn registry_text() -> impl Strategy<Value = String> {
    let store = prop::option::weighted(
        0.3,
        (
            prop::option::of(prop_oneof![
                4 => "[a-z][a-z0-9_.-]{0,6}".prop_map(|s| quoted(&s)),
                1 => text().prop_map(|t| quoted(&t)),
            ]),
            prop::option::of(integer()),
        ),
    );
    let entities = vec((name(), prop::option::weighted(0.3, text())), 1..3);
    let aggregations = vec(aggregation(), 0..3);
    (store, entities, vec(view(), 0..4), aggregations).prop_map(
        |(store, entities, views, aggregations)| {
            let mut out = String::new();
            if let Some((namespace, version)) = store {
                out.push_str("[store]\n");
                if let Some(ns) = namespace {
                    out.push_str(&format!("namespace = {ns}\n"));
                }
                if let Some(v) = version {
                    out.push_str(&format!("version = {v}\n"));
                }
            }
            for (name, description) in &entities {
                out.push_str(&format!("\n[entities.{}]\n", quoted(name)));
                if let Some(d) = description {
                    out.push_str(&format!("description = {}\n", quoted(d)));
                }
            }
            for v in &views {
                let key = quoted(&v.name);
                out.push_str(&format!("\n[views.{key}]\n"));
                if let Some(e) = v.entity {
                    // Mostly a declared entity, sometimes an undeclared one.
                    let entity = entities.get(e).map_or("ghost", |(n, _)| n.as_str());
                    out.push_str(&format!("entity = {}\n", quoted(entity)));
                }
                if let Some(ttl) = &v.ttl {
                    out.push_str(&format!("ttl = {ttl}\n"));
                }
                if let Some(max_age) = &v.max_age {
                    out.push_str(&format!("max_age = {max_age}\n"));
                }
                if let Some(d) = &v.description {
                    out.push_str(&format!("description = {}\n", quoted(d)));
                }
                out.push_str(&format!("\n[views.{key}.features]\n"));
                for f in &v.features {
                    out.push_str(f);
                    out.push('\n');
                }
            }
            let names: Vec<&str> = entities.iter().map(|(n, _)| n.as_str()).collect();
            out.push_str(&aggregations_text(&names, &aggregations));
            out
        },
    )
}

/// Registries of one entity and some aggregations: most of them valid, so that the rules of
/// valid aggregations are checked too.
#[test]
fn generated_aggregations_never_panic() {
    let tally = Tally::default();
    let with_aggregations = AtomicU32::new(0);
    check(1000, vec(aggregation(), 1..3), |aggregations| {
        let source = format!(
            "[entities.user]\n{}",
            aggregations_text(&["user"], &aggregations)
        );
        if Registry::parse(&source, FILE).is_ok_and(|r| !r.aggregations.is_empty()) {
            with_aggregations.fetch_add(1, Ordering::Relaxed);
        }
        parse_and_check(&source, &tally)
    });
    tally.assert_both("generated aggregations");
    assert!(
        with_aggregations.load(Ordering::Relaxed) > 0,
        "no generated aggregation was valid"
    );
}

#[test]
fn generated_registries_never_panic() {
    let tally = Tally::default();
    check(2000, registry_text(), |source| {
        parse_and_check(&source, &tally)
    });
    tally.assert_both("generated registries");
}

// ---------------------------------------------------------------------------------------------
// (d) Names and values that end up in messages
// ---------------------------------------------------------------------------------------------

/// `name` (a TOML basic string) in every place whose text a diagnostic can quote.
fn in_every_place(q: &str) -> Vec<String> {
    const VIEW: &str = "[entities.user]\n[views.v]\nentity = \"user\"\nttl = \"1h\"\n";
    let view = |features: &str| format!("{VIEW}[views.v.features]\n{features}\n");
    vec![
        format!("{q} = 1\n"),
        format!("[store]\nnamespace = {q}\n{q} = 1\n"),
        format!("[entities.{q}]\n"),
        format!("[entities.user]\n{q} = 1\n"),
        format!(
            "[entities.user]\n[views.{q}]\nentity = \"user\"\nttl = \"1h\"\n\
             [views.{q}.features]\na = \"int\"\n"
        ),
        format!(
            "[entities.user]\n[views.v]\nentity = {q}\nttl = {q}\nmax_age = {q}\n{q} = 1\n\
             [views.v.features]\na = \"int\"\n"
        ),
        view(&format!("{q} = \"int\"")),
        view(&format!("a = {q}")),
        view(&format!("a = {{ type = \"int\", {q} = 1 }}")),
        view(&format!("a = {{ type = {q} }}")),
        view(&format!(
            "a = {{ type = \"string\", vocab = [\"x\"], encode = {q} }}"
        )),
        view(&format!("a = {{ type = \"string\", vocab = [{q}, {q}] }}")),
        format!(
            "[entities.user]\n[aggregations.{q}]\nentity = {q}\ngranularity = [{q}, {q}]\n\
             {q} = 1\n[aggregations.{q}.event]\n{q} = {q}\nb = {{ type = {q}, {q} = 1 }}\n\
             [aggregations.{q}.features]\n{q} = {{ fn = {q}, of = {q}, window = {q}, {q} = 1 }}\n\
             c = {{ fn = \"sum\", of = {q}, window = \"1h\" }}\n"
        ),
    ]
}

/// `Errors` displays "one diagnostic per line" (diag.rs), whatever the names in the file.
#[test]
fn every_diagnostic_is_one_line() {
    let tally = Tally::default();
    let name = prop_oneof![
        vec(
            select(&['a', '_', '1', ' ', '`', '\n', '\r', '\t', 'é'][..]),
            0..6
        )
        .prop_map(String::from_iter),
        vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ];
    check(500, name, |name| {
        for source in in_every_place(&quoted(&name)) {
            parse_and_check(&source, &tally)?;
            if let Err(errors) = Registry::parse(&source, FILE) {
                let shown = errors.to_string();
                prop_assert_eq!(
                    shown.split('\n').count(),
                    errors.diagnostics().len(),
                    "not one diagnostic per line:\n{}\n--- in ---\n{}",
                    shown,
                    source
                );
            }
        }
        Ok(())
    });
    tally.assert_both("names in messages");
}
