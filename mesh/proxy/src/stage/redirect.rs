//! Stage `redirect`: a rule with `redirect` is answered by the proxy itself, no upstream called.
//!
//! The `Location` is the request's own URL with the parts the rule names replaced: `scheme`
//! (default `http`, the scheme of this cleartext listener), `authority` (default the host the
//! caller addressed), `port` (replaces the authority's port), `uri` (replaces the path; the
//! query string is kept unless `uri` carries its own). The status is `redirectCode`, 301 when
//! unset. Faults still apply first: Envoy's fault filter runs before its router, which is where
//! a redirect is answered.

use http::header::{HeaderValue, LOCATION};
use http::{Response, StatusCode, Uri};
use mesh_config::model::HttpRedirect;

use crate::body::{self, Body};

/// The redirect response for a request to `uri`, addressed to `authority`.
pub fn respond(redirect: &HttpRedirect, uri: &Uri, authority: &str) -> Response<Body> {
    let mut response = Response::new(body::empty());
    *response.status_mut() = redirect
        .redirect_code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::MOVED_PERMANENTLY);
    if let Ok(value) = HeaderValue::from_str(&location(redirect, uri, authority)) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The new URL (see the module doc).
fn location(redirect: &HttpRedirect, uri: &Uri, authority: &str) -> String {
    let scheme = redirect.scheme.as_deref().unwrap_or("http");
    let mut host = redirect
        .authority
        .clone()
        .unwrap_or_else(|| authority.to_owned());
    if let Some(port) = redirect.port {
        host = format!("{}:{port}", mesh_config::host::strip_port(&host));
    }
    let path_and_query = match (&redirect.uri, uri.query()) {
        (Some(path), Some(query)) if !path.contains('?') => format!("{path}?{query}"),
        (Some(path), _) => path.clone(),
        (None, _) => uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
    };
    format!("{scheme}://{host}{path_and_query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(uri: Option<&str>, authority: Option<&str>, port: Option<u16>) -> HttpRedirect {
        HttpRedirect {
            uri: uri.map(str::to_owned),
            authority: authority.map(str::to_owned),
            port,
            scheme: None,
            redirect_code: None,
            derive_port: None,
        }
    }

    #[test]
    fn replaces_only_what_the_rule_names() {
        let uri: Uri = "http://reviews:9080/old/1?x=1".parse().expect("uri");
        let r = redirect(Some("/new"), None, None);
        assert_eq!(
            location(&r, &uri, "reviews:9080"),
            "http://reviews:9080/new?x=1"
        );
        let r = redirect(None, Some("ratings"), Some(9090));
        assert_eq!(
            location(&r, &uri, "reviews:9080"),
            "http://ratings:9090/old/1?x=1"
        );
        let response = respond(&r, &uri, "reviews:9080");
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    }
}
