//! `x-request-id`: one id per request, made by the first proxy it crosses and kept by every
//! later hop (and by the services, which copy it onto the calls a request causes), so that the
//! access log lines of all the hops of one request share it, as in Envoy.

use std::fmt;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use uuid::Uuid;

/// The header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id: the one it came with, or one made here.
#[derive(Debug, Clone, Default)]
pub enum RequestId {
    /// Not known (a placeholder entry).
    #[default]
    None,
    /// The caller's, kept as it came (a cheap, shared copy of the header).
    Given(HeaderValue),
    /// Made here: a UUID version 4, kept as its 16 bytes and written out when needed.
    Made(Uuid),
}

impl RequestId {
    /// The request's `x-request-id`, added to `headers` when absent.
    pub fn ensure(headers: &mut HeaderMap) -> RequestId {
        if let Some(given) = headers.get(&X_REQUEST_ID) {
            return RequestId::Given(given.clone());
        }
        // Random bytes from the proxy's fast generator: an id must be unique, not secret, so
        // no system call per request for cryptographic randomness.
        let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        if let Ok(value) = HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)) {
            headers.insert(X_REQUEST_ID, value);
        }
        RequestId::Made(id)
    }

    /// Write the id's bytes to `out` (`-` when there is none), for the access log.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            RequestId::None => out.push(b'-'),
            RequestId::Given(value) => out.extend_from_slice(value.as_bytes()),
            RequestId::Made(id) => {
                let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                out.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
            }
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_made_when_absent_and_kept_when_present() {
        let mut headers = HeaderMap::new();
        let made = RequestId::ensure(&mut headers);
        let sent = headers
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .expect("an x-request-id")
            .to_owned();
        let parsed = Uuid::parse_str(&sent).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(made.to_string(), sent);
        let kept = RequestId::ensure(&mut headers);
        assert_eq!(kept.to_string(), sent);
        assert_ne!(RequestId::ensure(&mut HeaderMap::new()).to_string(), sent);
    }
}
