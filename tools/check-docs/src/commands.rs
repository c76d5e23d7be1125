//! Cutting a console block into commands and the output each one shows.
//!
//! A command starts at a line `$ ...` and goes on while the shell would go on reading: an open
//! quote, a trailing backslash, an unclosed `{`, or a here-document up to its end word. Whether
//! a command is complete is asked of bash itself (`bash -n`), so the rules are the shell's.

use std::process::{Command, Stdio};
use std::sync::LazyLock;

use regex::Regex;

/// One `$` command of a block and the lines the doc shows under it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocCommand {
    /// 1-based line of the `$` in the doc.
    pub line: usize,
    /// The command as the shell gets it (continuation lines included, `$ ` removed).
    pub text: String,
    /// The output the doc shows.
    pub expected: Vec<String>,
}

/// The commands of a console block, from its lines (with their line numbers).
pub fn parse(lines: &[(usize, String)]) -> Result<Vec<DocCommand>, String> {
    let mut commands: Vec<DocCommand> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (number, line) = &lines[index];
        index += 1;
        let Some(first) = prompt(line) else {
            match commands.last_mut() {
                Some(command) => command.expected.push(line.clone()),
                None => return Err(format!("line {number}: output before any `$` command")),
            }
            continue;
        };
        let mut text = first.to_string();
        while !complete(&text) {
            let Some((_, next)) = lines.get(index) else {
                return Err(format!(
                    "line {number}: the command is not complete shell by the end of the block"
                ));
            };
            text.push('\n');
            text.push_str(next);
            index += 1;
        }
        commands.push(DocCommand {
            line: *number,
            text,
            expected: Vec::new(),
        });
    }
    Ok(commands)
}

/// The command after a prompt, if `line` starts with one.
fn prompt(line: &str) -> Option<&str> {
    if line == "$" {
        return Some("");
    }
    line.strip_prefix("$ ")
}

/// Whether bash would run `text` as it is, rather than wait for more lines.
fn complete(text: &str) -> bool {
    // `bash -n -c` takes a last backslash literally; a terminal would wait for the next line.
    if text.ends_with('\\') {
        return false;
    }
    static HEREDOC: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"<<-?\s*['"]?(\w+)['"]?"#).expect("valid"));
    if let Some(found) = HEREDOC.captures(text) {
        let end_word = &found[1];
        if !text.lines().skip(1).any(|line| line.trim() == end_word) {
            return false;
        }
    }
    let checked = Command::new("bash")
        .args(["--noprofile", "--norc", "-n", "-c", text])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match checked {
        Ok(result) => {
            let complaint = String::from_utf8_lossy(&result.stderr);
            result.status.success()
                || !(complaint.contains("unexpected end of file")
                    || complaint.contains("unexpected EOF"))
        }
        // Without bash, nothing can run anyway; the run reports that.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(text: &str) -> Vec<(usize, String)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 10, l.to_string()))
            .collect()
    }

    #[test]
    fn splits_commands_and_their_output() {
        let parsed = parse(&numbered("$ echo a\na\n$ ls data\nlogs  run")).expect("parses");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].text, "echo a");
        assert_eq!(parsed[0].expected, vec!["a".to_string()]);
        assert_eq!(parsed[1].line, 12);
    }

    #[test]
    fn an_open_quote_continues_the_command() {
        let block = "$ curl -d \"{\n    \\\"a\\\": 1 }\"\n{\"id\":1}";
        let parsed = parse(&numbered(block)).expect("parses");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].text, "curl -d \"{\n    \\\"a\\\": 1 }\"");
        assert_eq!(parsed[0].expected, vec!["{\"id\":1}".to_string()]);
    }

    #[test]
    fn a_trailing_backslash_continues_the_command() {
        let parsed = parse(&numbered("$ curl -s \\\n    -X POST x\nok")).expect("parses");
        assert_eq!(parsed[0].text, "curl -s \\\n    -X POST x");
        assert_eq!(parsed[0].expected, vec!["ok".to_string()]);
    }

    #[test]
    fn a_here_document_runs_to_its_end_word() {
        let block = "$ cat >> f <<'EOF'\n  a: 1\nEOF\n$ echo done\ndone";
        let parsed = parse(&numbered(block)).expect("parses");
        assert_eq!(parsed[0].text, "cat >> f <<'EOF'\n  a: 1\nEOF");
        assert!(parsed[0].expected.is_empty());
        assert_eq!(parsed[1].text, "echo done");
    }

    #[test]
    fn output_before_a_command_is_an_error() {
        assert!(parse(&numbered("hello\n$ ls")).is_err());
    }
}
