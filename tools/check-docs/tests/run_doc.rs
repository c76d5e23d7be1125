//! The runner against small docs of its own: a real first terminal (a bash loop that traps
//! Ctrl-C), real commands in the second terminal, a pid bound in one block and used in the next.

use std::path::{Path, PathBuf};
use std::time::Duration;

use check_docs::runner::Terminals;

const APP: &str = r#"bash -c 'echo "app started (pid $$)"; trap "echo app stopping; exit 0" INT; while true; do sleep 0.1; done'"#;

fn write_doc(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("doc.md");
    std::fs::write(&path, body).expect("write the doc");
    path
}

/// A doc that starts the app, runs `second_terminal` (its first `$` on line 14), and stops it.
fn doc_with(second_terminal: &str) -> String {
    format!(
        "# A doc\n\n<!-- check: first terminal -->\n```console\n$ {APP}\napp started (pid 12345)\n```\n\n\
         Then, in the second terminal:\n\n\n\n```console\n{second_terminal}```\n\n\
         <!-- check: ctrl-c -->\n```text\napp stopping\n```\n"
    )
}

#[test]
fn a_doc_whose_blocks_print_what_it_shows_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = write_doc(
        dir.path(),
        &doc_with("$ kill -0 12345 && echo alive\nalive\n$ printf 'id\\tname\\n'\nid      name\n"),
    );
    let mut terminals = Terminals::new(dir.path(), Duration::from_secs(20)).expect("terminals");
    let result = terminals.run_doc(&doc, "doc.md", false).expect("runs");
    assert!(result.mismatches.is_empty(), "{:?}", result.mismatches);
    assert_eq!((result.commands, result.waits), (3, 1));
}

#[test]
fn a_difference_names_the_file_and_line_and_shows_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = write_doc(dir.path(), &doc_with("$ echo one; echo two\none\nthree\n"));
    let mut terminals = Terminals::new(dir.path(), Duration::from_secs(20)).expect("terminals");
    let result = terminals.run_doc(&doc, "doc.md", false).expect("runs");
    let [mismatch] = result.mismatches.as_slice() else {
        panic!("one mismatch expected: {:?}", result.mismatches);
    };
    assert_eq!(mismatch.location, "doc.md:14");
    assert!(mismatch.diff.contains("-three"), "{}", mismatch.diff);
    assert!(mismatch.diff.contains("+two"), "{}", mismatch.diff);
    assert_eq!(result.waits, 0, "the doc stops at the first difference");
}

#[test]
fn a_first_terminal_line_that_never_comes_is_reported_after_the_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = write_doc(
        dir.path(),
        &format!("<!-- check: first terminal -->\n```console\n$ {APP}\napp ready\n```\n"),
    );
    let mut terminals = Terminals::new(dir.path(), Duration::from_secs(1)).expect("terminals");
    let result = terminals.run_doc(&doc, "doc.md", false).expect("runs");
    let [mismatch] = result.mismatches.as_slice() else {
        panic!("one mismatch expected: {:?}", result.mismatches);
    };
    assert_eq!(mismatch.location, "doc.md:3");
    assert!(
        mismatch
            .reason
            .contains("`app ready` was not printed within 1 s"),
        "{}",
        mismatch.reason
    );
}
