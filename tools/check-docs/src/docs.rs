//! Which docs the check runs, and the care taken around a run: a fresh `data/`, the app built
//! first, and tracked files the chapters edit (`sed -i ... error.rs`) put back afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Docs that share one `data/` directory, run in this order. Chapters build on each other:
/// chapter 02 looks at what chapter 01 left.
pub const GROUPS: &[&[&str]] = &[
    &["README.md"],
    &[
        "walkthrough/README.md",
        "walkthrough/01-monolith.md",
        "walkthrough/02-split.md",
        "walkthrough/03-mesh.md",
    ],
    // Containers: Docker and the images (scripts/build-images.sh, docker/third-party/build.sh),
    // no data/ of its own.
    &["walkthrough/04-containers.md"],
    // Observability: a stack of its own from a fresh data/, so it needs neither chapter 03's
    // routing nor chapter 04's Docker.
    &["walkthrough/06-observability.md"],
];

/// The groups to run for the files asked for (all of them when none): a chapter brings the
/// chapters before it, whose state it starts from.
pub fn select(asked: &[PathBuf]) -> Result<Vec<Vec<&'static str>>> {
    if asked.is_empty() {
        return Ok(GROUPS.iter().map(|group| group.to_vec()).collect());
    }
    let mut selected = Vec::new();
    for group in GROUPS {
        let last = group
            .iter()
            .rposition(|doc| asked.iter().any(|a| same_doc(a, doc)));
        if let Some(last) = last {
            selected.push(group[..=last].to_vec());
        }
    }
    for asked_doc in asked {
        if !GROUPS
            .iter()
            .flat_map(|g| g.iter())
            .any(|doc| same_doc(asked_doc, doc))
        {
            let known: Vec<&str> = GROUPS.iter().flat_map(|g| g.iter().copied()).collect();
            bail!(
                "{} is not a checked doc (checked: {})",
                asked_doc.display(),
                known.join(", ")
            );
        }
    }
    Ok(selected)
}

fn same_doc(asked: &Path, doc: &str) -> bool {
    let asked = asked.to_string_lossy();
    let asked = asked.trim_start_matches("./");
    asked == doc
}

/// What a group makes and so must not find: every group's `data/`; for chapter 04, the compose
/// secrets that `scripts/compose-env.sh` writes (the chapter shows what it prints on a first run).
fn made_by(group: &[&str]) -> Vec<&'static str> {
    let mut made = vec!["data"];
    if group.contains(&"walkthrough/04-containers.md") {
        made.extend(["docker/.env", "docker/secrets"]);
    }
    made
}

/// Refuses to run over a `data/` (or, for chapter 04, a `docker/.env`) that exists: the docs
/// start from fresh ones, and the check never deletes what it did not make.
pub fn require_fresh(root: &Path, groups: &[Vec<&str>]) -> Result<()> {
    for group in groups {
        for name in made_by(group) {
            let path = root.join(name);
            if path.exists() {
                bail!(
                    "{} exists: {} starts without it, and the check does not delete yours. Stop \
                     any stack that uses it, move it away (`mv {name} {name}.mine`) and run again.",
                    path.display(),
                    group.last().copied().unwrap_or("the doc"),
                );
            }
        }
    }
    Ok(())
}

/// Removes what a group made (its `data/`, chapter 04's compose secrets), so the next group and
/// the next run start fresh.
pub fn remove_made(root: &Path, group: &[&str]) -> Result<()> {
    for name in made_by(group) {
        let path = root.join(name);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if path.exists() {
            std::fs::remove_file(&path)
        } else {
            continue;
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Tracked files with changes not committed, as `git status` lists them.
pub fn changed_files(root: &Path) -> Result<Vec<String>> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .context("cannot run git status")?;
    if !output.status.success() {
        bail!(
            "git status failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.get(3..).map(str::to_string))
        .collect())
}

/// Puts back the tracked files the docs' commands edited (`sed -i ... error.rs`): changed now,
/// clean before the run, and named by a command that ran. A file no command names is left as
/// it is, whoever changed it meanwhile (an editor, another build). Returns the names.
pub fn restore_changed(root: &Path, before: &[String], commands: &[String]) -> Result<Vec<String>> {
    let edited: Vec<String> = changed_files(root)?
        .into_iter()
        .filter(|file| !before.contains(file))
        .filter(|file| {
            commands
                .iter()
                .any(|command| command.contains(file.as_str()))
        })
        .collect();
    if !edited.is_empty() {
        let status = Command::new("git")
            .arg("checkout")
            .arg("--")
            .args(&edited)
            .current_dir(root)
            .status()
            .context("cannot run git checkout")?;
        if !status.success() {
            bail!("git checkout of {} failed", edited.join(", "));
        }
    }
    Ok(edited)
}

/// Builds the app the docs run, so no block waits on a first build.
pub fn build(root: &Path) -> Result<()> {
    let status = Command::new("cargo")
        .args(["build", "--quiet"])
        .current_dir(root)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chapter_brings_the_chapters_before_it() {
        let groups = select(&[PathBuf::from("walkthrough/02-split.md")]).expect("known");
        assert_eq!(
            groups,
            vec![vec![
                "walkthrough/README.md",
                "walkthrough/01-monolith.md",
                "walkthrough/02-split.md"
            ]]
        );
        assert_eq!(select(&[]).expect("all").len(), 4);
        assert!(select(&[PathBuf::from("docs/fuzzing.md")]).is_err());
    }

    #[test]
    fn chapter_04_must_not_find_the_compose_secrets_it_makes() {
        let root = tempfile::tempdir().expect("temporary folder");
        let containers = select(&[PathBuf::from("walkthrough/04-containers.md")]).expect("known");
        std::fs::create_dir_all(root.path().join("docker")).expect("docker/");
        std::fs::write(root.path().join("docker/.env"), "X=1\n").expect("write");
        let error = require_fresh(root.path(), &containers).expect_err("refused");
        assert!(error.to_string().contains("docker/.env exists"), "{error}");
        // The other docs do not care about it.
        require_fresh(
            root.path(),
            &select(&[PathBuf::from("README.md")]).expect("known"),
        )
        .expect("README.md runs");
        remove_made(root.path(), &containers[0]).expect("removed");
        assert!(!root.path().join("docker/.env").exists());
        assert!(
            root.path().join("docker").exists(),
            "only what the chapter made goes"
        );
    }
}
