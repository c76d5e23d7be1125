//! Building a snapshot: the config in force, the services, the workloads and the peer key,
//! named by a version.
//!
//! The version is a hash of the content (the config version, then every endpoint: its service,
//! address, labels and proxy id; every workload; the peer key), so the same content always has
//! the same version: a proxy
//! that reconnects can tell it already has what it is sent, and the publisher can tell that a
//! burst of changes ended where it started and push nothing.
//!
//! A snapshot is sent to every proxy, so it is encoded once, when it is built: a [`Published`]
//! holds the protobuf bytes already framed as a gRPC message, and every stream sends the same
//! bytes (see `discovery::server` for how they reach the wire without a copy per stream).

use std::collections::HashMap;

use bytes::{BufMut as _, Bytes, BytesMut};
use mesh_api::v1::{Service, Snapshot, Workload};
use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::config_source::ConfigState;

/// What a snapshot holds beside the config.
#[derive(Debug, Clone, Default)]
pub struct Mesh {
    /// Sorted by name.
    pub services: Vec<Service>,
    /// Sorted by proxy id.
    pub workloads: Vec<Workload>,
    /// The control plane's peer key (see [`new_peer_key`]).
    pub peer_key: Vec<u8>,
}

/// The snapshot of `config` and `mesh`.
pub fn build(config: &ConfigState, mesh: Mesh) -> Snapshot {
    Snapshot {
        version: version(&config.config_version, &mesh),
        config: config.files.clone(),
        services: mesh.services,
        config_version: config.config_version.clone(),
        workloads: mesh.workloads,
        peer_key: mesh.peer_key,
    }
}

/// 32 random bytes from the operating system: the key proxies sign their names with (the
/// snapshot's `peer_key`), made once when the control plane starts.
pub fn new_peer_key() -> Result<Vec<u8>, getrandom::Error> {
    let mut key = vec![0; 32];
    getrandom::fill(&mut key)?;
    Ok(key)
}

/// A snapshot, and the gRPC message that carries it, encoded once for every stream.
#[derive(Debug)]
pub struct Published {
    /// What the admin endpoints show, and the versions the streams compare.
    pub snapshot: Snapshot,
    /// The gRPC message as it goes on the wire: one byte (0: not compressed), the protobuf
    /// length (4 bytes, big-endian), then the protobuf `Snapshot`. Cloning it clones a pointer.
    pub frame: Bytes,
}

impl Published {
    /// Encodes `snapshot` (once).
    pub fn new(snapshot: Snapshot) -> Published {
        let length = snapshot.encoded_len();
        let mut frame = BytesMut::with_capacity(GRPC_PREFIX_BYTES + length);
        frame.put_u8(0);
        // A snapshot past 4 GiB cannot be framed; the registry's limit keeps it far smaller.
        frame.put_u32(u32::try_from(length).unwrap_or(u32::MAX));
        snapshot.encode_raw(&mut frame);
        Published {
            snapshot,
            frame: frame.freeze(),
        }
    }

    pub fn version(&self) -> &str {
        &self.snapshot.version
    }
}

/// A protobuf map has no order: its pairs sorted, to hash them.
fn sorted(labels: &HashMap<String, String>) -> Vec<(&String, &String)> {
    let mut pairs: Vec<(&String, &String)> = labels.iter().collect();
    pairs.sort();
    pairs
}

/// The gRPC length prefix before every message: a compression flag and a 4-byte length.
const GRPC_PREFIX_BYTES: usize = 5;

/// 16 hex digits of a SHA-256 over the config version, the endpoints, the workloads and the
/// peer key. Every string goes in after its length, so that no two different contents can give
/// the same stream of bytes.
pub fn version(config_version: &str, mesh: &Mesh) -> String {
    let mut digest = Sha256::new();
    let mut add = |text: &str| {
        digest.update((text.len() as u64).to_le_bytes());
        digest.update(text.as_bytes());
    };
    add(config_version);
    for service in &mesh.services {
        add(&service.name);
        for endpoint in &service.endpoints {
            add(&endpoint.address);
            add(&endpoint.proxy_id);
            for (key, value) in sorted(&endpoint.labels) {
                add(key);
                add(value);
            }
        }
    }
    // A separator: the workloads never read as more endpoints.
    add("workloads");
    for workload in &mesh.workloads {
        for text in [
            &workload.proxy_id,
            &workload.name,
            &workload.namespace,
            &workload.service_account,
            &workload.cluster,
        ] {
            add(text);
        }
        for (key, value) in sorted(&workload.labels) {
            add(key);
            add(value);
        }
    }
    digest.update((mesh.peer_key.len() as u64).to_le_bytes());
    digest.update(&mesh.peer_key);
    digest.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use mesh_api::v1::{Endpoint, Workload};

    use super::*;

    #[test]
    fn the_frame_is_the_grpc_prefix_then_the_protobuf_snapshot() {
        let mesh = mesh(&[("app", "reviews")]);
        let snapshot = Snapshot {
            version: version("c1", &mesh),
            config: Vec::new(),
            services: mesh.services,
            config_version: "c1".to_owned(),
            workloads: mesh.workloads,
            peer_key: mesh.peer_key,
        };
        let published = Published::new(snapshot.clone());
        let (prefix, message) = published.frame.split_at(GRPC_PREFIX_BYTES);
        assert_eq!(prefix[0], 0, "not compressed");
        let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
        assert_eq!(length as usize, message.len());
        assert_eq!(Snapshot::decode(message).expect("decodes"), snapshot);
    }

    fn mesh(labels: &[(&str, &str)]) -> Mesh {
        let labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Mesh {
            services: vec![Service {
                name: "reviews".to_owned(),
                endpoints: vec![Endpoint {
                    address: "127.0.0.1:9080".to_owned(),
                    labels: labels.clone(),
                    proxy_id: "reviews-v1".to_owned(),
                }],
            }],
            workloads: vec![Workload {
                proxy_id: "reviews-v1".to_owned(),
                name: "reviews-v1".to_owned(),
                labels,
                ..Workload::default()
            }],
            peer_key: vec![7; 32],
        }
    }

    #[test]
    fn the_same_content_has_the_same_version_and_any_difference_another() {
        let one = version("c1", &mesh(&[("app", "reviews"), ("version", "v1")]));
        assert_eq!(one.len(), 16);
        assert_eq!(
            one,
            version("c1", &mesh(&[("version", "v1"), ("app", "reviews")]))
        );
        assert_ne!(
            one,
            version("c2", &mesh(&[("app", "reviews"), ("version", "v1")]))
        );
        assert_ne!(
            one,
            version("c1", &mesh(&[("app", "reviews"), ("version", "v2")]))
        );
        assert_ne!(one, version("c1", &Mesh::default()));
        let mut renamed = mesh(&[("app", "reviews"), ("version", "v1")]);
        renamed.workloads[0].name = "reviews-canary".to_owned();
        assert_ne!(one, version("c1", &renamed), "a workload renamed");
        let mut rekeyed = mesh(&[("app", "reviews"), ("version", "v1")]);
        rekeyed.peer_key = vec![8; 32];
        assert_ne!(one, version("c1", &rekeyed), "a control plane restarted");
    }
}
