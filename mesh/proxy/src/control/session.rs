//! One stream to the control plane, from the connection to its end.
//!
//! The proxy connects, queues its `Register` (the first message of every stream), opens the
//! stream, then answers each snapshot with an ACK or a NACK. Every half second it also looks at
//! its workload's address, and registers again on the same stream when it changed (the
//! application started listening). The stream ends when the control plane ends it or the
//! connection breaks; the caller decides what comes next.

use std::time::Duration;

use anyhow::Context as _;
use mesh_api::v1::ProxyMessage;
use mesh_api::v1::discovery_client::DiscoveryClient;
use tokio::sync::mpsc;
use tonic::transport::Endpoint;

use super::apply::apply;
use super::register::Identity;
use crate::Proxy;
use crate::state;
use crate::watch::POLL_INTERVAL;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on an idle stream, so a control plane that vanished without closing the
/// connection (a host that went away) is noticed within `KEEPALIVE + KEEPALIVE_TIMEOUT`.
const KEEPALIVE: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a stream went.
#[derive(Debug, Default)]
pub struct Ended {
    /// The stream was opened.
    pub connected: bool,
    /// At least one snapshot arrived on it.
    pub delivered: bool,
    /// Why it ended, for the log and `/config_dump`.
    pub why: String,
}

/// Connect to `url` and exchange messages until the stream ends.
pub async fn run(proxy: &Proxy, url: &str, identity: &Identity) -> Ended {
    let mut ended = Ended::default();
    ended.why = match exchange(proxy, url, identity, &mut ended).await {
        Ok(()) => "the control plane ended the stream".to_owned(),
        Err(error) => format!("{error:#}"),
    };
    ended
}

async fn exchange(
    proxy: &Proxy,
    url: &str,
    identity: &Identity,
    progress: &mut Ended,
) -> anyhow::Result<()> {
    let channel = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("`{url}` is not a URL"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        // The control plane's name (`control` in compose) is resolved in Rust: see netresolve.
        .connect_with_connector(netresolve::http_connector(netresolve::Resolver::system()))
        .await
        .context("cannot connect")?;
    // Messages to the control plane go through a channel that the request body reads.
    let (to_control, outgoing) = mpsc::channel::<ProxyMessage>(8);
    let mut address = identity.address(proxy).await;
    to_control
        .send(identity.register(&address))
        .await
        .context("cannot queue the Register")?;
    let outgoing = futures::stream::unfold(outgoing, |mut outgoing| async move {
        outgoing.recv().await.map(|message| (message, outgoing))
    });
    let mut snapshots = DiscoveryClient::new(channel)
        .stream(outgoing)
        .await
        .context("the control plane refused the stream")?
        .into_inner();
    progress.connected = true;
    tracing::info!(url, proxy_id = %identity.proxy_id, %address, "connected to the control plane");
    state::update(&proxy.state, |s| s.control.connected = true);
    let mut address_check = tokio::time::interval(POLL_INTERVAL);
    loop {
        tokio::select! {
            message = snapshots.message() => {
                let Some(snapshot) = message.context("the stream broke")? else {
                    return Ok(());
                };
                progress.delivered = true;
                let answer = apply(proxy, snapshot).await;
                to_control.send(answer).await.context("the stream broke")?;
            }
            _ = address_check.tick() => {
                let now = identity.address(proxy).await;
                if now != address {
                    tracing::info!(address = %now, "registering the workload's new address");
                    address = now;
                    to_control
                        .send(identity.register(&address))
                        .await
                        .context("the stream broke")?;
                }
            }
        }
    }
}
