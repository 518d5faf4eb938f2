//! The storage codec: how each feature type is written to and read from a hash field.
//!
//! Values are UTF-8 text, as Python writers store them; embeddings are stored in the encoding
//! their feature declares:
//!
//! | Rust type | registry type | written as | also read |
//! |---|---|---|---|
//! | `i64`, `i32`, `u32`, `u64` | `int` | decimal: `28` | `+28` |
//! | `f64`, `f32` | `float` | shortest round-trip decimal: `1250.5`, `nan`, `inf`, `-inf` | `1250.50`, `1e-05`, `NaN`, `Infinity` |
//! | `bool` | `bool` | `true` / `false` | `True`, `False`, `1`, `0` |
//! | `String` | `string` | the raw UTF-8 bytes | |
//! | `Vec<f32>` | `float_list`, `encoding = "json"` (the default) | JSON text as Python's `json.dumps` writes it: `[0.5, 1.5, -2.0]`, `[]`, `NaN`, `Infinity`, `-Infinity` | any JSON array of numbers: `[1,2e-3 , -0.0]` |
//! | `Vec<f32>` | `float_list`, `encoding = "f32le"` | little-endian `f32` bytes, 4 per element | |
//!
//! `Option<T>` stores `T`; `None` removes the field on write and is what an absent field reads as.
//! Anything else is an [`Error::Decode`](crate::Error::Decode) naming key, field, expected type and
//! an escaped excerpt of the stored bytes.
//!
//! A list's declared `len` and encoding ([`ListSpec`]) come from its feature's declaration (the
//! field's `#[fstore(len = 8, encoding = "f32le")]`, or the registry), and are checked on every
//! read and write: a list of another length, or stored in the other encoding (binary bytes in a
//! `json` feature, JSON text or a `float64` array in an `f32le` one), is an error, never numbers.
//! A JSON element that an `f32` cannot hold (`1e39`, `1e-50`) is an error as for `float`s. JSON
//! keeps every `f32` exactly except NaN payloads (every NaN is written `NaN`); `f32le` keeps
//! every bit.

use std::fmt;
use std::io::Write as _;

/// A Rust type that can be stored as one feature (one hash field).
///
/// Implemented for `i64`, `i32`, `u32`, `u64`, `f64`, `f32`, `bool`, `String`, `Vec<f32>` and
/// `Option` of each; `#[derive(FeatureView)]` accepts exactly these. The trait is sealed: the
/// storage format is a contract with other writers (such as Python jobs), so it cannot be extended
/// from outside.
pub trait FeatureValue: Sized + sealed::Sealed {
    /// The expected type as shown in errors, such as `i64 (int)`.
    const EXPECTED: &'static str;

    /// Decodes a present value.
    ///
    /// # Errors
    /// A short reason when `raw` is not a valid encoding of `Self`.
    fn decode(raw: &[u8]) -> Result<Self, String>;

    /// The value of an absent field: `Some(None)` for `Option`, `None` (required) otherwise.
    fn absent() -> Option<Self> {
        None
    }

    /// Appends the encoding of `self` to `out`; returns `false` when the field is to be removed
    /// instead (an `Option` that is `None`).
    fn encode(&self, out: &mut Vec<u8>) -> bool;

    /// Checks that every reader of the feature's registry type can read `self` back: a `u64`
    /// above `i64::MAX` is refused, as an `int` is an `i64` for every other reader.
    ///
    /// # Errors
    /// A short reason when the value is out of the storage type's range.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Implements [`FeatureValue`] for number types with a decoder and an encoder function.
macro_rules! number_value {
    ($decode:ident, $encode:ident: $($t:ty => $name:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl FeatureValue for $t {
            const EXPECTED: &'static str = $name;

            fn decode(raw: &[u8]) -> Result<Self, String> {
                $decode(raw, stringify!($t))
            }

            fn encode(&self, out: &mut Vec<u8>) -> bool {
                $encode(self, out);
                true
            }
        }
    )*};
}

number_value!(decode_int, encode_int: i64 => "i64 (int)", i32 => "i32 (int)", u32 => "u32 (int)");
number_value!(decode_float, encode_float: f64 => "f64 (float)", f32 => "f32 (float)");

impl sealed::Sealed for u64 {}
impl FeatureValue for u64 {
    const EXPECTED: &'static str = "u64 (int)";

    fn decode(raw: &[u8]) -> Result<Self, String> {
        decode_int(raw, "u64")
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        encode_int(self, out);
        true
    }

    fn check(&self) -> Result<(), String> {
        if i64::try_from(*self).is_ok() {
            Ok(())
        } else {
            Err(format!(
                "{self} is above i64::MAX, the largest `int` that every reader (i64 fields, the \
                 dynamic API, other languages' int64) can read"
            ))
        }
    }
}

fn utf8(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_owned())
}

/// A decimal integer of type `T` (named `ty` in errors).
fn decode_int<T: std::str::FromStr<Err = std::num::ParseIntError>>(
    raw: &[u8],
    ty: &str,
) -> Result<T, String> {
    utf8(raw)?.parse::<T>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            format!("out of range for {ty}")
        }
        std::num::IntErrorKind::Empty => "empty value".to_owned(),
        _ => "not a decimal integer".to_owned(),
    })
}

fn encode_int(value: &impl fmt::Display, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{value}");
}

/// A float: Rust's parser accepts `nan`, `NaN`, `inf`, `infinity` in any case, exponents and
/// trailing zeros: everything Python's `str(float)` and `repr` produce.
///
/// A finite number that the type cannot hold is an error, not a different number: `1e300` for an
/// `f32` (or `1e400` for an `f64`) would parse as infinity, and `1e-50` for an `f32` as zero.
/// Values that lose only precision (`0.1`, subnormals) are read as the nearest value.
fn decode_float<T: std::str::FromStr + Into<f64> + Copy>(
    raw: &[u8],
    ty: &str,
) -> Result<T, String> {
    let text = utf8(raw)?;
    let value = text.parse::<T>().map_err(|_| {
        if text.is_empty() {
            "empty value".to_owned()
        } else {
            "not a number".to_owned()
        }
    })?;
    let wide: f64 = value.into();
    let digits = text.trim_start_matches(['+', '-']);
    let spelled_infinite =
        digits.eq_ignore_ascii_case("inf") || digits.eq_ignore_ascii_case("infinity");
    if wide.is_infinite() && !spelled_infinite {
        return Err(format!("out of range for {ty} (overflows to infinity)"));
    }
    let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
    if wide == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(format!("out of range for {ty} (underflows to zero)"));
    }
    Ok(value)
}

/// `Debug` is the shortest representation that round-trips, with an exponent for very large and
/// very small magnitudes (`1e300`), which Python also reads; it writes infinities as `inf` and
/// `-inf`, and NaN as `NaN`, written `nan` here as Python writes it.
fn encode_float(value: &impl fmt::Debug, out: &mut Vec<u8>) {
    let start = out.len();
    let _ = write!(out, "{value:?}");
    if &out[start..] == b"NaN" {
        out.truncate(start);
        out.extend_from_slice(b"nan");
    }
}

impl sealed::Sealed for bool {}
impl FeatureValue for bool {
    const EXPECTED: &'static str = "bool";

    fn decode(raw: &[u8]) -> Result<Self, String> {
        match raw {
            b"true" | b"True" | b"1" => Ok(true),
            b"false" | b"False" | b"0" => Ok(false),
            _ => Err("expected true, false, True, False, 1 or 0".to_owned()),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
        true
    }
}

impl sealed::Sealed for String {}
impl FeatureValue for String {
    const EXPECTED: &'static str = "String (string)";

    fn decode(raw: &[u8]) -> Result<Self, String> {
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(format!("not valid UTF-8 (at byte {})", e.valid_up_to())),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(self.as_bytes());
        true
    }
}

impl sealed::Sealed for Vec<f32> {}
/// A list of any length in the default encoding, `json`; typed views, vectors and the dynamic
/// API read and write lists through [`decode_list`] and [`ListValue`] instead, with the feature's
/// declared length and encoding.
impl FeatureValue for Vec<f32> {
    const EXPECTED: &'static str = ListSpec::JSON.expected;

    fn decode(raw: &[u8]) -> Result<Self, String> {
        decode_list(raw, &ListSpec::JSON)
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        encode_list(self, ListEncoding::Json, out);
        true
    }
}

impl<T: FeatureValue + NotOption> sealed::Sealed for Option<T> {}
impl<T: FeatureValue + NotOption> FeatureValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn decode(raw: &[u8]) -> Result<Self, String> {
        T::decode(raw).map(Some)
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Some(v) => v.encode(out),
            None => false,
        }
    }

    fn check(&self) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), T::check)
    }
}

/// Marks the non-`Option` feature types, so that `Option<Option<T>>` is not a feature type.
#[doc(hidden)]
pub trait NotOption {}
impl NotOption for i64 {}
impl NotOption for i32 {}
impl NotOption for u32 {}
impl NotOption for u64 {}
impl NotOption for f64 {}
impl NotOption for f32 {}
impl NotOption for bool {}
impl NotOption for String {}
impl NotOption for Vec<f32> {}

// ---- lists (`float_list`) ---------------------------------------------------------------------

pub use fstore_registry::ListEncoding;

/// A `float_list` feature's declaration: its length (if declared) and encoding, and the expected
/// type as errors name it (`Vec<f32> (float_list, len 8, json)`). Generated code builds one per
/// list field from the field's attributes or the registry; the dynamic API from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSpec {
    len: Option<usize>,
    encoding: ListEncoding,
    expected: &'static str,
}

impl ListSpec {
    /// Any length, `json`: what `Vec<f32>`'s [`FeatureValue`] impl reads and writes.
    pub const JSON: ListSpec =
        ListSpec::declared(None, ListEncoding::Json, "Vec<f32> (float_list, json)");

    /// The declaration of a list of `len` elements (any length when `None`) stored in
    /// `encoding`; `expected` describes it in errors, as `Vec<f32> (float_list, len 8, json)`.
    pub const fn declared(
        len: Option<usize>,
        encoding: ListEncoding,
        expected: &'static str,
    ) -> ListSpec {
        ListSpec {
            len,
            encoding,
            expected,
        }
    }

    /// The declaration of a list of `len` elements stored in `encoding`, known only at run time
    /// (a registry's feature): errors name the encoding (`Vec<f32> (float_list, f32le)`) and give
    /// the declared length in their reason.
    pub fn new(len: Option<usize>, encoding: ListEncoding) -> ListSpec {
        let expected = match encoding {
            ListEncoding::Json => "Vec<f32> (float_list, json)",
            ListEncoding::F32Le => "Vec<f32> (float_list, f32le)",
        };
        ListSpec::declared(len, encoding, expected)
    }

    /// The declared length, if any.
    pub fn declared_len(&self) -> Option<usize> {
        self.len
    }

    /// The encoding.
    pub fn encoding(&self) -> ListEncoding {
        self.encoding
    }

    /// The expected type as errors name it.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

/// `Vec<f32>` and `Option<Vec<f32>>`: the field types of a `float_list` feature.
pub trait ListField: FeatureValue {
    /// A present list.
    fn from_list(values: Vec<f32>) -> Self;

    /// The elements; `None` for `None`.
    fn list(&self) -> Option<&[f32]>;
}

impl ListField for Vec<f32> {
    fn from_list(values: Vec<f32>) -> Self {
        values
    }

    fn list(&self) -> Option<&[f32]> {
        Some(self)
    }
}

impl ListField for Option<Vec<f32>> {
    fn from_list(values: Vec<f32>) -> Self {
        Some(values)
    }

    fn list(&self) -> Option<&[f32]> {
        self.as_deref()
    }
}

/// A list field's value with its declaration, for [`RowWriter::put`](crate::RowWriter::put):
/// encoded in the declared encoding, and refused (nothing is written) when its length is not the
/// declared one. Write-only: its `decode` always fails (lists are read with [`decode_list`]).
#[derive(Debug, Clone, Copy)]
pub struct ListValue<'a> {
    values: Option<&'a [f32]>,
    spec: ListSpec,
}

impl<'a> ListValue<'a> {
    /// `value` (a `Vec<f32>` or an `Option` of one) declared as `spec`.
    pub fn new<T: ListField>(value: &'a T, spec: ListSpec) -> ListValue<'a> {
        ListValue {
            values: value.list(),
            spec,
        }
    }
}

impl sealed::Sealed for ListValue<'_> {}
impl FeatureValue for ListValue<'_> {
    const EXPECTED: &'static str = "Vec<f32> (float_list)";

    fn decode(_: &[u8]) -> Result<Self, String> {
        Err("a list is read with its declaration (`decode_list`)".to_owned())
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        match self.values {
            Some(values) => {
                encode_list(values, self.spec.encoding, out);
                true
            }
            None => false,
        }
    }

    fn check(&self) -> Result<(), String> {
        self.values.map_or(Ok(()), |v| check_list(v, &self.spec))
    }
}

/// Decodes a stored list declared as `spec`.
///
/// # Errors
/// A short reason when `raw` is not a list in `spec`'s encoding (binary bytes for `json`, JSON
/// text or a byte count that is not 4 × `len` for `f32le`), has an element an `f32` cannot hold,
/// or has another length than the declared one.
pub fn decode_list(raw: &[u8], spec: &ListSpec) -> Result<Vec<f32>, String> {
    let values = match spec.encoding {
        ListEncoding::Json => decode_json_list(raw, spec.len)?,
        ListEncoding::F32Le => decode_f32le_list(raw, spec.len)?,
    };
    match spec.len {
        Some(len) if values.len() != len => Err(format!(
            "{} floats, expected {len} (the declared `len`)",
            values.len()
        )),
        _ => Ok(values),
    }
}

/// Appends `values` in `encoding` to `out`.
pub fn encode_list(values: &[f32], encoding: ListEncoding, out: &mut Vec<u8>) {
    match encoding {
        ListEncoding::Json => encode_json_list(values, out),
        ListEncoding::F32Le => {
            out.reserve(values.len() * 4);
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Checks that `values` can be written as declared by `spec`, so that every reader reads it
/// back: the declared length, and for `f32le` bytes that cannot be mistaken for JSON text.
///
/// # Errors
/// A short reason naming what is wrong.
pub fn check_list(values: &[f32], spec: &ListSpec) -> Result<(), String> {
    if let Some(len) = spec.len.filter(|len| *len != values.len()) {
        return Err(format!(
            "{} floats; the feature is declared `len = {len}`",
            values.len()
        ));
    }
    if spec.encoding == ListEncoding::F32Le {
        let starts = values.first().map(|v| v.to_le_bytes()[0]);
        let ends = values.last().map(|v| v.to_le_bytes()[3]);
        if starts == Some(b'[') && ends == Some(b']') {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            encode_list(values, ListEncoding::F32Le, &mut bytes);
            if looks_like_json_text(&bytes) {
                return Err(format!(
                    "a list whose f32le bytes are the text {}, which every reader refuses as \
                     JSON text in an f32le feature",
                    crate::error::excerpt(&bytes)
                ));
            }
        }
    }
    Ok(())
}

/// `[0.5, 1.5, -2.0]`: the text Python's `json.dumps` writes for a list of floats, each element
/// the shortest text that reads back as the same `f32` (`Debug`), the non-finite ones as
/// Python's `json` writes them.
fn encode_json_list(values: &[f32], out: &mut Vec<u8>) {
    out.reserve(2 + values.len() * 12);
    out.push(b'[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        if v.is_nan() {
            out.extend_from_slice(b"NaN");
        } else if v.is_infinite() {
            out.extend_from_slice(if *v > 0.0 { b"Infinity" } else { b"-Infinity" });
        } else {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v:?}");
        }
    }
    out.push(b']');
}

/// A JSON array of numbers (JSON's own whitespace, numbers and Python's `NaN`, `Infinity`,
/// `-Infinity`), each element read as an `f32` the way a `float` is.
fn decode_json_list(raw: &[u8], len: Option<usize>) -> Result<Vec<f32>, String> {
    let mut at = skip_json_space(raw, 0);
    if raw.get(at) != Some(&b'[') {
        return Err(not_a_json_array(raw));
    }
    at = skip_json_space(raw, at + 1);
    let mut out = Vec::with_capacity(len.unwrap_or(8));
    if raw.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let start = at;
            let end = json_number_end(raw, start).ok_or_else(|| {
                format!(
                    "element {} is not a number (at byte {start}), not a JSON array of numbers",
                    out.len()
                )
            })?;
            let value = decode_float::<f32>(&raw[start..end], "f32")
                .map_err(|why| format!("element {}: {why}", out.len()))?;
            out.push(value);
            at = skip_json_space(raw, end);
            match raw.get(at) {
                Some(b',') => at = skip_json_space(raw, at + 1),
                Some(b']') => {
                    at += 1;
                    break;
                }
                _ => {
                    return Err(format!(
                        "expected `,` or `]` after element {} (at byte {at}), not a JSON array \
                         of numbers",
                        out.len() - 1
                    ))
                }
            }
        }
    }
    if skip_json_space(raw, at) != raw.len() {
        return Err(format!("text after the closing `]` (at byte {at})"));
    }
    Ok(out)
}

/// The position of the first byte from `at` that is not JSON whitespace.
fn skip_json_space(raw: &[u8], mut at: usize) -> usize {
    while matches!(raw.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The end of the JSON number (or `NaN`, `Infinity`, `-Infinity`) starting at `at`, if one does.
fn json_number_end(raw: &[u8], at: usize) -> Option<usize> {
    let rest = raw.get(at..)?;
    for word in [&b"NaN"[..], b"Infinity", b"-Infinity"] {
        if rest.starts_with(word) {
            return Some(at + word.len());
        }
    }
    let digits = |from: usize| {
        let n = raw
            .get(from..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
        from + n
    };
    let mut end = at + usize::from(rest.first() == Some(&b'-'));
    end = match raw.get(end) {
        Some(b'0') => end + 1,
        Some(b'1'..=b'9') => digits(end),
        _ => return None,
    };
    if raw.get(end) == Some(&b'.') {
        let fraction = digits(end + 1);
        if fraction == end + 1 {
            return None;
        }
        end = fraction;
    }
    if matches!(raw.get(end), Some(b'e' | b'E')) {
        let sign = end + 1 + usize::from(matches!(raw.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits(sign);
        if exponent == sign {
            return None;
        }
        end = exponent;
    }
    Some(end)
}

/// Why `raw`, which does not start with `[`, is not a `json` list: most often a list written
/// as `f32le` bytes by a writer that does not know the feature's encoding.
fn not_a_json_array(raw: &[u8]) -> String {
    if raw.is_empty() {
        return "empty value, not a JSON array (the empty list is `[]`)".to_owned();
    }
    if looks_like_text(raw) {
        return "not a JSON array of numbers (expected `[`)".to_owned();
    }
    let n = raw.len();
    if n.is_multiple_of(4) {
        format!(
            "binary data, not JSON text: {n} bytes, as {} little-endian f32 values would be; the \
             feature is declared json (`encoding = \"f32le\"` reads f32 bytes)",
            n / 4
        )
    } else {
        format!("binary data ({n} bytes), not JSON text; the feature is declared json")
    }
}

/// Little-endian `f32`s, 4 bytes each, `len` of them when declared.
fn decode_f32le_list(raw: &[u8], len: Option<usize>) -> Result<Vec<f32>, String> {
    if looks_like_json_text(raw) {
        return Err("looks like json text; the feature is declared f32le".to_owned());
    }
    let n = raw.len();
    match len {
        Some(len) if n != len * 4 => {
            let want = len * 4;
            return Err(if n == len * 8 {
                format!(
                    "{n} bytes: {len} float64 values? expected {want} bytes ({len} × f32, f32le)"
                )
            } else if n.is_multiple_of(4) {
                format!(
                    "{n} bytes: {} f32 values? expected {want} bytes ({len} × f32, f32le)",
                    n / 4
                )
            } else {
                format!(
                    "{n} bytes is not a whole number of f32 values; expected {want} bytes \
                     ({len} × f32, f32le)"
                )
            });
        }
        None if !n.is_multiple_of(4) => {
            return Err(format!(
                "{n} bytes is not a whole number of little-endian f32 values (4 bytes each)"
            ));
        }
        _ => {}
    }
    Ok(raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// UTF-8 without control characters other than JSON's whitespace.
fn looks_like_text(raw: &[u8]) -> bool {
    std::str::from_utf8(raw).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, ' ' | '\t' | '\n' | '\r'))
    })
}

/// `[`…`]` text: a `json` list (or other JSON-like text), not `f32le` bytes.
fn looks_like_json_text(raw: &[u8]) -> bool {
    raw.len() >= 2 && raw[0] == b'[' && raw[raw.len() - 1] == b']' && looks_like_text(raw)
}

/// A string feature's value as a vocabulary entry: `None` for an absent one. Used by vectors
/// (its position in the `vocab`) and by writers (values outside the `vocab` are noted).
#[doc(hidden)]
pub trait VocabValue {
    fn vocab_str(&self) -> Option<&str>;
}

impl VocabValue for String {
    fn vocab_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl VocabValue for Option<String> {
    fn vocab_str(&self) -> Option<&str> {
        self.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::{
        check_list, decode_list, encode_list, FeatureValue, ListEncoding, ListSpec, ListValue,
    };

    fn enc<T: FeatureValue>(v: T) -> String {
        let mut out = Vec::new();
        assert!(v.encode(&mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ints_round_trip_and_reject_garbage() {
        assert_eq!(enc(28i64), "28");
        assert_eq!(enc(-7i32), "-7");
        assert_eq!(i64::decode(b"28"), Ok(28));
        assert_eq!(i64::decode(b"+28"), Ok(28));
        assert_eq!(u64::decode(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            i32::decode(b"3000000000").unwrap_err(),
            "out of range for i32"
        );
        assert_eq!(u32::decode(b"-1").unwrap_err(), "not a decimal integer");
        assert_eq!(i64::decode(b"28.0").unwrap_err(), "not a decimal integer");
        assert_eq!(i64::decode(b"").unwrap_err(), "empty value");
        assert_eq!(i64::decode(b"\xff").unwrap_err(), "not valid UTF-8");
    }

    #[test]
    fn floats_read_python_forms() {
        assert_eq!(f64::decode(b"1250.50"), Ok(1250.5));
        assert_eq!(f64::decode(b"1e-05"), Ok(1e-5));
        assert!(f64::decode(b"nan").unwrap().is_nan());
        assert!(f64::decode(b"NaN").unwrap().is_nan());
        assert_eq!(f64::decode(b"inf"), Ok(f64::INFINITY));
        assert_eq!(f64::decode(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(f64::decode(b"Infinity"), Ok(f64::INFINITY));
        assert_eq!(f32::decode(b"0.25"), Ok(0.25));
        assert_eq!(f64::decode(b"12,5").unwrap_err(), "not a number");
    }

    #[test]
    fn floats_out_of_range_are_errors_not_other_numbers() {
        assert_eq!(
            f32::decode(b"1e300").unwrap_err(),
            "out of range for f32 (overflows to infinity)"
        );
        assert_eq!(
            f32::decode(b"-1e39").unwrap_err(),
            "out of range for f32 (overflows to infinity)"
        );
        assert_eq!(
            f32::decode(b"1e-50").unwrap_err(),
            "out of range for f32 (underflows to zero)"
        );
        assert_eq!(
            f64::decode(b"1e400").unwrap_err(),
            "out of range for f64 (overflows to infinity)"
        );
        assert_eq!(
            f64::decode(b"-1e-400").unwrap_err(),
            "out of range for f64 (underflows to zero)"
        );
        // In range, or spelled as what it is: read as the nearest value.
        assert_eq!(f64::decode(b"1e300"), Ok(1e300));
        assert_eq!(f64::decode(b"1e-300"), Ok(1e-300));
        assert!(f32::decode(b"1e-40").unwrap() > 0.0);
        assert_eq!(f32::decode(b"-inf"), Ok(f32::NEG_INFINITY));
        assert_eq!(f32::decode(b"+Infinity"), Ok(f32::INFINITY));
        let zero = f32::decode(b"-0.0").unwrap();
        assert!(zero == 0.0 && zero.is_sign_negative());
        assert_eq!(f32::decode(b"0e10"), Ok(0.0));
        assert_eq!(f64::decode(b"0.000"), Ok(0.0));
    }

    #[test]
    fn ints_beyond_i64_are_refused_on_write() {
        assert_eq!(
            u64::MAX.check().unwrap_err().split(' ').next(),
            Some("18446744073709551615")
        );
        assert!((i64::MAX as u64).check().is_ok());
        assert!(Some(u64::MAX).check().is_err());
        assert!(None::<u64>.check().is_ok());
        assert!(i64::MIN.check().is_ok());
    }

    #[test]
    fn floats_write_shortest_round_trip() {
        assert_eq!(enc(1250.5f64), "1250.5");
        assert_eq!(enc(0.1f64), "0.1");
        assert_eq!(enc(1.0f64), "1.0");
        assert_eq!(enc(1e300f64), "1e300");
        assert_eq!(enc(0.1f32), "0.1");
        assert_eq!(enc(f64::NAN), "nan");
        assert_eq!(enc(f64::NEG_INFINITY), "-inf");
        for v in [
            0.1f64,
            1.0 / 3.0,
            123456.789e-200,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(f64::decode(enc(v).as_bytes()), Ok(v));
        }
    }

    #[test]
    fn bools_accept_python_forms() {
        for (raw, want) in [("true", true), ("True", true), ("1", true)] {
            assert_eq!(bool::decode(raw.as_bytes()), Ok(want));
        }
        for raw in ["false", "False", "0"] {
            assert_eq!(bool::decode(raw.as_bytes()), Ok(false));
        }
        assert!(bool::decode(b"yes").is_err());
        assert_eq!(enc(true), "true");
        assert_eq!(enc(false), "false");
    }

    fn json(values: &[f32]) -> String {
        let mut out = Vec::new();
        encode_list(values, ListEncoding::Json, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn spec(len: Option<usize>, encoding: ListEncoding) -> ListSpec {
        ListSpec::new(len, encoding)
    }

    fn read_json(text: &str) -> Result<Vec<f32>, String> {
        decode_list(text.as_bytes(), &ListSpec::JSON)
    }

    #[test]
    fn json_lists_are_what_python_json_dumps_writes() {
        assert_eq!(json(&[0.5, 1.5, -2.0]), "[0.5, 1.5, -2.0]");
        assert_eq!(json(&[]), "[]");
        assert_eq!(json(&[1.0]), "[1.0]");
        assert_eq!(
            json(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]),
            "[NaN, Infinity, -Infinity, -0.0]"
        );
        assert_eq!(
            json(&[0.1, 1e-7, f32::MAX, f32::from_bits(1), 16_777_216.0]),
            "[0.1, 1e-7, 3.4028235e38, 1e-45, 16777216.0]"
        );
        // `Vec<f32>`'s own encoding is the default one.
        assert_eq!(enc(vec![0.25f32, 2.0]), "[0.25, 2.0]");
    }

    #[test]
    fn json_lists_read_any_json_array_of_numbers() {
        let halves = read_json("[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]").unwrap();
        assert_eq!(halves, [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
        assert_eq!(
            read_json(" [ 1 ,2e-3,\n-0.0 ,1E+2]\t\r\n").unwrap(),
            [1.0, 2e-3, -0.0, 100.0]
        );
        assert!(read_json("[-0.0]").unwrap()[0].is_sign_negative());
        let special = read_json("[NaN,-Infinity, Infinity]").unwrap();
        assert!(special[0].is_nan());
        assert_eq!(special[1..], [f32::NEG_INFINITY, f32::INFINITY]);
        assert_eq!(read_json("[1e-45]").unwrap(), [f32::from_bits(1)]);
        assert_eq!(read_json("[]").unwrap(), Vec::<f32>::new());
        assert_eq!(read_json("[ ]").unwrap(), Vec::<f32>::new());
        assert_eq!(read_json("[3.4028235e38]").unwrap(), [f32::MAX]);
    }

    #[test]
    fn json_lists_refuse_what_is_not_a_json_array_of_numbers() {
        let cases = [
            ("", "empty value, not a JSON array (the empty list is `[]`)"),
            ("0.5", "not a JSON array of numbers (expected `[`)"),
            (
                "[0.5, 1.5",
                "expected `,` or `]` after element 1 (at byte 9)",
            ),
            ("[0.5,]", "element 1 is not a number (at byte 5)"),
            ("[.5]", "element 0 is not a number (at byte 1)"),
            ("[1.]", "element 0 is not a number (at byte 1)"),
            ("[+1]", "element 0 is not a number (at byte 1)"),
            ("[1e]", "element 0 is not a number (at byte 1)"),
            ("[nan]", "element 0 is not a number (at byte 1)"),
            ("[-NaN]", "element 0 is not a number (at byte 1)"),
            ("[\"0.5\"]", "element 0 is not a number (at byte 1)"),
            ("[01]", "expected `,` or `]` after element 0 (at byte 2)"),
            ("[1 2]", "expected `,` or `]` after element 0 (at byte 3)"),
            (
                "[1e39]",
                "element 0: out of range for f32 (overflows to infinity)",
            ),
            (
                "[0.5, -1e39]",
                "element 1: out of range for f32 (overflows to infinity)",
            ),
            (
                "[1e-50]",
                "element 0: out of range for f32 (underflows to zero)",
            ),
            ("[0.5] x", "text after the closing `]` (at byte 5)"),
            ("[[0.5]]", "element 0 is not a number (at byte 1)"),
        ];
        for (text, reason) in cases {
            let err = read_json(text).unwrap_err();
            assert!(err.starts_with(reason), "{text:?}: {err}");
        }
    }

    #[test]
    fn binary_bytes_in_a_json_list_are_an_error_not_numbers() {
        let mut bytes = Vec::new();
        encode_list(&[0.5; 8], ListEncoding::F32Le, &mut bytes);
        assert_eq!(
            decode_list(&bytes, &spec(Some(8), ListEncoding::Json)).unwrap_err(),
            "binary data, not JSON text: 32 bytes, as 8 little-endian f32 values would be; the \
             feature is declared json (`encoding = \"f32le\"` reads f32 bytes)"
        );
        assert_eq!(
            decode_list(b"\x00\x00\x80", &ListSpec::JSON).unwrap_err(),
            "binary data (3 bytes), not JSON text; the feature is declared json"
        );
        // numpy's default float64 bytes.
        let doubles: Vec<u8> = [0.5f64; 8].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(decode_list(&doubles, &spec(Some(8), ListEncoding::Json))
            .unwrap_err()
            .starts_with("binary data, not JSON text: 64 bytes"));
    }

    #[test]
    fn the_declared_len_is_checked_in_both_encodings() {
        let eight = spec(Some(8), ListEncoding::Json);
        assert_eq!(
            decode_list(b"[0.5, 1.5, 2.5]", &eight).unwrap_err(),
            "3 floats, expected 8 (the declared `len`)"
        );
        assert_eq!(
            decode_list(b"[]", &eight).unwrap_err(),
            "0 floats, expected 8 (the declared `len`)"
        );
        assert_eq!(decode_list(b"[1,2,3,4,5,6,7,8]", &eight).unwrap().len(), 8);
        for encoding in ListEncoding::ALL {
            let declared = spec(Some(8), encoding);
            assert_eq!(
                check_list(&[1.0; 3], &declared).unwrap_err(),
                "3 floats; the feature is declared `len = 8`"
            );
            assert_eq!(check_list(&[1.0; 8], &declared), Ok(()));
            assert_eq!(check_list(&[1.0; 3], &spec(None, encoding)), Ok(()));
            assert!(ListValue::new(&vec![1.0f32; 9], declared).check().is_err());
            assert!(ListValue::new(&None::<Vec<f32>>, declared).check().is_ok());
            assert!(ListValue::new(&Some(vec![1.0f32; 8]), declared)
                .check()
                .is_ok());
        }
    }

    #[test]
    fn f32le_lists_are_little_endian_f32_bytes() {
        let declared = spec(Some(3), ListEncoding::F32Le);
        let v = vec![1.0f32, -2.5, 0.0];
        let mut out = Vec::new();
        assert!(ListValue::new(&v, declared).encode(&mut out));
        assert_eq!(&out[..4], &1.0f32.to_le_bytes());
        assert_eq!(out.len(), 12);
        assert_eq!(decode_list(&out, &declared), Ok(v));
        assert!(!ListValue::new(&None::<Vec<f32>>, declared).encode(&mut out));
        let any = spec(None, ListEncoding::F32Le);
        assert_eq!(
            decode_list(b"abc", &any).unwrap_err(),
            "3 bytes is not a whole number of little-endian f32 values (4 bytes each)"
        );
        assert_eq!(decode_list(b"", &any), Ok(vec![]));
    }

    #[test]
    fn f32le_lists_of_the_wrong_size_say_what_they_look_like() {
        let eight = spec(Some(8), ListEncoding::F32Le);
        let doubles: Vec<u8> = [0.5f64; 8].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            decode_list(&doubles, &eight).unwrap_err(),
            "64 bytes: 8 float64 values? expected 32 bytes (8 × f32, f32le)"
        );
        assert_eq!(
            decode_list(&[0; 12], &eight).unwrap_err(),
            "12 bytes: 3 f32 values? expected 32 bytes (8 × f32, f32le)"
        );
        assert_eq!(
            decode_list(&[0; 33], &eight).unwrap_err(),
            "33 bytes is not a whole number of f32 values; expected 32 bytes (8 × f32, f32le)"
        );
        for text in [
            "[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]",
            "[1.5,2.5,3.5,4.5,5.5,6.5,7.5,18]",
            "[]",
        ] {
            assert_eq!(
                decode_list(text.as_bytes(), &eight).unwrap_err(),
                "looks like json text; the feature is declared f32le",
                "{text}"
            );
        }
        // 32 bytes of JSON text: the right size, still text, not eight floats.
        assert_eq!("[1.5,2.5,3.5,4.5,5.5,6.5,7.5,18]".len(), 32);
    }

    #[test]
    fn f32le_lists_whose_bytes_read_as_json_text_are_refused_on_write() {
        let text = b"[12, 34]";
        let values: Vec<f32> = text
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let declared = spec(Some(2), ListEncoding::F32Le);
        let err = check_list(&values, &declared).unwrap_err();
        assert!(err.contains("\"[12, 34]\""), "{err}");
        assert!(decode_list(text, &declared).is_err());
        // The same values as json are fine, and so is a list that only starts with `[`.
        assert_eq!(
            check_list(&values, &spec(Some(2), ListEncoding::Json)),
            Ok(())
        );
        assert_eq!(
            check_list(&values[..1], &spec(None, ListEncoding::F32Le)),
            Ok(())
        );
    }

    #[test]
    fn both_encodings_round_trip_f32_bit_patterns() {
        let mut bits: Vec<u32> = vec![0, 1, 0x8000_0000, 0x7f7f_ffff, 0xff7f_ffff, 0x0080_0000];
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bits.push(x);
        }
        let values: Vec<f32> = bits.iter().map(|b| f32::from_bits(*b)).collect();
        for chunk in values.chunks(7) {
            for encoding in ListEncoding::ALL {
                let declared = spec(Some(chunk.len()), encoding);
                if check_list(chunk, &declared).is_err() {
                    continue;
                }
                let mut out = Vec::new();
                encode_list(chunk, encoding, &mut out);
                let back = decode_list(&out, &declared).unwrap();
                for (a, b) in chunk.iter().zip(&back) {
                    if encoding == ListEncoding::Json && a.is_nan() {
                        // JSON has one NaN: the payload and sign are not kept.
                        assert!(b.is_nan());
                    } else {
                        assert_eq!(a.to_bits(), b.to_bits(), "{encoding:?}: {a:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn options_are_absent_or_present() {
        assert_eq!(Option::<String>::absent(), Some(None));
        assert_eq!(String::absent(), None);
        assert_eq!(Option::<String>::decode(b"DE"), Ok(Some("DE".to_owned())));
        assert!(!None::<String>.encode(&mut Vec::new()));
        assert!(String::decode(b"\xc3").unwrap_err().contains("UTF-8"));
    }
}
