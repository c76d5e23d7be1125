//! The hidden comment that tells the check how to run the block below it:
//! `<!-- check: first terminal, any order -->`. Markdown renders nothing for it, so a chapter
//! reads the same with or without. docs/checked-docs.md lists the words.

/// What a `<!-- check: ... -->` comment asks. The default (no comment) is: run each `$` line in
/// the second terminal and compare its output, line by line, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directives {
    /// `skip: reason`: the block is not run (a clone, a benchmark, the test suite itself).
    pub skip: bool,
    /// `first terminal`: the block's one command is the app, started in the background; the
    /// check waits until the output the block shows has appeared.
    pub first_terminal: bool,
    /// `first terminal shows`: (a `text` block) wait until these lines appear in the first
    /// terminal, after what earlier blocks already matched.
    pub first_terminal_shows: bool,
    /// `ctrl-c`: (a `text` block) press Ctrl-C in the first terminal, wait for the app to stop,
    /// and find these lines in what it printed.
    pub ctrl_c: bool,
    /// `any order`: the lines may come in any order (concurrent starts, sets).
    pub any_order: bool,
    /// `numbers vary`: every whole number may differ (counts from random or timed runs).
    pub numbers_vary: bool,
    /// `timeout N`: wait up to N seconds for this block (default: `crate::DEFAULT_TIMEOUT`).
    pub timeout_secs: Option<u64>,
}

impl Directives {
    /// `Some` when `line` is a check comment: the parsed words, or the error in them.
    pub fn from_comment(line: &str) -> Option<Result<Self, String>> {
        let inner = line
            .trim()
            .strip_prefix("<!--")?
            .strip_suffix("-->")?
            .trim();
        let words = inner.strip_prefix("check:")?;
        Some(Self::parse(words))
    }

    fn parse(words: &str) -> Result<Self, String> {
        let mut directives = Self::default();
        // `skip: why` ends the list: the reason is prose and may hold commas.
        let words = match words.find("skip") {
            Some(at) if words[at..].starts_with("skip:") || words[at..].trim() == "skip" => {
                directives.skip = true;
                words[..at].trim_end().trim_end_matches(',')
            }
            _ => words,
        };
        for word in words.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "first terminal" => directives.first_terminal = true,
                "first terminal shows" => directives.first_terminal_shows = true,
                "ctrl-c" => directives.ctrl_c = true,
                "any order" => directives.any_order = true,
                "numbers vary" => directives.numbers_vary = true,
                _ if word.starts_with("timeout ") => {
                    let seconds = word["timeout ".len()..].trim();
                    let seconds = seconds.parse().map_err(|_| {
                        format!("`{word}`: the timeout is a whole number of seconds")
                    })?;
                    directives.timeout_secs = Some(seconds);
                }
                _ => {
                    return Err(format!(
                        "unknown check word `{word}` (known: skip, first terminal, first terminal shows, ctrl-c, any order, numbers vary, timeout N)"
                    ));
                }
            }
        }
        Ok(directives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_words_of_a_check_comment() {
        let parsed =
            Directives::from_comment("<!-- check: first terminal, any order, timeout 90 -->")
                .expect("a check comment")
                .expect("valid");
        assert!(parsed.first_terminal && parsed.any_order);
        assert_eq!(parsed.timeout_secs, Some(90));
        let skip =
            Directives::from_comment("<!-- check: skip: the test suite runs in CI already -->");
        assert!(skip.expect("a check comment").expect("valid").skip);
    }

    #[test]
    fn other_comments_are_not_check_comments_and_typos_are_errors() {
        assert!(Directives::from_comment("<!-- a note for editors -->").is_none());
        let error = Directives::from_comment("<!-- check: frist terminal -->")
            .expect("a check comment")
            .expect_err("typo");
        assert!(error.contains("frist terminal"), "{error}");
    }
}
