//! Property: arbitrary bytes stored in any field (by another writer) never panic a decoder — the
//! typed `read`, the raw RESP decoder of `read_batch` and feature vectors all return exactly what
//! the codec says (for `f32le` lists, what `model::f32le_read` says), or an error naming the key
//! (or entity) and the field. A list is never numbers made of the other encoding's bytes. Run on the embedded
//! backend and on a throwaway `valkey-server`; the shared harness is `tests/properties/`.

mod behaviour;
mod properties;
mod support;

use std::fmt;

use behaviour::key_of;
use fstore::{Error, FeatureValue, FeatureView};
use properties::compare::{bits, canon, canon_opt, f32c, f64c, floats, Bytes};
use properties::harness::{check, now_ms, on_both, Backend, Env, Reached, DECODER_CASES};
use properties::model::{f32le_bytes, f32le_read, json_text};
use properties::strategies::{any_f32, any_f64, list, text};
use properties::views::{EveryType, PropVector};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

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
    /// A `json` list (the default encoding).
    List,
    /// An `f32le` list.
    Packed,
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

/// What an `f32le` list of any length makes of one stored field, required or not
/// (`model::f32le_read`: a whole number of 4-byte floats that is not JSON text).
fn outcome_packed(raw: Option<&[u8]>, optional: bool) -> Outcome {
    match raw {
        None if optional => Outcome::Value,
        None => Outcome::Missing,
        Some(b) if f32le_read(b).is_some() => Outcome::Value,
        Some(_) => Outcome::Malformed,
    }
}

fn packed(raw: Option<&[u8]>) -> Outcome {
    outcome_packed(raw, false)
}

fn o_packed(raw: Option<&[u8]>) -> Outcome {
    outcome_packed(raw, true)
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
const EVERY_FIELD: [FieldSpec; 20] = [
    spec("a_i64", Kind::I64, outcome::<i64>),
    spec("a_i32", Kind::I32, outcome::<i32>),
    spec("a_u32", Kind::U32, outcome::<u32>),
    spec("a_u64", Kind::U64, outcome::<u64>),
    spec("a_f64", Kind::F64, outcome::<f64>),
    spec("a_f32", Kind::F32, outcome::<f32>),
    spec("a_bool", Kind::Bool, outcome::<bool>),
    spec("a_string", Kind::Str, outcome::<String>),
    spec("embedding", Kind::List, outcome::<Vec<f32>>),
    spec("packed", Kind::Packed, packed),
    spec("o_i64", Kind::I64, outcome::<Option<i64>>),
    spec("o_i32", Kind::I32, outcome::<Option<i32>>),
    spec("o_u32", Kind::U32, outcome::<Option<u32>>),
    spec("o_u64", Kind::U64, outcome::<Option<u64>>),
    spec("o_f64", Kind::F64, outcome::<Option<f64>>),
    spec("o_f32", Kind::F32, outcome::<Option<f32>>),
    spec("o_bool", Kind::Bool, outcome::<Option<bool>>),
    spec("o_string", Kind::Str, outcome::<Option<String>>),
    spec("o_embedding", Kind::List, outcome::<Option<Vec<f32>>>),
    spec("o_packed", Kind::Packed, o_packed),
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
        packed: r(9).and_then(f32le_read).unwrap(),
        o_i64: dec(r(10)),
        o_i32: dec(r(11)),
        o_u32: dec(r(12)),
        o_u64: dec(r(13)),
        o_f64: dec(r(14)),
        o_f32: dec(r(15)),
        o_bool: dec(r(16)),
        o_string: dec(r(17)),
        o_embedding: dec(r(18)),
        o_packed: r(19).map(|b| f32le_read(b).unwrap()),
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
        Kind::List => prop_oneof![
            3 => list().prop_map(encoded),
            1 => list().prop_map(|v| python_json_text(&v)),
            1 => list().prop_map(|v| f32le_bytes(&v)),
        ]
        .boxed(),
        Kind::Packed => prop_oneof![
            4 => list().prop_map(|v| f32le_bytes(&v)),
            1 => list().prop_map(encoded),
        ]
        .boxed(),
    }
}

/// A list as a Python job writes it with `json.dumps([float(x) for x in v])`: each element the
/// `repr` of the `f64` of the `f32` (`0.10000000149011612`), spaced as Python spaces it, or
/// compact (`separators=(",", ":")`).
fn python_json_text(v: &[f32]) -> Vec<u8> {
    let elements: Vec<String> = v
        .iter()
        .map(|x| match x {
            x if x.is_nan() => "NaN".to_owned(),
            x if x.is_infinite() && *x > 0.0 => "Infinity".to_owned(),
            x if x.is_infinite() => "-Infinity".to_owned(),
            x => format!("{:?}", f64::from(*x)),
        })
        .collect();
    let separator = if v.len().is_multiple_of(2) { ", " } else { "," };
    format!("[{}]", elements.join(separator)).into_bytes()
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
        packed: vec![1.0],
        o_i64: None,
        o_i32: Some(5),
        o_u32: None,
        o_u64: Some(6),
        o_f64: None,
        o_f32: Some(0.75),
        o_bool: None,
        o_string: Some(String::new()),
        o_embedding: None,
        o_packed: Some(vec![]),
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
    /// The time of the write in integer milliseconds: fresh.
    Now,
    /// The time of the write in seconds with a fraction, as Python's `str(time.time())`: fresh.
    NowSeconds,
    Stored(Bytes),
}

/// The epoch milliseconds of a stored stamp, by the storage contract: seconds with an optional
/// fraction (digits past milliseconds dropped), or an integer of at least 10¹¹ milliseconds;
/// `None` for anything else.
fn stamp_model(raw: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(raw).ok()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        Some((whole, fraction)) => {
            if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
                return None;
            }
            let seconds: u64 = whole.parse().ok().filter(|&s| s < 100_000_000_000)?;
            let millis = format!("{fraction:0<3}")[..3].parse::<u64>().ok()?;
            Some(seconds * 1000 + millis)
        }
        None if digits(text) => {
            let n: u64 = text.parse().ok()?;
            Some(if n >= 100_000_000_000 { n } else { n * 1000 })
        }
        None => None,
    }
}

#[derive(Clone, Debug)]
struct VectorCase {
    /// `n`, `small`, `x`, `flag`, `cat` of `prop_vec_a`, and its `_updated_at` (ignored: no
    /// `max_age`).
    a: Vec<Option<Bytes>>,
    a_updated_at: Option<Bytes>,
    /// `kind`, `emb`, `packed`, `y`, `note` of `prop_vec_b`.
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
const VEC_B: [(&str, Kind); 5] = [
    ("kind", Kind::Str),
    ("emb", Kind::List),
    ("packed", Kind::Packed),
    ("y", Kind::F32),
    ("note", Kind::Str),
];

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
            4 => vec(any_f32(), 2..=2).prop_map(|v| json_text(&v)),
            1 => valid_bytes(kind),
        ]
        .boxed(),
        ("packed", _) => prop_oneof![
            4 => vec(any_f32(), 2..=2).prop_map(|v| f32le_bytes(&v)),
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
        1 => Just(Stamp::Now),
        1 => Just(Stamp::NowSeconds),
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
    let decode = |b: &[u8]| T::decode(b).ok();
    vector_field_with(usable, raw, decode, default, T::absent(), name, failures)
}

/// [`vector_field`], a stored value read by `decode` (`None`: malformed), an absent one as
/// `absent`.
fn vector_field_with<T>(
    usable: bool,
    raw: Option<&Bytes>,
    decode: impl Fn(&[u8]) -> Option<T>,
    default: Option<T>,
    absent: Option<T>,
    name: &'static str,
    failures: &mut Vec<(&'static str, Outcome)>,
) -> Option<T> {
    if usable {
        if let Some(b) = raw {
            let value = decode(&b.0);
            if value.is_none() {
                failures.push((name, Outcome::Malformed));
            }
            return value;
        }
    }
    if default.is_some() {
        return default;
    }
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
            let now_ms_value = now_ms();
            let now = now_ms_value.to_string();
            let now_seconds = format!("{}.{:03}", now_ms_value / 1000, now_ms_value % 1000);
            let mut b: Vec<(&str, &[u8])> = VEC_B
                .iter()
                .zip(&case.b)
                .filter_map(|((f, _), v)| Some((*f, v.as_ref()?.0.as_slice())))
                .collect();
            match &case.b_stamp {
                Stamp::Absent => {}
                Stamp::Now => b.push(("_updated_at", now.as_bytes())),
                Stamp::NowSeconds => b.push(("_updated_at", now_seconds.as_bytes())),
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

            // `prop_vec_b` is fresh when its stamp is a time at most an hour old; a row without
            // a stamp cannot show that it is fresh, and a stamp in neither form is an error.
            let max_age = views[1].max_age_ms.unwrap();
            let stamp = match &case.b_stamp {
                Stamp::Absent => None,
                Stamp::Now => Some(now.as_bytes()),
                Stamp::NowSeconds => Some(now_seconds.as_bytes()),
                Stamp::Stored(s) => Some(s.0.as_slice()),
            };
            let fresh_at = |t: u64| {
                stamp
                    .and_then(stamp_model)
                    .is_some_and(|at| t.saturating_sub(at) <= max_age)
            };
            // A stamp within milliseconds of exactly an hour old could go either way.
            prop_assume!(fresh_at(before) == fresh_at(after));
            let a_usable = !a.is_empty();
            let b_usable = !b.is_empty() && fresh_at(before);

            let mut failures = Vec::new();
            if stamp.is_some_and(|s| stamp_model(s).is_none()) {
                failures.push(("_updated_at", Outcome::Malformed));
            }
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
            // `len = 2` of f32le: exactly 8 bytes, not JSON text.
            let two = |b: &[u8]| Some(Some(f32le_read(b).filter(|v| v.len() == 2)?));
            let packed: Option<Option<Vec<f32>>> = vector_field_with(
                b_usable,
                rb(2),
                two,
                None,
                Some(None),
                "packed",
                &mut failures,
            );
            let y: Option<f32> = vector_field(b_usable, rb(3), Some(1.5), "y", &mut failures);
            let note: Option<Option<String>> =
                vector_field(b_usable, rb(4), None, "note", &mut failures);

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
                        v.emb.as_deref().map(floats),
                        emb.unwrap().as_deref().map(floats)
                    );
                    prop_assert_eq!(
                        v.packed.as_deref().map(bits),
                        packed.unwrap().as_deref().map(bits)
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
