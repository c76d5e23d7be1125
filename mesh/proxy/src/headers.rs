//! The two rules about headers that every hop applies, written once: which headers belong to
//! one connection only (hop-by-hop, RFC 9110 section 7.6.1), and how a route's header
//! operations change the rest (Istio's order). The sidecar's `forward` stage and the launcher's
//! VIPs (`sailkit up`) both call [`remove_hop_by_hop`]; `forward` calls [`apply_operations`].
//!
//! **Hop-by-hop headers.** `Connection` and every header it names, `Proxy-Connection`,
//! `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization` and
//! `Proxy-Authenticate` describe the connection they came on, and a proxy opens its own: it
//! must not pass them on. **`TE` has one exception**: `TE: trailers` towards an HTTP/2 upstream.
//! It is the only `TE` value HTTP/2 allows (RFC 9113 section 8.2.2), it says "I accept
//! trailers", and gRPC servers refuse a request without it. Towards HTTP/1.1, `TE` would have
//! to be listed in `Connection` as well, and says nothing an HTTP/1.1 upstream needs, so it
//! goes like the others.

use http::Version;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use mesh_config::model::HeaderOperations;

/// The headers that describe one connection only, whatever `Connection` says.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == header::PROXY_AUTHORIZATION
        || name == header::PROXY_AUTHENTICATE
        || name.as_str() == "proxy-connection"
        || name.as_str() == "keep-alive"
}

/// Removes the headers that belong to one connection only, before `headers` go out on a hop
/// of version `towards`: the hop-by-hop ones, the ones `Connection` names, and `TE` unless it
/// is `TE: trailers` towards HTTP/2 (see the module doc). For a response, `towards` is the
/// caller's side; `TE` is a request header, and never kept in a response.
///
/// This runs twice per request (request and response), so it looks at the headers that are
/// there (usually a handful) instead of probing the map for each of the nine names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, towards: Version) {
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let keep_te_trailers = towards == Version::HTTP_2
        && headers
            .get(header::TE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for name in named {
        headers.remove(name);
    }
    let present: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in present {
        headers.remove(name);
    }
    if keep_te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// A route's header operations, in Istio's order: remove, then set, then add. Names or values
/// that are not valid HTTP are skipped (the config loader already warned about them).
pub fn apply_operations(operations: &[HeaderOperations], headers: &mut HeaderMap) {
    for ops in operations {
        for name in &ops.remove {
            headers.remove(name.as_str());
        }
        let valid = |(name, value): (&String, &String)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        };
        for (name, value) in ops.set.iter().filter_map(valid) {
            headers.insert(name, value);
        }
        for (name, value) in ops.add.iter().filter_map(valid) {
            headers.append(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        headers.insert("end-user", HeaderValue::from_static("jason"));
        remove_hop_by_hop(&mut headers, Version::HTTP_2);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["end-user"], "jason");
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        remove_hop_by_hop(&mut headers, Version::HTTP_2);
        assert_eq!(headers[header::TE], "trailers", "gRPC needs TE: trailers");
        headers.insert(header::TE, HeaderValue::from_static("gzip"));
        remove_hop_by_hop(&mut headers, Version::HTTP_2);
        assert!(headers.get(header::TE).is_none());
    }

    #[test]
    fn hop_by_hop_headers_are_removed_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-private"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("x-request-id", HeaderValue::from_static("abc"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9082"));
        remove_hop_by_hop(&mut headers, Version::HTTP_11);
        let left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["x-request-id", "host"]);
    }

    #[test]
    fn te_trailers_goes_to_http2_only() {
        for version in [Version::HTTP_10, Version::HTTP_11] {
            let mut headers = HeaderMap::new();
            headers.insert(header::TE, HeaderValue::from_static("trailers"));
            remove_hop_by_hop(&mut headers, version);
            assert!(headers.get(header::TE).is_none(), "{version:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::TE, HeaderValue::from_static("Trailers"));
        remove_hop_by_hop(&mut headers, Version::HTTP_2);
        assert_eq!(headers[header::TE], "trailers");
    }

    #[test]
    fn header_operations_in_istio_order() {
        let mut headers = HeaderMap::new();
        headers.insert("x-old", HeaderValue::from_static("1"));
        headers.insert("x-set", HeaderValue::from_static("before"));
        let ops = HeaderOperations {
            set: [("x-set".to_owned(), "after".to_owned())].into(),
            add: [("x-add".to_owned(), "added".to_owned())].into(),
            remove: vec!["x-old".to_owned()],
        };
        apply_operations(&[ops], &mut headers);
        assert!(headers.get("x-old").is_none());
        assert_eq!(headers["x-set"], "after");
        assert_eq!(headers["x-add"], "added");
    }
}
