//! Running a doc: its blocks top to bottom, in one second-terminal shell, with the first
//! terminal's app in the background, comparing each block's output with what the text shows.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::commands::{self, DocCommand};
use crate::first_terminal::FirstTerminal;
use crate::markdown::{self, Block};
use crate::matching::{self, Expected};
use crate::pattern::{self, Bindings};
use crate::shell::Shell;

/// The pause before each command of the second terminal.
const READER_PAUSE: Duration = Duration::from_millis(250);

/// How long a command may run before it counts as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The environment both terminals get: no colours or progress bars, a UTF-8 locale, and the
/// app's default logging whatever the caller's `RUST_LOG` says.
pub const ENV: &[(&str, &str)] = &[
    ("NO_COLOR", "1"),
    ("CARGO_TERM_COLOR", "never"),
    ("CARGO_TERM_PROGRESS_WHEN", "never"),
    ("TERM", "dumb"),
    ("LC_ALL", "C.UTF-8"),
    ("RUST_LOG", ""),
];

/// A block or command whose output is not what the doc shows.
#[derive(Debug)]
pub struct Mismatch {
    /// `file:line` of the command or block.
    pub location: String,
    /// What was run or awaited.
    pub what: String,
    pub reason: String,
    pub diff: String,
}

/// What running one doc gave.
#[derive(Debug, Default)]
pub struct DocResult {
    pub commands: usize,
    pub waits: usize,
    pub skipped: usize,
    pub mismatches: Vec<Mismatch>,
    pub elapsed: Duration,
}

/// The two terminals of a reader, shared by the docs of one group (the chapters build on each
/// other: what chapter 01 leaves in `data/`, chapter 02 looks at).
pub struct Terminals {
    root: String,
    dir: std::path::PathBuf,
    shell: Shell,
    first: Option<FirstTerminal>,
    /// Default wait for the first terminal's lines.
    wait: Duration,
    /// Every command run, as run: which files the docs edit is read from them.
    pub commands_run: Vec<String>,
}

impl Terminals {
    pub fn new(dir: &Path, wait: Duration) -> Result<Self> {
        let root = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        Ok(Self {
            root: root.to_string_lossy().into_owned(),
            dir: root.clone(),
            shell: Shell::start(&root, ENV)?,
            first: None,
            wait,
            commands_run: Vec::new(),
        })
    }

    /// Presses Ctrl-C in the first terminal if something runs there.
    pub fn stop_first(&mut self) {
        if let Some(mut first) = self.first.take() {
            first.ctrl_c();
        }
    }

    /// Runs the doc at `path` (`name` is how messages call it). With `keep_going`, a mismatch
    /// is recorded and the next block runs; otherwise the doc stops there.
    pub fn run_doc(&mut self, path: &Path, name: &str, keep_going: bool) -> Result<DocResult> {
        let started = Instant::now();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        let blocks = markdown::blocks(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let mut result = DocResult::default();
        let mut bindings = Bindings::new();
        for block in &blocks {
            let outcome = self.run_block(block, name, &mut bindings, &mut result)?;
            if let Err(mismatch) = outcome {
                result.mismatches.push(*mismatch);
                if !keep_going {
                    break;
                }
            }
        }
        result.elapsed = started.elapsed();
        Ok(result)
    }

    /// One block. `Ok(Err(..))` is a mismatch; `Err` a doc the check cannot run at all.
    fn run_block(
        &mut self,
        block: &Block,
        name: &str,
        bindings: &mut Bindings,
        result: &mut DocResult,
    ) -> Result<Result<(), Box<Mismatch>>> {
        let d = &block.directives;
        let location = format!("{name}:{}", block.line);
        let texts: Vec<String> = block.lines.iter().map(|(_, t)| t.clone()).collect();
        let wait = d.timeout_secs.map_or(self.wait, Duration::from_secs);
        if d.skip {
            result.skipped += 1;
            return Ok(Ok(()));
        }
        if block.lang == "text" && (d.first_terminal_shows || d.ctrl_c) {
            result.waits += 1;
            let expected = Expected::lines(&texts, d.numbers_vary);
            let Some(first) = self.first.as_mut() else {
                anyhow::bail!(
                    "{location}: a `first terminal shows`/`ctrl-c` block, but nothing runs in the first terminal"
                );
            };
            progress(
                &location,
                if d.ctrl_c {
                    "Ctrl-C in the first terminal"
                } else {
                    "waiting for the first terminal"
                },
            );
            let what = if d.ctrl_c {
                first.ctrl_c();
                "Ctrl-C in the first terminal".to_string()
            } else {
                "the first terminal's output".to_string()
            };
            let found = first.wait_for(&expected, bindings, d.any_order, wait);
            if d.ctrl_c {
                self.first = None;
            }
            return Ok(match found {
                Ok(added) => {
                    bindings.extend(added);
                    Ok(())
                }
                Err(not_found) => Err(Box::new(Mismatch {
                    location,
                    what,
                    reason: not_found.reason,
                    diff: not_found.diff,
                })),
            });
        }
        if block.lang != "console" {
            return Ok(Ok(()));
        }
        let commands = commands::parse(&block.lines).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if d.first_terminal {
            return Ok(self.start_first(&commands, &location, name, d, bindings, result, wait));
        }
        for command in &commands {
            result.commands += 1;
            if let Err(mismatch) = self.run_command(command, name, d, bindings)? {
                return Ok(Err(mismatch));
            }
        }
        Ok(Ok(()))
    }

    /// A `first terminal` block: its one command starts the app in the background, then the
    /// output the block shows is awaited.
    #[allow(clippy::too_many_arguments)]
    fn start_first(
        &mut self,
        commands: &[DocCommand],
        location: &str,
        name: &str,
        d: &crate::directive::Directives,
        bindings: &mut Bindings,
        result: &mut DocResult,
        wait: Duration,
    ) -> Result<(), Box<Mismatch>> {
        let [command] = commands else {
            return Err(Box::new(Mismatch {
                location: location.to_string(),
                what: "a `first terminal` block".into(),
                reason: format!("it must hold exactly one command, not {}", commands.len()),
                diff: String::new(),
            }));
        };
        result.commands += 1;
        self.stop_first();
        let text = pattern::substitute(&command.text, bindings);
        let command_location = format!("{name}:{}", command.line);
        progress(&command_location, &format!("{text}   (first terminal)"));
        let mut first = match FirstTerminal::start(&text, &self.dir, ENV, &self.root) {
            Ok(first) => first,
            Err(error) => {
                return Err(Box::new(Mismatch {
                    location: command_location,
                    what: text,
                    reason: format!("{error:#}"),
                    diff: String::new(),
                }));
            }
        };
        let expected = Expected::lines(&command.expected, d.numbers_vary);
        let found = first.wait_for(&expected, bindings, d.any_order, wait);
        self.first = Some(first);
        match found {
            Ok(added) => {
                bindings.extend(added);
                Ok(())
            }
            Err(not_found) => Err(Box::new(Mismatch {
                location: command_location,
                what: format!("{text} (first terminal)"),
                reason: not_found.reason,
                diff: not_found.diff,
            })),
        }
    }

    /// One command in the second terminal, compared line for line.
    fn run_command(
        &mut self,
        command: &DocCommand,
        name: &str,
        d: &crate::directive::Directives,
        bindings: &mut Bindings,
    ) -> Result<Result<(), Box<Mismatch>>> {
        let text = pattern::substitute(&command.text, bindings);
        let location = format!("{name}:{}", command.line);
        progress(&location, &text);
        self.commands_run.push(text.clone());
        // A reader takes a moment between two commands; without it, a command would run
        // sooner than anyone could type it (and before a sidecar's access log line, written
        // within a tenth of a second of the response, reaches its file).
        std::thread::sleep(READER_PAUSE);
        let ran = self
            .shell
            .run(&text, COMMAND_TIMEOUT)
            .with_context(|| format!("{location}: `{text}`"))?;
        let printed: Vec<String> = ran
            .output
            .lines()
            .map(|line| pattern::normalise(line, &self.root))
            .collect();
        let expected = Expected::lines(&command.expected, d.numbers_vary);
        Ok(
            match matching::whole(&expected, &printed, bindings, d.any_order) {
                Some(added) => {
                    bindings.extend(added);
                    Ok(())
                }
                None => Err(Box::new(Mismatch {
                    location,
                    what: text,
                    reason: format!("the output differs (exit status {})", ran.status),
                    diff: matching::diff(&expected, &printed),
                })),
            },
        )
    }

    /// Everything the first terminal printed, for a report after a failure.
    pub fn first_transcript(&self) -> Option<String> {
        self.first.as_ref().map(FirstTerminal::transcript)
    }
}

/// One line per step on stderr, so a slow doc shows where it is.
fn progress(location: &str, what: &str) {
    let first_line = what.lines().next().unwrap_or_default();
    let more = if what.contains('\n') { " ..." } else { "" };
    eprintln!("  {location:<34} {first_line}{more}");
}

impl Drop for Terminals {
    fn drop(&mut self) {
        self.stop_first();
    }
}
