//! One kind of object kept in memory: a kube-rs watcher feeding a reflector store.
//!
//! Everything a watch has to get right comes from kube-rs's runtime, not from this file: the
//! first list (paged), the watch that follows from the list's `resourceVersion`, resuming a
//! watch that broke from the last `resourceVersion` seen, listing again after `410 Gone`, and a
//! back-off between failed attempts (client-go's: 0.8 s doubling to 30 s, with jitter). The
//! store swaps in a new list whole once it is complete, so a relist never shows half a cluster.
//!
//! What is ours: every change that reached the store wakes `changed`, every error is logged
//! (the watcher then retries by itself), and `managedFields` (who set which field, often the
//! largest part of an object, and never used here) is dropped before an object is stored.
//! A kind counts as listed after its first complete list, or when the API server answers
//! `404 Not Found` for it: a custom resource whose CRD is not installed has no objects, as
//! istiod takes it, and the watcher's retries list it once the CRD appears.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{Store, reflector};
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt as _};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// The watcher's settings for every kind: kube-rs's defaults (list pages of 500, bookmarks,
/// watches the server ends after 290 s, then resumed).
pub fn config() -> watcher::Config {
    watcher::Config::default()
}

/// A kind kept in memory by its watcher, and whether it was listed yet.
pub struct Kept<K: Resource + 'static>
where
    K::DynamicType: Eq + Hash,
{
    pub store: Store<K>,
    listed: watch::Receiver<bool>,
}

impl<K: Resource + 'static> Kept<K>
where
    K::DynamicType: Eq + Hash,
{
    /// Waits until the kind was listed once (or found not served), or its watcher stopped.
    pub async fn listed(&self) {
        let _ = self.listed.clone().wait_for(|listed| *listed).await;
    }
}

/// Keeps the objects of `events` (a `watcher` stream, of whole objects or of metadata only) in
/// a store until `shutdown`, waking `changed` after every change. `what` names the kind in the
/// log.
pub fn keep<K, S>(
    dyntype: K::DynamicType,
    events: S,
    what: String,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) -> Kept<K>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
    S: Stream<Item = watcher::Result<Event<K>>> + Send + 'static,
{
    let writer = Writer::new(dyntype);
    let store = writer.as_reader();
    let (listed, listed_now) = watch::channel(false);
    let events = events.modify(|object| object.managed_fields_mut().clear());
    let events = reflector(writer, events.default_backoff());
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = events.next() => event,
            };
            match event {
                // An object applied or deleted, or a complete (re)list swapped in.
                Some(Ok(Event::Apply(_) | Event::Delete(_) | Event::InitDone)) => {
                    listed.send_replace(true);
                    changed.notify_one();
                }
                Some(Ok(Event::Init | Event::InitApply(_))) => {}
                Some(Err(watcher::Error::InitialListFailed(kube::Error::Api(status))))
                    if status.is_not_found() =>
                {
                    if !listed.send_replace(true) {
                        tracing::warn!(
                            "{what} is not served by the API server (is its CRD installed?): \
                             taken as empty, and listed again with back-off"
                        );
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!("watching {what}: {error} (retrying with back-off)");
                }
                None => return,
            }
        }
    });
    Kept {
        store,
        listed: listed_now,
    }
}
