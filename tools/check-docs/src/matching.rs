//! Matching what a block shows against what a run printed, and the diff when they differ.
//!
//! Two ways to match:
//! - [`whole`], for a command in the second terminal: every line it printed is accounted for,
//!   in order; a line `...` in the doc stands for any number of lines (trimmed output).
//! - [`within`], for the first terminal, where the app keeps logging: the doc's lines must
//!   appear in order, other lines may come between them, and it returns where the last one was
//!   so that the next block looks after it.
//!
//! With `any order`, each of the doc's lines must match a different printed line, wherever it is.

use similar::TextDiff;

use crate::pattern::{Bindings, LinePattern};

/// One line of a block's expected output.
#[derive(Debug, Clone)]
pub enum Expected {
    /// `...` alone on a line: any number of lines.
    Skipped,
    /// Anything else.
    Line(LinePattern),
}

impl Expected {
    /// The expected lines of a block, as patterns.
    pub fn lines(texts: &[String], numbers_vary: bool) -> Vec<Self> {
        texts
            .iter()
            .map(|text| match text.trim() {
                "..." => Self::Skipped,
                _ => Self::Line(LinePattern::new(text, numbers_vary)),
            })
            .collect()
    }
}

/// `Some` with the bindings added when `actual` is exactly what `expected` shows.
pub fn whole(
    expected: &[Expected],
    actual: &[String],
    bindings: &Bindings,
    any_order: bool,
) -> Option<Bindings> {
    if any_order {
        let skips = expected.iter().any(|e| matches!(e, Expected::Skipped));
        let (found, used) = unordered(expected, actual, bindings).ok()?;
        return (skips || used.iter().all(|u| *u)).then_some(found);
    }
    in_order(expected, actual, bindings.clone())
}

/// `Ok((bindings, end))` when the doc's lines appear in `actual`, other lines allowed between;
/// `end` is the index after the last line used. `Err` names the first line not found.
pub fn within(
    expected: &[Expected],
    actual: &[String],
    bindings: &Bindings,
    any_order: bool,
) -> Result<(Bindings, usize), String> {
    if any_order {
        let (found, used) = unordered(expected, actual, bindings)?;
        let end = used.iter().rposition(|u| *u).map_or(0, |last| last + 1);
        return Ok((found, end));
    }
    let mut found = bindings.clone();
    let mut next = 0;
    for line in expected {
        let Expected::Line(pattern) = line else {
            continue;
        };
        let (index, added) = actual[next..]
            .iter()
            .enumerate()
            .find_map(|(offset, text)| Some((next + offset, pattern.matches(text, &found)?)))
            .ok_or_else(|| pattern.text.clone())?;
        found.extend(added);
        next = index + 1;
    }
    Ok((found, next))
}

/// Ordered matching with `...` as "any number of lines" (backtracking over where each
/// skipped run ends; blocks are short).
fn in_order(expected: &[Expected], actual: &[String], bindings: Bindings) -> Option<Bindings> {
    let Some((first, rest)) = expected.split_first() else {
        return actual.is_empty().then_some(bindings);
    };
    match first {
        Expected::Skipped => {
            (0..=actual.len()).find_map(|start| in_order(rest, &actual[start..], bindings.clone()))
        }
        Expected::Line(pattern) => {
            let (line, remaining) = actual.split_first()?;
            let added = pattern.matches(line, &bindings)?;
            let mut bindings = bindings;
            bindings.extend(added);
            in_order(rest, remaining, bindings)
        }
    }
}

/// Each expected line takes the first printed line it matches that no other line took. `Err`
/// names the first expected line left without one.
fn unordered(
    expected: &[Expected],
    actual: &[String],
    bindings: &Bindings,
) -> Result<(Bindings, Vec<bool>), String> {
    let mut found = bindings.clone();
    let mut used = vec![false; actual.len()];
    for line in expected {
        let Expected::Line(pattern) = line else {
            continue;
        };
        let (index, added) = actual
            .iter()
            .enumerate()
            .find_map(|(index, text)| {
                if used[index] {
                    return None;
                }
                Some((index, pattern.matches(text, &found)?))
            })
            .ok_or_else(|| pattern.text.clone())?;
        used[index] = true;
        found.extend(added);
    }
    Ok((found, used))
}

/// A unified diff of the doc's lines against the printed ones. Printed lines that match some
/// line of the doc are shown as the doc writes them, so only real differences stand out.
pub fn diff(expected: &[Expected], actual: &[String]) -> String {
    let shown: Vec<&str> = expected
        .iter()
        .filter_map(|e| match e {
            Expected::Line(pattern) => Some(pattern.text.as_str()),
            Expected::Skipped => None,
        })
        .collect();
    // Each doc line stands in for at most one printed line, the first it matches.
    let patterns: Vec<&LinePattern> = expected
        .iter()
        .filter_map(|e| match e {
            Expected::Line(pattern) => Some(pattern),
            Expected::Skipped => None,
        })
        .collect();
    let mut taken = vec![false; patterns.len()];
    let printed: Vec<String> = actual
        .iter()
        .map(|line| {
            let stand_in = (0..patterns.len()).find(|&index| {
                !taken[index] && patterns[index].matches(line, &Bindings::new()).is_some()
            });
            match stand_in {
                Some(index) => {
                    taken[index] = true;
                    patterns[index].text.clone()
                }
                None => line.clone(),
            }
        })
        .collect();
    let doc_text = shown.join("\n") + "\n";
    let run_text = printed.join("\n") + "\n";
    TextDiff::from_lines(&doc_text, &run_text)
        .unified_diff()
        .context_radius(3)
        .header("the doc shows", "the run printed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_skipped_line_stands_for_any_number_of_lines() {
        let doc = Expected::lines(&lines(&["start (pid 1234)", "...", "done"]), false);
        let run = lines(&["start (pid 77)", "a", "b", "done"]);
        let bound = whole(&doc, &run, &Bindings::new(), false).expect("matches");
        assert_eq!(bound.get("1234").map(String::as_str), Some("77"));
        assert!(
            whole(
                &doc,
                &lines(&["start (pid 77)", "done"]),
                &Bindings::new(),
                false
            )
            .is_some()
        );
        assert!(
            whole(
                &doc,
                &lines(&["start (pid 77)", "dune"]),
                &Bindings::new(),
                false
            )
            .is_none()
        );
    }

    #[test]
    fn without_a_skip_every_printed_line_must_be_shown() {
        let doc = Expected::lines(&lines(&["a"]), false);
        assert!(whole(&doc, &lines(&["a", "b"]), &Bindings::new(), false).is_none());
        assert!(whole(&doc, &lines(&["a", "b"]), &Bindings::new(), true).is_none());
    }

    #[test]
    fn any_order_accepts_a_shuffle() {
        let doc = Expected::lines(&lines(&["x ready", "y ready"]), false);
        assert!(
            whole(
                &doc,
                &lines(&["y ready", "x ready"]),
                &Bindings::new(),
                true
            )
            .is_some()
        );
        assert!(
            whole(
                &doc,
                &lines(&["y ready", "x ready"]),
                &Bindings::new(),
                false
            )
            .is_none()
        );
    }

    #[test]
    fn within_allows_lines_between_and_says_where_it_stopped() {
        let doc = Expected::lines(&lines(&["!! exited", "✔ back (pid 5678)"]), false);
        let run = lines(&["log", "!! exited", "log", "✔ back (pid 99)", "log"]);
        let (bound, end) = within(&doc, &run, &Bindings::new(), false).expect("found");
        assert_eq!(end, 4);
        assert_eq!(bound.get("5678").map(String::as_str), Some("99"));
        assert_eq!(
            within(&doc, &run[..3], &Bindings::new(), false).map(|_| ()),
            Err("✔ back (pid 5678)".to_string())
        );
    }

    #[test]
    fn the_diff_shows_only_real_differences() {
        let doc = Expected::lines(&lines(&["at 2026-11-26T18:51:10Z", "200 OK"]), false);
        let shown = diff(&doc, &lines(&["at 2030-01-01T00:00:00Z", "503 Busy"]));
        assert!(
            shown.contains("-200 OK") && shown.contains("+503 Busy"),
            "{shown}"
        );
        assert!(!shown.contains("2030"), "{shown}");
    }
}
