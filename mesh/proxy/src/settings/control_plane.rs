//! The flags of the control plane as the source of config: `--control-plane`'s URL, the empty
//! `--registry` it leaves, and the proxy id and service a Register carries by default.

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
}
