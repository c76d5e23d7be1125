//! A fake Kubernetes API server: just what kube-rs's watcher calls, over real HTTP on port 0.
//!
//! - `GET <collection>`: a list of the objects, with the current `resourceVersion`;
//! - `GET <collection>?watch=true&resourceVersion=R`: the events after R, then every new one,
//!   as JSON lines, until the test breaks the watches ([`FakeApi::break_watches`]); a watch
//!   from before the history kept ([`FakeApi::change_unwatched`]) gets a `410 Gone` `ERROR`
//!   event, as an API server answers a resourceVersion that was compacted away.
//!
//! A collection can be made not served ([`FakeApi::not_served`]): `404 Not Found`, as for a
//! custom resource whose CRD is not installed.
//!
//! Collections are paths such as `/api/v1/services`; the namespaced form
//! (`/api/v1/namespaces/NS/services`) is the same collection filtered. Every request's path and
//! query is recorded, so a test can see which resourceVersion a watch resumed from.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use futures::stream;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The server; it stops when dropped.
pub struct FakeApi {
    pub url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Bumped on every change, to wake the open watches.
    ticks: watch::Sender<u64>,
}

#[derive(Default)]
struct Inner {
    resource_version: u64,
    /// Collection → (namespace, name) → object.
    objects: BTreeMap<String, BTreeMap<(String, String), Value>>,
    /// Every change since the history was last forgotten: (resourceVersion, collection, type,
    /// object).
    history: Vec<(u64, String, &'static str, Value)>,
    /// A watch from a resourceVersion older than this is answered `410 Gone`.
    oldest: u64,
    /// Bumped to end every open watch.
    generation: u64,
    /// Collections answered with 404.
    not_served: Vec<String>,
    requests: Vec<String>,
}

impl FakeApi {
    pub async fn start() -> FakeApi {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            ticks: watch::Sender::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let stop = CancellationToken::new();
        let server =
            axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
        tokio::spawn(async move { server.await });
        FakeApi { url, shared, stop }
    }

    /// A kube client for it.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("a URI"));
        kube::Client::try_from(config).expect("a client")
    }

    /// Creates or replaces `object` in `collection`; returns its new resourceVersion.
    pub fn apply(&self, collection: &str, mut object: Value) -> u64 {
        let key = key_of(&object);
        self.change(|inner| {
            let rv = inner.next_version();
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            let objects = inner.objects.entry(collection.to_owned()).or_default();
            let kind = if objects.insert(key, object.clone()).is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            };
            inner
                .history
                .push((rv, collection.to_owned(), kind, object));
            rv
        })
    }

    /// Deletes `namespace/name` from `collection`.
    pub fn delete(&self, collection: &str, namespace: &str, name: &str) {
        self.change(|inner| {
            let rv = inner.next_version();
            let removed = inner
                .objects
                .get_mut(collection)
                .and_then(|objects| objects.remove(&(namespace.to_owned(), name.to_owned())));
            if let Some(mut object) = removed {
                object["metadata"]["resourceVersion"] = json!(rv.to_string());
                inner
                    .history
                    .push((rv, collection.to_owned(), "DELETED", object));
            }
        });
    }

    /// Answers `404 Not Found` for `collection` (`false`: serves it again).
    pub fn not_served(&self, collection: &str, not_served: bool) {
        self.change(|inner| {
            inner.not_served.retain(|c| c != collection);
            if not_served {
                inner.not_served.push(collection.to_owned());
            }
        });
    }

    /// Ends every open watch, as a dropped connection or a restarted API server would.
    pub fn break_watches(&self) {
        self.change(|inner| inner.generation += 1);
    }

    /// Replaces `object` while every watch is down and the history is compacted away (as etcd
    /// compaction does): open watches end, a watch resumed from any resourceVersion seen so far
    /// gets `410 Gone`, and only a new list shows the change.
    pub fn change_unwatched(&self, collection: &str, mut object: Value) {
        let key = key_of(&object);
        self.change(|inner| {
            let rv = inner.next_version();
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            let objects = inner.objects.entry(collection.to_owned()).or_default();
            objects.insert(key, object);
            inner.history.clear();
            inner.oldest = rv + 1;
            inner.generation += 1;
        });
    }

    /// Every request so far, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }

    fn change<T>(&self, change: impl FnOnce(&mut Inner) -> T) -> T {
        let result = change(&mut self.shared.lock());
        self.shared.ticks.send_modify(|tick| *tick += 1);
        result
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.cancel();
        self.break_watches();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    fn next_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }
}

fn key_of(object: &Value) -> (String, String) {
    let metadata = &object["metadata"];
    let text = |field: &str| metadata[field].as_str().unwrap_or_default().to_owned();
    (text("namespace"), text("name"))
}

/// `/api/v1/namespaces/NS/pods` → (`/api/v1/pods`, Some(NS)).
fn collection_of(path: &str) -> (String, Option<String>) {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.iter().position(|s| *s == "namespaces") {
        Some(at) if segments.len() == at + 3 => {
            let mut rest = segments.clone();
            let namespace = rest.remove(at + 1).to_owned();
            rest.remove(at);
            (rest.join("/"), Some(namespace))
        }
        _ => (path.to_owned(), None),
    }
}

fn in_namespace(object: &Value, namespace: Option<&str>) -> bool {
    namespace.is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns))
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let query: BTreeMap<&str, &str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let (collection, namespace) = collection_of(uri.path());
    let mut inner = shared.lock();
    inner.requests.push(format!(
        "{}?{}",
        uri.path(),
        uri.query().unwrap_or_default()
    ));
    if inner.not_served.contains(&collection) {
        let status = json!({"apiVersion": "v1", "kind": "Status", "metadata": {},
            "status": "Failure", "reason": "NotFound", "code": 404,
            "message": "the server could not find the requested resource"});
        return (StatusCode::NOT_FOUND, status.to_string()).into_response();
    }
    if query.get("watch") != Some(&"true") {
        let items: Vec<Value> = inner
            .objects
            .get(&collection)
            .into_iter()
            .flat_map(|objects| objects.values())
            .filter(|object| in_namespace(object, namespace.as_deref()))
            .cloned()
            .collect();
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": inner.resource_version.to_string()},
            "items": items,
        });
        return list.to_string().into_response();
    }
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0);
    if from < inner.oldest {
        let gone = json!({"type": "ERROR", "object": {
            "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
            "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {from} ({})", inner.oldest),
        }});
        return format!("{gone}\n").into_response();
    }
    let watch = Watch {
        shared: Arc::clone(&shared),
        ticks: shared.ticks.subscribe(),
        collection,
        namespace,
        last: from,
        generation: inner.generation,
        pending: VecDeque::new(),
    };
    drop(inner);
    Body::from_stream(stream::unfold(watch, Watch::next_line)).into_response()
}

/// One open watch: the events it has still to send, and where it stands.
struct Watch {
    shared: Arc<Shared>,
    ticks: watch::Receiver<u64>,
    collection: String,
    namespace: Option<String>,
    last: u64,
    generation: u64,
    pending: VecDeque<String>,
}

impl Watch {
    /// The next JSON line, waiting for one; `None` once the watches are broken.
    async fn next_line(mut self) -> Option<(Result<Bytes, Infallible>, Watch)> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some((Ok(Bytes::from(line)), self));
            }
            self.ticks.borrow_and_update();
            {
                let inner = self.shared.lock();
                if inner.generation != self.generation {
                    return None;
                }
                for (rv, collection, kind, object) in &inner.history {
                    if *rv > self.last
                        && *collection == self.collection
                        && in_namespace(object, self.namespace.as_deref())
                    {
                        self.pending
                            .push_back(format!("{}\n", json!({"type": kind, "object": object})));
                    }
                }
                if let Some((rv, ..)) = inner.history.last() {
                    self.last = self.last.max(*rv);
                }
            }
            if self.pending.is_empty() && self.ticks.changed().await.is_err() {
                return None;
            }
        }
    }
}
