//! `sailkit lint` run as a binary: a clean manifest (exit 0), one with a mistake (exit 79, the
//! finding with its file, line and object), the same from standard input (`-`), malformed
//! YAML (exit 65, with its line), a file that is not there and a missing images list (exit 64).
//! The checks themselves are tested one by one in `tools/manifest-lint/tests/checks.rs`, over
//! the same fixture.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use support::{run, sailkit};

const CLEAN: &str = include_str!("../../tools/manifest-lint/tests/fixtures/clean.yaml");

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// The clean manifest with the reviews Service's selector misspelt, and the line of it.
fn misspelt() -> (String, usize) {
    let text = CLEAN.replacen("    app: reviews\n", "    app: reviewz\n", 1);
    let line = text[..text.find("app: reviewz").expect("changed")]
        .matches('\n')
        .count();
    (text, line)
}

#[test]
fn a_clean_manifest_passes_and_a_mistake_is_named_with_file_line_and_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = write(dir.path(), "clean.yaml", CLEAN);
    let output = run(&["lint", &clean]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        stdout(&output),
        "\u{2714} No issues found when linting 12 objects in 1 file.\n"
    );

    let (text, line) = misspelt();
    let broken = write(dir.path(), "rendered.yaml", &text);
    let output = run(&["lint", &broken]);
    assert_eq!(output.status.code(), Some(79), "{}", stderr(&output));
    let printed = stdout(&output);
    // The subset v1 of the VirtualService selects no pod any more either.
    let expected = format!(
        "{broken}:{line}: Service bookinfo/reviews: selector app=reviewz matches no pod template \
         in namespace bookinfo\n"
    );
    assert!(printed.starts_with(&expected), "{printed}");
    assert!(
        printed.ends_with(
            "Found 2 issues (selectors 1, istio 1) when linting 12 objects in 1 file.\n"
        ),
        "{printed}"
    );
}

#[test]
fn standard_input_is_the_file_named_dash() {
    let (text, line) = misspelt();
    let mut child = sailkit()
        .args(["lint", "-", "--skip", "istio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sailkit runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("written");
    let output = child.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(79), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!("-:{line}: Service bookinfo/reviews: selector")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn malformed_yaml_missing_files_and_images_lists_are_errors_not_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        dir.path(),
        "bad.yaml",
        "kind: Service\nmetadata:\n  name: [a\n",
    );
    let output = run(&["lint", &bad]);
    assert_eq!(output.status.code(), Some(65));
    assert!(
        stderr(&output).starts_with(&format!("sailkit lint: {bad}:")),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("malformed YAML"),
        "{}",
        stderr(&output)
    );

    let absent = dir.path().join("absent.yaml").display().to_string();
    let output = run(&["lint", &absent]);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr(&output).contains("cannot read"),
        "{}",
        stderr(&output)
    );

    let clean = write(dir.path(), "clean.yaml", CLEAN);
    let no_list = dir.path().join("images.txt").display().to_string();
    let output = run(&["lint", &clean, "--images", &no_list]);
    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
}

#[test]
fn images_come_from_the_list_given_and_the_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = write(dir.path(), "clean.yaml", CLEAN);
    // A list without reviews and ratings: their Deployments' images are not built.
    let list = write(
        dir.path(),
        "images.txt",
        "# image binary probe\ndetails details -\n",
    );
    let output = run(&["lint", &clean, "--images", &list]);
    assert_eq!(output.status.code(), Some(79));
    assert!(
        stdout(&output).contains("Found 2 issues (images 2)"),
        "{}",
        stdout(&output)
    );
    let output = run(&[
        "lint",
        &clean,
        "--images",
        &list,
        "--allow-image",
        "sailkit/reviews",
        "--allow-image",
        "sailkit/rat*",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn help_explains_the_checks_and_the_exit_codes() {
    let output = run(&["lint", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for words in [
        "kubectl kustomize k8s/overlays/mesh | sailkit lint -",
        "pod-security",
        "--image-prefix",
        "0 clean, 79 with findings, 64 for a bad argument, 65 for malformed YAML",
    ] {
        assert!(help.contains(words), "{words}: {help}");
    }
}

#[test]
fn objects_that_name_no_namespace_go_where_dash_n_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = write(dir.path(), "clean.yaml", CLEAN);
    // An Istio file as k8s/networking/ holds them: no namespace, applied with `-n bookinfo`.
    let routes = write(
        dir.path(),
        "virtual-service-ratings.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ratings\n\
         spec:\n  hosts: [ratings]\n  http:\n    - route:\n        - destination: {host: ratings}\n",
    );
    let output = run(&["lint", &clean, &routes]);
    assert_eq!(output.status.code(), Some(79));
    assert!(
        stdout(&output).starts_with(&format!(
            "{routes}:6: VirtualService default/ratings: host ratings \
             (ratings.default.svc.cluster.local) is neither"
        )),
        "{}",
        stdout(&output)
    );
    let output = run(&["lint", "-n", "bookinfo", &clean, &routes]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        "\u{2714} No issues found when linting 13 objects in 2 files.\n"
    );
}
