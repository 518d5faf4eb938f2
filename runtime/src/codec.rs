//! The storage codec: how each feature type is written to and read from a hash field.
//!
//! Values are UTF-8 text, as Python writers store them, except embeddings:
//!
//! | Rust type | registry type | written as | also read |
//! |---|---|---|---|
//! | `i64`, `i32`, `u32`, `u64` | `int` | decimal: `28` | `+28` |
//! | `f64`, `f32` | `float` | shortest round-trip decimal: `1250.5`, `nan`, `inf`, `-inf` | `1250.50`, `1e-05`, `NaN`, `Infinity` |
//! | `bool` | `bool` | `true` / `false` | `True`, `False`, `1`, `0` |
//! | `String` | `string` | the raw UTF-8 bytes | |
//! | `Vec<f32>` | `float_list` | little-endian `f32` bytes, 4 per element | |
//!
//! `Option<T>` stores `T`; `None` removes the field on write and is what an absent field reads as.
//! Anything else is an [`Error::Decode`](crate::Error::Decode) naming key, field, expected type and
//! an escaped excerpt of the stored bytes.

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
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! int_value {
    ($($t:ty => $name:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl FeatureValue for $t {
            const EXPECTED: &'static str = $name;

            fn decode(raw: &[u8]) -> Result<Self, String> {
                let text = std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_owned())?;
                text.parse::<$t>().map_err(|e| match e.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        format!("out of range for {}", stringify!($t))
                    }
                    std::num::IntErrorKind::Empty => "empty value".to_owned(),
                    _ => "not a decimal integer".to_owned(),
                })
            }

            fn encode(&self, out: &mut Vec<u8>) -> bool {
                // Writing to a Vec cannot fail.
                let _ = write!(out, "{self}");
                true
            }
        }
    )*};
}

int_value!(i64 => "i64 (int)", i32 => "i32 (int)", u32 => "u32 (int)", u64 => "u64 (int)");

macro_rules! float_value {
    ($($t:ty => $name:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl FeatureValue for $t {
            const EXPECTED: &'static str = $name;

            fn decode(raw: &[u8]) -> Result<Self, String> {
                let text = std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_owned())?;
                // Rust's parser accepts `nan`, `NaN`, `inf`, `infinity` in any case, exponents
                // and trailing zeros: everything Python's `str(float)` and `repr` produce.
                text.parse::<$t>().map_err(|_| {
                    if text.is_empty() { "empty value".to_owned() } else { "not a number".to_owned() }
                })
            }

            fn encode(&self, out: &mut Vec<u8>) -> bool {
                if self.is_nan() {
                    out.extend_from_slice(b"nan");
                } else if self.is_infinite() {
                    out.extend_from_slice(if *self > 0.0 { b"inf" } else { b"-inf" });
                } else {
                    // `Debug` is the shortest representation that round-trips, with an exponent
                    // for very large and very small magnitudes (`1e300`), which Python also reads.
                    let _ = write!(out, "{self:?}");
                }
                true
            }
        }
    )*};
}

float_value!(f64 => "f64 (float)", f32 => "f32 (float)");

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
impl FeatureValue for Vec<f32> {
    const EXPECTED: &'static str = "Vec<f32> (float_list)";

    fn decode(raw: &[u8]) -> Result<Self, String> {
        if raw.len() % 4 != 0 {
            return Err(format!(
                "{} bytes is not a whole number of little-endian f32 values (4 bytes each)",
                raw.len()
            ));
        }
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.reserve(self.len() * 4);
        for v in self {
            out.extend_from_slice(&v.to_le_bytes());
        }
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

#[cfg(test)]
mod tests {
    use super::FeatureValue;

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

    #[test]
    fn embeddings_are_little_endian_f32() {
        let v = vec![1.0f32, -2.5, 0.0];
        let mut out = Vec::new();
        assert!(v.encode(&mut out));
        assert_eq!(&out[..4], &1.0f32.to_le_bytes());
        assert_eq!(Vec::<f32>::decode(&out), Ok(v));
        assert!(Vec::<f32>::decode(b"abc").unwrap_err().contains("3 bytes"));
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
