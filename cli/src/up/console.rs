//! What the launcher prints: its own progress lines, and the prefix of each instance's lines.
//!
//! All of it goes to standard output, in the order it happens, like `docker compose up`: each
//! line an instance writes is shown as `reviews-v2   | <line>`, the name padded so the lines
//! align and coloured so the instances are easy to tell apart. Colours are used only when
//! standard output is a terminal and `NO_COLOR` is not set.

use std::io::{IsTerminal, Write};

/// The colours of the instance names, in turn (ANSI foreground codes), as compose cycles them.
const PALETTE: [&str; 8] = ["36", "33", "32", "35", "34", "96", "93", "92"];

#[derive(Debug, Clone)]
pub struct Console {
    color: bool,
    name_width: usize,
}

impl Console {
    /// A console for instance names up to `name_width` characters.
    pub fn detect(name_width: usize) -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self { color, name_width }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// `reviews-v2   | `, coloured by the instance's place in the plan.
    pub fn prefix(&self, name: &str, index: usize) -> String {
        let padded = format!("{name:<width$} | ", width = self.name_width);
        self.paint(PALETTE[index % PALETTE.len()], &padded)
    }

    /// A line of the launcher's own.
    pub fn say(&self, line: &str) {
        write_line(line);
    }

    /// Something that went well: an instance is ready.
    pub fn good(&self, line: &str) {
        write_line(&format!("{} {line}", self.paint("32", "✔")));
    }

    /// Something a person must notice: an instance crashed, start-up failed.
    pub fn alarm(&self, line: &str) {
        write_line(&self.paint("1;31", &format!("!! {line}")));
    }

    /// `text` in bold.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Writes one whole line at once, so that lines from different instances never interleave.
pub fn write_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_padded_to_the_longest_name() {
        let console = Console {
            color: false,
            name_width: 14,
        };
        assert_eq!(console.prefix("reviews-v2", 3), "reviews-v2     | ");
        let colored = Console {
            color: true,
            name_width: 10,
        };
        assert_eq!(
            colored.prefix("details-v1", 1),
            "\x1b[33mdetails-v1 | \x1b[0m"
        );
    }
}
