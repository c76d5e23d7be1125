//! A YAML stream cut into its documents, so that `apply` can take one resource out of a file
//! that defines several and keep the others as they were written.

/// The documents of a YAML stream: the text between lines that start with `---` (a document
/// marker must start its line; inside a block scalar the text is indented).
pub(super) fn documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_marker = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '#');
        if is_marker {
            out.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_at_markers_that_start_a_line() {
        let text = "a: 1\n---\nb: |\n  --- not a marker\n--- # comment\nc: 3\n";
        assert_eq!(
            documents(text),
            ["a: 1\n", "b: |\n  --- not a marker\n", "c: 3\n"]
        );
    }
}
