//! One line of expected output, made into a pattern: what the text shows, except for the
//! values that legitimately differ from one run to the next.
//!
//! The doc shows real values (a reader should see a real pid, not `<PID>`), so the check
//! recognises the kinds that vary by their shape:
//! - timestamps (`2026-11-26T18:51:10.905007Z`) match any timestamp;
//! - decimal numbers (`0.1 s`, `1771.1 per second`) match any number: durations and rates;
//!   a number of seconds written `5.25s` (cargo's) also matches `1m 04s`;
//! - 16-digit hex (`237341a501276e31`, a config version) matches any such, and so do 32-digit
//!   hex (`4bf92f3577b34da6a3ce929d0e0e4736`, a trace id) and UUIDs (an `x-request-id`);
//! - whole numbers of four digits or more (pids, ports, sizes) match any whole number, and the
//!   first match **binds** it: later lines must show the same value where the doc repeats the
//!   number, and commands that use it (`kill 10985`) get the value seen;
//! - `...` inside a line matches any text (trimmed output);
//! - runs of spaces match any run of spaces (column widths follow the values).
//!
//! Addresses (`127.0.0.1`) and versions (`v0.1.0`) stay exact; small whole numbers (status codes,
//! counts) stay exact unless the block says `numbers vary`, where every whole number matches
//! any and none binds.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// Numbers of the doc bound to the values a run printed: `"10985" -> "4242"`.
pub type Bindings = BTreeMap<String, String>;

/// The pieces an expected line is cut into, in the order they are tried.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<ellipsis>\.\.\.)",
        r"|(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)",
        r"|(?P<uuid>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)",
        r"|(?P<trace>\b[0-9a-f]{32}\b)",
        r"|(?P<exact>\d+\.\d+\.\d+(?:\.\d+)?)",
        r"|(?P<hex>\b[0-9a-f]{16}\b)",
        r"|(?P<seconds>\b\d+(?:\.\d+)?s\b)",
        r"|(?P<decimal>\d+\.\d+)",
        r"|(?P<whole>\d+)",
        r"|(?P<spaces> +)",
    ))
    .expect("the token pattern is valid")
});

/// An expected line, ready to be matched against lines a run printed.
#[derive(Debug, Clone)]
pub struct LinePattern {
    /// The line as the doc shows it, for diffs.
    pub text: String,
    regex: Regex,
    /// For each capture group, in order: the doc's number, and whether it binds.
    captures: Vec<(String, bool)>,
}

impl LinePattern {
    /// The pattern for `text`. With `numbers_vary`, every whole number matches any whole number
    /// and none binds.
    pub fn new(text: &str, numbers_vary: bool) -> Self {
        let text = text.trim_end();
        // Leading spaces are free too: `ps` right-aligns its pid column, so a shorter pid
        // than the doc's starts the line with a space.
        let mut pattern = String::from("^ *");
        let mut captures = Vec::new();
        let mut last = 0;
        for token in TOKENS.captures_iter(text) {
            let whole_match = token.get(0).expect("group 0 always matches");
            pattern.push_str(&regex::escape(&text[last..whole_match.start()]));
            last = whole_match.end();
            let found = whole_match.as_str();
            if token.name("ellipsis").is_some() {
                pattern.push_str(".*?");
            } else if token.name("time").is_some() {
                pattern.push_str(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z");
            } else if token.name("uuid").is_some() {
                pattern.push_str("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
            } else if token.name("trace").is_some() {
                pattern.push_str("[0-9a-f]{32}");
            } else if token.name("exact").is_some() {
                pattern.push_str(&regex::escape(found));
            } else if token.name("hex").is_some() {
                pattern.push_str("[0-9a-f]{16}");
            } else if token.name("seconds").is_some() {
                // Cargo's `in 5.25s`, which becomes `in 1m 04s` past a minute.
                pattern.push_str(r"(?:\d+m )?\d+(?:\.\d+)?s");
            } else if token.name("decimal").is_some() {
                pattern.push_str(r"\d+(?:\.\d+)?");
            } else if token.name("whole").is_some() {
                // In a `numbers vary` block nothing binds: the same number of the doc may
                // stand for different values there (two 3000 ms durations, 3000 and 3001).
                let binds = found.len() >= 4 && !numbers_vary;
                if binds || numbers_vary {
                    pattern.push_str(r"(\d+)");
                    captures.push((found.to_string(), binds));
                } else {
                    pattern.push_str(found);
                }
            } else if whole_match.start() == 0 {
                // Already allowed by the `^ *` above.
            } else {
                pattern.push_str(" +");
            }
        }
        pattern.push_str(&regex::escape(&text[last..]));
        pattern.push('$');
        let regex = Regex::new(&pattern).expect("escaped pieces make a valid pattern");
        Self {
            text: text.to_string(),
            regex,
            captures,
        }
    }

    /// Whether `actual` matches under `bindings`; `Some` with the bindings it adds.
    pub fn matches(&self, actual: &str, bindings: &Bindings) -> Option<Bindings> {
        let found = self.regex.captures(actual.trim_end())?;
        let mut added = Bindings::new();
        for (index, (doc_number, binds)) in self.captures.iter().enumerate() {
            let value = found.get(index + 1)?.as_str();
            if !binds {
                continue;
            }
            match bindings.get(doc_number).or(added.get(doc_number)) {
                Some(bound) if bound != value => return None,
                Some(_) => {}
                None => {
                    added.insert(doc_number.clone(), value.to_string());
                }
            }
        }
        Some(added)
    }
}

/// A line a run printed, made comparable: no colour codes or carriage returns, no trailing
/// spaces, and the repository's own path written as the docs write it.
pub fn normalise(line: &str, root: &str) -> String {
    static ANSI: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid"));
    let line = ANSI.replace_all(line, "");
    let line = expand_tabs(&line.replace('\r', ""));
    let line = if root.is_empty() {
        line
    } else {
        line.replace(root, crate::DOC_ROOT)
    };
    line.trim_end().to_string()
}

/// Tabs as a terminal shows them, with stops every 8 columns (`ls -C` aligns with tabs).
fn expand_tabs(line: &str) -> String {
    if !line.contains('\t') {
        return line.to_string();
    }
    let mut expanded = String::with_capacity(line.len() + 16);
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let next_stop = (column / 8 + 1) * 8;
            expanded.extend(std::iter::repeat_n(' ', next_stop - column));
            column = next_stop;
        } else {
            expanded.push(c);
            column += 1;
        }
    }
    expanded
}

/// `command` with every bound number of the doc replaced by the value the run printed, so
/// `kill 10985` kills the process the run started.
pub fn substitute(command: &str, bindings: &Bindings) -> String {
    static WHOLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{4,}\b").expect("valid"));
    WHOLE
        .replace_all(command, |found: &regex::Captures| {
            let number = &found[0];
            bindings
                .get(number)
                .cloned()
                .unwrap_or_else(|| number.to_string())
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_trace_ids_vary() {
        let pattern = LinePattern::new(
            r#""GET /reviews/0 HTTP/1.1" 200 - 0 325 2 "127.0.0.1:9102" "reviews/http[1]" "5b0c9c1e-7a4f-4e1b-9d3a-2f6c8e0a1b2c" "4bf92f3577b34da6a3ce929d0e0e4736""#,
            true,
        );
        let run = r#""GET /reviews/0 HTTP/1.1" 200 - 0 325 3 "127.0.0.1:9102" "reviews/http[1]" "0d8e4f4a-1c2b-4a3d-8e5f-6a7b8c9d0e1f" "00000000000000000000000000abcdef""#;
        assert!(pattern.matches(run, &Bindings::new()).is_some());
        assert!(
            pattern
                .matches(&run.replace("abcdef\"", "abcdeg\""), &Bindings::new())
                .is_none()
        );
    }

    #[test]
    fn times_durations_and_versions_vary_words_and_addresses_do_not() {
        let pattern = LinePattern::new(
            "monolith | 2026-11-26T18:51:10.905007Z  INFO ready after 0.1 s (config version 237341a501276e31) at 127.0.0.1",
            false,
        );
        let run = "monolith | 2027-01-02T03:04:05.6Z   INFO ready after 12.25 s (config version 0123456789abcdef) at 127.0.0.1";
        assert!(pattern.matches(run, &Bindings::new()).is_some());
        assert!(
            pattern
                .matches(&run.replace("INFO", "WARN"), &Bindings::new())
                .is_none()
        );
        assert!(
            pattern
                .matches(&run.replace("127.0.0.1", "127.0.0.2"), &Bindings::new())
                .is_none()
        );
    }

    #[test]
    fn big_numbers_bind_and_must_repeat_small_ones_are_exact() {
        let table = LinePattern::new("✔ monolith ready (pid 10985)", false);
        let bound = table
            .matches("✔ monolith ready (pid 4242)", &Bindings::new())
            .expect("matches");
        assert_eq!(bound.get("10985").map(String::as_str), Some("4242"));
        let again = LinePattern::new("monolith (pid 10985) exited", false);
        assert!(
            again
                .matches("monolith (pid 4242) exited", &bound)
                .is_some()
        );
        assert!(
            again
                .matches("monolith (pid 4243) exited", &bound)
                .is_none()
        );
        let status = LinePattern::new("HTTP/1.1 404 Not Found", false);
        assert!(
            status
                .matches("HTTP/1.1 503 Not Found", &Bindings::new())
                .is_none()
        );
        let counts = LinePattern::new("Code 503 : 18 (60.0 %)", true);
        assert!(
            counts
                .matches("Code 503 : 17 (56.7 %)", &Bindings::new())
                .is_some()
        );
    }

    #[test]
    fn cargo_durations_match_past_a_minute() {
        let finished = LinePattern::new(
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 21.94s",
            false,
        );
        for run in ["in 3.02s", "in 1m 04s", "in 12s"] {
            let line =
                format!("    Finished `dev` profile [unoptimized + debuginfo] target(s) {run}");
            assert!(finished.matches(&line, &Bindings::new()).is_some(), "{run}");
        }
    }

    #[test]
    fn a_shorter_pid_in_a_right_aligned_column_matches() {
        let row = LinePattern::new("10978 10412 target/debug/sailkit up", false);
        assert!(
            row.matches(" 5027   912 target/debug/sailkit up", &Bindings::new())
                .is_some()
        );
    }

    #[test]
    fn an_ellipsis_in_a_line_matches_any_text() {
        let pattern = LinePattern::new(r#"{"id":1,"title":"Sale",...}"#, false);
        assert!(
            pattern
                .matches(r#"{"id":1,"title":"Sale","slot":1}"#, &Bindings::new())
                .is_some()
        );
        assert!(
            pattern
                .matches(r#"{"id":2,"title":"Sale","slot":1}"#, &Bindings::new())
                .is_none()
        );
    }

    #[test]
    fn commands_get_the_values_the_run_printed() {
        let bindings = Bindings::from([("10985".to_string(), "4242".to_string())]);
        assert_eq!(
            substitute("kill 10985; sleep 1", &bindings),
            "kill 4242; sleep 1"
        );
        assert_eq!(substitute("curl :9080", &bindings), "curl :9080");
    }

    #[test]
    fn normalising_drops_colours_and_writes_the_root_as_the_docs_do() {
        let line = "\x1b[32m✔\x1b[0m data in /srv/ci/sailkit/data  \r";
        assert_eq!(
            normalise(line, "/srv/ci/sailkit"),
            "✔ data in /home/you/sailkit/data"
        );
    }
}
