//! Phase 3 and the way back of phase 4: the request as the instance gets it, and the answer as
//! the client gets it. Hop-by-hop headers go both ways (`mesh_proxy::headers::remove_hop_by_hop`,
//! the sidecar's own rule); nothing is added.

use http::header::HeaderMap;
use http::uri::{PathAndQuery, Scheme, Uri};
use http::{Request, Response, Version};
use http_body_util::Either;
use hyper::body::Incoming;
use mesh_proxy::headers::remove_hop_by_hop;

use super::endpoint::Endpoint;
use super::forward::{ResponseBody, UpstreamBody};

/// Phase 3: the request as the instance gets it. Only the target changes (an absolute URI,
/// which tells the client where to connect; it sends the path alone on the wire) and the
/// version: the pooled connections to the instances are HTTP/1.1 whatever the client spoke.
pub(super) fn upstream_request(
    endpoint: &Endpoint,
    method: &http::Method,
    path: PathAndQuery,
    headers: HeaderMap,
    body: UpstreamBody,
) -> Request<UpstreamBody> {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(endpoint.authority.clone());
    parts.path_and_query = Some(path);
    let mut request = Request::new(body);
    // Cannot fail: scheme, authority and path are all set, and each is valid on its own.
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    *request.method_mut() = method.clone();
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
}

/// Phase 4, on the way back: the instance's answer with its own hop-by-hop headers removed.
/// hyper frames the body for our client's connection (length or chunks) by itself.
pub(super) fn downstream_response(response: Response<Incoming>) -> Response<ResponseBody> {
    let (mut head, body) = response.into_parts();
    remove_hop_by_hop(&mut head.headers, Version::HTTP_11);
    head.extensions.clear();
    Response::from_parts(head, Either::Left(body))
}
