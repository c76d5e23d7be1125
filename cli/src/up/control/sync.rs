//! Start-up's last wait with the control plane: every proxy connected, every instance's
//! address registered, and every proxy on a snapshot that holds them all. Ready proxies have a
//! snapshot; this is what makes the first page after "sailkit is up" route to every instance.

use std::net::SocketAddr;
use std::time::Duration;

use super::NAME;
use crate::up::error::UpError;
use crate::up::supervise::START_TIMEOUT;

/// Waits until `expected` proxies are connected, each with an address registered (the gateway
/// has none) and each in sync (it ACKed the newest snapshot), within `START_TIMEOUT`.
pub async fn wait_synced(
    client: &reqwest::Client,
    admin: SocketAddr,
    expected: usize,
) -> Result<(), UpError> {
    let get = |path: &str| {
        let url = format!("http://{admin}{path}");
        async move {
            let response = client
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            response
                .json::<serde_json::Value>()
                .await
                .map_err(|e| format!("GET {url}: {e}"))
        }
    };
    let mut last = String::from("no answer yet");
    let poll = async {
        loop {
            let checked = async {
                // The snapshot first: every workload must be in the one the proxies ACKed, not
                // only registered (the push follows a registration after the debounce).
                let dump = get("/config_dump").await?;
                let status = get("/proxies").await?;
                in_snapshot(&dump, &status, expected - 1)?;
                in_sync(&status, expected)
            };
            match checked.await {
                Ok(()) => return,
                Err(why) => last = why,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    match tokio::time::timeout(START_TIMEOUT, poll).await {
        Ok(()) => Ok(()),
        Err(_) => Err(UpError::NotHealthy {
            instance: NAME.to_string(),
            seconds: START_TIMEOUT.as_secs(),
            last_error: format!("the proxies are not in sync: {last}"),
        }),
    }
}

/// `Ok` when the `/proxies` answer lists `expected` proxies, every one but the gateway with its
/// workload's address registered (a sidecar registers it once its instance listens), and all
/// of them ACKed its `version`.
fn in_sync(status: &serde_json::Value, expected: usize) -> Result<(), String> {
    let version = status["version"].as_str().unwrap_or_default();
    let proxies = status["proxies"].as_array().cloned().unwrap_or_default();
    if proxies.len() < expected {
        return Err(format!("{} of {expected} proxies connected", proxies.len()));
    }
    let with_address = proxies
        .iter()
        .filter(|p| p["address"].as_str().is_some_and(|a| !a.is_empty()))
        .count();
    if with_address + 1 < expected {
        return Err(format!(
            "{with_address} of {} workloads registered their address",
            expected - 1
        ));
    }
    let behind: Vec<&str> = proxies
        .iter()
        .filter(|p| p["acked_version"].as_str() != Some(version))
        .filter_map(|p| p["proxy_id"].as_str())
        .collect();
    if behind.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not yet on version {version}: {}",
            behind.join(", ")
        ))
    }
}

/// `Ok` when the snapshot in `/config_dump` is the newest one of `/proxies` and holds
/// `endpoints` endpoints (one per instance).
fn in_snapshot(
    dump: &serde_json::Value,
    status: &serde_json::Value,
    endpoints: usize,
) -> Result<(), String> {
    if dump["version"] != status["version"] {
        return Err("a snapshot is being pushed".into());
    }
    let found: usize = dump["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|service| service["endpoints"].as_array().map(Vec::len))
        .sum();
    if found < endpoints {
        return Err(format!("{found} of {endpoints} instances in the snapshot"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_sync_means_every_expected_proxy_acked_the_newest_version() {
        let status = |acked: &str| {
            serde_json::json!({"version": "v2", "proxies": [
                {"proxy_id": "reviews-v1", "acked_version": "v2", "address": "127.0.0.1:1"},
                {"proxy_id": "istio-ingressgateway", "acked_version": acked, "address": ""},
            ]})
        };
        assert!(in_sync(&status("v2"), 2).is_ok());
        assert!(
            in_sync(&status("v1"), 2)
                .expect_err("behind")
                .contains("istio-ingressgateway")
        );
        assert!(
            in_sync(&status("v2"), 3)
                .expect_err("missing")
                .contains("2 of 3")
        );
        let no_address = serde_json::json!({"version": "v2", "proxies": [
            {"proxy_id": "reviews-v1", "acked_version": "v2", "address": ""},
            {"proxy_id": "istio-ingressgateway", "acked_version": "v2", "address": ""},
        ]});
        assert!(
            in_sync(&no_address, 2)
                .expect_err("no address yet")
                .contains("0 of 1 workloads")
        );
    }

    #[test]
    fn the_snapshot_must_hold_every_instance() {
        let status = serde_json::json!({"version": "v2", "proxies": []});
        let dump = |version: &str, endpoints: usize| {
            let endpoints: Vec<_> = (0..endpoints)
                .map(|i| serde_json::json!({"address": i}))
                .collect();
            serde_json::json!({"version": version, "services": [{"name": "reviews", "endpoints": endpoints}]})
        };
        assert!(in_snapshot(&dump("v2", 3), &status, 3).is_ok());
        assert!(
            in_snapshot(&dump("v2", 2), &status, 3)
                .expect_err("short")
                .contains("2 of 3")
        );
        assert!(in_snapshot(&dump("v1", 3), &status, 3).is_err());
    }
}
