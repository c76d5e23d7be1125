//! Istio durations: `"0.5s"`, `"7s"`, `"100ms"`, `"1m"`, `"1h"`, `"1m30s"`.
//!
//! Istio's YAML writes durations as strings with a unit. A bare number is refused on purpose:
//! `timeout: 5` could mean seconds or milliseconds, and guessing is how outages start.

use std::fmt;
use std::time::Duration as StdDuration;

use serde::Deserialize;

/// A non-negative duration parsed from Istio's string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub StdDuration);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Accept any scalar so that `fixedDelay: 7` gets the duration message ("missing
        // unit"), not a bare "expected a string".
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => parse(&text),
            serde_json::Value::Number(n) => parse(&n.to_string()),
            other => Err(format!(
                "invalid duration {other}: expected a string such as \"7s\""
            )),
        }
        .map(Duration)
        .map_err(serde::de::Error::custom)
    }
}

impl Duration {
    /// The standard-library duration.
    pub fn get(self) -> StdDuration {
        self.0
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse(text).map(Duration)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", nanos / 1_000_000_000)
        } else if nanos.is_multiple_of(1_000_000) {
            write!(f, "{}ms", nanos / 1_000_000)
        } else {
            write!(f, "{}s", self.0.as_secs_f64())
        }
    }
}

/// Parse a sequence of `<decimal><unit>` parts (units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`).
pub fn parse(text: &str) -> Result<StdDuration, String> {
    let bad = |why: &str| {
        format!(
            "invalid duration {text:?}: {why} (write it like \"0.5s\", \"100ms\", \"7s\", \"1m\", \"1h\")"
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    if rest.starts_with('-') {
        return Err(bad("negative"));
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(bad("expected a number"));
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad("bad number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            "" => return Err(bad("missing unit")),
            _ => return Err(bad("unknown unit")),
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    StdDuration::try_from_secs_f64(total).map_err(|_| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_forms() {
        let ms = StdDuration::from_millis;
        for (text, want) in [
            ("0.5s", ms(500)),
            ("7s", ms(7000)),
            ("100ms", ms(100)),
            ("1m", ms(60_000)),
            ("1h", ms(3_600_000)),
            ("1m30s", ms(90_000)),
            ("2s", ms(2000)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refused_forms() {
        for text in ["", "5", "-1s", "5 parsecs", "s", "1x"] {
            assert!(parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["7s", "500ms", "0.0005s"] {
            let d: Duration = text.parse().expect("valid");
            assert_eq!(d.to_string(), text);
        }
    }
}
