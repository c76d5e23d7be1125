//! `sailkit delete` where no stack runs: the change is made on the data directory's config
//! folder itself, with the same checks as through a control plane. A resource goes with its
//! file once nothing is left in it, and a second delete names what is not in force.

mod support;

use std::path::Path;

use support::{apply_to, run, scenario};

fn delete(data_dir: &Path, what: &[&str]) -> std::process::Output {
    let data_dir = data_dir.display().to_string();
    let mut args = vec!["delete", "--data-dir", &data_dir];
    args.extend_from_slice(what);
    run(&args)
}

#[test]
fn a_delete_on_the_folder_removes_what_it_names_and_only_that() {
    let data = tempfile::tempdir().expect("tempdir");
    let folder = data.path().join("mesh").join("config");
    let applied = apply_to(
        data.path(),
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-reviews-test-v2.yaml"),
        ],
    );
    assert!(applied.status.success(), "{applied:?}");

    // The DestinationRule of reviews goes; the VirtualService still routes to its subsets:
    // a warning, and the delete is made.
    let deleted = delete(data.path(), &["dr/reviews"]);
    let stdout = String::from_utf8_lossy(&deleted.stdout);
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(
        stdout.contains("warning: spec.http[0].route[0].destination.subset: no DestinationRule"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "updated {} (deleted: DestinationRule reviews; the rest stays)",
            folder.join("destination-rule-all.yaml").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("no stack is running"), "{stdout}");

    let deleted = delete(data.path(), &["virtualservice/reviews"]);
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(!folder.join("virtual-service-reviews-test-v2.yaml").exists());
    assert!(folder.join("destination-rule-all.yaml").exists());

    let again = delete(data.path(), &["vs/reviews", "-n", "default"]);
    assert!(!again.status.success(), "{again:?}");
    let verdict = String::from_utf8_lossy(&again.stderr);
    assert!(
        verdict.contains("error: not in force: VirtualService default/reviews"),
        "{verdict}"
    );
}
