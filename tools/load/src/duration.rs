//! Durations on the command line (`10s`, `500ms`, `1m30s`, `1.5s`) and in reports.
//!
//! The same spelling as fortio's and Go's: a number followed by a unit (`us`, `ms`, `s`, `m`,
//! `h`), several such parts added together. A bare number is refused, so that `-t 10` cannot be
//! read as ten seconds by one person and ten milliseconds by another.

use std::time::Duration;

/// Parses `1m30s`, `250ms`, `0.5s`... into a [`Duration`]; the error says what was expected.
pub fn parse(text: &str) -> Result<Duration, String> {
    let expected = || {
        format!(
            "`{text}` is not a duration: write a number and a unit, such as 10s, 500ms or 1m30s"
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(expected());
    }
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(expected)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| expected())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(expected()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| expected())
}

/// A duration for people: `850 µs`, `12.3 ms`, `4.56 s`, `2 min 5 s`.
pub fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.3} ms", micros / 1e3)
    } else if micros < 120_000_000.0 {
        format!("{:.3} s", micros / 1e6)
    } else {
        let seconds = duration.as_secs();
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums_are_understood() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse(" 3s "), Ok(Duration::from_secs(3)));
    }

    #[test]
    fn numbers_without_units_and_nonsense_are_refused() {
        for bad in ["", "10", "s", "ten seconds", "1.2.3s", "5 s", "-1s", "3d"] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains("not a duration"), "{bad}: {error}");
        }
    }

    #[test]
    fn durations_are_shown_in_a_readable_unit() {
        assert_eq!(human(Duration::from_micros(850)), "850 µs");
        assert_eq!(human(Duration::from_micros(12_345)), "12.345 ms");
        assert_eq!(human(Duration::from_millis(4_560)), "4.560 s");
        assert_eq!(human(Duration::from_secs(125)), "2 min 5 s");
    }
}
