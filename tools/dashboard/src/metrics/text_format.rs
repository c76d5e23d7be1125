//! A reader for the Prometheus text exposition format (version 0.0.4), the body of a sidecar's
//! `/stats/prometheus`: one sample per line, `name{label="value",...} value [timestamp]`.
//!
//! Only what the dashboard needs: the samples with their labels. `# HELP` and `# TYPE` lines are
//! skipped (a histogram's `_bucket`, `_sum` and `_count` series are told apart by their names),
//! and so is a trailing timestamp. The crates that parse this format carry a date library and
//! regexes for the timestamps and types we ignore, so this small reader is our own.

use std::fmt;

/// One line of the exposition: a series (name and labels) and its value at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// The labels, sorted by name, so that two samples of one series compare equal.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A line that is not a sample, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Every sample of `text` whose metric name `keep` accepts (the others are not even parsed past
/// their name, so a sidecar's many other metrics cost little).
pub fn parse(text: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: String| ParseError {
            line: index + 1,
            message,
        };
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| fail(format!("no value after `{line}`")))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(fail(format!("`{name}` is not a metric name")));
        }
        if !keep(name) {
            continue;
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after_brace) = rest.strip_prefix('{') {
            rest = read_labels(after_brace, &mut labels).map_err(fail)?;
        }
        let value_text = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| fail(format!("`{name}` has no value")))?;
        let value = parse_value(value_text)
            .ok_or_else(|| fail(format!("`{value_text}` is not a number")))?;
        labels.sort();
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Reads `label="value",...}` into `labels`; returns what follows the closing brace.
fn read_labels<'a>(
    mut text: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, String> {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix('}') {
            return Ok(rest);
        }
        let equals = text
            .find('=')
            .ok_or_else(|| format!("label without `=` in `{text}`"))?;
        let key = text[..equals].trim();
        if !is_metric_name(key) || key.contains(':') {
            return Err(format!("`{key}` is not a label name"));
        }
        let quoted = text[equals + 1..].trim_start();
        let body = quoted
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{key}` is not quoted"))?;
        let (value, rest) =
            read_quoted(body).ok_or_else(|| format!("label `{key}` is not closed"))?;
        labels.push((key.to_string(), value));
        text = rest.trim_start();
        if let Some(rest) = text.strip_prefix(',') {
            text = rest;
        } else if !text.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{key}`"));
        }
    }
}

/// A label value up to its closing quote, with the format's three escapes undone.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::istio::Labels;

    fn all(text: &str) -> Result<Vec<Sample>, ParseError> {
        parse(text, |_| true)
    }

    #[test]
    fn reads_samples_with_labels_and_skips_comments() -> Result<(), ParseError> {
        let text = "# HELP istio_requests_total Requests.\n\
                    # TYPE istio_requests_total counter\n\
                    istio_requests_total{reporter=\"source\",response_code=\"200\"} 12\n\
                    \n\
                    up 1 1700000000000\n";
        let samples = all(text)?;
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].name, "istio_requests_total");
        assert_eq!(
            Labels::get(samples[0].labels.as_slice(), "response_code"),
            Some("200")
        );
        assert_eq!(samples[0].value, 12.0);
        assert_eq!(samples[1].labels, vec![]);
        Ok(())
    }

    #[test]
    fn sorts_labels_and_undoes_escapes() -> Result<(), ParseError> {
        let samples = all("m{z=\"a\\\"b\",a=\"c\\\\d\\n\",} 1.5e3\n")?;
        assert_eq!(
            samples[0].labels,
            vec![
                ("a".to_string(), "c\\d\n".to_string()),
                ("z".to_string(), "a\"b".to_string())
            ]
        );
        assert_eq!(samples[0].value, 1500.0);
        Ok(())
    }

    #[test]
    fn reads_infinities_and_nan() -> Result<(), ParseError> {
        let samples = all("b{le=\"+Inf\"} +Inf\nc NaN\nd -Inf\n")?;
        assert_eq!(
            Labels::get(samples[0].labels.as_slice(), "le"),
            Some("+Inf")
        );
        assert!(samples[0].value.is_infinite());
        assert!(samples[1].value.is_nan());
        assert_eq!(samples[2].value, f64::NEG_INFINITY);
        Ok(())
    }

    #[test]
    fn keeps_only_the_names_asked_for() -> Result<(), ParseError> {
        let samples = parse("a 1\nb{x=\"y\"} 2\n", |name| name == "b")?;
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].name, "b");
        Ok(())
    }

    #[test]
    fn names_the_line_of_a_bad_sample() {
        let cases = [
            ("ok 1\nbad{x=\"y\" 2\n", 2, "expected `,`"),
            ("m{x=y} 1\n", 1, "not quoted"),
            ("m{x=\"y} 1\n", 1, "not closed"),
            ("m abc\n", 1, "not a number"),
            ("m\n", 1, "no value"),
            ("9m 1\n", 1, "not a metric name"),
        ];
        for (text, line, message) in cases {
            let Err(error) = all(text) else {
                panic!("{text:?} should not parse");
            };
            assert_eq!(error.line, line, "{text:?}");
            assert!(error.message.contains(message), "{text:?}: {error}");
        }
    }
}
