//! `--label KEY=VALUE`: a workload label, with Kubernetes' syntax.

/// The longest label name or value Kubernetes accepts.
const MAX_LABEL_PART: usize = 63;

/// Parses `KEY=VALUE` with Kubernetes' label syntax: a name (optionally `prefix/name`) and a
/// value of letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, at
/// most 63 characters; the value may be empty. Clap turns an `Err` into a usage error.
pub(super) fn parse_label(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE (example: app=reviews)"))?;
    let name = match key.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || !prefix.split('.').all(|part| label_part(part, true)) {
                return Err(format!(
                    "`{key}`: the prefix before `/` must be a DNS name (example.com/app)"
                ));
            }
            name
        }
        None => key,
    };
    if !label_part(name, false) {
        return Err(format!(
            "`{key}` is not a label name: 1 to {MAX_LABEL_PART} letters, digits, `-`, `_` or \
             `.`, starting and ending with a letter or digit"
        ));
    }
    if !(value.is_empty() || label_part(value, false)) {
        return Err(format!(
            "`{value}` is not a label value: up to {MAX_LABEL_PART} letters, digits, `-`, `_` \
             or `.`, starting and ending with a letter or digit"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// One label name or value (or, with `dns`, one part of a prefix: no `_` nor `.`).
fn label_part(text: &str, dns: bool) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || c == '-' || (!dns && (c == '_' || c == '.'));
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=MAX_LABEL_PART).contains(&text.len())
        && text.chars().all(inner)
        && edge(text.chars().next())
        && edge(text.chars().last())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::Settings;

    fn parse(labels: &[&str]) -> Result<Vec<(String, String)>, String> {
        let mut args = vec!["mesh-proxy", "--registry", "registry.json"];
        args.extend_from_slice(labels);
        Settings::try_parse_from(args)
            .map(|s| s.labels)
            .map_err(|e| e.to_string())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_come_repeated_or_comma_separated() {
        assert_eq!(parse(&[]), Ok(Vec::new()));
        let both = pairs(&[("app", "reviews"), ("version", "v2")]);
        assert_eq!(
            parse(&["--label", "app=reviews", "--label", "version=v2"]),
            Ok(both.clone())
        );
        assert_eq!(parse(&["--labels", "app=reviews,version=v2"]), Ok(both));
        assert_eq!(
            parse(&["--label", "example.com/tier=", "--label", "a_b.c=x-1"]),
            Ok(pairs(&[("example.com/tier", ""), ("a_b.c", "x-1")]))
        );
    }

    #[test]
    fn a_malformed_label_is_a_usage_error_that_says_why() {
        for (bad, why) in [
            ("app", "is not KEY=VALUE"),
            ("=reviews", "is not a label name"),
            ("-app=reviews", "is not a label name"),
            ("app=re views", "is not a label value"),
            ("app=v2-", "is not a label value"),
            ("/app=x", "prefix before `/`"),
        ] {
            let error = parse(&[&format!("--label={bad}")]).expect_err(bad);
            assert!(error.contains("--label"), "{bad}: {error}");
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
