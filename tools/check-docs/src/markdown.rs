//! Finding the blocks a doc shows: fenced code blocks, their language, where they start, and
//! the hidden `<!-- check: ... -->` comment just above them.
//!
//! Only what the check needs is parsed: a fence is a line of three or more backticks, possibly
//! indented (blocks inside list items are), and the block's lines lose that indentation. The
//! rest of the Markdown is prose the check never reads.

use crate::directive::Directives;

/// One fenced block of a doc.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// 1-based line of the opening fence, for messages.
    pub line: usize,
    /// The fence's info string: `console`, `text`, `rust`, ...
    pub lang: String,
    /// What the `<!-- check: ... -->` comment above the fence asks (empty when there is none).
    pub directives: Directives,
    /// The block's lines with their 1-based line numbers, indentation of the fence removed.
    pub lines: Vec<(usize, String)>,
}

/// Every fenced block of `text`, in order. A directive comment binds to the fence that follows
/// it, with only blank lines between. An unclosed fence is an error (the doc is broken).
pub fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    let mut pending: Option<(usize, Directives)> = None;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(found_directives) = Directives::from_comment(trimmed) {
            pending = Some((
                number,
                found_directives.map_err(|e| format!("line {number}: {e}"))?,
            ));
            continue;
        }
        let Some(lang) = trimmed.strip_prefix("```") else {
            if let Some((directive_line, _)) = &pending
                && !trimmed.is_empty()
            {
                return Err(format!(
                    "line {directive_line}: a check comment must sit just above a block (only blank lines between)"
                ));
            }
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut body = Vec::new();
        let mut closed = false;
        for (inner_number, inner) in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                closed = true;
                break;
            }
            body.push((inner_number, strip_indent(inner, indent).to_string()));
        }
        if !closed {
            return Err(format!(
                "line {number}: the block opened here is never closed"
            ));
        }
        found.push(Block {
            line: number,
            lang: lang.trim().to_string(),
            directives: pending.take().map(|(_, d)| d).unwrap_or_default(),
            lines: body,
        });
    }
    if let Some((number, _)) = pending {
        return Err(format!(
            "line {number}: a check comment with no block after it"
        ));
    }
    Ok(found)
}

/// Removes up to `indent` leading spaces: the block's own indentation stays.
fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    &line[spaces.min(indent)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_indented_blocks_and_their_directives() {
        let doc = "Intro\n\n<!-- check: first terminal -->\n\n```console\n$ cargo run\nok\n```\n\n1. Item\n\n   ```console\n   $ curl x\n     two spaces kept\n   ```\n";
        let found = blocks(doc).expect("parses");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 5);
        assert!(found[0].directives.first_terminal);
        assert_eq!(
            found[0].lines,
            vec![(6, "$ cargo run".into()), (7, "ok".into())]
        );
        assert!(!found[1].directives.first_terminal);
        assert_eq!(found[1].lines[1], (14, "  two spaces kept".into()));
    }

    #[test]
    fn a_directive_separated_from_its_block_by_prose_is_an_error() {
        let doc = "<!-- check: skip -->\nSome prose.\n```console\n$ ls\n```\n";
        let error = blocks(doc).expect_err("misplaced");
        assert!(error.starts_with("line 1:"), "{error}");
    }

    #[test]
    fn an_unclosed_block_is_an_error_with_its_line() {
        let error = blocks("text\n```console\n$ ls\n").expect_err("unclosed");
        assert!(error.starts_with("line 2:"), "{error}");
    }
}
