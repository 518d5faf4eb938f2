//! Durations: `"30s"`, `"15m"`, `"1h"`, `"7d"`, or an integer number of seconds.

/// Parses a duration text into seconds; the error says what is accepted.
pub fn parse_seconds(text: &str) -> Result<u64, String> {
    const HELP: &str = "expected a whole number followed by `s`, `m`, `h` or `d` \
                        (\"30s\", \"15m\", \"1h\", \"7d\"), or an integer number of seconds";
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if unit.starts_with(char::is_whitespace) {
        return Err(format!("invalid duration {text:?}: write the unit right after the number, without a space; {HELP}"));
    }
    if digits.is_empty() {
        return Err(format!("invalid duration {text:?}: {HELP}"));
    }
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {unit:?}; {HELP}"
            ))
        }
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: the number is too large"))?;
    let seconds = value
        .checked_mul(scale)
        .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
    if seconds == 0 {
        return Err(format!(
            "invalid duration {text:?}: it must be at least one second"
        ));
    }
    seconds_in_range(seconds).map_err(|why| format!("invalid duration {text:?}: {why}"))
}

/// The longest duration (`ttl`, `max_age`) the registry and the derives accept: 100 years
/// (365-day years), in seconds. Valkey refuses an expiry whose absolute time overflows a 64-bit
/// millisecond count; this bound keeps every write far from that limit, on every backend.
pub const MAX_DURATION_SECONDS: u64 = 100 * 365 * 86_400;

/// `seconds` when it is from 1 to [`MAX_DURATION_SECONDS`]; else why not. The one rule of the
/// registry (`ttl = ...`, `max_age = ...`) and of the derives' attributes.
///
/// # Errors
/// A short reason for 0 or for more than 100 years.
pub fn seconds_in_range(seconds: u64) -> Result<u64, String> {
    match seconds {
        0 => Err("it must be at least one second".to_owned()),
        s if s > MAX_DURATION_SECONDS => Err(format!(
            "{s} seconds is more than 100 years ({MAX_DURATION_SECONDS} seconds), the longest \
             fstore accepts; Valkey cannot expire a key that far ahead"
        )),
        s => Ok(s),
    }
}

/// `seconds` in the largest unit that divides it evenly, as a registry would write it: `"3h"`,
/// `"90s"`, `"2d"`. For messages that name a duration.
///
/// ```
/// assert_eq!(fstore_registry::duration_text(5_400), "90m");
/// ```
pub fn duration_text(seconds: u64) -> String {
    match seconds {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::{duration_text, parse_seconds};

    #[test]
    fn text_uses_the_largest_unit() {
        assert_eq!(duration_text(3 * 3_600), "3h");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(120), "2m");
        assert_eq!(duration_text(2 * 86_400), "2d");
        assert_eq!(duration_text(36 * 3_600), "36h");
        for s in [1, 59, 60, 61, 3_600, 5_400, 86_400, 604_800] {
            assert_eq!(parse_seconds(&duration_text(s)), Ok(s));
        }
    }

    #[test]
    fn accepts_units_and_plain_seconds() {
        assert_eq!(parse_seconds("30s"), Ok(30));
        assert_eq!(parse_seconds("15m"), Ok(900));
        assert_eq!(parse_seconds("1h"), Ok(3_600));
        assert_eq!(parse_seconds("7d"), Ok(604_800));
        assert_eq!(parse_seconds("45"), Ok(45));
    }

    #[test]
    fn bounds() {
        assert_eq!(parse_seconds("36500d"), Ok(super::MAX_DURATION_SECONDS));
        assert!(parse_seconds("36501d").unwrap_err().contains("100 years"));
        assert!(parse_seconds("9223372036854775807")
            .unwrap_err()
            .contains("100 years"));
        assert!(super::seconds_in_range(0).is_err());
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "h",
            "1w",
            "1.5h",
            "-1h",
            "1h30m",
            "0s",
            "99999999999999999999d",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_seconds("1w")
            .unwrap_err()
            .contains("unknown unit \"w\""));
    }
}
