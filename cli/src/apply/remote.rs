//! A change through a control plane's Config API (`mesh.proto`), over gRPC.
//!
//! The control plane checks the files with what stays in force, writes its folder, and answers
//! with what it did and the new `config_version`; the wait that follows asks its Admin API
//! which proxies have ACKed a snapshot of that version (`acks.rs`).

use std::time::Instant;

use mesh_api::v1::admin_client::AdminClient;
use mesh_api::v1::config_client::ConfigClient;
use mesh_api::v1::{
    ApplyRequest, ChangeResponse, ConfigFile, DeleteRequest, ListRequest, ListResponse,
};
use tokio::runtime::Runtime;
use tonic::transport::Channel;

use super::{acks, wait};

/// A connection to one control plane.
pub struct Remote {
    url: String,
    runtime: Runtime,
    channel: Channel,
}

impl Remote {
    /// Connects to the control plane at `url`.
    pub fn connect(url: &str) -> Result<Remote, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        let endpoint = Channel::from_shared(url.to_owned())
            .map_err(|error| format!("{url}: not a URL ({error})"))?;
        // The resolver is made inside the runtime that uses it; names resolve in Rust.
        let channel = runtime
            .block_on(async {
                let connector = netresolve::http_connector(netresolve::Resolver::system());
                endpoint.connect_with_connector(connector).await
            })
            .map_err(|error| format!("cannot reach the control plane at {url}: {error}"))?;
        Ok(Remote {
            url: url.to_owned(),
            runtime,
            channel,
        })
    }

    pub fn apply(&self, files: Vec<ConfigFile>) -> Result<ChangeResponse, String> {
        let mut client = ConfigClient::new(self.channel.clone());
        self.answer(client.apply(ApplyRequest { files }))
    }

    pub fn delete(&self, request: DeleteRequest) -> Result<ChangeResponse, String> {
        let mut client = ConfigClient::new(self.channel.clone());
        self.answer(client.delete(request))
    }

    pub fn list(&self) -> Result<ListResponse, String> {
        let mut client = ConfigClient::new(self.channel.clone());
        self.answer(client.list(ListRequest {}))
    }

    /// Waits until every connected proxy has ACKed `version`, and says how long that took
    /// from `written`.
    pub fn wait_for_acks(&self, version: &str, written: Instant) -> Result<(), String> {
        let admin = AdminClient::new(self.channel.clone());
        match self.runtime.block_on(acks::wait(admin, version, written)) {
            Some(outcome) => wait::report(outcome, version),
            None => {
                println!(
                    "no proxy is connected to the control plane: each gets the config when it \
                     connects"
                );
                Ok(())
            }
        }
    }

    /// Runs one call; a gRPC error becomes its message (with the control plane named when the
    /// message alone would not say where it came from).
    fn answer<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, String> {
        self.runtime
            .block_on(call)
            .map(tonic::Response::into_inner)
            .map_err(|status| match status.code() {
                tonic::Code::NotFound
                | tonic::Code::InvalidArgument
                | tonic::Code::FailedPrecondition => status.message().to_owned(),
                tonic::Code::Unavailable => format!(
                    "cannot reach the control plane at {}: {}",
                    self.url,
                    status.message()
                ),
                code => format!(
                    "the control plane at {} answered {code:?}: {}",
                    self.url,
                    status.message()
                ),
            })
    }
}
