//! The tracing settings, read from OpenTelemetry's standard variables.
//!
//! | variable                      | meaning                                                  |
//! |-------------------------------|----------------------------------------------------------|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's OTLP gRPC address; unset: export nothing  |
//! | `OTEL_SERVICE_NAME`           | the `service.name` of the spans; default the service's own name |
//! | `OTEL_TRACES_SAMPLER_ARG`     | the share of new traces sampled, 0 to 1 (default 1)      |
//!
//! Only these three are read, and through [`Env`], so that a test hands each service instance
//! its own values in a map.

use crate::env::{self, ConfigError, Env};

/// The collector's address; unset means no export.
pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The service name the spans carry.
pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// The ratio of traces sampled when the request came with no sampling decision.
pub const SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

/// The lines every service adds to its `ENV_HELP`, as a literal for `concat!`:
/// `concat!("Environment:\n  ...", common::tracing_env_help!())`.
#[macro_export]
macro_rules! tracing_env_help {
    () => {
        "
  OTEL_EXPORTER_OTLP_ENDPOINT  send spans over OTLP gRPC to this collector, e.g. http://jaeger:4317
                               (default unset: no spans are exported)
  OTEL_SERVICE_NAME            service.name of the spans (default: the service's own name)
  OTEL_TRACES_SAMPLER_ARG      share of new traces sampled, 0 to 1, when the request carries no
                               sampling decision (default 1)"
    };
}

/// How a service traces, read once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: where spans go; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`, or the service's own name.
    pub service_name: String,
    /// The instance's version (`service.version`), when the service knows it.
    pub service_version: Option<String>,
    /// `OTEL_TRACES_SAMPLER_ARG`: the share of root traces sampled.
    pub sampler_ratio: f64,
}

impl TracingConfig {
    /// No export, every new trace sampled: what a service gets with no variable set.
    pub fn new(service: &str) -> Self {
        Self {
            otlp_endpoint: None,
            service_name: service.to_string(),
            service_version: None,
            sampler_ratio: 1.0,
        }
    }

    /// Reads the variables; `service` is the default service name. A bad value names its
    /// variable.
    pub fn from_env(env: &dyn Env, service: &str) -> Result<Self, ConfigError> {
        let otlp_endpoint = match env.get(OTLP_ENDPOINT) {
            None => None,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Some(url),
            Some(url) => {
                return Err(ConfigError::new(
                    OTLP_ENDPOINT,
                    &url,
                    "expected an http:// or https:// URL, e.g. http://localhost:4317",
                ));
            }
        };
        let sampler_ratio = env::parse::<f64>(env, SAMPLER_ARG, 1.0)?;
        if !(0.0..=1.0).contains(&sampler_ratio) {
            return Err(ConfigError::new(
                SAMPLER_ARG,
                &sampler_ratio.to_string(),
                "must be between 0 and 1",
            ));
        }
        Ok(Self {
            otlp_endpoint,
            service_name: env::string(env, SERVICE_NAME, service),
            service_version: None,
            sampler_ratio,
        })
    }

    /// The same settings, with `service.version` set to `version`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<TracingConfig, ConfigError> {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        TracingConfig::from_env(&env, "reviews")
    }

    #[test]
    fn unset_means_no_export_and_the_services_own_name() {
        assert_eq!(read(&[]).expect("defaults"), TracingConfig::new("reviews"));
    }

    #[test]
    fn the_variables_set_endpoint_name_and_ratio() {
        let config = read(&[
            (OTLP_ENDPOINT, "http://jaeger:4317"),
            (SERVICE_NAME, "reviews.default"),
            (SAMPLER_ARG, "0.25"),
        ])
        .expect("valid");
        assert_eq!(config.otlp_endpoint.as_deref(), Some("http://jaeger:4317"));
        assert_eq!(config.service_name, "reviews.default");
        assert!((config.sampler_ratio - 0.25).abs() < f64::EPSILON);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, bad) in [
            (OTLP_ENDPOINT, "jaeger:4317"),
            (SAMPLER_ARG, "1.5"),
            (SAMPLER_ARG, "-0.1"),
            (SAMPLER_ARG, "half"),
        ] {
            let error = read(&[(name, bad)]).expect_err(bad);
            assert_eq!(error.name, name, "{bad}");
        }
    }
}
