//! `sailkit lint [FILE|-]...`: rendered Kubernetes manifests checked for what a cluster would
//! only show at run time. The checks are the `manifest-lint` crate (`tools/manifest-lint`);
//! this module reads the files, finds the list of images, prints the findings and picks the
//! exit code.
//!
//! Exit codes, in the style of `sailkit analyze`: 0 when nothing is found, 79 when something is
//! (the code `analyze` and istioctl use for "found issues"), 64 for a bad argument (a file that
//! cannot be read, no images list), 65 for YAML that is not manifests, with its file and line.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use manifest_lint::images::DEFAULT_PREFIX;
use manifest_lint::{Check, Finding, ImagePolicy, Object, Options};

use crate::analyze::FOUND_ISSUES;
use crate::analyze::output::plural;

/// A bad argument (sysexits' EX_USAGE, as the services use for bad configuration).
const USAGE: u8 = 64;
/// Input that is not manifests (sysexits' EX_DATAERR).
const BAD_INPUT: u8 = 65;

/// Where the list of images is, relative to the repository.
const IMAGES_TXT: &str = "docker/images.txt";

/// What `sailkit lint` does, in `sailkit --help` and `sailkit lint --help` (here rather than
/// in `cli.rs`, which holds only the variant).
pub const ABOUT: &str = "Check rendered Kubernetes manifests for what a cluster shows only at \
    run time: selectors, ports, peer host names, images, references, Istio hosts and subsets, \
    Pod Security `restricted` (`kubectl kustomize k8s/overlays/mesh | sailkit lint -`)";

pub const LINT_AFTER_HELP: &str = "\
Give the manifests as kustomize renders them (every file read together, so a Service in one
file may select the pods of another):
  kubectl kustomize k8s/overlays/mesh | sailkit lint -
  sailkit lint rendered.yaml
  sailkit lint -n bookinfo rendered.yaml k8s/networking/virtual-service-all-v1.yaml
Checks (skip one with --skip CHECK):
  selectors     every Service selector matches the pod template of some workload
  ports         every Service targetPort (number or name) is a port of the pods it selects
  hostnames     every peer in env (*_HOSTNAME, URLs such as DATABASE_URL) and in args is a Service,
                and a port written with it one of the Service's ports
  images        every image is one docker/ builds: docker/images.txt and docker/third-party,
                under sailkit/ (--image-prefix for images pushed elsewhere, after
                `kustomize edit set image`; --allow-image for others)
  references    every ServiceAccount, ConfigMap and Secret a pod names exists (and each key read);
                so do the Role and ServiceAccounts of a RoleBinding, an autoscaler's target
  istio         every VirtualService host and destination is a Service or a ServiceEntry host;
                every subset is defined by a DestinationRule and selects a pod template
  pod-security  every pod passes Pod Security `restricted`, and every root filesystem is
                read-only (sailkit's rule)
Findings: FILE:LINE: Kind namespace/name: what is wrong (FILE is - for standard input).
Exit code: 0 clean, 79 with findings, 64 for a bad argument, 65 for malformed YAML.";

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Rendered manifests: files of `---` separated documents (or a `kind: List`), `-` for
    /// standard input.
    #[arg(value_name = "FILE|-", required = true)]
    pub files: Vec<PathBuf>,

    /// The list of images docker/ builds (default: docker/images.txt of the repository the
    /// current folder is in).
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,

    /// The prefix the images are named with (repeatable; given, it replaces `sailkit`):
    /// `ghcr.io/me` allows `ghcr.io/me/productpage`, as `kustomize edit set image` renames them.
    #[arg(long = "image-prefix", value_name = "PREFIX", default_value = DEFAULT_PREFIX)]
    pub image_prefixes: Vec<String>,

    /// Also allow this image (repeatable): a repository (`redis`, any tag), or a prefix ending
    /// in `*` (`registry.example.com/shop/*`).
    #[arg(long = "allow-image", value_name = "IMAGE")]
    pub allow_images: Vec<String>,

    /// The namespace of the objects that name none, as `kubectl apply -n NS` would put them
    /// (Istio files such as k8s/networking/*.yaml name none).
    #[arg(short = 'n', long, value_name = "NS", default_value = manifest_lint::object::DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// Do not run this check (repeatable): selectors, ports, hostnames, images, references,
    /// istio, pod-security.
    #[arg(long, value_name = "CHECK", value_parser = str::parse::<Check>)]
    pub skip: Vec<Check>,
}

/// Why lint could not run, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

pub fn main(args: LintArgs) -> ExitCode {
    match run(&args) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("sailkit lint: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(args: &LintArgs) -> Result<ExitCode, Failure> {
    let options = options(args)?;
    let mut objects = Vec::new();
    for file in &args.files {
        objects.extend(read(file, &args.namespace)?);
    }
    let findings = manifest_lint::lint(&objects, &options);
    for finding in &findings {
        println!("{finding}");
    }
    println!("{}", summary(&findings, objects.len(), args.files.len()));
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FOUND_ISSUES)
    })
}

fn options(args: &LintArgs) -> Result<Options, Failure> {
    let usage = |message: String| Failure {
        code: USAGE,
        message,
    };
    // Without the images check there is no list to find.
    let images_txt = if args.skip.contains(&Check::Images) {
        String::new()
    } else {
        let path = match &args.images {
            Some(path) => path.clone(),
            None => find_images_txt().ok_or_else(|| {
                usage(format!(
                    "no {IMAGES_TXT} in this folder or above it: run from the sailkit \
                     repository, or give --images FILE (or --skip images)"
                ))
            })?,
        };
        std::fs::read_to_string(&path)
            .map_err(|error| usage(format!("cannot read {}: {error}", path.display())))?
    };
    let mut images = ImagePolicy::from_images_txt(&images_txt, &args.image_prefixes);
    for pattern in &args.allow_images {
        images.allow(pattern);
    }
    Ok(Options {
        images,
        skip: args.skip.clone(),
    })
}

/// docker/images.txt of the repository the current folder is in.
fn find_images_txt() -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?;
    here.ancestors()
        .map(|dir| dir.join(IMAGES_TXT))
        .find(|candidate| candidate.is_file())
}

/// The objects of one file (`-`: standard input).
fn read(file: &Path, namespace: &str) -> Result<Vec<Object>, Failure> {
    let label = file.display().to_string();
    let cannot_read = |error: std::io::Error| Failure {
        code: USAGE,
        message: format!("cannot read {label}: {error}"),
    };
    let text = if label == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(cannot_read)?;
        text
    } else {
        std::fs::read_to_string(file).map_err(cannot_read)?
    };
    manifest_lint::parse_in(&label, &text, namespace).map_err(|error| Failure {
        code: BAD_INPUT,
        message: error.to_string(),
    })
}

/// `✔ No issues found when linting 12 objects in 1 file.`, or the findings per check, in the
/// words of `sailkit analyze`.
fn summary(findings: &[Finding], objects: usize, files: usize) -> String {
    let linted = format!("{} in {}", plural(objects, "object"), plural(files, "file"));
    if findings.is_empty() {
        return format!("\u{2714} No issues found when linting {linted}.");
    }
    let mut per_check: BTreeMap<Check, usize> = BTreeMap::new();
    for finding in findings {
        *per_check.entry(finding.check).or_default() += 1;
    }
    let counts: Vec<String> = per_check
        .iter()
        .map(|(check, n)| format!("{check} {n}"))
        .collect();
    format!(
        "Found {} ({}) when linting {linted}.",
        plural(findings.len(), "issue"),
        counts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<LintArgs, clap::Error> {
        match Cli::try_parse_from(args)?.command {
            Some(Command::Lint(args)) => Ok(args),
            other => panic!("expected lint, got {other:?}"),
        }
    }

    #[test]
    fn files_are_required_and_checks_are_skipped_by_name() {
        assert!(parse(&["sailkit", "lint"]).is_err());
        let args = parse(&[
            "sailkit",
            "lint",
            "-",
            "--skip",
            "pod-security",
            "--skip",
            "images",
        ])
        .expect("valid");
        assert_eq!(args.files, [PathBuf::from("-")]);
        assert_eq!(args.skip, [Check::PodSecurity, Check::Images]);
        assert_eq!(args.image_prefixes, [DEFAULT_PREFIX]);
        let refused = parse(&["sailkit", "lint", "a.yaml", "--skip", "spelling"])
            .expect_err("no such check")
            .to_string();
        assert!(
            refused.contains("no check is called `spelling`"),
            "{refused}"
        );
    }

    #[test]
    fn the_summary_counts_per_check() {
        assert_eq!(
            summary(&[], 12, 1),
            "\u{2714} No issues found when linting 12 objects in 1 file."
        );
    }
}
