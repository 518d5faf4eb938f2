//! The `_updated_at` stamp: when a row was last written.
//!
//! fstore writes epoch **seconds with a three-digit millisecond fraction**, as text
//! (`1796101050.697`): Python's `float()` reads it, as the seed's library does with its own
//! `str(time.time())` stamps. fstore reads both that form (any number of fraction digits) and
//! integer epoch **milliseconds** (`1796101050697`, what fstore wrote before 0.3): an integer of
//! at least 10¹¹ is milliseconds (10¹¹ seconds is the year 5138), a smaller one seconds.
//! Fraction digits beyond milliseconds are dropped, never rounded up, so a stamp never reads
//! newer than it is.

use std::io::Write as _;

/// The smallest integer stamp read as milliseconds (10¹¹: 1973 in milliseconds, 5138 in seconds).
const MILLIS_FROM: u64 = 100_000_000_000;

/// What a stamp must look like, for [`Error::Decode`](crate::Error::Decode).
pub(crate) const EXPECTED: &str =
    "a stamp (epoch seconds such as 1796101050.697, or epoch milliseconds)";

/// Appends the stamp for `ms` epoch milliseconds: `seconds.mmm`.
pub(crate) fn encode(ms: u64, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}.{:03}", ms / 1000, ms % 1000);
}

/// The epoch milliseconds of a stored stamp.
///
/// # Errors
/// A short reason when `raw` is neither form (negative, empty, not a number, or seconds with a
/// fraction past the year 5138).
pub(crate) fn decode(raw: &[u8]) -> Result<u64, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_owned())?;
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !f.is_empty() && !digits(f)) {
        return Err("not epoch seconds or milliseconds in decimal digits".to_owned());
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| "out of range for a stamp".to_owned())?;
    match fraction {
        None if whole >= MILLIS_FROM => Ok(whole),
        _ if whole >= MILLIS_FROM => {
            Err("seconds past the year 5138 (a stamp in milliseconds has no fraction)".to_owned())
        }
        _ => {
            let millis = fraction.map_or(0, |f| {
                f.bytes()
                    .chain(std::iter::repeat(b'0'))
                    .take(3)
                    .fold(0, |acc, b| acc * 10 + u64::from(b - b'0'))
            });
            Ok(whole * 1000 + millis)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_seconds_with_milliseconds() {
        let mut out = Vec::new();
        encode(1_796_101_050_697, &mut out);
        assert_eq!(out, b"1796101050.697");
        out.clear();
        encode(1_796_101_050_007, &mut out);
        assert_eq!(out, b"1796101050.007");
        assert_eq!(decode(b"1796101050.007"), Ok(1_796_101_050_007));
    }

    #[test]
    fn reads_python_seconds_and_integer_milliseconds() {
        assert_eq!(decode(b"1796101050.6966457"), Ok(1_796_101_050_696));
        assert_eq!(decode(b"1796101050.6"), Ok(1_796_101_050_600));
        assert_eq!(decode(b"1796101050."), Ok(1_796_101_050_000));
        assert_eq!(decode(b"1796101050"), Ok(1_796_101_050_000));
        assert_eq!(decode(b"1796101050697"), Ok(1_796_101_050_697));
        assert_eq!(decode(b"1"), Ok(1000));
        assert_eq!(decode(b"99999999999"), Ok(99_999_999_999_000));
        assert_eq!(decode(b"100000000000"), Ok(100_000_000_000));
    }

    #[test]
    fn refuses_what_is_not_a_stamp() {
        for bad in [
            &b""[..],
            b"-1796101050.5",
            b"1.7e9",
            b"abc",
            b".5",
            b"1796101050.6x",
            b"1796101050697.5",
            b"99999999999999999999999",
            b"\xff",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
