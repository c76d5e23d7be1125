//! The docs check: runs the console blocks of the README and the walkthrough chapters, in order,
//! as a reader would in two terminals, and compares what they print with what the text shows.
//! How to write a doc it can check: docs/checked-docs.md.
//!
//! Layout:
//! - [`markdown`]: the fenced blocks of a doc and the `<!-- check: ... -->` comment above each.
//! - [`directive`]: the words of that comment.
//! - [`commands`]: a console block cut into `$` commands and the output each shows.
//! - [`pattern`]: an expected line as a pattern (times, durations, pids vary; the rest exact).
//! - [`matching`]: a block's lines against a run's, and the diff when they differ.
//! - [`shell`]: the second terminal, one `bash` for the commands.
//! - [`first_terminal`]: the app in the background, and Ctrl-C.
//! - [`output`]: collecting what a process prints.
//! - [`runner`]: a doc, block by block.
//! - [`docs`]: which docs run, in which groups, and the checks around a run.

pub mod commands;
pub mod directive;
pub mod docs;
pub mod first_terminal;
pub mod markdown;
pub mod matching;
pub mod output;
pub mod pattern;
pub mod runner;
pub mod shell;

/// The checkout's path as the docs write it.
pub const DOC_ROOT: &str = "/home/you/sailkit";
