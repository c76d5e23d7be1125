//! The run to make, from the command line: where to connect, what to send, how fast, how long.
//!
//! [`Plan::from_args`] does the few checks clap cannot (reading the body file, resolving the
//! host) so that the engine starts from settled facts. The request is prepared here once, as a
//! [`RequestTemplate`], and stamped out for every send: the generator's own cost per request
//! must stay small next to the proxy it measures.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, HeaderMap};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri};
use http_body_util::Full;

use super::args::{DEFAULT_DURATION, LoadArgs};

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After exactly this many requests (answered or failed).
    Count(u64),
    /// When this much time has passed; requests in flight then are waited for.
    After(Duration),
}

/// What the user asked for, checked and resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The URL as given, for the report.
    pub url: String,
    /// The address connections are opened to.
    pub addr: SocketAddr,
    pub request: RequestTemplate,
    pub http2: bool,
    pub connections: u32,
    /// Requests in flight on each connection: 1 for HTTP/1.1.
    pub streams: u32,
    /// Target requests per second; `None` is as fast as possible.
    pub qps: Option<f64>,
    pub stop: Stop,
    pub timeout: Duration,
    pub threads: usize,
}

/// Why a run cannot start although the command line was well formed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the body file {path}: {source}")]
    BodyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
}

impl PlanError {
    /// A body file that cannot be read is a mistake on the command line (2, like clap's usage
    /// errors); a host that does not resolve means no request can be sent (1, like a target
    /// that does not answer).
    pub fn exit_code(&self) -> u8 {
        match self {
            PlanError::BodyFile { .. } => 2,
            PlanError::Resolve { .. } => 1,
        }
    }
}

impl Plan {
    pub fn from_args(args: &LoadArgs) -> Result<Self, PlanError> {
        let body = match (&args.body, &args.body_file) {
            (Some(text), _) => Bytes::from(text.clone()),
            (None, Some(path)) => {
                std::fs::read(path)
                    .map(Bytes::from)
                    .map_err(|source| PlanError::BodyFile {
                        path: path.display().to_string(),
                        source,
                    })?
            }
            (None, None) => Bytes::new(),
        };
        let host = args.url.host().unwrap_or_default();
        let port = args.url.port_u16().unwrap_or(80);
        let addr = resolve(host, port)?;
        let stop = match (args.requests, args.duration) {
            (Some(count), _) => Stop::Count(count),
            (None, duration) => Stop::After(duration.unwrap_or(DEFAULT_DURATION)),
        };
        let threads = args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            |n| n as usize,
        );
        let mut headers = HeaderMap::new();
        for header in &args.headers {
            headers.append(header.name.clone(), header.value.clone());
        }
        Ok(Plan {
            url: args.url.to_string(),
            addr,
            request: RequestTemplate::new(
                args.method.clone(),
                &args.url,
                headers,
                body,
                args.http2,
            ),
            http2: args.http2,
            connections: args.connections,
            streams: if args.http2 { args.streams } else { 1 },
            qps: (args.qps > 0.0).then_some(args.qps),
            stop,
            timeout: args.timeout,
            threads,
        })
    }

    /// The method sent, as text.
    pub fn request_method(&self) -> String {
        self.request.method.to_string()
    }

    /// "HTTP/1.1" or "HTTP/2", as reports name the protocol.
    pub fn protocol(&self) -> &'static str {
        if self.http2 { "HTTP/2" } else { "HTTP/1.1" }
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, PlanError> {
    // In Rust, not glibc's getaddrinfo: the static binary in a container has no NSS.
    netresolve::lookup_blocking(host, port).map_err(|e| PlanError::Resolve {
        host: host.to_string(),
        reason: e.to_string(),
    })
}

/// The request sent again and again, prepared once.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl RequestTemplate {
    /// HTTP/1.1 sends the path in the request line and the host in a `Host` header; HTTP/2
    /// sends both as pseudo-headers (`:path`, `:authority`) which hyper takes from an absolute
    /// URI. A `-H Host:` given by the user wins either way, since proxies route on it.
    fn new(method: Method, url: &Uri, mut headers: HeaderMap, body: Bytes, http2: bool) -> Self {
        let path = url
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let url_authority = url.authority().cloned();
        let uri = if http2 {
            let authority = headers
                .remove(HOST)
                .and_then(|host| Authority::try_from(host.as_bytes()).ok())
                .or(url_authority);
            let mut parts = http::uri::Parts::default();
            parts.scheme = Some(Scheme::HTTP);
            parts.authority = authority;
            parts.path_and_query = Some(path.clone());
            Uri::from_parts(parts).unwrap_or_else(|_| Uri::from(path))
        } else {
            if !headers.contains_key(HOST)
                && let Some(value) = url_authority
                    .as_ref()
                    .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
            {
                headers.insert(HOST, value);
            }
            Uri::from(path)
        };
        RequestTemplate {
            method,
            uri,
            headers,
            body,
        }
    }

    /// A fresh request: cloning these parts is a few reference-count bumps and one small map.
    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A plan for unit tests of what reads one: 2 connections, 20 requests, at full speed.
    pub(crate) fn plan_for_tests() -> Plan {
        let url: Uri = "http://127.0.0.1:9080/productpage".parse().expect("url");
        Plan {
            url: url.to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], 9080)),
            request: RequestTemplate::new(Method::GET, &url, HeaderMap::new(), Bytes::new(), false),
            http2: false,
            connections: 2,
            streams: 1,
            qps: None,
            stop: Stop::Count(20),
            timeout: Duration::from_secs(3),
            threads: 1,
        }
    }

    fn template(url: &str, headers: &[(&str, &str)], http2: bool) -> Request<Full<Bytes>> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                http::HeaderValue::from_str(value).expect("value"),
            );
        }
        let url: Uri = url.parse().expect("url");
        RequestTemplate::new(Method::GET, &url, map, Bytes::new(), http2).build()
    }

    #[test]
    fn http1_sends_the_path_and_a_host_header() {
        let request = template("http://example.test:8080/a?b=c", &[], false);
        assert_eq!(request.uri(), "/a?b=c");
        assert_eq!(request.headers()[HOST], "example.test:8080");
        let request = template("http://example.test", &[("host", "other")], false);
        assert_eq!(request.uri(), "/");
        assert_eq!(request.headers()[HOST], "other");
    }

    #[test]
    fn http2_sends_an_absolute_uri_whose_authority_a_host_header_replaces() {
        let request = template("http://example.test:8080/a", &[], true);
        assert_eq!(request.uri(), "http://example.test:8080/a");
        let request = template("http://example.test:8080/a", &[("host", "reviews")], true);
        assert_eq!(request.uri(), "http://reviews/a");
        assert!(!request.headers().contains_key(HOST));
    }
}
