//! `sailkit proxy-status`: every proxy connected to the control plane, the config version it
//! has, and whether it is in sync, as `istioctl proxy-status` shows them.
//!
//! It asks the control plane's `Admin.ProxyStatus` over gRPC, at `--control-plane URL` or, by
//! default, at the address the running stack recorded in `<data-dir>/run/stack.json`.
//!
//! A proxy is SYNCED when it ACKed the newest snapshot, NACKED when it refused the last one it
//! got (the error is shown; it keeps its previous config), and STALE when it has not answered
//! the newest snapshot yet.

use std::process::ExitCode;

use clap::Args;
use mesh_api::v1::admin_client::AdminClient;
use mesh_api::v1::{ProxyState, ProxyStatusRequest, ProxyStatusResponse};

use crate::cli::DataDirArg;

#[derive(Debug, Clone, Args)]
pub struct ProxyStatusArgs {
    /// The control plane's gRPC address (default: the running stack's, from its stack.json).
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,

    #[command(flatten)]
    pub data_dir: DataDirArg,

    /// Print JSON (for scripts) instead of a table.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["table", "json"], default_value = "table")]
    pub output: String,
}

pub fn main(args: ProxyStatusArgs) -> ExitCode {
    let url = match control_plane_url(&args) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("sailkit proxy-status: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit proxy-status: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ask(&url)) {
        Ok(status) => {
            if args.output == "json" {
                println!("{}", to_json(&status));
            } else {
                print!("{}", table(&status));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sailkit proxy-status: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `--control-plane`, or the one the running stack recorded.
fn control_plane_url(args: &ProxyStatusArgs) -> Result<String, String> {
    if let Some(url) = &args.control_plane {
        return Ok(url.clone());
    }
    let run_dir = args.data_dir.data_dir.join(crate::up::RUN_DIR);
    let stack = crate::up::state::read(&run_dir).map_err(|error| {
        format!(
            "no running stack found in {} ({error}); start one with `sailkit up`, or give \
             --control-plane URL",
            args.data_dir.data_dir.display()
        )
    })?;
    stack
        .control_plane
        .map(|control| control.grpc)
        .ok_or_else(|| {
            "the running stack has no control plane (it was started with --no-control-plane or \
             --no-mesh)"
                .to_string()
        })
}

async fn ask(url: &str) -> Result<ProxyStatusResponse, String> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|error| format!("{url}: not a URL ({error})"))?
        .connect_with_connector(netresolve::http_connector(netresolve::Resolver::system()))
        .await
        .map_err(|error| format!("cannot reach the control plane at {url}: {error}"))?;
    let mut client = AdminClient::new(channel);
    client
        .proxy_status(ProxyStatusRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| format!("the control plane at {url} answered: {}", status.message()))
}

/// SYNCED, NACKED or STALE, as described at the top.
fn sync_state(proxy: &ProxyState, newest: &str) -> &'static str {
    if !proxy.nacked_version.is_empty() && proxy.nacked_version == proxy.sent_version {
        "NACKED"
    } else if proxy.acked_version == newest {
        "SYNCED"
    } else {
        "STALE"
    }
}

/// The table people read.
fn table(status: &ProxyStatusResponse) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<12} {:<22} {:<8} VERSION",
        "PROXY", "SERVICE", "ADDRESS", "STATUS"
    );
    for proxy in &status.proxies {
        let state = sync_state(proxy, &status.version);
        let service = if proxy.service.is_empty() {
            "-"
        } else {
            &proxy.service
        };
        let address = if proxy.address.is_empty() {
            "-"
        } else {
            &proxy.address
        };
        let version = if proxy.acked_version.is_empty() {
            "-"
        } else {
            &proxy.acked_version
        };
        let _ = writeln!(
            out,
            "{:<24} {service:<12} {address:<22} {state:<8} {version}",
            proxy.proxy_id
        );
        if state == "NACKED" {
            let _ = writeln!(
                out,
                "  refused {}: {}",
                proxy.nacked_version, proxy.nack_error
            );
        }
    }
    let synced = status
        .proxies
        .iter()
        .filter(|p| sync_state(p, &status.version) == "SYNCED")
        .count();
    let _ = writeln!(
        out,
        "{synced} of {} proxies SYNCED on version {} (config version {})",
        status.proxies.len(),
        status.version,
        status.config_version
    );
    out
}

fn to_json(status: &ProxyStatusResponse) -> serde_json::Value {
    serde_json::json!({
        "version": status.version,
        "config_version": status.config_version,
        "proxies": status.proxies.iter().map(|p| serde_json::json!({
            "proxy_id": p.proxy_id,
            "service": p.service,
            "address": p.address,
            "status": sync_state(p, &status.version),
            "acked_version": p.acked_version,
            "acked_config_version": p.acked_config_version,
            "nacked_version": p.nacked_version,
            "nack_error": p.nack_error,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(id: &str, sent: &str, acked: &str, nacked: &str) -> ProxyState {
        ProxyState {
            proxy_id: id.into(),
            service: "reviews".into(),
            address: "127.0.0.1:9102".into(),
            sent_version: sent.into(),
            acked_version: acked.into(),
            nacked_version: nacked.into(),
            nack_error: if nacked.is_empty() {
                String::new()
            } else {
                "bad.yaml:3:1: error".into()
            },
            acked_config_version: String::new(),
        }
    }

    #[test]
    fn each_proxy_is_synced_stale_or_nacked() {
        assert_eq!(sync_state(&proxy("a", "v2", "v2", ""), "v2"), "SYNCED");
        assert_eq!(sync_state(&proxy("b", "v2", "v1", ""), "v2"), "STALE");
        assert_eq!(sync_state(&proxy("c", "v2", "v1", "v2"), "v2"), "NACKED");
        let status = ProxyStatusResponse {
            version: "v2".into(),
            config_version: "c1".into(),
            proxies: vec![proxy("a", "v2", "v2", ""), proxy("c", "v2", "v1", "v2")],
        };
        let shown = table(&status);
        assert!(shown.contains("refused v2: bad.yaml:3:1: error"), "{shown}");
        assert!(
            shown.contains("1 of 2 proxies SYNCED on version v2"),
            "{shown}"
        );
    }
}
