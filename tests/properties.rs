//! Property tests (proptest) of the storage contract, each run on the embedded backend and on a
//! throwaway `valkey-server`:
//!
//! - every value of every feature type (all of `codec.rs`, `Option`s and `Vec<f32>` included)
//!   round-trips through `write`/`write_batch` and `read`/`read_batch`, is stored in the
//!   documented format, and overwrites (a `None` removes an earlier value);
//! - the dynamic `Value` API round-trips the same types, reads what typed views write and the
//!   reverse, and rejects a value of the wrong type or length without writing anything;
//! - arbitrary bytes stored in any field (by another writer) never panic a decoder — the typed
//!   `read`, the raw RESP decoder of `read_batch` (`fast.rs`) and feature vectors all return
//!   exactly what the codec says, or an error naming the key (or entity) and the field;
//! - arbitrary entity ids (unicode, `:`, `{`, `}`, spaces, control characters, integers)
//!   round-trip, give the key `prefix + id` (`prefix + {id}` in the hash-tag layout), never
//!   collide across views, versions or namespaces, and integer ids are their decimal text; the
//!   empty id is `Error::InvalidEntityId` everywhere and writes nothing.
//!
//! Floats: the codec writes every NaN as `nan`, so a NaN reads back as a NaN (its sign and payload
//! are not kept); every other `f64`/`f32` (`-0.0`, subnormals, infinities) reads back bit for bit.
//! `Vec<f32>` is stored as raw little-endian bytes, so its elements round-trip bit for bit, NaN
//! payloads included.

mod behaviour;
mod support;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use behaviour::{key_of, Harness};
use fstore::registry::Registry;
use fstore::{Error, FeatureValue, FeatureView, Features, KeyLayout, Store, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------------------------
// Harness: one runtime and one backend per test function, proptest driving it synchronously
// ---------------------------------------------------------------------------------------------

/// Cases of the properties that talk to a backend (a server round trip is ~50 µs).
const CASES: u32 = 128;
/// Cases of the decoder properties, whose inputs are cheap and whose space is larger.
const DECODER_CASES: u32 = 256;
/// Cases of the pure key property (no I/O).
const KEY_CASES: u32 = 2048;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Embedded,
    Valkey,
}

/// The store under test. `h` is declared first so that it is dropped before the runtime.
struct Env {
    h: Harness,
    rt: Runtime,
    /// Makes every case's ids unique, so that no case sees another's data.
    case: AtomicU64,
}

impl Env {
    fn new(backend: Backend) -> Env {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let h = match backend {
            Backend::Embedded => Harness::embedded(),
            Backend::Valkey => rt.block_on(Harness::valkey()),
        };
        Env {
            h,
            rt,
            case: AtomicU64::new(0),
        }
    }

    fn next_case(&self) -> u64 {
        self.case.fetch_add(1, Ordering::Relaxed)
    }
}

/// Runs `test` on `cases` values of `strategy`; no failure files are written.
fn check<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: fmt::Debug,
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

/// Counts which outcomes a property reached, to show that its strategy is not degenerate.
#[derive(Default)]
struct Reached(std::sync::Mutex<HashMap<&'static str, u32>>);

impl Reached {
    fn hit(&self, outcome: &'static str) {
        *self.0.lock().unwrap().entry(outcome).or_default() += 1;
    }

    fn assert_all(&self, outcomes: &[&str]) {
        let counts = self.0.lock().unwrap();
        eprintln!("outcomes: {counts:?}");
        for outcome in outcomes {
            assert!(
                counts.get(outcome).is_some_and(|n| *n > 0),
                "no case reached `{outcome}`: {counts:?}"
            );
        }
    }
}

/// `$name::embedded` and `$name::valkey`, each running `$body(backend)`.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn embedded() {
                super::$body(super::Backend::Embedded);
            }

            #[test]
            fn valkey() {
                super::$body(super::Backend::Valkey);
            }
        }
    };
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

/// Every type the codec supports, required and optional.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_every_type", ttl = "1h")]
struct EveryType {
    a_i64: i64,
    a_i32: i32,
    a_u32: u32,
    a_u64: u64,
    a_f64: f64,
    a_f32: f32,
    a_bool: bool,
    a_string: String,
    embedding: Vec<f32>,
    o_i64: Option<i64>,
    o_i32: Option<i32>,
    o_u32: Option<u32>,
    o_u64: Option<u64>,
    o_f64: Option<f64>,
    o_f32: Option<f32>,
    o_bool: Option<bool>,
    o_string: Option<String>,
    o_embedding: Option<Vec<f32>>,
}

/// Four views whose keys differ only in view name, version or namespace, all with the same
/// field, so that two (view, id) pairs sharing a key would overwrite each other.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h")]
struct IdsA {
    tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids.v", ttl = "1h")]
struct IdsB {
    tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h", version = 2)]
struct IdsC {
    tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h", namespace = "prop")]
struct IdsD {
    tag: String,
}

/// A vector over two views with every kind of column; `prop_vec_b` rows expire after an hour.
#[derive(fstore::FeatureVector, Debug, Clone)]
#[feature_vector(max_age(prop_vec_b = "1h"))]
struct PropVector {
    #[fstore(view = "prop_vec_a")]
    n: i64,
    #[fstore(view = "prop_vec_a")]
    small: Option<u32>,
    #[fstore(view = "prop_vec_a", default = 0.5)]
    x: f64,
    #[fstore(view = "prop_vec_a")]
    flag: bool,
    #[fstore(view = "prop_vec_a", vocab = ["a", "b", "c"])]
    cat: String,
    #[fstore(view = "prop_vec_b", vocab = ["x", "y"], encode = "index")]
    kind: Option<String>,
    #[fstore(view = "prop_vec_b", len = 2)]
    emb: Option<Vec<f32>>,
    #[fstore(view = "prop_vec_b", default = 1.5)]
    y: f32,
    #[fstore(view = "prop_vec_b", skip)]
    note: Option<String>,
}

/// The registry of the dynamic property: one feature of every type, a fixed-length list, a
/// default and an optional feature.
const DYNAMIC_REGISTRY: &str = r#"
[entities.thing]

[views.prop_dynamic]
entity = "thing"
ttl = "1h"

[views.prop_dynamic.features]
i = "int"
f = "float"
s = "string"
b = "bool"
e = "float_list"
e4 = { type = "float_list", len = 4 }
d = { type = "int", default = 7 }
o = { type = "string", optional = true }
"#;

/// The typed twin of `prop_dynamic`.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_dynamic", ttl = "1h")]
struct DynTyped {
    i: Option<i64>,
    f: Option<f64>,
    s: Option<String>,
    b: Option<bool>,
    e: Option<Vec<f32>>,
    e4: Option<Vec<f32>>,
    #[fstore(default = 7)]
    d: i64,
    o: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Comparison: floats by the codec's definition of a round trip
// ---------------------------------------------------------------------------------------------

/// A float as the codec round-trips it: any NaN, or exact bits.
#[derive(Clone, Debug, PartialEq)]
enum Float {
    NaN,
    Bits(u64),
}

fn f64c(x: f64) -> Float {
    if x.is_nan() {
        Float::NaN
    } else {
        Float::Bits(x.to_bits())
    }
}

fn f32c(x: f32) -> Float {
    if x.is_nan() {
        Float::NaN
    } else {
        Float::Bits(u64::from(x.to_bits()))
    }
}

/// A list's exact bits: lists are raw bytes, so even NaN payloads survive.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[allow(clippy::type_complexity)]
fn canon(
    r: &EveryType,
) -> (
    (i64, i32, u32, u64, Float, Float, bool, &str, Vec<u32>),
    (
        Option<i64>,
        Option<i32>,
        Option<u32>,
        Option<u64>,
        Option<Float>,
        Option<Float>,
        Option<bool>,
        Option<&str>,
        Option<Vec<u32>>,
    ),
) {
    (
        (
            r.a_i64,
            r.a_i32,
            r.a_u32,
            r.a_u64,
            f64c(r.a_f64),
            f32c(r.a_f32),
            r.a_bool,
            &r.a_string,
            bits(&r.embedding),
        ),
        (
            r.o_i64,
            r.o_i32,
            r.o_u32,
            r.o_u64,
            r.o_f64.map(f64c),
            r.o_f32.map(f32c),
            r.o_bool,
            r.o_string.as_deref(),
            r.o_embedding.as_deref().map(bits),
        ),
    )
}

#[allow(clippy::type_complexity)]
fn canon_opt(
    r: &Option<EveryType>,
) -> Option<(
    (i64, i32, u32, u64, Float, Float, bool, &str, Vec<u32>),
    (
        Option<i64>,
        Option<i32>,
        Option<u32>,
        Option<u64>,
        Option<Float>,
        Option<Float>,
        Option<bool>,
        Option<&str>,
        Option<Vec<u32>>,
    ),
)> {
    r.as_ref().map(canon)
}

/// A dynamic value compared by the codec's round trip.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Int(i64),
    Float(Float),
    Str(String),
    Bool(bool),
    List(Vec<u32>),
    Null,
}

fn vc(v: &Value) -> V {
    match v {
        Value::Int(i) => V::Int(*i),
        Value::Float(x) => V::Float(f64c(*x)),
        Value::String(s) => V::Str(s.clone()),
        Value::Bool(b) => V::Bool(*b),
        Value::FloatList(l) => V::List(bits(l)),
        Value::Null => V::Null,
        other => panic!("a value variant this test does not know: {other:?}"),
    }
}

fn features_c(f: &Features) -> Vec<(String, V)> {
    f.iter().map(|(n, v)| (n.to_owned(), vc(v))).collect()
}

/// Bytes shown as an escaped byte string in failure reports.
#[derive(Clone, PartialEq)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() > 200 {
            write!(
                f,
                "b\"{}\"… ({} bytes)",
                self.0[..200].escape_ascii(),
                self.0.len()
            )
        } else {
            write!(f, "b\"{}\"", self.0.escape_ascii())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

const SPECIAL_F64: &[f64] = &[
    0.0,
    -0.0,
    f64::NAN,
    -f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    f64::EPSILON,
    5e-324,
    -5e-324,
    1e300,
    1e-300,
    0.1,
    1.0 / 3.0,
    9_007_199_254_740_993.0,
    1e16,
    1e15,
    1250.5,
];

const SPECIAL_F32: &[f32] = &[
    0.0,
    -0.0,
    f32::NAN,
    -f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    f32::EPSILON,
    1e-45,
    -1e-45,
    0.1,
    16_777_217.0,
    1e30,
];

/// Every class of `f64`: normal, subnormal, zeros, infinities, NaNs of any sign and payload.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::ANY,
        2 => any::<u64>().prop_map(f64::from_bits),
        2 => select(SPECIAL_F64),
    ]
}

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => prop::num::f32::ANY,
        2 => any::<u32>().prop_map(f32::from_bits),
        2 => select(SPECIAL_F32),
    ]
}

/// Integers, with their edges more often than uniform sampling gives them.
fn int<T>(edges: &'static [T]) -> impl Strategy<Value = T>
where
    T: Arbitrary + Clone + fmt::Debug + 'static,
{
    prop_oneof![3 => any::<T>(), 1 => select(edges)]
}

fn any_i64() -> impl Strategy<Value = i64> {
    int(&[i64::MIN, i64::MAX, 0, -1, 1])
}

/// An embedding: any bit patterns, short, sometimes long.
fn list() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        6 => vec(any_f32(), 0..12),
        1 => vec(any::<u32>().prop_map(f32::from_bits), 100..600),
    ]
}

/// Characters that matter somewhere: key syntax, RESP syntax, escapes, whitespace, controls,
/// multi-byte UTF-8.
const SPECIAL_CHARS: &[char] = &[
    '\0',
    '\n',
    '\r',
    '\t',
    '\u{7}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '\u{200b}',
    '\u{feff}',
    '\u{fffd}',
    '\u{10ffff}',
    ':',
    '{',
    '}',
    ' ',
    '"',
    '\'',
    '\\',
    '$',
    '*',
    '+',
    '-',
    '%',
    '.',
    'é',
    '日',
    '🦀',
    'a',
    'Z',
    '0',
    '9',
];

/// Arbitrary unicode text, control characters included; often empty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        3 => vec(any::<char>(), 0..32).prop_map(String::from_iter),
        3 => vec(select(SPECIAL_CHARS), 0..16).prop_map(String::from_iter),
        1 => "\\PC{0,64}",
        1 => vec(any::<char>(), 1000..3000).prop_map(String::from_iter),
    ]
}

fn every_type() -> impl Strategy<Value = EveryType> {
    let required = (
        any_i64(),
        int(&[i32::MIN, i32::MAX, 0, -1]),
        int(&[u32::MAX, 0, 1]),
        int(&[u64::MAX, 0, 1, i64::MAX as u64 + 1]),
        any_f64(),
        any_f32(),
        any::<bool>(),
        text(),
        list(),
    );
    let optional = (
        prop::option::of(any_i64()),
        prop::option::of(int(&[i32::MIN, i32::MAX])),
        prop::option::of(int(&[u32::MAX, 0])),
        prop::option::of(int(&[u64::MAX, 0])),
        prop::option::of(any_f64()),
        prop::option::of(any_f32()),
        prop::option::of(any::<bool>()),
        prop::option::of(text()),
        prop::option::of(list()),
    );
    (required, optional).prop_map(
        |(
            (a_i64, a_i32, a_u32, a_u64, a_f64, a_f32, a_bool, a_string, embedding),
            (o_i64, o_i32, o_u32, o_u64, o_f64, o_f32, o_bool, o_string, o_embedding),
        )| EveryType {
            a_i64,
            a_i32,
            a_u32,
            a_u64,
            a_f64,
            a_f32,
            a_bool,
            a_string,
            embedding,
            o_i64,
            o_i32,
            o_u32,
            o_u64,
            o_f64,
            o_f32,
            o_bool,
            o_string,
            o_embedding,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Every value of every type round-trips
// ---------------------------------------------------------------------------------------------

/// The hash fields a write of `row` must store, in the codec's documented format (codec.rs):
/// decimal integers, `true`/`false`, raw UTF-8, little-endian `f32` bytes; `None` stores nothing.
/// Floats are checked separately (their text is the shortest round-trip form).
fn expected_exact_fields(row: &EveryType) -> Vec<(&'static str, Vec<u8>)> {
    fn le(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        ("a_i64", row.a_i64.to_string().into_bytes()),
        ("a_i32", row.a_i32.to_string().into_bytes()),
        ("a_u32", row.a_u32.to_string().into_bytes()),
        ("a_u64", row.a_u64.to_string().into_bytes()),
        (
            "a_bool",
            if row.a_bool {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            },
        ),
        ("a_string", row.a_string.clone().into_bytes()),
        ("embedding", le(&row.embedding)),
    ];
    let optional: [(&'static str, Option<Vec<u8>>); 7] = [
        ("o_i64", row.o_i64.map(|v| v.to_string().into_bytes())),
        ("o_i32", row.o_i32.map(|v| v.to_string().into_bytes())),
        ("o_u32", row.o_u32.map(|v| v.to_string().into_bytes())),
        ("o_u64", row.o_u64.map(|v| v.to_string().into_bytes())),
        (
            "o_bool",
            row.o_bool.map(|b| {
                if b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                }
            }),
        ),
        ("o_string", row.o_string.clone().map(String::into_bytes)),
        ("o_embedding", row.o_embedding.as_deref().map(le)),
    ];
    out.extend(optional.into_iter().filter_map(|(f, v)| Some((f, v?))));
    out
}

/// Checks the stored text of one float: `nan`, `inf`, `-inf`, or a plain decimal (digits, `.`,
/// `e`, `-`, as Python reads) that parses back to the same bits.
fn check_float_text(
    field: &str,
    stored: &[u8],
    bits_back: impl Fn(&str) -> Option<Float>,
    want: Float,
    infinite: Option<bool>,
) -> Result<(), TestCaseError> {
    let text = std::str::from_utf8(stored)
        .map_err(|_| TestCaseError::fail(format!("`{field}` is not UTF-8: {stored:?}")))?;
    match (&want, infinite) {
        (Float::NaN, _) => prop_assert_eq!(text, "nan", "`{}`", field),
        (_, Some(true)) => prop_assert_eq!(text, "inf", "`{}`", field),
        (_, Some(false)) => prop_assert_eq!(text, "-inf", "`{}`", field),
        _ => {
            prop_assert!(
                !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-')),
                "`{}` is stored as {:?}, not a plain decimal",
                field,
                text
            );
            prop_assert_eq!(bits_back(text), Some(want), "`{}` = {:?}", field, text);
        }
    }
    Ok(())
}

fn check_stored_format(stored: &[(String, Vec<u8>)], row: &EveryType) -> Result<(), TestCaseError> {
    let stored: HashMap<&str, &[u8]> = stored
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_slice()))
        .collect();
    let exact = expected_exact_fields(row);
    for (field, want) in &exact {
        prop_assert_eq!(
            stored.get(field).map(|v| Bytes(v.to_vec())),
            Some(Bytes(want.clone())),
            "stored `{}`",
            field
        );
    }
    let f64_back = |t: &str| t.parse::<f64>().ok().map(f64c);
    let f32_back = |t: &str| t.parse::<f32>().ok().map(f32c);
    let inf64 = |x: f64| x.is_infinite().then_some(x > 0.0);
    let inf32 = |x: f32| x.is_infinite().then_some(x > 0.0);
    let mut floats = 0;
    for (field, value) in [("a_f64", Some(row.a_f64)), ("o_f64", row.o_f64)] {
        if let Some(x) = value {
            let raw = stored.get(field).copied().unwrap_or_default();
            check_float_text(field, raw, f64_back, f64c(x), inf64(x))?;
            floats += 1;
        }
    }
    for (field, value) in [("a_f32", Some(row.a_f32)), ("o_f32", row.o_f32)] {
        if let Some(x) = value {
            let raw = stored.get(field).copied().unwrap_or_default();
            check_float_text(field, raw, f32_back, f32c(x), inf32(x))?;
            floats += 1;
        }
    }
    // Nothing else: absent options leave no field, and `_updated_at` is the write's stamp.
    let updated_at = stored.get("_updated_at").copied().unwrap_or_default();
    prop_assert!(
        std::str::from_utf8(updated_at)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .is_some(),
        "`_updated_at` is {:?}",
        Bytes(updated_at.to_vec())
    );
    prop_assert_eq!(
        stored.len(),
        exact.len() + floats + 1,
        "{:?}",
        stored.keys()
    );
    Ok(())
}

fn every_type_round_trips(backend: Backend) {
    let env = Env::new(backend);
    let strategy = (vec(every_type(), 1..4), vec(every_type(), 0..4));
    check(CASES, strategy, |(versions, batch)| {
        env.rt.block_on(async {
            let h = &env.h;
            let n = env.next_case();
            // Successive writes to one entity: the read is the last, field for field (a `None`
            // removes what an earlier write stored).
            let id = format!("rt{n}");
            for row in &versions {
                row.write(&h.store, &id).await.unwrap();
            }
            let last = versions.last().unwrap();
            let back = EveryType::read(&h.store, &id).await.unwrap();
            prop_assert_eq!(canon_opt(&back), Some(canon(last)));
            check_stored_format(&h.hgetall(&key_of::<EveryType>(&id)).await, last)?;

            // A batch written at once, read one by one and as a batch (on a server, through
            // the raw RESP decoder), with a missing entity in the middle.
            let ids: Vec<String> = (0..batch.len()).map(|i| format!("rt{n}_{i}")).collect();
            let rows: Vec<(&String, &EveryType)> = ids.iter().zip(&batch).collect();
            EveryType::write_batch(&h.store, rows).await.unwrap();
            let mut asked: Vec<String> = ids.clone();
            asked.insert(asked.len() / 2, format!("rt{n}_missing"));
            asked.push(id.clone());
            let got = EveryType::read_batch(&h.store, &asked).await.unwrap();
            prop_assert_eq!(got.len(), asked.len());
            let mut want: Vec<Option<&EveryType>> = batch.iter().map(Some).collect();
            want.insert(want.len() / 2, None);
            want.push(Some(last));
            for ((asked, got), want) in asked.iter().zip(&got).zip(&want) {
                prop_assert_eq!(canon_opt(got), want.map(canon), "read_batch of {}", asked);
            }
            for (id, row) in ids.iter().zip(&batch) {
                let one = EveryType::read(&h.store, id).await.unwrap();
                prop_assert_eq!(canon_opt(&one), Some(canon(row)), "read of {}", id);
            }
            Ok(())
        })
    });
}
on_both!(every_type_round_trip, every_type_round_trips);

// ---------------------------------------------------------------------------------------------
// 2. The dynamic API round-trips the same types, both ways
// ---------------------------------------------------------------------------------------------

/// `(feature, registry type, declared len)` of `prop_dynamic`, in registry order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Int,
    Float,
    Str,
    Bool,
    List(Option<usize>),
}

const DYNAMIC_FEATURES: [(&str, Ty); 8] = [
    ("i", Ty::Int),
    ("f", Ty::Float),
    ("s", Ty::Str),
    ("b", Ty::Bool),
    ("e", Ty::List(None)),
    ("e4", Ty::List(Some(4))),
    ("d", Ty::Int),
    ("o", Ty::Str),
];

fn value_of(ty: Ty) -> BoxedStrategy<Value> {
    match ty {
        Ty::Int => any_i64().prop_map(Value::Int).boxed(),
        Ty::Float => prop_oneof![
            4 => any_f64().prop_map(Value::Float),
            1 => any_i64().prop_map(Value::Int),
        ]
        .boxed(),
        Ty::Str => text().prop_map(Value::String).boxed(),
        Ty::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Ty::List(None) => list().prop_map(Value::FloatList).boxed(),
        Ty::List(Some(len)) => prop_oneof![
            4 => vec(any_f32(), len..=len).prop_map(Value::FloatList),
            1 => vec(any_f32(), 0..len + 3).prop_map(Value::FloatList),
        ]
        .boxed(),
    }
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        value_of(Ty::Int),
        any_f64().prop_map(Value::Float),
        value_of(Ty::Str),
        value_of(Ty::Bool),
        value_of(Ty::List(None)),
        Just(Value::Null),
    ]
    .boxed()
}

/// Per feature: not given, or a value (mostly of the right type, sometimes `Null` or any type).
fn dynamic_write() -> impl Strategy<Value = Vec<Option<Value>>> {
    DYNAMIC_FEATURES
        .iter()
        .map(|&(_, ty)| {
            prop::option::weighted(
                0.85,
                prop_oneof![
                    24 => value_of(ty),
                    1 => Just(Value::Null),
                    1 => any_value(),
                ],
            )
        })
        .collect::<Vec<_>>()
}

/// What a feature of type `ty` reads as after `value` was written (`Null`: absent), or `None`
/// when the write must refuse `value` (documented in `Store::write`: an int is a valid float).
fn written_as(ty: Ty, value: &Value) -> Option<Value> {
    match (ty, value) {
        (_, Value::Null) => Some(Value::Null),
        (Ty::Int, Value::Int(_))
        | (Ty::Float, Value::Float(_))
        | (Ty::Str, Value::String(_))
        | (Ty::Bool, Value::Bool(_)) => Some(value.clone()),
        (Ty::Float, Value::Int(i)) => Some(Value::Float(*i as f64)),
        (Ty::List(len), Value::FloatList(v)) if len.is_none_or(|n| n == v.len()) => {
            Some(value.clone())
        }
        _ => None,
    }
}

fn typed_twin(f: &Features) -> DynTyped {
    let float_list = |n: &str| f[n].as_f32_slice().map(<[f32]>::to_vec);
    DynTyped {
        i: f["i"].as_i64(),
        f: match f["f"] {
            Value::Float(x) => Some(x),
            _ => None,
        },
        s: f["s"].as_str().map(str::to_owned),
        b: f["b"].as_bool(),
        e: float_list("e"),
        e4: float_list("e4"),
        d: f["d"].as_i64().expect("`d` has a default"),
        o: f["o"].as_str().map(str::to_owned),
    }
}

#[allow(clippy::type_complexity)]
fn dyn_typed_c(
    t: &DynTyped,
) -> (
    Option<i64>,
    Option<Float>,
    Option<&str>,
    Option<bool>,
    Option<Vec<u32>>,
    Option<Vec<u32>>,
    i64,
    Option<&str>,
) {
    (
        t.i,
        t.f.map(f64c),
        t.s.as_deref(),
        t.b,
        t.e.as_deref().map(bits),
        t.e4.as_deref().map(bits),
        t.d,
        t.o.as_deref(),
    )
}

fn dynamic_round_trips(backend: Backend) {
    let env = Env::new(backend);
    let registry = Registry::parse(DYNAMIC_REGISTRY, "prop.toml").unwrap();
    let store: Store = env.h.store.with_registry(registry);
    let reached = Reached::default();
    check(CASES, dynamic_write(), |given| {
        env.rt.block_on(async {
            let n = env.next_case();
            let id = format!("dyn{n}");
            let features: Vec<(&str, Value)> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .filter_map(|(&(name, _), v)| Some((name, v.clone()?)))
                .collect();
            let refused: Vec<&str> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .filter(|((_, ty), v)| v.as_ref().is_some_and(|v| written_as(*ty, v).is_none()))
                .map(|((name, _), _)| *name)
                .collect();
            let result = store.write("prop_dynamic", &id, &features).await;
            if !refused.is_empty() {
                reached.hit("refused");
                match result {
                    Err(Error::InvalidValue { view, feature, .. }) => {
                        prop_assert_eq!(view, "prop_dynamic");
                        prop_assert!(refused.contains(&feature.as_str()), "{}", feature);
                    }
                    other => prop_assert!(false, "expected InvalidValue, got {:?}", other),
                }
                // Nothing is written when a write reports it.
                prop_assert_eq!(store.read("prop_dynamic", &id, None).await.unwrap(), None);
                return Ok(());
            }
            result.unwrap();
            reached.hit("written");

            // What a read gives: the value written, an int widened for a float feature; an
            // absent feature reads as its default (`d` = 7) or `Null`.
            let want: Vec<(String, V)> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .map(|(&(name, ty), v)| {
                    let read = v
                        .as_ref()
                        .and_then(|v| written_as(ty, v))
                        .unwrap_or(Value::Null);
                    let read = match (name, read) {
                        ("d", Value::Null) => Value::Int(7),
                        (_, read) => read,
                    };
                    (name.to_owned(), vc(&read))
                })
                .collect();
            let got = store
                .read("prop_dynamic", &id, None)
                .await
                .unwrap()
                .unwrap();
            prop_assert_eq!(features_c(&got), want.clone());
            let batch = store
                .read_batch("prop_dynamic", [id.as_str(), "dyn_missing", id.as_str()])
                .await
                .unwrap();
            prop_assert_eq!(batch.len(), 3);
            prop_assert!(batch[1].is_none());
            for row in [&batch[0], &batch[2]] {
                prop_assert_eq!(features_c(row.as_ref().unwrap()), want.clone());
            }

            // Typed views read what the dynamic API wrote, and the reverse.
            let twin = typed_twin(&got);
            let typed = DynTyped::read(&env.h.store, &id).await.unwrap().unwrap();
            prop_assert_eq!(dyn_typed_c(&typed), dyn_typed_c(&twin));
            let typed_id = format!("dyn{n}_typed");
            twin.write(&env.h.store, &typed_id).await.unwrap();
            let back = store
                .read("prop_dynamic", &typed_id, None)
                .await
                .unwrap()
                .unwrap();
            prop_assert_eq!(features_c(&back), want);
            Ok(())
        })
    });
    reached.assert_all(&["refused", "written"]);
}
on_both!(dynamic_round_trip, dynamic_round_trips);

// ---------------------------------------------------------------------------------------------
// 3. Arbitrary stored bytes never panic the decoders
// ---------------------------------------------------------------------------------------------

/// The kinds of field, for generating plausible encodings.
#[derive(Clone, Copy, Debug)]
enum Kind {
    I64,
    I32,
    U32,
    U64,
    F64,
    F32,
    Bool,
    Str,
    List,
}

/// What the codec makes of one stored field.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// A value (an absent `Option` is `None`).
    Value,
    /// Absent, and required.
    Missing,
    /// Present, and not a valid encoding.
    Malformed,
}

fn outcome<T: FeatureValue>(raw: Option<&[u8]>) -> Outcome {
    match raw {
        None if T::absent().is_some() => Outcome::Value,
        None => Outcome::Missing,
        Some(b) if T::decode(b).is_ok() => Outcome::Value,
        Some(_) => Outcome::Malformed,
    }
}

/// The value the codec decodes (only called when the outcome is `Value`).
fn dec<T: FeatureValue>(raw: Option<&[u8]>) -> T {
    match raw {
        Some(b) => T::decode(b).unwrap(),
        None => T::absent().unwrap(),
    }
}

struct FieldSpec {
    name: &'static str,
    kind: Kind,
    outcome: fn(Option<&[u8]>) -> Outcome,
}

const fn spec(name: &'static str, kind: Kind, outcome: fn(Option<&[u8]>) -> Outcome) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        outcome,
    }
}

/// `EveryType`'s fields, in order, with the codec's verdict for each.
const EVERY_FIELD: [FieldSpec; 18] = [
    spec("a_i64", Kind::I64, outcome::<i64>),
    spec("a_i32", Kind::I32, outcome::<i32>),
    spec("a_u32", Kind::U32, outcome::<u32>),
    spec("a_u64", Kind::U64, outcome::<u64>),
    spec("a_f64", Kind::F64, outcome::<f64>),
    spec("a_f32", Kind::F32, outcome::<f32>),
    spec("a_bool", Kind::Bool, outcome::<bool>),
    spec("a_string", Kind::Str, outcome::<String>),
    spec("embedding", Kind::List, outcome::<Vec<f32>>),
    spec("o_i64", Kind::I64, outcome::<Option<i64>>),
    spec("o_i32", Kind::I32, outcome::<Option<i32>>),
    spec("o_u32", Kind::U32, outcome::<Option<u32>>),
    spec("o_u64", Kind::U64, outcome::<Option<u64>>),
    spec("o_f64", Kind::F64, outcome::<Option<f64>>),
    spec("o_f32", Kind::F32, outcome::<Option<f32>>),
    spec("o_bool", Kind::Bool, outcome::<Option<bool>>),
    spec("o_string", Kind::Str, outcome::<Option<String>>),
    spec("o_embedding", Kind::List, outcome::<Option<Vec<f32>>>),
];

/// The row the codec decodes from `raw` (aligned with `EVERY_FIELD`), when every field decodes.
fn decoded_every_type(raw: &[Option<Bytes>]) -> EveryType {
    let r = |i: usize| raw[i].as_ref().map(|b| b.0.as_slice());
    EveryType {
        a_i64: dec(r(0)),
        a_i32: dec(r(1)),
        a_u32: dec(r(2)),
        a_u64: dec(r(3)),
        a_f64: dec(r(4)),
        a_f32: dec(r(5)),
        a_bool: dec(r(6)),
        a_string: dec(r(7)),
        embedding: dec(r(8)),
        o_i64: dec(r(9)),
        o_i32: dec(r(10)),
        o_u32: dec(r(11)),
        o_u64: dec(r(12)),
        o_f64: dec(r(13)),
        o_f32: dec(r(14)),
        o_bool: dec(r(15)),
        o_string: dec(r(16)),
        o_embedding: dec(r(17)),
    }
}

/// Stored values that are near misses for some decoder, or RESP syntax.
const TRICKY: &[&[u8]] = &[
    b"",
    b" ",
    b"0",
    b"-0",
    b"+0",
    b"-",
    b"+",
    b"1 ",
    b" 1",
    b"0x10",
    b"1_000",
    b"1e",
    b"e5",
    b"1.5",
    b".5",
    b"5.",
    b"nan",
    b"-nan",
    b"+nan",
    b"NAN",
    b"inf",
    b"+inf",
    b"infinity",
    b"INFINITY",
    b"-Infinity",
    b"infinit",
    b"true",
    b"TRUE",
    b"yes",
    b"2",
    b"-1",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"4294967295",
    b"4294967296",
    b"2147483647",
    b"2147483648",
    b"-2147483649",
    b"1e309",
    b"-1e309",
    b"1e-400",
    b"3.4028236e38",
    b"\0",
    b"\r\n",
    b"$-1\r\n",
    b"*-1\r\n",
    b"-ERR x\r\n",
    b"+OK\r\n",
    b":1\r\n",
    b"\xef\xbb\xbf1",
    "\u{ff11}".as_bytes(),
    "\u{663}".as_bytes(),
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
];

/// Bytes another writer might have stored: anything at all.
fn garbage() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..24),
        3 => select(TRICKY).prop_map(<[u8]>::to_vec),
        2 => "[+-]?[0-9]{0,24}(\\.[0-9]{0,4})?([eE][+-]?[0-9]{1,4})?".prop_map(String::into_bytes),
        2 => text().prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 16_000..40_000),
    ]
    .boxed()
}

fn int_text<T: Arbitrary + fmt::Display + 'static>() -> BoxedStrategy<Vec<u8>> {
    (any::<bool>(), any::<T>())
        .prop_map(|(plus, v)| {
            let s = v.to_string();
            if plus && !s.starts_with('-') {
                format!("+{s}").into_bytes()
            } else {
                s.into_bytes()
            }
        })
        .boxed()
}

const PYTHON_FLOATS: &[&str] = &[
    "1250.50",
    "1e-05",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "-inf",
    "1E5",
    "-0.0",
    "0",
    "1",
    "1.0",
    "3.14",
];

/// A valid (or nearly valid) encoding of `kind`, as this library or a Python job writes it.
fn valid_bytes(kind: Kind) -> BoxedStrategy<Vec<u8>> {
    fn encoded<T: FeatureValue>(v: T) -> Vec<u8> {
        let mut out = Vec::new();
        v.encode(&mut out);
        out
    }
    match kind {
        Kind::I64 => int_text::<i64>(),
        Kind::I32 => int_text::<i32>(),
        Kind::U32 => int_text::<u32>(),
        Kind::U64 => int_text::<u64>(),
        Kind::F64 => prop_oneof![
            3 => any_f64().prop_map(encoded),
            1 => select(PYTHON_FLOATS).prop_map(|s| s.as_bytes().to_vec()),
        ]
        .boxed(),
        Kind::F32 => prop_oneof![
            3 => any_f32().prop_map(encoded),
            1 => select(PYTHON_FLOATS).prop_map(|s| s.as_bytes().to_vec()),
        ]
        .boxed(),
        Kind::Bool => select(&["true", "True", "1", "false", "False", "0"][..])
            .prop_map(|s| s.as_bytes().to_vec())
            .boxed(),
        Kind::Str => text().prop_map(String::into_bytes).boxed(),
        Kind::List => list().prop_map(encoded).boxed(),
    }
}

/// One stored field: absent, a plausible encoding (weight `valid`) or garbage (weight 1).
fn stored_field(kind: Kind, valid: u32) -> BoxedStrategy<Option<Bytes>> {
    prop::option::weighted(
        0.95,
        prop_oneof![valid => valid_bytes(kind), 1 => garbage()].prop_map(Bytes),
    )
    .boxed()
}

/// The stored fields of one hash, aligned with `EVERY_FIELD`, and its `_updated_at`.
#[derive(Clone, Debug)]
struct StoredRow {
    fields: Vec<Option<Bytes>>,
    updated_at: Option<Bytes>,
}

fn stored_row_with(valid: u32) -> BoxedStrategy<StoredRow> {
    let fields: Vec<_> = EVERY_FIELD
        .iter()
        .map(|f| stored_field(f.kind, valid))
        .collect();
    let updated_at = prop::option::weighted(
        0.5,
        prop_oneof![int_text::<u64>(), garbage()].prop_map(Bytes),
    );
    (fields, updated_at)
        .prop_map(|(fields, updated_at)| StoredRow { fields, updated_at })
        .boxed()
}

/// Half the rows are mostly valid (so that successful decodes are common), half mostly garbage.
fn stored_row() -> impl Strategy<Value = StoredRow> {
    prop_oneof![stored_row_with(40), stored_row_with(1)]
}

/// Checks that `err` is the decode or missing-field error of one failing field of `key`, and
/// that its message names the key and the field.
fn check_field_error(err: &Error, key: &str, outcomes: &[Outcome]) -> Result<(), TestCaseError> {
    let (k, field, want) = match err {
        Error::Decode { key, field, .. } => (key, field, Outcome::Malformed),
        Error::MissingField { key, field } => (key, field, Outcome::Missing),
        other => return Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
    };
    prop_assert_eq!(k, key);
    let index = EVERY_FIELD.iter().position(|f| f.name == field);
    prop_assert!(index.is_some(), "unknown field `{}` in {}", field, err);
    prop_assert_eq!(outcomes[index.unwrap()], want, "{}", err);
    let message = err.to_string();
    prop_assert!(message.contains(key), "{}", message);
    prop_assert!(message.contains(&format!("`{field}`")), "{}", message);
    Ok(())
}

fn stored_bytes_never_panic_read(backend: Backend) {
    let names: Vec<&str> = EVERY_FIELD.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        EveryType::FEATURES,
        "EVERY_FIELD is EveryType's fields, in order"
    );
    let env = Env::new(backend);
    let good = EveryType {
        a_i64: 1,
        a_i32: 2,
        a_u32: 3,
        a_u64: 4,
        a_f64: 0.5,
        a_f32: 0.25,
        a_bool: true,
        a_string: "ok".to_owned(),
        embedding: vec![1.0],
        o_i64: None,
        o_i32: Some(5),
        o_u32: None,
        o_u64: Some(6),
        o_f64: None,
        o_f32: Some(0.75),
        o_bool: None,
        o_string: Some(String::new()),
        o_embedding: None,
    };
    env.rt.block_on(good.write(&env.h.store, "good")).unwrap();
    let reached = Reached::default();
    check(DECODER_CASES, stored_row(), |row| {
        env.rt.block_on(async {
            let h = &env.h;
            let id = format!("dec{}", env.next_case());
            let key = key_of::<EveryType>(&id);
            let mut fields: Vec<(&str, &[u8])> = EVERY_FIELD
                .iter()
                .zip(&row.fields)
                .filter_map(|(f, v)| Some((f.name, v.as_ref()?.0.as_slice())))
                .collect();
            if let Some(at) = &row.updated_at {
                fields.push(("_updated_at", &at.0));
            }
            if !fields.is_empty() {
                h.hset(&key, &fields).await;
            }
            let outcomes: Vec<Outcome> = EVERY_FIELD
                .iter()
                .zip(&row.fields)
                .map(|(f, v)| (f.outcome)(v.as_ref().map(|b| b.0.as_slice())))
                .collect();

            let single = EveryType::read(&h.store, &id).await;
            match &single {
                Ok(None) => prop_assert!(fields.is_empty(), "a stored hash read as absent"),
                Ok(Some(read)) => {
                    reached.hit("decoded");
                    prop_assert!(!fields.is_empty());
                    prop_assert!(
                        outcomes.iter().all(|o| *o == Outcome::Value),
                        "read succeeded although the codec rejects a field: {:?}",
                        outcomes
                    );
                    let want = decoded_every_type(&row.fields);
                    prop_assert_eq!(canon(read), canon(&want));
                }
                Err(err) => {
                    reached.hit(if matches!(err, Error::Decode { .. }) {
                        "malformed"
                    } else {
                        "missing"
                    });
                    prop_assert!(!fields.is_empty(), "absent entity: {}", err);
                    check_field_error(err, &key, &outcomes)?;
                }
            }

            // The batch path (the raw RESP decoder on a server) agrees, around valid entities.
            let batch = EveryType::read_batch(&h.store, ["good", id.as_str(), "dec_missing"]).await;
            match (&single, batch) {
                (Ok(one), Ok(rows)) => {
                    prop_assert_eq!(rows.len(), 3);
                    prop_assert_eq!(canon_opt(&rows[0]), Some(canon(&good)));
                    prop_assert_eq!(canon_opt(&rows[1]), canon_opt(one));
                    prop_assert!(rows[2].is_none());
                }
                (Err(one), Err(batch)) => prop_assert_eq!(batch.to_string(), one.to_string()),
                (one, batch) => {
                    prop_assert!(false, "read gave {:?} but read_batch {:?}", one, batch)
                }
            }
            Ok(())
        })
    });
    reached.assert_all(&["decoded", "malformed", "missing"]);
}
on_both!(stored_bytes_read, stored_bytes_never_panic_read);

// ---- feature vectors ---------------------------------------------------------------------------

/// The `_updated_at` of a `prop_vec_b` row (which has a `max_age` of one hour).
#[derive(Clone, Debug)]
enum Stamp {
    Absent,
    /// The time of the write: fresh.
    Now,
    Stored(Bytes),
}

#[derive(Clone, Debug)]
struct VectorCase {
    /// `n`, `small`, `x`, `flag`, `cat` of `prop_vec_a`, and its `_updated_at` (ignored: no
    /// `max_age`).
    a: Vec<Option<Bytes>>,
    a_updated_at: Option<Bytes>,
    /// `kind`, `emb`, `y`, `note` of `prop_vec_b`.
    b: Vec<Option<Bytes>>,
    b_stamp: Stamp,
}

const VEC_A: [(&str, Kind); 5] = [
    ("n", Kind::I64),
    ("small", Kind::U32),
    ("x", Kind::F64),
    ("flag", Kind::Bool),
    ("cat", Kind::Str),
];
const VEC_B: [(&str, Kind); 4] = [
    ("kind", Kind::Str),
    ("emb", Kind::List),
    ("y", Kind::F32),
    ("note", Kind::Str),
];

fn le_bytes(v: Vec<f32>) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// One stored field of a vector's view: absent, plausible (weight `valid`) or garbage (weight 1).
fn vector_stored(name: &str, kind: Kind, valid: u32) -> BoxedStrategy<Option<Bytes>> {
    let plausible = match (name, kind) {
        // Words in and out of the vocabularies.
        (_, Kind::Str) => prop_oneof![
            2 => select(&["a", "b", "c", "x", "y", "z", "A", ""][..])
                .prop_map(|s| s.as_bytes().to_vec()),
            1 => valid_bytes(kind),
        ]
        .boxed(),
        // Mostly the declared `len = 2`.
        ("emb", _) => prop_oneof![
            4 => vec(any_f32(), 2..=2).prop_map(le_bytes),
            1 => valid_bytes(kind),
        ]
        .boxed(),
        _ => valid_bytes(kind),
    };
    prop::option::weighted(
        0.93,
        prop_oneof![valid => plausible, 1 => garbage()].prop_map(Bytes),
    )
    .boxed()
}

fn vector_case_with(valid: u32) -> BoxedStrategy<VectorCase> {
    let stamp = prop_oneof![
        1 => Just(Stamp::Absent),
        2 => Just(Stamp::Now),
        1 => int_text::<u64>().prop_map(|b| Stamp::Stored(Bytes(b))),
        1 => garbage().prop_map(|b| Stamp::Stored(Bytes(b))),
    ];
    (
        Vec::from(VEC_A.map(|(name, k)| vector_stored(name, k, valid))),
        prop::option::of(garbage().prop_map(Bytes)),
        Vec::from(VEC_B.map(|(name, k)| vector_stored(name, k, valid))),
        stamp,
    )
        .prop_map(|(a, a_updated_at, b, b_stamp)| VectorCase {
            a,
            a_updated_at,
            b,
            b_stamp,
        })
        .boxed()
}

/// Half the cases mostly valid, half mostly garbage.
fn vector_case() -> impl Strategy<Value = VectorCase> {
    prop_oneof![vector_case_with(40), vector_case_with(1)]
}

/// One vector field by the documented rules (`VectorRows::get`): the stored value when the row is
/// present and fresh, else the default, else `None` for an `Option`, else missing.
fn vector_field<T: FeatureValue>(
    usable: bool,
    raw: Option<&Bytes>,
    default: Option<T>,
    name: &'static str,
    failures: &mut Vec<(&'static str, Outcome)>,
) -> Option<T> {
    if usable {
        if let Some(b) = raw {
            return match T::decode(&b.0) {
                Ok(v) => Some(v),
                Err(_) => {
                    failures.push((name, Outcome::Malformed));
                    None
                }
            };
        }
    }
    if default.is_some() {
        return default;
    }
    let absent = T::absent();
    if absent.is_none() {
        failures.push((name, Outcome::Missing));
    }
    absent
}

fn vector_decoder_never_panics(backend: Backend) {
    let env = Env::new(backend);
    let views = <PropVector as fstore::FeatureVector>::VIEWS;
    assert_eq!(views.len(), 2);
    let reached = Reached::default();
    check(DECODER_CASES, vector_case(), |case| {
        env.rt.block_on(async {
            let h = &env.h;
            let id = format!("vec{}", env.next_case());
            let mut a: Vec<(&str, &[u8])> = VEC_A
                .iter()
                .zip(&case.a)
                .filter_map(|((f, _), v)| Some((*f, v.as_ref()?.0.as_slice())))
                .collect();
            if let Some(at) = &case.a_updated_at {
                a.push(("_updated_at", &at.0));
            }
            let now = now_ms().to_string();
            let mut b: Vec<(&str, &[u8])> = VEC_B
                .iter()
                .zip(&case.b)
                .filter_map(|((f, _), v)| Some((*f, v.as_ref()?.0.as_slice())))
                .collect();
            match &case.b_stamp {
                Stamp::Absent => {}
                Stamp::Now => b.push(("_updated_at", now.as_bytes())),
                Stamp::Stored(s) => b.push(("_updated_at", &s.0)),
            }
            for (view, fields) in views.iter().zip([&a, &b]) {
                if !fields.is_empty() {
                    h.hset(&format!("{}{id}", view.key_prefix), fields).await;
                }
            }
            let before = now_ms();
            let result = PropVector::vector(&h.store, &id).await;
            let after = now_ms();

            // `prop_vec_b` is fresh when its stamp is a time at most an hour old (a stamp that
            // is not a number cannot show that the row is fresh).
            let max_age = views[1].max_age_ms.unwrap();
            let stamp = match &case.b_stamp {
                Stamp::Absent => None,
                Stamp::Now => Some(now.as_bytes()),
                Stamp::Stored(s) => Some(s.0.as_slice()),
            };
            let fresh_at = |t: u64| {
                stamp
                    .and_then(|s| u64::decode(s).ok())
                    .is_some_and(|at| t.saturating_sub(at) <= max_age)
            };
            // A stamp within milliseconds of exactly an hour old could go either way.
            prop_assume!(fresh_at(before) == fresh_at(after));
            let a_usable = !a.is_empty();
            let b_usable = !b.is_empty() && fresh_at(before);

            let mut failures = Vec::new();
            let ra = |i: usize| case.a[i].as_ref();
            let rb = |i: usize| case.b[i].as_ref();
            let n: Option<i64> = vector_field(a_usable, ra(0), None, "n", &mut failures);
            let small: Option<Option<u32>> =
                vector_field(a_usable, ra(1), None, "small", &mut failures);
            let x: Option<f64> = vector_field(a_usable, ra(2), Some(0.5), "x", &mut failures);
            let flag: Option<bool> = vector_field(a_usable, ra(3), None, "flag", &mut failures);
            let cat: Option<String> = vector_field(a_usable, ra(4), None, "cat", &mut failures);
            let kind: Option<Option<String>> =
                vector_field(b_usable, rb(0), None, "kind", &mut failures);
            let emb: Option<Option<Vec<f32>>> =
                vector_field(b_usable, rb(1), None, "emb", &mut failures);
            if matches!(&emb, Some(Some(v)) if v.len() != 2) {
                failures.push(("emb", Outcome::Malformed));
            }
            let y: Option<f32> = vector_field(b_usable, rb(2), Some(1.5), "y", &mut failures);
            let note: Option<Option<String>> =
                vector_field(b_usable, rb(3), None, "note", &mut failures);

            match result {
                Ok(v) => {
                    reached.hit(if b_usable {
                        "ok, fresh b"
                    } else {
                        "ok, b absent or stale"
                    });
                    prop_assert!(failures.is_empty(), "Ok although {:?} fail", failures);
                    prop_assert_eq!(v.n, n.unwrap());
                    prop_assert_eq!(v.small, small.unwrap());
                    prop_assert_eq!(f64c(v.x), f64c(x.unwrap()));
                    prop_assert_eq!(v.flag, flag.unwrap());
                    prop_assert_eq!(&v.cat, cat.as_ref().unwrap());
                    prop_assert_eq!(&v.kind, kind.as_ref().unwrap());
                    prop_assert_eq!(
                        v.emb.as_deref().map(bits),
                        emb.unwrap().as_deref().map(bits)
                    );
                    prop_assert_eq!(f32c(v.y), f32c(y.unwrap()));
                    prop_assert_eq!(&v.note, note.as_ref().unwrap());
                    prop_assert_eq!(v.to_array().len(), PropVector::WIDTH);
                }
                Err(err) => {
                    reached.hit(if matches!(err, Error::Decode { .. }) {
                        "malformed"
                    } else {
                        "missing"
                    });
                    let message = err.to_string();
                    let (field, want) = match &err {
                        Error::Decode { key, field, .. } => {
                            prop_assert!(
                                views
                                    .iter()
                                    .any(|v| *key == format!("{}{id}", v.key_prefix)),
                                "{}",
                                message
                            );
                            prop_assert!(message.contains(key.as_str()), "{}", message);
                            (field, Outcome::Malformed)
                        }
                        Error::MissingFeature {
                            entity, feature, ..
                        } => {
                            prop_assert_eq!(entity, &id);
                            prop_assert!(message.contains(&format!("`{id}`")), "{}", message);
                            (feature, Outcome::Missing)
                        }
                        other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                    };
                    prop_assert!(message.contains(&format!("`{field}`")), "{}", message);
                    prop_assert!(
                        failures.contains(&(field.as_str(), want)),
                        "{} but the expected failures are {:?}",
                        message,
                        failures
                    );
                }
            }
            Ok(())
        })
    });
    reached.assert_all(&[
        "ok, fresh b",
        "ok, b absent or stale",
        "malformed",
        "missing",
    ]);
}
on_both!(stored_bytes_vector, vector_decoder_never_panics);

// ---------------------------------------------------------------------------------------------
// 4. Entity ids
// ---------------------------------------------------------------------------------------------

const ID_CHARS: &[char] = &[
    ':', '{', '}', ' ', '\t', '\n', '\r', '\0', '*', '?', '[', ']', '\\', '"', '.', 'v', '1', '2',
    'é', '日', '🦀', '\u{feff}', '\u{200b}',
];

/// A non-empty id: key syntax, unicode, controls, integer-looking text.
fn entity_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => vec(select(ID_CHARS), 1..12).prop_map(String::from_iter),
        3 => vec(any::<char>(), 1..12).prop_map(String::from_iter),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => select(&[":", "{", "}", "{}", "v:1", ":v2:prop_ids:", " ", "prop_ids.v:x"][..])
            .prop_map(str::to_owned),
    ]
}

/// The keys of `id` in the four id views, in `layout`.
fn keys_of(id: &str, layout: KeyLayout) -> [(&'static str, Result<String, Error>); 4] {
    [
        (IdsA::KEY_PREFIX, IdsA::key_in(id, layout)),
        (IdsB::KEY_PREFIX, IdsB::key_in(id, layout)),
        (IdsC::KEY_PREFIX, IdsC::key_in(id, layout)),
        (IdsD::KEY_PREFIX, IdsD::key_in(id, layout)),
    ]
}

#[test]
fn keys_are_prefix_and_id_and_never_collide() {
    let ids = vec(
        prop_oneof![9 => entity_id(), 1 => Just(String::new())],
        1..10,
    );
    check(
        KEY_CASES,
        (ids, any::<u64>(), any::<i64>(), any::<u32>(), any::<i32>()),
        |(ids, unsigned, signed, small, small_signed)| {
            // Keys of one layout share a store, so they must be distinct within a layout (a
            // plain key may equal a tagged one: `{x}` plain is `x` tagged).
            for layout in [KeyLayout::Plain, KeyLayout::HashTag] {
                let mut owner: HashMap<String, (&str, &str)> = HashMap::new();
                for id in &ids {
                    for (prefix, key) in keys_of(id, layout) {
                        if id.is_empty() {
                            match key {
                                Err(Error::InvalidEntityId { id, view, .. }) => {
                                    prop_assert_eq!(id, "");
                                    prop_assert!(prefix.contains(&format!(":{view}:")), "{}", view);
                                }
                                other => prop_assert!(false, "the empty id gave {:?}", other),
                            }
                            continue;
                        }
                        // The id is written verbatim after the view's prefix (entity.rs), or in
                        // a hash tag.
                        let key = key.unwrap();
                        let want = match layout {
                            KeyLayout::HashTag => format!("{prefix}{{{id}}}"),
                            _ => format!("{prefix}{id}"),
                        };
                        prop_assert_eq!(&key, &want, "{:?}", layout);
                        // Distinct (view, id) pairs have distinct keys.
                        if let Some(&(p, i)) = owner.get(&key) {
                            prop_assert!(
                                p == prefix && i == id.as_str(),
                                "`{}` is the key of ({}, {:?}) and of ({}, {:?})",
                                key,
                                p,
                                i,
                                prefix,
                                id
                            );
                        }
                        owner.insert(key, (prefix, id));
                    }
                }
            }
            // `key` is the plain layout.
            for id in &ids {
                prop_assert_eq!(IdsA::key(id).ok(), IdsA::key_in(id, KeyLayout::Plain).ok());
            }
            // Integer ids are their decimal text (entity.rs): `7u64` and `"7"` are one entity.
            prop_assert_eq!(
                IdsA::key(unsigned).unwrap(),
                IdsA::key(unsigned.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsB::key(signed).unwrap(),
                IdsB::key(signed.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsC::key(small).unwrap(),
                IdsC::key(small.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsD::key(Box::new(small_signed)).unwrap(),
                IdsD::key(small_signed.to_string().as_str()).unwrap()
            );
            Ok(())
        },
    );
}

fn entity_ids_round_trip(backend: Backend) {
    let env = Env::new(backend);
    let strategy = (vec(entity_id(), 1..6), any::<u64>(), any::<i64>());
    check(CASES, strategy, |(mut ids, unsigned, signed)| {
        ids.sort();
        ids.dedup();
        env.rt.block_on(async {
            let store = &env.h.store;
            let n = env.next_case();
            // A tag unique to this case, view and id: a collision or a lost write shows.
            let tag = |prefix: &str, id: &str| format!("{n}|{prefix}|{id}");
            for id in &ids {
                IdsA {
                    tag: tag(IdsA::KEY_PREFIX, id),
                }
                .write(store, id)
                .await
                .unwrap();
                IdsC {
                    tag: tag(IdsC::KEY_PREFIX, id),
                }
                .write(store, id.as_str())
                .await
                .unwrap();
            }
            let b: Vec<(&String, IdsB)> = ids
                .iter()
                .map(|id| {
                    (
                        id,
                        IdsB {
                            tag: tag(IdsB::KEY_PREFIX, id),
                        },
                    )
                })
                .collect();
            IdsB::write_batch(store, b).await.unwrap();
            let d: Vec<(String, IdsD)> = ids
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        IdsD {
                            tag: tag(IdsD::KEY_PREFIX, id),
                        },
                    )
                })
                .collect();
            IdsD::write_batch(store, d).await.unwrap();

            for id in &ids {
                let a = IdsA::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(a, Some(tag(IdsA::KEY_PREFIX, id)));
                let b = IdsB::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(b, Some(tag(IdsB::KEY_PREFIX, id)));
                let c = IdsC::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(c, Some(tag(IdsC::KEY_PREFIX, id)));
                let d = IdsD::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(d, Some(tag(IdsD::KEY_PREFIX, id)));
                // The raw hash at `prefix + id` holds this view's tag.
                let raw = env.h.hgetall(&format!("{}{id}", IdsB::KEY_PREFIX)).await;
                let stored = raw.iter().find(|(f, _)| f == "tag").map(|(_, v)| v.clone());
                prop_assert_eq!(stored, Some(tag(IdsB::KEY_PREFIX, id).into_bytes()));
            }
            let a = IdsA::read_batch(store, &ids).await.unwrap();
            let want: Vec<Option<String>> = ids
                .iter()
                .map(|id| Some(tag(IdsA::KEY_PREFIX, id)))
                .collect();
            prop_assert_eq!(
                a.into_iter().map(|r| r.map(|r| r.tag)).collect::<Vec<_>>(),
                want
            );
            let d = IdsD::read_batch(store, ids.iter().map(String::as_str))
                .await
                .unwrap();
            let want: Vec<Option<String>> = ids
                .iter()
                .map(|id| Some(tag(IdsD::KEY_PREFIX, id)))
                .collect();
            prop_assert_eq!(
                d.into_iter().map(|r| r.map(|r| r.tag)).collect::<Vec<_>>(),
                want
            );

            // Integer ids are their decimal text: written as an integer, read as text, and back.
            let int_tag = format!("{n}|u64");
            IdsA {
                tag: int_tag.clone(),
            }
            .write(store, unsigned)
            .await
            .unwrap();
            let back = IdsA::read(store, unsigned.to_string()).await.unwrap();
            prop_assert_eq!(back.map(|r| r.tag), Some(int_tag));
            let int_tag = format!("{n}|i64");
            IdsB {
                tag: int_tag.clone(),
            }
            .write(store, signed.to_string())
            .await
            .unwrap();
            let back = IdsB::read_batch(store, [signed]).await.unwrap();
            prop_assert_eq!(
                back.into_iter()
                    .map(|r| r.map(|r| r.tag))
                    .collect::<Vec<_>>(),
                [Some(int_tag)]
            );
            Ok(())
        })
    });
}
on_both!(entity_id_round_trip, entity_ids_round_trip);

fn is_empty_id_error(
    result: Result<impl fmt::Debug, Error>,
    view: &str,
) -> Result<(), TestCaseError> {
    match result {
        Err(err @ Error::InvalidEntityId { .. }) => {
            let message = err.to_string();
            match err {
                Error::InvalidEntityId { view: v, id, .. } => {
                    prop_assert_eq!(v, view);
                    prop_assert_eq!(id, "");
                }
                _ => unreachable!(),
            }
            prop_assert!(message.contains(&format!("`{view}`")), "{}", message);
            Ok(())
        }
        other => Err(TestCaseError::fail(format!(
            "expected InvalidEntityId for view `{view}`, got {other:?}"
        ))),
    }
}

fn empty_id_is_an_error(backend: Backend) {
    let env = Env::new(backend);
    let registry = Registry::parse(DYNAMIC_REGISTRY, "prop.toml").unwrap();
    let dynamic: Store = env.h.store.with_registry(registry);
    let strategy = (vec(entity_id(), 0..6), any::<Index>());
    check(CASES, strategy, |(others, at)| {
        env.rt.block_on(async {
            let store = &env.h.store;
            let n = env.next_case();
            let tag = format!("empty{n}");
            let mut ids: Vec<String> = others.clone();
            ids.insert(at.index(ids.len() + 1), String::new());

            is_empty_id_error(IdsA::read(store, "").await, "prop_ids")?;
            is_empty_id_error(IdsA::read(store, String::new()).await, "prop_ids")?;
            is_empty_id_error(IdsB::read_batch(store, &ids).await, "prop_ids.v")?;
            let row = IdsA { tag: tag.clone() };
            is_empty_id_error(row.write(store, "").await, "prop_ids")?;
            is_empty_id_error(
                IdsC::write_batch(store, ids.iter().map(|id| (id, IdsC { tag: tag.clone() })))
                    .await,
                "prop_ids",
            )?;
            // A vector names its first view.
            is_empty_id_error(PropVector::vector(store, "").await, "prop_vec_a")?;
            is_empty_id_error(PropVector::vector_batch(store, &ids).await, "prop_vec_a")?;
            is_empty_id_error(dynamic.read("prop_dynamic", "", None).await, "prop_dynamic")?;
            is_empty_id_error(
                dynamic.read_batch("prop_dynamic", &ids).await,
                "prop_dynamic",
            )?;
            is_empty_id_error(
                dynamic
                    .write("prop_dynamic", "", &[("i", Value::Int(1))])
                    .await,
                "prop_dynamic",
            )?;

            // Nothing was written: no key `prefix` (the empty id's would-be key), and the batch
            // with the empty id wrote none of its other rows (ids are checked before sending).
            prop_assert!(env.h.hgetall(IdsA::KEY_PREFIX).await.is_empty());
            prop_assert!(env.h.hgetall(IdsC::KEY_PREFIX).await.is_empty());
            for id in &others {
                let c = IdsC::read(store, id).await.unwrap();
                prop_assert!(c.is_none_or(|c| c.tag != tag), "{:?} was written", id);
            }
            Ok(())
        })
    });
}
on_both!(empty_id, empty_id_is_an_error);
