//! GET a JSON document from an admin port (a proxy's or the control plane's `/config_dump`),
//! for the commands that look at a running stack (`proxy-config`, `analyze`).

use std::time::Duration;

/// How long an admin port may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// GET `url` and parse its body as JSON; the error says which step failed.
pub fn get_json(url: &str) -> Result<serde_json::Value, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .dns_resolver(netresolve::reqwest_resolver(netresolve::Resolver::system()))
            .build()
            .map_err(|error| format!("cannot build an HTTP client: {error}"))?;
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|error| format!("{url} does not answer: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response
            .json()
            .await
            .map_err(|error| format!("{url} did not answer JSON: {error}"))
    })
}
