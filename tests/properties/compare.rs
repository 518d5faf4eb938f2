//! Comparison: floats by the codec's definition of a round trip.

use std::fmt;

use fstore::{Features, Value};

use super::views::EveryType;

/// A float as the codec round-trips it: any NaN, or exact bits.
#[derive(Clone, Debug, PartialEq)]
pub enum Float {
    NaN,
    Bits(u64),
}

pub fn f64c(x: f64) -> Float {
    if x.is_nan() {
        Float::NaN
    } else {
        Float::Bits(x.to_bits())
    }
}

pub fn f32c(x: f32) -> Float {
    if x.is_nan() {
        Float::NaN
    } else {
        Float::Bits(u64::from(x.to_bits()))
    }
}

/// An `f32le` list's exact bits: raw bytes, so even NaN payloads survive.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A `json` list as it round-trips: each element's bits, any NaN as one NaN.
pub fn floats(v: &[f32]) -> Vec<Float> {
    v.iter().copied().map(f32c).collect()
}

/// A row of [`EveryType`] as it round-trips.
pub type Canon<'a> = (
    (
        i64,
        i32,
        u32,
        u64,
        Float,
        Float,
        bool,
        &'a str,
        Vec<Float>,
        Vec<u32>,
    ),
    (
        Option<i64>,
        Option<i32>,
        Option<u32>,
        Option<u64>,
        Option<Float>,
        Option<Float>,
        Option<bool>,
        Option<&'a str>,
        Option<Vec<Float>>,
        Option<Vec<u32>>,
    ),
);

pub fn canon(r: &EveryType) -> Canon<'_> {
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
            floats(&r.embedding),
            bits(&r.packed),
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
            r.o_embedding.as_deref().map(floats),
            r.o_packed.as_deref().map(bits),
        ),
    )
}

pub fn canon_opt(r: &Option<EveryType>) -> Option<Canon<'_>> {
    r.as_ref().map(canon)
}

/// A dynamic value compared by the codec's round trip.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Int(i64),
    Float(Float),
    Str(String),
    Bool(bool),
    /// Compared as `json` lists round-trip (any NaN as one NaN), whatever the encoding.
    List(Vec<Float>),
    Null,
}

pub fn vc(v: &Value) -> V {
    match v {
        Value::Int(i) => V::Int(*i),
        Value::Float(x) => V::Float(f64c(*x)),
        Value::String(s) => V::Str(s.clone()),
        Value::Bool(b) => V::Bool(*b),
        Value::FloatList(l) => V::List(floats(l)),
        Value::Null => V::Null,
        other => panic!("a value variant this test does not know: {other:?}"),
    }
}

pub fn features_c(f: &Features) -> Vec<(String, V)> {
    f.iter().map(|(n, v)| (n.to_owned(), vc(v))).collect()
}

/// Bytes shown as an escaped byte string in failure reports.
#[derive(Clone, PartialEq)]
pub struct Bytes(pub Vec<u8>);

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
