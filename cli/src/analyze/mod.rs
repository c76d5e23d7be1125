//! `sailkit analyze [FILE|DIR]...`: look for mistakes that the schema cannot see, the local
//! `istioctl analyze`.
//!
//! 1. **load** the files (a folder: its `.yaml`/`.yml` files; by default the config in force,
//!    `<data-dir>/mesh/config/`) with the loader the proxies use, so YAML and schema errors are
//!    reported with `file:line:col` as `sailkit apply` reports them;
//! 2. **find the workloads** of the running stack (`workloads.rs`): without a stack, the checks
//!    that need them are skipped, and one line says so;
//! 3. **analyze** with `mesh_config::validate::analyze`: routes to hosts no service has, to
//!    subsets no DestinationRule defines, rules an earlier catch-all hides, subsets whose labels
//!    no workload has, VirtualServices bound to a Gateway that is not there;
//! 4. **print** one line a finding, `Warning [IST0101] (VirtualService default/reviews
//!    x.yaml:12:7) ...`, and a summary (`output.rs`), or JSON with `-o json`.
//!
//! The exit code is 0 when nothing reaches `--failure-threshold` (errors, by default), 79 when
//! something does (istioctl's code for "the analyzers found issues"), 1 when there was nothing
//! to analyze.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mesh_config::validate::{Finding, analyze};
use mesh_config::{Loaded, Severity};

use crate::cli::DataDirArg;
use crate::up::mesh;

pub(crate) mod output;
mod workloads;

/// istioctl's exit code when the analysis found issues at or above the failure threshold.
pub const FOUND_ISSUES: u8 = 79;

/// What `sailkit analyze --help` prints after the options.
pub const ANALYZE_AFTER_HELP: &str = "\
Findings are printed as istioctl prints them, with Istio's message codes:
  Warning [IST0101] (VirtualService default/reviews reviews.yaml:12:7) spec...: ...
IST0101 a host, subset or gateway that does not exist; IST0106 a YAML or schema error;
IST0127 a subset whose labels no workload has; IST0130 a rule no request reaches (after a
catch-all); IST0131 a match an earlier rule already has; IST0132 a VirtualService whose Gateway
lists none of its hosts; IST0133 a field sailkit does not implement.
The checks that need the workloads (hosts, subset labels) ask the running stack's control plane;
without a stack they are skipped, and a line says so.
Exit code: 0, or 79 when a finding reaches --failure-threshold (error by default); 1 when there
is nothing to analyze.";

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// Istio YAML files, or folders of them (default: the config in force,
    /// <data-dir>/mesh/config/).
    #[arg(value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub data_dir: DataDirArg,

    /// `log`: one line a finding and a summary, for people; `json`, for scripts.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_enum, default_value_t = Format::Log)]
    pub output: Format,

    /// The lowest level that makes the exit code non-zero (79).
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true, default_value_t = Level::Error)]
    pub failure_threshold: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Log,
    Json,
}

/// A level, from the least serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    fn of(severity: Severity) -> Level {
        match severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
            Severity::Info => Level::Info,
        }
    }
}

pub fn main(args: AnalyzeArgs) -> ExitCode {
    let data_dir = &args.data_dir.data_dir;
    let files = match files(&args.paths, &mesh::config_dir(data_dir)) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("sailkit analyze: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut loaded = Loaded::default();
    for file in &files {
        let one = mesh_config::load_file(file);
        loaded.resources.extend(one.resources);
        loaded.diagnostics.extend(one.diagnostics);
    }
    let found = workloads::find(data_dir);
    let findings = analyze(&loaded, found.as_ref().ok().map(|f| f.workloads.as_slice()));
    let run = output::Run {
        files: files.len(),
        resources: loaded.resources.len(),
        workloads: found
            .as_ref()
            .map(|f| (f.workloads.len(), f.source.as_str())),
    };
    match args.output {
        Format::Log => {
            if let Err(why) = &found {
                eprintln!(
                    "Workloads not checked (routes to unknown hosts, subsets that select no \
                     workload): {why}"
                );
            }
            print!("{}", output::log(&findings, &run));
        }
        Format::Json => println!("{:#}", output::json(&findings, &run)),
    }
    exit_code(&findings, args.failure_threshold)
}

fn exit_code(findings: &[Finding], threshold: Level) -> ExitCode {
    if findings
        .iter()
        .any(|f| Level::of(f.diagnostic.severity) >= threshold)
    {
        ExitCode::from(FOUND_ISSUES)
    } else {
        ExitCode::SUCCESS
    }
}

/// The files to load: each path given (a folder stands for its YAML files, sorted, as the
/// proxies list them), or the config folder in force.
fn files(paths: &[PathBuf], config_dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let (paths, default) = if paths.is_empty() {
        if !config_dir.is_dir() {
            return Err(format!(
                "nothing to analyze: no config in force at {} (give files or folders, or start \
                 the stack with `sailkit up`)",
                config_dir.display()
            ));
        }
        (vec![config_dir.to_path_buf()], true)
    } else {
        (paths.to_vec(), false)
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let listed = mesh_proxy::state::config_files(&path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            files.extend(listed);
        } else {
            // A file that cannot be read is the loader's diagnostic, with its name.
            files.push(path);
        }
    }
    if files.is_empty() && !default {
        return Err("nothing to analyze: the folders given hold no .yaml or .yml file".into());
    }
    Ok(files)
}
