//! docs/configuration.md must list exactly the variables each service declares in its
//! `ENV_HELP` (which is also what `--help` prints), so neither can drift from the other.

use std::collections::BTreeSet;

use common::Service;

/// Variables every service reads through `common`; the doc lists them once, in "Every service".
const SHARED: &[&str] = &[
    "BIND_ADDRESS",
    "RUST_LOG",
    "LOG_FORMAT",
    "SAILKIT_ADDR_FILE",
    "SAILKIT_EXIT_ON_STDIN_EOF",
    "SAILKIT_HEADER_TIMEOUT_MS",
    "SAILKIT_IDLE_TIMEOUT_MS",
    "SAILKIT_MAX_CONNECTIONS",
];

/// The variable names at the start of the lines of an `ENV_HELP` text (`  NAME   meaning`).
fn declared(env_help: &str) -> BTreeSet<String> {
    env_help
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|word| {
            word.len() > 1
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .filter(|word| !SHARED.contains(word))
        .map(str::to_string)
        .collect()
}

/// The variables in the first column of the table under `## <section>` in the doc.
fn documented(doc: &str, section: &str) -> BTreeSet<String> {
    let heading = format!("## {section}");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("docs/configuration.md has no section {heading:?}"));
    let body = &doc[start + heading.len()..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect()
}

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    std::fs::read_to_string(path).expect("docs/configuration.md exists")
}

fn assert_in_step<S: Service>() {
    let declared = declared(S::ENV_HELP);
    assert!(!declared.is_empty() || S::NAME == "details");
    let documented = documented(&doc(), S::NAME);
    assert_eq!(
        declared,
        documented,
        "{}: ENV_HELP (left) and docs/configuration.md (right) disagree",
        S::NAME
    );
}

#[test]
fn shared_variables_are_documented_once() {
    let documented = documented(&doc(), "Every service");
    let shared: BTreeSet<String> = SHARED.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, shared);
}

#[test]
fn productpage_is_documented() {
    assert_in_step::<productpage::Productpage>();
}

#[test]
fn details_is_documented() {
    assert_in_step::<details::Details>();
}

#[test]
fn reviews_is_documented() {
    assert_in_step::<reviews::Reviews>();
}

#[test]
fn ratings_is_documented() {
    assert_in_step::<ratings::Ratings>();
}

#[test]
fn banner_is_documented() {
    assert_in_step::<banner::Banner>();
}

#[test]
fn monolith_is_documented() {
    assert_in_step::<monolith::Monolith>();
}
