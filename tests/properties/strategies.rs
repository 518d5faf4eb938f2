//! Strategies: floats, integers, lists and text with their edge cases, and whole rows.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::model::f32le_refused;
use super::views::EveryType;

pub const SPECIAL_F64: &[f64] = &[
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

pub const SPECIAL_F32: &[f32] = &[
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
pub fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::ANY,
        2 => any::<u64>().prop_map(f64::from_bits),
        2 => select(SPECIAL_F64),
    ]
}

pub fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => prop::num::f32::ANY,
        2 => any::<u32>().prop_map(f32::from_bits),
        2 => select(SPECIAL_F32),
    ]
}

/// Integers, with their edges more often than uniform sampling gives them.
pub fn int<T>(edges: &'static [T]) -> impl Strategy<Value = T>
where
    T: Arbitrary + Clone + fmt::Debug + 'static,
{
    prop_oneof![3 => any::<T>(), 1 => select(edges)]
}

/// A `u64` that an `int` feature can store: at most `i64::MAX` (larger ones are refused on
/// write, `tests/malformed.rs`).
pub fn storable_u64() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0..=i64::MAX as u64, 1 => select(&[i64::MAX as u64, 0, 1][..])]
}

pub fn any_i64() -> impl Strategy<Value = i64> {
    int(&[i64::MIN, i64::MAX, 0, -1, 1])
}

/// An embedding: any bit patterns, short, sometimes long.
pub fn list() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        6 => vec(any_f32(), 0..12),
        1 => vec(any::<u32>().prop_map(f32::from_bits), 100..600),
    ]
}

/// An `f32le` embedding: any bit patterns but those whose bytes read as JSON text (refused on
/// write, `tests/float_lists.rs`).
pub fn packed_list() -> impl Strategy<Value = Vec<f32>> {
    list().prop_filter("f32le bytes that read as JSON text are refused", |v| {
        !f32le_refused(v)
    })
}

/// Characters that matter somewhere: key syntax, RESP syntax, escapes, whitespace, controls,
/// multi-byte UTF-8.
pub const SPECIAL_CHARS: &[char] = &[
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
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        3 => vec(any::<char>(), 0..32).prop_map(String::from_iter),
        3 => vec(select(SPECIAL_CHARS), 0..16).prop_map(String::from_iter),
        1 => "\\PC{0,64}",
        1 => vec(any::<char>(), 1000..3000).prop_map(String::from_iter),
    ]
}

pub fn every_type() -> impl Strategy<Value = EveryType> {
    let required = (
        any_i64(),
        int(&[i32::MIN, i32::MAX, 0, -1]),
        int(&[u32::MAX, 0, 1]),
        storable_u64(),
        any_f64(),
        any_f32(),
        any::<bool>(),
        text(),
        list(),
        packed_list(),
    );
    let optional = (
        prop::option::of(any_i64()),
        prop::option::of(int(&[i32::MIN, i32::MAX])),
        prop::option::of(int(&[u32::MAX, 0])),
        prop::option::of(storable_u64()),
        prop::option::of(any_f64()),
        prop::option::of(any_f32()),
        prop::option::of(any::<bool>()),
        prop::option::of(text()),
        prop::option::of(list()),
        prop::option::of(packed_list()),
    );
    (required, optional).prop_map(
        |(
            (a_i64, a_i32, a_u32, a_u64, a_f64, a_f32, a_bool, a_string, embedding, packed),
            (o_i64, o_i32, o_u32, o_u64, o_f64, o_f32, o_bool, o_string, o_embedding, o_packed),
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
            packed,
            o_i64,
            o_i32,
            o_u32,
            o_u64,
            o_f64,
            o_f32,
            o_bool,
            o_string,
            o_embedding,
            o_packed,
        },
    )
}
