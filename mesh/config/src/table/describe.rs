//! A match entry in one line, as an operator reads it (`uri prefix /api, headers end-user exact
//! jason`): kept in the compiled table so that a proxy can say which rules it holds (its
//! `/config_dump`, `sailkit proxy-config routes`) after the YAML is gone.

use std::collections::BTreeMap;

use crate::model::{HttpMatchRequest, StringMatch};

/// The conditions of `entry`, in Istio's field names; `*` for an entry with none.
pub(super) fn describe(entry: &HttpMatchRequest) -> String {
    let mut parts = Vec::new();
    if let Some(uri) = &entry.uri {
        parts.push(format!("uri {}", string_match(uri)));
    }
    if let Some(method) = &entry.method {
        parts.push(format!("method {}", string_match(method)));
    }
    pairs(&mut parts, "headers", &entry.headers);
    pairs(&mut parts, "queryParams", &entry.query_params);
    pairs(&mut parts, "withoutHeaders", &entry.without_headers);
    if let Some(port) = entry.port {
        parts.push(format!("port {port}"));
    }
    if !entry.source_labels.is_empty() {
        let labels: Vec<String> = entry
            .source_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.push(format!("sourceLabels {}", labels.join(",")));
    }
    if !entry.gateways.is_empty() {
        parts.push(format!("gateways {}", entry.gateways.join(",")));
    }
    if parts.is_empty() {
        "*".to_owned()
    } else {
        parts.join(", ")
    }
}

fn pairs(parts: &mut Vec<String>, field: &str, map: &BTreeMap<String, StringMatch>) {
    for (name, m) in map {
        parts.push(format!("{field} {name} {}", string_match(m)));
    }
}

/// `exact jason`, `prefix /api`, `regex .*`, or `present` for `{}`.
fn string_match(m: &StringMatch) -> String {
    match (&m.exact, &m.prefix, &m.regex) {
        (Some(exact), _, _) => format!("exact {exact}"),
        (_, Some(prefix), _) => format!("prefix {prefix}"),
        (_, _, Some(regex)) => format!("regex {regex}"),
        _ => "present".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_entry() {
        let entry = HttpMatchRequest {
            uri: Some(StringMatch {
                prefix: Some("/api".into()),
                ..StringMatch::default()
            }),
            headers: BTreeMap::from([("end-user".into(), StringMatch::default())]),
            ..HttpMatchRequest::default()
        };
        assert_eq!(
            describe(&entry),
            "uri prefix /api, headers end-user present"
        );
        assert_eq!(describe(&HttpMatchRequest::default()), "*");
    }
}
