//! Configuration from environment variables.
//!
//! Services read their settings only from the environment (the twelve-factor way, and what
//! Kubernetes and docker compose both provide). The reads go through the [`Env`] trait so that a
//! test can hand a service a plain map instead of mutating the process environment, which is
//! shared by all the tests running in parallel.

use std::collections::HashMap;
use std::str::FromStr;

/// A source of environment variables.
pub trait Env {
    /// The value of `name`, or `None` when it is unset. An empty value counts as unset, as the
    /// Bookinfo services treat it.
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).filter(|v| !v.is_empty()).cloned()
    }
}

impl Env for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    }
}

/// A setting that could not be used. The message always names the variable, so the person
/// starting the service knows what to fix.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(name: &str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// `name` as a string, or `default` when unset.
pub fn string(env: &dyn Env, name: &str, default: &str) -> String {
    env.get(name).unwrap_or_else(|| default.to_string())
}

/// `name` parsed as `T`, or `default` when unset.
pub fn parse<T>(env: &dyn Env, name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match env.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::new(name, &raw, e.to_string())),
    }
}

/// `name` as a boolean: `true`/`false` (any case), `1`/`0`, `yes`/`no`.
pub fn flag(env: &dyn Env, name: &str, default: bool) -> Result<bool, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::new(name, &raw, "expected true or false")),
        },
    }
}

/// The base URL of a peer service, built the way Bookinfo builds it:
/// `http://<SVC>_HOSTNAME[.SERVICES_DOMAIN]:<SVC>_SERVICE_PORT`.
///
/// `prefix` is the upper-case service name (`DETAILS`), `default_host` its default host name.
pub fn peer_url(env: &dyn Env, prefix: &str, default_host: &str) -> Result<String, ConfigError> {
    let host_var = format!("{prefix}_HOSTNAME");
    let port_var = format!("{prefix}_SERVICE_PORT");
    let host = string(env, &host_var, default_host);
    let port: u16 = parse(env, &port_var, 9080)?;
    let domain = env
        .get("SERVICES_DOMAIN")
        .map(|d| format!(".{d}"))
        .unwrap_or_default();
    if host.contains('/') || host.contains(':') && !host.starts_with('[') {
        return Err(ConfigError::new(
            &host_var,
            &host,
            "expected a host name or address, without scheme or port",
        ));
    }
    Ok(format!("http://{host}{domain}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn peer_url_uses_bookinfo_defaults() {
        let url = peer_url(&env(&[]), "DETAILS", "details").expect("defaults are valid");
        assert_eq!(url, "http://details:9080");
    }

    #[test]
    fn peer_url_appends_the_services_domain() {
        let e = env(&[
            ("SERVICES_DOMAIN", "bookinfo.svc.cluster.local"),
            ("REVIEWS_HOSTNAME", "reviews"),
            ("REVIEWS_SERVICE_PORT", "9081"),
        ]);
        let url = peer_url(&e, "REVIEWS", "reviews").expect("valid");
        assert_eq!(url, "http://reviews.bookinfo.svc.cluster.local:9081");
    }

    #[test]
    fn a_bad_port_names_the_variable() {
        let e = env(&[("DETAILS_SERVICE_PORT", "ninety")]);
        let err = peer_url(&e, "DETAILS", "details").expect_err("not a port");
        assert!(err.to_string().contains("DETAILS_SERVICE_PORT"), "{err}");
    }

    #[test]
    fn a_host_with_a_scheme_is_refused() {
        let e = env(&[("DETAILS_HOSTNAME", "http://details")]);
        assert!(peer_url(&e, "DETAILS", "details").is_err());
    }

    #[test]
    fn flags_accept_the_usual_spellings() {
        let e = env(&[("A", "TRUE"), ("B", "0"), ("C", "maybe")]);
        assert!(flag(&e, "A", false).expect("valid"));
        assert!(!flag(&e, "B", true).expect("valid"));
        assert!(flag(&e, "C", true).is_err());
        assert!(flag(&e, "UNSET", true).expect("default"));
    }
}
