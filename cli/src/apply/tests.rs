//! `sailkit apply` end to end on a config folder: checked with what stays, nothing changed on
//! an error, and a redefined resource taking its place in the files.

use std::path::{Path, PathBuf};

use super::files::config_files;
use super::{apply, check};

const SUBSETS: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n    - name: v1\n      labels:\n        version: v1\n";
const TO_V1: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n    - route:\n        - destination:\n            host: reviews\n            subset: v1\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn names(dir: &Path) -> Vec<String> {
    config_files(dir)
        .expect("list")
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

#[test]
fn files_are_checked_with_what_is_in_force() {
    let src = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let vs = write(src.path(), "vs.yaml", TO_V1);
    let alone = check(config.path(), std::slice::from_ref(&vs), None).expect("checked");
    assert!(
        alone.loaded.diagnostics.iter().any(|d| !d.is_error()
            && d.to_string().starts_with(&format!("{}:", vs.display()))
            && d.to_string().contains("v1")),
        "a warning for the undefined subset: {:?}",
        alone.loaded.diagnostics
    );

    let dr = write(src.path(), "dr.yaml", SUBSETS);
    apply(config.path(), std::slice::from_ref(&dr), None).expect("valid");
    let together = check(config.path(), std::slice::from_ref(&vs), None).expect("checked");
    assert!(
        together.loaded.diagnostics.is_empty(),
        "{:?}",
        together.loaded.diagnostics
    );
}

#[test]
fn an_error_changes_nothing() {
    let src = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let dr = write(src.path(), "dr.yaml", SUBSETS);
    apply(config.path(), &[dr], None).expect("valid");
    let typo = write(
        src.path(),
        "typo.yaml",
        &SUBSETS.replace("labels:", "lables:"),
    );
    assert!(apply(config.path(), &[typo], None).is_err());
    assert_eq!(names(config.path()), ["dr.yaml"]);
}

#[test]
fn a_resource_of_the_same_kind_and_name_replaces_its_file() {
    let src = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let dr = write(src.path(), "dr.yaml", SUBSETS);
    let first = write(src.path(), "first.yaml", TO_V1);
    apply(config.path(), &[dr, first], None).expect("valid");
    let second = write(src.path(), "second.yaml", TO_V1);
    apply(config.path(), &[second], None).expect("valid");
    assert_eq!(names(config.path()), ["dr.yaml", "second.yaml"]);
}

#[test]
fn a_file_keeps_the_resources_that_were_not_redefined() {
    let src = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let ratings = TO_V1.replace("reviews", "ratings");
    // Like virtual-service-all-v1.yaml: several VirtualServices in one file.
    let all = write(
        src.path(),
        "all.yaml",
        &format!("# every service on v1\n---\n{TO_V1}---\n{ratings}"),
    );
    let dr = write(
        src.path(),
        "dr.yaml",
        &format!("{SUBSETS}---\n{}", SUBSETS.replace("reviews", "ratings")),
    );
    apply(config.path(), &[dr, all], None).expect("valid");
    let reviews_again = write(src.path(), "reviews.yaml", TO_V1);
    let checked =
        check(config.path(), std::slice::from_ref(&reviews_again), None).expect("checked");
    assert!(checked.replaced.is_empty());
    assert_eq!(checked.trimmed.len(), 1);
    assert_eq!(checked.trimmed[0].taken_out, ["VirtualService reviews"]);
    apply(config.path(), &[reviews_again], None).expect("valid");
    assert_eq!(
        names(config.path()),
        ["all.yaml", "dr.yaml", "reviews.yaml"]
    );
    // all.yaml now holds only the ratings VirtualService, and loads cleanly with the rest.
    let left = mesh_config::load_file(config.path().join("all.yaml"));
    let kept: Vec<String> = left
        .resources
        .iter()
        .map(|r| r.metadata.name.clone())
        .collect();
    assert_eq!(kept, ["ratings"]);
    let everything = mesh_config::load_files(&config_files(config.path()).expect("list"));
    assert!(
        everything.diagnostics.is_empty(),
        "{:?}",
        everything.diagnostics
    );
    // Redefining the last resource of a file removes the file.
    let ratings_again = write(src.path(), "ratings.yaml", &ratings);
    apply(config.path(), &[ratings_again], None).expect("valid");
    assert_eq!(
        names(config.path()),
        ["dr.yaml", "ratings.yaml", "reviews.yaml"]
    );
}
