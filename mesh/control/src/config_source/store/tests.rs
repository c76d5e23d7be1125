//! The store end to end on a folder: checked with what stays, nothing changed on an error, a
//! redefined resource taking its place in the files, and deletes.

use mesh_api::v1::ConfigFile;
use mesh_api::v1::file_change::Action;
use mesh_config::Kind;

use super::{Store, StoreError, list};

const SUBSETS: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n    - name: v1\n      labels:\n        version: v1\n";
const TO_V1: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n    - route:\n        - destination:\n            host: reviews\n            subset: v1\n";

fn file(name: &str, yaml: &str) -> ConfigFile {
    ConfigFile {
        name: name.to_owned(),
        yaml: yaml.to_owned(),
    }
}

fn names(store: &Store) -> Vec<String> {
    store
        .read_all()
        .expect("read")
        .into_iter()
        .map(|f| f.name)
        .collect()
}

fn reviews_vs() -> (Kind, String, String) {
    (Kind::VirtualService, "default".into(), "reviews".into())
}

#[test]
fn files_are_checked_with_what_is_in_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    let alone = store
        .apply(&[file("src/vs.yaml", TO_V1)], None)
        .expect("planned");
    assert!(alone.applied);
    assert!(
        alone
            .diagnostics
            .iter()
            .any(|d| d.starts_with("src/vs.yaml:") && d.contains("warning") && d.contains("v1")),
        "a warning for the undefined subset: {:?}",
        alone.diagnostics
    );
    let written = &alone.changes[0];
    assert_eq!(written.action(), Action::Written);
    assert_eq!(written.file, "src/vs.yaml");
    assert_eq!(written.resources, ["VirtualService reviews"]);

    let together = store
        .apply(&[file("dr.yaml", SUBSETS)], None)
        .expect("planned");
    assert!(
        together.diagnostics.is_empty(),
        "{:?}",
        together.diagnostics
    );
    assert_eq!(names(&store), ["dr.yaml", "vs.yaml"]);
    assert_eq!(
        together.config_version,
        super::config_version(&store.read_all().expect("read"))
    );
}

#[test]
fn an_error_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    store
        .apply(&[file("dr.yaml", SUBSETS)], None)
        .expect("planned");
    let before = store.read_all().expect("read");
    let typo = SUBSETS.replace("labels:", "lables:");
    let refused = store
        .apply(&[file("typo.yaml", &typo)], None)
        .expect("planned");
    assert!(!refused.applied);
    assert!(refused.changes.is_empty());
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.starts_with("typo.yaml:9:7: error:")),
        "{:?}",
        refused.diagnostics
    );
    assert_eq!(store.read_all().expect("read"), before);
    assert_eq!(refused.config_version, super::config_version(&before));
}

#[test]
fn a_file_name_that_cannot_be_stored_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    for name in ["..", "notes.txt", "a/", "nul\0.yaml", "two\nlines.yaml"] {
        let outcome = store.apply(&[file(name, SUBSETS)], None);
        assert!(
            matches!(outcome, Err(StoreError::Invalid(_))),
            "{name}: {outcome:?}"
        );
    }
    let twice = store.apply(
        &[file("a/dr.yaml", SUBSETS), file("b/dr.yaml", SUBSETS)],
        None,
    );
    assert!(matches!(twice, Err(StoreError::Invalid(_))), "{twice:?}");
    assert!(names(&store).is_empty());
}

#[test]
fn a_resource_of_the_same_kind_and_name_replaces_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    store
        .apply(&[file("dr.yaml", SUBSETS), file("first.yaml", TO_V1)], None)
        .expect("planned");
    let second = store
        .apply(&[file("second.yaml", TO_V1)], None)
        .expect("planned");
    assert_eq!(names(&store), ["dr.yaml", "second.yaml"]);
    let removed = &second.changes[1];
    assert_eq!(removed.action(), Action::Removed);
    assert_eq!(removed.file, "first.yaml");
}

#[test]
fn a_file_keeps_the_resources_that_were_not_redefined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    let ratings = TO_V1.replace("reviews", "ratings");
    // Like virtual-service-all-v1.yaml: several VirtualServices in one file.
    let all = format!("# every service on v1\n---\n{TO_V1}---\n{ratings}");
    let subsets = format!("{SUBSETS}---\n{}", SUBSETS.replace("reviews", "ratings"));
    store
        .apply(&[file("dr.yaml", &subsets), file("all.yaml", &all)], None)
        .expect("planned");
    let again = store
        .apply(&[file("reviews.yaml", TO_V1)], None)
        .expect("planned");
    let trimmed = &again.changes[1];
    assert_eq!(trimmed.action(), Action::Trimmed);
    assert_eq!(trimmed.file, "all.yaml");
    assert_eq!(trimmed.resources, ["VirtualService reviews"]);
    assert_eq!(names(&store), ["all.yaml", "dr.yaml", "reviews.yaml"]);
    // all.yaml now holds only the ratings VirtualService, and loads cleanly with the rest.
    let left = mesh_config::load_file(dir.path().join("all.yaml"));
    let kept: Vec<String> = left
        .resources
        .iter()
        .map(|r| r.metadata.name.clone())
        .collect();
    assert_eq!(kept, ["ratings"]);
    // Redefining the last resource of a file removes the file.
    store
        .apply(&[file("ratings.yaml", &ratings)], None)
        .expect("planned");
    assert_eq!(names(&store), ["dr.yaml", "ratings.yaml", "reviews.yaml"]);
}

#[test]
fn a_delete_takes_one_resource_out_and_warns_about_what_named_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    let both = format!("{SUBSETS}---\n{TO_V1}");
    store
        .apply(&[file("both.yaml", &both)], None)
        .expect("planned");
    let subsets = (Kind::DestinationRule, "default".into(), "reviews".into());
    let deleted = store.delete(&[subsets], &[], None).expect("planned");
    assert!(deleted.applied, "{deleted:?}");
    assert_eq!(deleted.changes[0].action(), Action::Trimmed);
    assert_eq!(deleted.changes[0].resources, ["DestinationRule reviews"]);
    // The VirtualService still routes to subset v1, which no DestinationRule defines now.
    assert!(
        deleted
            .diagnostics
            .iter()
            .any(|d| d.contains("warning") && d.contains("v1")),
        "{:?}",
        deleted.diagnostics
    );
    // By the file that defines it: the last resource goes, and the file with it.
    let by_file = store
        .delete(&[], &[file("vs.yaml", TO_V1)], None)
        .expect("planned");
    assert_eq!(by_file.changes[0].action(), Action::Removed);
    assert!(names(&store).is_empty());
    // Again: not found, named.
    let again = store.delete(&[reviews_vs()], &[], None);
    assert_eq!(
        again.map(|r| r.applied),
        Err(StoreError::NotFound(
            "not in force: VirtualService default/reviews".into()
        ))
    );
}

#[test]
fn a_delete_that_leaves_an_error_in_force_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    store
        .apply(&[file("vs.yaml", TO_V1)], None)
        .expect("planned");
    // A broken file copied in by hand: whatever is deleted, the set left has an error.
    let broken = SUBSETS.replace("labels:", "lables:");
    std::fs::write(dir.path().join("broken.yaml"), &broken).expect("write");
    let before = store.read_all().expect("read");
    let refused = store.delete(&[reviews_vs()], &[], None).expect("planned");
    assert!(!refused.applied, "{refused:?}");
    let broken_path = dir.path().join("broken.yaml").display().to_string();
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.starts_with(&format!("{broken_path}:9:7: error:"))),
        "{:?}",
        refused.diagnostics
    );
    assert_eq!(store.read_all().expect("read"), before);
}

#[test]
fn the_list_gives_each_resource_its_qualified_hosts_and_own_document() {
    let both = format!("{SUBSETS}---\n{TO_V1}");
    let listed = list(&[file("reviews.yaml", &both)]);
    let shown: Vec<_> = listed
        .iter()
        .map(|r| (r.kind.as_str(), r.name.as_str(), r.file.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("DestinationRule", "reviews", "reviews.yaml"),
            ("VirtualService", "reviews", "reviews.yaml")
        ]
    );
    for resource in &listed {
        assert_eq!(resource.hosts, ["reviews.default.svc.cluster.local"]);
    }
    assert_eq!(listed[0].yaml, SUBSETS.trim_end());
    assert_eq!(listed[1].yaml, TO_V1.trim_end());
}
