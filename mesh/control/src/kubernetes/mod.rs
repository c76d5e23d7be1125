//! The Kubernetes sources (`--kubernetes`): the config and the workloads from the API server,
//! as istiod takes them.
//!
//! - Config: the `networking.istio.io/v1` VirtualServices, DestinationRules, Gateways and
//!   ServiceEntries ([`istio`]). Each object is rendered as a named text ([`render`]:
//!   `VirtualService default/reviews`) and goes through the folder's own admission
//!   (`config_source::Loader::admit`): a bad object is refused with its name and
//!   `line:col`, its last good version stays in force, and so does everything else.
//! - Workloads: Services, their EndpointSlices, and the Pods ([`workloads`], [`endpoints`],
//!   [`pods`]). They join the proxies' registrations (`services::merge`); a proxy on
//!   Kubernetes still registers, and its registration wins over the slice's endpoint at the
//!   same address. Each Pod is also a workload of the snapshot's table (its Deployment's name,
//!   service account, labels), so that metrics can name it.
//!
//! The source is thin: kube-rs's runtime does the listing and watching ([`watch`]), and the
//! rest of the control plane does not know where its config and endpoints came from. Changes
//! go through [`ControlPlane::changed`], so the publisher's debounce applies as for a file.
//!
//! The control plane is ready once every kind has been listed once (a kind the API server does
//! not serve, a CRD not installed, counts as listed and empty); until then `/ready` is 503 (an
//! unreachable API server, or a 403 for lack of RBAC, is retried and logged).

pub mod endpoints;
pub mod istio;
pub mod pods;
pub mod render;
pub mod watch;
pub mod workloads;

use std::sync::Arc;

use anyhow::Context as _;
use kube::Client;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config_source::{ConfigState, Loader, NamedText};
use crate::control_plane::ControlPlane;
use crate::publish;

/// The client from the usual places: the in-cluster service account, or KUBECONFIG (or
/// `~/.kube/config`) and its current context.
pub async fn client_from_environment() -> anyhow::Result<Client> {
    Client::try_default().await.context(
        "--kubernetes: no usable Kubernetes client configuration (neither the in-cluster \
         service account nor KUBECONFIG / ~/.kube/config)",
    )
}

/// Watches the cluster through `client` (in `namespace`, or all namespaces) and keeps the
/// control plane's config and discovered services up to date, until `shutdown`.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    control: Arc<ControlPlane>,
    shutdown: CancellationToken,
) {
    let config_changed = Arc::new(Notify::new());
    let workloads_changed = Arc::new(Notify::new());
    let namespace = namespace.as_deref();
    let objects = istio::watch(&client, namespace, &config_changed, &shutdown);
    let workloads = workloads::watch(&client, namespace, &workloads_changed, &shutdown);
    tracing::info!(
        "watching the Kubernetes API in {}",
        namespace.map_or("all namespaces".to_owned(), |ns| format!("namespace {ns}"))
    );

    // The first lists: a config made of some kinds only could refuse what refers to the rest.
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = async { objects.listed().await; workloads.listed().await } => {}
    }
    let mut loader = Loader::new(None);
    match admit(loader, objects.texts()).await {
        Some((back, state)) => {
            loader = back;
            control.set_config(state);
        }
        None => return,
    }
    control.set_discovered(workloads.discovered(control.cluster()));
    publish::push(&control);
    control.mark_ready();
    tracing::info!("Kubernetes lists are in force; following their changes");

    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = config_changed.notified() => {
                let Some((back, state)) = admit(loader, objects.texts()).await else { return };
                loader = back;
                control.set_config(state);
            }
            () = workloads_changed.notified() => {
                control.set_discovered(workloads.discovered(control.cluster()));
            }
        }
    }
}

/// Admission on the blocking pool (parsing many objects takes a while); gives the loader back.
/// `None` only if admission panicked, which is logged.
async fn admit(mut loader: Loader, texts: Vec<NamedText>) -> Option<(Loader, ConfigState)> {
    let admitted = tokio::task::spawn_blocking(move || {
        let state = loader.admit(texts);
        (loader, state)
    })
    .await;
    match admitted {
        Ok(admitted) => Some(admitted),
        Err(error) => {
            tracing::error!(%error, "admitting the Kubernetes objects failed; the watch stops");
            None
        }
    }
}
