//! Host names: how `reviews` in a file and `reviews:9080` in a request meet.
//!
//! Two rules, one for each side, both ending in a fully qualified name
//! (`reviews.default.svc.cluster.local`):
//!
//! - **In config** ([`qualify`]), Istio's rule: a host without a dot is a short name and is
//!   completed with the namespace of the resource that wrote it (`reviews` in namespace `default`
//!   → `reviews.default.svc.cluster.local`); a host with a dot is taken as written, and so are
//!   wildcards (`*`, `*.example.com`).
//! - **In a request** ([`request_candidates`]), the rule of a pod's DNS search path, since that is
//!   how the caller's name was resolved: `reviews` → `reviews.<caller namespace>.svc.cluster.local`;
//!   `reviews.default` → `reviews.default.svc.cluster.local` (one dot: *name.namespace*);
//!   `reviews.default.svc` → add `.cluster.local`; anything longer is used as written. A one-dot
//!   name also tries itself as written, so `example.com` still reaches a ServiceEntry for it.

/// The cluster's DNS suffix for services.
pub const SERVICE_DOMAIN: &str = "svc.cluster.local";

/// Qualify a host written in config (see the module doc).
pub fn qualify(host: &str, namespace: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.contains('.') || host.contains('*') {
        host
    } else {
        format!("{host}.{namespace}.{SERVICE_DOMAIN}")
    }
}

/// The fully qualified names a request's host may stand for, most likely first. `authority` may
/// carry a port; it is dropped.
pub fn request_candidates(authority: &str, namespace: &str) -> Vec<String> {
    let host = strip_port(authority)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match host.matches('.').count() {
        0 => vec![format!("{host}.{namespace}.{SERVICE_DOMAIN}")],
        _ if host.ends_with(".svc") => vec![format!("{host}.cluster.local")],
        1 => vec![format!("{host}.{SERVICE_DOMAIN}"), host],
        _ => vec![host],
    }
}

/// `host:port` → `host` (IPv6 literals in brackets keep their colons).
pub fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// How well a config host (qualified) matches a request host (qualified): `None` for no match,
/// otherwise a score where an exact name beats a longer wildcard beats a shorter one beats `*`.
pub fn match_score(pattern: &str, host: &str) -> Option<usize> {
    if pattern == host {
        return Some(usize::MAX);
    }
    if pattern == "*" {
        return Some(0);
    }
    let suffix = pattern.strip_prefix('*')?;
    (host.ends_with(suffix) && host.len() > suffix.len()).then_some(suffix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_side() {
        assert_eq!(
            qualify("reviews", "default"),
            "reviews.default.svc.cluster.local"
        );
        assert_eq!(
            qualify("reviews.prod.svc.cluster.local", "default"),
            "reviews.prod.svc.cluster.local"
        );
        assert_eq!(
            qualify("www.googleapis.com", "default"),
            "www.googleapis.com"
        );
        assert_eq!(qualify("*", "default"), "*");
    }

    #[test]
    fn request_side_short_names() {
        let fqdn = "reviews.default.svc.cluster.local";
        for name in [
            "reviews",
            "reviews:9080",
            "reviews.default",
            "reviews.default.svc",
            fqdn,
            "REVIEWS",
        ] {
            assert_eq!(request_candidates(name, "default")[0], fqdn, "{name}");
        }
        assert_eq!(
            request_candidates("reviews", "prod")[0],
            "reviews.prod.svc.cluster.local"
        );
        assert_eq!(
            request_candidates("example.com", "default")[1],
            "example.com"
        );
    }

    #[test]
    fn wildcards() {
        assert_eq!(match_score("*", "a.b"), Some(0));
        assert_eq!(match_score("*.example.com", "www.example.com"), Some(12));
        assert_eq!(match_score("*.example.com", "example.com"), None);
        assert_eq!(match_score("a.b", "a.b"), Some(usize::MAX));
        assert_eq!(match_score("a.b", "a.c"), None);
    }

    #[test]
    fn ports_are_dropped() {
        assert_eq!(strip_port("reviews:9080"), "reviews");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("reviews"), "reviews");
    }
}
