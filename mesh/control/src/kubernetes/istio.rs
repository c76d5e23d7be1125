//! The config from the cluster: the `networking.istio.io/v1` objects sailkit acts on.
//!
//! Only `v1` is read. Istio's CRDs (1.22 and later) serve `v1`, `v1beta1` and `v1alpha3` of
//! the same objects from one storage, and the API server hands every object out in whichever
//! served version is asked for, so listing `v1` also returns the objects applied as `v1beta1`;
//! reading both would only list everything twice. A cluster whose Istio CRDs predate 1.22 has no
//! `v1`: the API server answers 404, which the log says, and the kind is taken as empty.
//!
//! The four kinds are the ones mesh-config knows. Objects are kept whole in reflector stores
//! (`watch`); on every change all of them are rendered again (`render`) and given to the
//! same admission as the folder's files, which parses only the texts that changed.

use std::sync::Arc;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::render;
use super::watch::{self, Kept};
use crate::config_source::NamedText;

/// The API group and version read.
pub const GROUP: &str = "networking.istio.io";
pub const VERSION: &str = "v1";

/// The kinds read, with their resource names (the plural in the URL).
pub const KINDS: [(&str, &str); 4] = [
    ("VirtualService", "virtualservices"),
    ("DestinationRule", "destinationrules"),
    ("Gateway", "gateways"),
    ("ServiceEntry", "serviceentries"),
];

/// The stores of the four kinds.
pub struct IstioObjects {
    kinds: Vec<(&'static str, Kept<DynamicObject>)>,
}

/// Starts watching the four kinds in `namespace` (all with `None`); `changed` wakes on every
/// change.
pub fn watch(
    client: &Client,
    namespace: Option<&str>,
    changed: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> IstioObjects {
    let kinds = KINDS
        .iter()
        .map(|&(kind, plural)| {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(GROUP, VERSION, kind),
                plural,
            );
            let api: Api<DynamicObject> = match namespace {
                Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            let events = watcher(api, watch::config());
            let kept = watch::keep(
                resource,
                events,
                format!("{plural}.{GROUP}"),
                Arc::clone(changed),
                shutdown.clone(),
            );
            (kind, kept)
        })
        .collect();
    IstioObjects { kinds }
}

impl IstioObjects {
    /// Waits until every kind has been listed once.
    pub async fn listed(&self) {
        for (_, kept) in &self.kinds {
            kept.listed().await;
        }
    }

    /// Every object, rendered as a named config text.
    pub fn texts(&self) -> Vec<NamedText> {
        let api_version = format!("{GROUP}/{VERSION}");
        self.kinds
            .iter()
            .flat_map(|(kind, kept)| {
                let api_version = api_version.clone();
                kept.store
                    .state()
                    .into_iter()
                    .map(move |object| render::render(&api_version, kind, &object))
            })
            .collect()
    }
}
