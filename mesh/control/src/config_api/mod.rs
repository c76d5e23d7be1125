//! The Config gRPC service: `sailkit apply`, `sailkit delete` and `sailkit apply --list`
//! through the control plane, as `kubectl` changes Istio's config through the Kubernetes API.
//!
//! The folder of `--config-dir` stays the store: it survives a restart of the control plane,
//! and a mesh without a control plane reads the same folder. A change is made by the folder
//! store (`config_source::store`, the same code `sailkit` runs on a folder itself), with the
//! loader's lock held from the check to the reload, so that:
//! - changes are serialized, with each other and with the folder watcher's polls;
//! - the change is in force in the control plane when the answer leaves (no wait for the
//!   next poll), and the answer carries its `config_version`; the push to the proxies follows
//!   after the usual debounce.
//!
//! A change the checks refuse is an answer with `applied: false` and the diagnostics; a gRPC
//! error is only for a request that cannot be acted on (the proto says which).

mod refs;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use mesh_api::v1::config_server::{Config, ConfigServer};
use mesh_api::v1::{ApplyRequest, ChangeResponse, DeleteRequest, ListRequest, ListResponse};
use tonic::{Request, Response, Status};

use crate::config_source::store::{self, Store, StoreError};
use crate::config_source::watch::SharedLoader;
use crate::control_plane::ControlPlane;

/// The service the generated `ConfigServer` calls.
#[derive(Debug, Clone)]
pub struct ConfigService {
    control: Arc<ControlPlane>,
    loader: SharedLoader,
    /// `None` without `--config-dir`: nowhere to store a change.
    store: Option<Store>,
}

/// The Config gRPC server over the folder `config_dir`, sharing the watcher's `loader`.
pub fn server(
    control: Arc<ControlPlane>,
    loader: SharedLoader,
    config_dir: Option<PathBuf>,
) -> ConfigServer<ConfigService> {
    ConfigServer::new(ConfigService {
        control,
        loader,
        store: config_dir.map(Store::new),
    })
}

impl ConfigService {
    /// Runs `change` on the store with the loader locked, then reloads the folder and puts it
    /// in force before the lock is let go.
    async fn change<F>(&self, change: F) -> Result<Response<ChangeResponse>, Status>
    where
        F: FnOnce(&Store, Option<&BTreeSet<String>>) -> Result<ChangeResponse, StoreError>
            + Send
            + 'static,
    {
        let Some(store) = self.store.clone() else {
            return Err(Status::failed_precondition(
                "the control plane was started without --config-dir (or with --kubernetes, where \
                 `kubectl apply` changes the config): it has nowhere to keep config",
            ));
        };
        let services = self.services();
        let control = Arc::clone(&self.control);
        let mut locked = Arc::clone(&self.loader).lock_owned().await;
        let outcome = tokio::task::spawn_blocking(move || {
            let mut response = change(&store, services.as_ref())?;
            if response.applied {
                let state = locked.load();
                response.config_version = state.config_version.clone();
                control.set_config(state);
            } else {
                response.config_version = control.config().config_version.clone();
            }
            Ok(response)
        })
        .await
        .map_err(|error| Status::internal(format!("the change did not finish: {error}")))?;
        outcome.map(Response::new).map_err(status)
    }

    /// The mesh's services, qualified as routes name them; `None` while no workload has
    /// registered (every host would be warned about).
    fn services(&self) -> Option<BTreeSet<String>> {
        let names: BTreeSet<String> = self
            .control
            .registry
            .services()
            .iter()
            .map(|service| mesh_config::host::qualify(&service.name, &self.control.namespace))
            .collect();
        (!names.is_empty()).then_some(names)
    }
}

fn status(error: StoreError) -> Status {
    match error {
        StoreError::Invalid(message) => Status::invalid_argument(message),
        StoreError::NotFound(message) => Status::not_found(message),
        StoreError::Io(message) => Status::internal(message),
    }
}

#[tonic::async_trait]
impl Config for ConfigService {
    async fn apply(
        &self,
        request: Request<ApplyRequest>,
    ) -> Result<Response<ChangeResponse>, Status> {
        let files = request.into_inner().files;
        self.change(move |store, services| store.apply(&files, services))
            .await
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<ChangeResponse>, Status> {
        let request = request.into_inner();
        let keys = refs::keys(&request.resources)?;
        let files = request.files;
        self.change(move |store, services| store.delete(&keys, &files, services))
            .await
    }

    async fn list(&self, _request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let config = self.control.config();
        Ok(Response::new(ListResponse {
            resources: store::list(&config.files),
            config_version: config.config_version.clone(),
            store: self
                .store
                .as_ref()
                .map(|s| s.dir().display().to_string())
                .unwrap_or_default(),
        }))
    }
}
