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
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn accepts_units_and_plain_seconds() {
        assert_eq!(parse_seconds("30s"), Ok(30));
        assert_eq!(parse_seconds("15m"), Ok(900));
        assert_eq!(parse_seconds("1h"), Ok(3_600));
        assert_eq!(parse_seconds("7d"), Ok(604_800));
        assert_eq!(parse_seconds("45"), Ok(45));
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
