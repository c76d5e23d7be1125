//! The flags of the control plane as the source of config: `--control-plane`'s URL, the empty
//! `--registry` it leaves, and the proxy id, service and workload a Register carries by
//! default.

use std::path::PathBuf;

use super::Settings;

/// `--registry`: any path. Its hidden default, empty, stands for "no file" (with
/// `--control-plane`).
pub(super) fn registry_path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

/// `--control-plane`: an `http://` URL with a host, checked here so a typo is a usage error.
pub(super) fn control_plane_url(text: &str) -> Result<String, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a URL (example: http://127.0.0.1:15010): {e}"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "`{text}` is not an http:// URL with a host (example: http://127.0.0.1:15010)"
        ));
    }
    Ok(text.to_owned())
}

/// `--advertise-address`: a host (a name, an IPv4 address or a bracketed IPv6 one) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

pub(super) fn advertise_address(text: &str) -> Result<HostPort, String> {
    let usage = || {
        format!("`{text}` is not HOST:PORT with a port from 1 to 65535 (example: 172.18.0.5:15006)")
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(usage)?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&port| port != 0)
        .ok_or_else(usage)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(usage());
    }
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

impl Settings {
    /// With `--control-plane`, the proxy's id: `--proxy-id`, else `app-version` from the
    /// labels; an error that says what to give when neither is there.
    pub fn proxy_id(&self) -> Result<String, String> {
        if let Some(id) = &self.proxy_id {
            return Ok(id.clone());
        }
        match (self.label("app"), self.label("version")) {
            (Some(app), Some(version)) => Ok(format!("{app}-{version}")),
            _ => Err(
                "--control-plane needs --proxy-id ID, or the labels `app` and `version` \
                      (--labels app=reviews,version=v2) to make one"
                    .to_owned(),
            ),
        }
    }

    /// With `--control-plane`, the service this workload serves: `--service`, else the `app`
    /// label, else none (a gateway).
    pub fn service(&self) -> String {
        self.service
            .clone()
            .or_else(|| self.label("app").map(str::to_owned))
            .unwrap_or_default()
    }

    /// The workload's name: `--workload`, else `app-version` from the labels, else the
    /// service, else the proxy id, else empty (see `mesh_api::workload::default_name`).
    pub fn workload(&self) -> String {
        if let Some(name) = &self.workload {
            return name.clone();
        }
        let labels = self.labels.iter().cloned().collect();
        mesh_api::workload::default_name(&labels, &self.service())
            .or_else(|| self.proxy_id.clone())
            .unwrap_or_default()
    }

    /// The value of a `--label`; the last one wins, as in [`crate::Proxy::labels`].
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::Settings;

    #[test]
    fn the_advertised_address_is_a_host_and_a_port() {
        let parsed = super::advertise_address("reviews-v2:15006").expect("valid");
        assert_eq!((parsed.host.as_str(), parsed.port), ("reviews-v2", 15006));
        let v6 = super::advertise_address("[fd00::5]:15006").expect("valid");
        assert_eq!(v6.host, "fd00::5");
        for bad in ["reviews", "reviews:0", "reviews:http", ":15006"] {
            let error = super::advertise_address(bad).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn the_proxy_id_and_service_default_to_the_labels() {
        let parse = |args: &[&str]| {
            let mut all = vec!["mesh-proxy", "--control-plane", "http://127.0.0.1:15010"];
            all.extend_from_slice(args);
            Settings::try_parse_from(all).expect("valid")
        };
        let sidecar = parse(&["--labels", "app=reviews,version=v2"]);
        assert_eq!(sidecar.proxy_id().as_deref(), Ok("reviews-v2"));
        assert_eq!(sidecar.service(), "reviews");
        let named = parse(&[
            "--labels",
            "app=reviews",
            "--proxy-id",
            "r",
            "--service",
            "s",
        ]);
        assert_eq!(named.proxy_id().as_deref(), Ok("r"));
        assert_eq!(named.service(), "s");
        let gateway = parse(&["--labels", "app=reviews"]);
        let error = gateway.proxy_id().expect_err("no version label");
        assert!(error.contains("--proxy-id"), "{error}");
        assert_eq!(parse(&["--proxy-id", "istio-ingressgateway"]).service(), "");
    }

    #[test]
    fn the_workload_is_given_or_app_version_or_the_service_or_the_proxy_id() {
        let parse = |args: &[&str]| {
            let mut all = vec!["mesh-proxy", "--control-plane", "http://127.0.0.1:15010"];
            all.extend_from_slice(args);
            Settings::try_parse_from(all).expect("valid")
        };
        let pod = ["--proxy-id", "reviews-v2-5d8f-x7k2"];
        let labelled = parse(&[pod[0], pod[1], "--labels", "app=reviews,version=v2"]);
        assert_eq!(labelled.workload(), "reviews-v2");
        assert_eq!(labelled.cluster, "Kubernetes");
        let named = parse(&[pod[0], pod[1], "--workload", "reviews-canary"]);
        assert_eq!(named.workload(), "reviews-canary");
        assert_eq!(
            parse(&[pod[0], pod[1], "--service", "reviews"]).workload(),
            "reviews"
        );
        assert_eq!(parse(&["--proxy-id", "gw"]).workload(), "gw");
    }
}
