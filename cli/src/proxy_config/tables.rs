//! The tables of `sailkit proxy-config`, with istioctl's columns where the idea is the same,
//! read from the JSON a proxy's `/config_dump` gives (a field missing shows as `-`).

use serde_json::Value;

/// `reviews.default.svc.cluster.local` → `reviews.default`, as istioctl shortens hosts.
fn short_host(host: &str) -> &str {
    host.strip_suffix(".svc.cluster.local").unwrap_or(host)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// `k=v,k=v` of a JSON object of labels.
fn labels(value: &Value) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect::<Vec<_>>()
            .join(","),
        _ => "-".to_owned(),
    }
}

/// Rows under `headers`, each column as wide as its widest cell, two spaces apart.
fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// NAME (the listener), DOMAINS, MATCH (`*`: every request; entries OR-ed with `|`),
/// DESTINATION (with the weights of a split), VIRTUAL SERVICE.
pub fn routes(rows: &[Value]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|route| {
            let domains: Vec<&str> = route["domains"]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_str).map(short_host).collect())
                .unwrap_or_default();
            let matches: Vec<String> = route["match"]
                .as_array()
                .map(|m| m.iter().map(text).collect())
                .unwrap_or_default();
            let destinations: Vec<String> = route["destinations"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .map(|d| {
                            let mut shown =
                                short_host(d["host"].as_str().unwrap_or("-")).to_owned();
                            if let Some(subset) = d["subset"].as_str() {
                                shown = format!("{shown}|{subset}");
                            }
                            if all.len() > 1 {
                                shown = format!("{shown} {}%", text(&d["weight"]));
                            }
                            shown
                        })
                        .collect()
                })
                .unwrap_or_default();
            let destination = if route["redirect"] == Value::Bool(true) {
                "(redirect)".to_owned()
            } else {
                destinations.join(", ")
            };
            vec![
                text(&route["listener"]),
                domains.join(","),
                if matches.is_empty() {
                    "*".to_owned()
                } else {
                    matches.join(" | ")
                },
                destination,
                text(&route["virtual_service"]),
            ]
        })
        .collect();
    columns(
        &["NAME", "DOMAINS", "MATCH", "DESTINATION", "VIRTUAL SERVICE"],
        &rows,
    )
}

/// SERVICE FQDN, SUBSET, DIRECTION, TYPE, ENDPOINTS, POLICY (balancing, connection limits,
/// outlier detection), DESTINATION RULE.
pub fn clusters(rows: &[Value]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|cluster| {
            vec![
                text(&cluster["service"]),
                text(&cluster["subset"]),
                text(&cluster["direction"]),
                text(&cluster["type"]),
                text(&cluster["endpoints"]),
                policy(&cluster["policy"]),
                text(&cluster["destination_rule"]),
            ]
        })
        .collect();
    columns(
        &[
            "SERVICE FQDN",
            "SUBSET",
            "DIRECTION",
            "TYPE",
            "ENDPOINTS",
            "POLICY",
            "DESTINATION RULE",
        ],
        &rows,
    )
}

/// `LEAST_REQUEST; pool max_connections=3; outlier 1×5xx every 1s, eject 30s, max 100%`: the
/// balancing, then each connection limit that is set, then the outlier detection.
fn policy(policy: &Value) -> String {
    let lb = &policy["load_balancer"];
    let mut parts = vec![match lb["key"].as_str() {
        Some(key) => format!("{} by {key}", text(&lb["type"])),
        None => text(&lb["type"]),
    }];
    if let Some(limits) = policy["connection_pool"].as_object() {
        let set: Vec<String> = limits
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect();
        if !set.is_empty() {
            parts.push(format!("pool {}", set.join(" ")));
        }
    }
    let outlier = &policy["outlier_detection"];
    if outlier.is_object() {
        let mut streaks = Vec::new();
        if let Some(n) = outlier["consecutive_5xx_errors"].as_u64() {
            streaks.push(format!("{n}\u{d7}5xx"));
        }
        if let Some(n) = outlier["consecutive_gateway_errors"].as_u64() {
            streaks.push(format!("{n}\u{d7}gateway error"));
        }
        let seconds = |key: &str| {
            outlier[key]
                .as_u64()
                .map_or("-".to_owned(), |ms| format!("{}s", ms as f64 / 1000.0))
        };
        parts.push(format!(
            "outlier {} every {}, eject {}, max {}%",
            streaks.join(" or "),
            seconds("interval_ms"),
            seconds("base_ejection_time_ms"),
            text(&outlier["max_ejection_percent"])
        ));
    }
    parts.join("; ")
}

/// ENDPOINT, STATUS, OUTLIER CHECK (`FAILED` while ejected), CLUSTER, LABELS.
pub fn endpoints(rows: &[Value]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|endpoint| {
            vec![
                text(&endpoint["address"]),
                text(&endpoint["status"]),
                text(&endpoint["outlier_check"]),
                text(&endpoint["cluster"]),
                labels(&endpoint["labels"]),
            ]
        })
        .collect();
    columns(
        &["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER", "LABELS"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_split_route_and_a_catch_all() {
        let shown = routes(&[
            json!({"listener": "outbound", "domains": ["reviews.default.svc.cluster.local"],
                   "match": ["headers end-user exact jason"], "redirect": false,
                   "destinations": [{"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 50},
                                    {"host": "reviews.default.svc.cluster.local", "subset": "v3", "weight": 50}],
                   "virtual_service": "default/reviews"}),
            json!({"listener": "outbound", "domains": ["reviews.default.svc.cluster.local"],
                   "match": [], "destinations": [{"host": "reviews.default.svc.cluster.local"}],
                   "virtual_service": "default/reviews"}),
        ]);
        let lines: Vec<&str> = shown.lines().collect();
        // Every column starts where its header does.
        let at = |line: &str, cell: &str| line.find(cell);
        assert_eq!(
            at(lines[0], "VIRTUAL SERVICE"),
            at(lines[1], "default/reviews")
        );
        assert_eq!(
            at(lines[0], "VIRTUAL SERVICE"),
            at(lines[2], "default/reviews")
        );
        assert_eq!(
            at(lines[0], "DESTINATION"),
            lines[2].rfind("reviews.default ")
        );
        assert!(
            lines[1].contains("reviews.default|v2 50%, reviews.default|v3 50%"),
            "{shown}"
        );
        assert!(
            lines[2].starts_with("outbound  reviews.default  *  "),
            "{shown}"
        );
    }

    #[test]
    fn a_policy_in_one_cell() {
        let cell = policy(&json!({
            "load_balancer": {"type": "CONSISTENT_HASH", "key": "header x-user"},
            "connection_pool": {"max_connections": 3, "max_retries": null},
            "outlier_detection": null,
        }));
        assert_eq!(
            cell,
            "CONSISTENT_HASH by header x-user; pool max_connections=3"
        );
    }
}
