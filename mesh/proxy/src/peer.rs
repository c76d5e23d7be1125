//! Who is calling, proved: the header `x-sailkit-peer` the caller's proxy adds to every call it
//! sends, and the one implementation of making, checking and removing it.
//!
//! ```text
//! x-sailkit-peer: productpage-v1.3q2-7w9aX...     <proxy_id>.<signature>
//! signature = base64url, no padding, of HMAC-SHA256(peer_key, proxy_id)
//! ```
//!
//! The key comes in the control plane's snapshots (`peer_key`, see `mesh.proto`); only proxies
//! of the mesh hold it. The inbound side believes a caller's name only if its signature is
//! right and the control plane knows the workload (the snapshot's `workloads`); anything else
//! (no header, two headers, a wrong signature, an unknown id) is a caller `unknown`, never an
//! error: metrics must not break calls. Either way the header is removed before the
//! application sees the request, so it cannot be read there and replayed.
//!
//! Without a control plane (a registry file) there is no key: no header is sent, and every
//! caller is `unknown`. An application cannot forge the header on its way out either: the
//! outbound side replaces whatever the application set.
//!
//! The work is done when a snapshot is applied ([`Peers::new`]: the header to send, the
//! signature each workload's header must carry); a request only looks a name up and compares.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use sha2::Sha256;

use crate::metrics::WorkloadId;

/// The header's name.
pub const PEER_HEADER: HeaderName = HeaderName::from_static("x-sailkit-peer");

/// What one snapshot says about proving names: the header this proxy sends, and the workloads
/// whose header it accepts.
#[derive(Debug, Default)]
pub struct Peers {
    /// The header for this proxy's own calls; `None` when it has no id to sign.
    own: Option<HeaderValue>,
    /// Every workload by proxy id: the signature its header carries, and its labels.
    known: HashMap<String, (String, WorkloadId), foldhash::fast::RandomState>,
}

impl Peers {
    /// Signs with `key` this proxy's id (`own_id`) and every workload's (proxy id, labels).
    pub fn new<'a>(
        key: &[u8],
        own_id: Option<&str>,
        workloads: impl IntoIterator<Item = (&'a str, WorkloadId)>,
    ) -> Peers {
        let own = own_id.and_then(|id| HeaderValue::try_from(header_value(key, id)).ok());
        let known = workloads
            .into_iter()
            .map(|(id, workload)| (id.to_owned(), (signature(key, id), workload)))
            .collect();
        Peers { own, known }
    }

    /// The workload whose header this is, if its signature is right.
    fn verify(&self, value: &[u8]) -> Option<WorkloadId> {
        let text = std::str::from_utf8(value).ok()?;
        // A proxy id may hold dots (`reviews-v2-7f9c.default`); a signature never does.
        let (id, signature) = text.rsplit_once('.')?;
        let (expected, workload) = self.known.get(id)?;
        same_bytes(signature.as_bytes(), expected.as_bytes()).then_some(*workload)
    }
}

/// `<id>.<signature>`: the header's value for proxy `id`.
pub fn header_value(key: &[u8], id: &str) -> String {
    format!("{id}.{}", signature(key, id))
}

fn signature(key: &[u8], id: &str) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Compares in a time that does not depend on where the first difference is, so that timing
/// answers cannot be used to guess a signature byte by byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// On a call going out: drop any header the application set, and add this proxy's own.
pub fn stamp(headers: &mut HeaderMap, peers: Option<&Peers>) {
    headers.remove(PEER_HEADER);
    if let Some(own) = peers.and_then(|p| p.own.as_ref()) {
        headers.insert(PEER_HEADER, own.clone());
    }
}

/// On a call coming in: remove the header, always, and say who sent it (unknown unless
/// exactly one header with a right signature of a known workload came).
pub fn take(headers: &mut HeaderMap, peers: Option<&Peers>) -> WorkloadId {
    let mut values = headers.get_all(PEER_HEADER).iter();
    let found = match (values.next(), values.next(), peers) {
        (Some(value), None, Some(peers)) => peers.verify(value.as_bytes()),
        _ => None,
    };
    headers.remove(PEER_HEADER);
    found.unwrap_or(WorkloadId::UNKNOWN)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metrics::{WorkloadLabels, intern};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn productpage() -> WorkloadId {
        intern::workload(WorkloadLabels::new(
            "productpage-v1",
            "default",
            "Kubernetes",
            &BTreeMap::new(),
        ))
    }

    fn peers() -> Peers {
        Peers::new(
            KEY,
            Some("reviews-v2"),
            [("productpage-v1.default", productpage())],
        )
    }

    fn incoming(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(PEER_HEADER, HeaderValue::from_str(value).expect("ASCII"));
        }
        headers.insert("x-other", HeaderValue::from_static("kept"));
        headers
    }

    #[test]
    fn a_right_signature_names_the_caller_and_the_header_is_gone() {
        let value = header_value(KEY, "productpage-v1.default");
        let mut headers = incoming(&[&value]);
        assert_eq!(take(&mut headers, Some(&peers())), productpage());
        assert!(headers.get(PEER_HEADER).is_none());
        assert_eq!(headers["x-other"], "kept");
    }

    #[test]
    fn anything_else_is_unknown_and_the_header_is_gone_all_the_same() {
        let right = header_value(KEY, "productpage-v1.default");
        let other_key = header_value(b"another key", "productpage-v1.default");
        let unknown_id = header_value(KEY, "ratings-v1");
        let cut = &right[..right.len() - 1];
        for values in [
            vec![],
            vec![other_key.as_str()],
            vec![unknown_id.as_str()],
            vec![cut],
            vec!["productpage-v1.default"],
            vec!["no dot at all"],
            vec![right.as_str(), right.as_str()],
        ] {
            let mut headers = incoming(&values);
            assert_eq!(
                take(&mut headers, Some(&peers())),
                WorkloadId::UNKNOWN,
                "{values:?}"
            );
            assert!(headers.get(PEER_HEADER).is_none(), "{values:?}");
        }
        // No key (a registry file): nobody is believed, and the header still goes.
        let mut headers = incoming(&[&right]);
        assert_eq!(take(&mut headers, None), WorkloadId::UNKNOWN);
        assert!(headers.get(PEER_HEADER).is_none());
    }

    #[test]
    fn going_out_the_applications_header_is_replaced_by_the_proxys_own() {
        let mut headers = incoming(&["made-up.by-the-app"]);
        stamp(&mut headers, Some(&peers()));
        let sent: Vec<_> = headers.get_all(PEER_HEADER).iter().collect();
        assert_eq!(sent, [header_value(KEY, "reviews-v2").as_str()]);
        stamp(&mut headers, None);
        assert!(headers.get(PEER_HEADER).is_none(), "without a key, none");
    }
}
