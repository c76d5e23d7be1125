//! `--trace-sampling` and `--otlp-endpoint`: how many requests the proxy traces, and where their
//! spans go (see `crate::trace`).

/// Istio's default share of traced requests (`meshConfig.defaultConfig.tracing.sampling`).
pub const DEFAULT_SAMPLING: f64 = 1.0;

/// The tracing flags, the same for a sidecar and a gateway.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct TraceSettings {
    /// Percentage of new traces that are sampled, 0.0 to 100.0 (Istio's default, 1 %). A
    /// request that arrives with a sampling decision (`traceparent` flags, `x-b3-sampled`,
    /// `b3`) keeps it.
    #[arg(long, value_name = "PERCENT", default_value_t = DEFAULT_SAMPLING, value_parser = percentage)]
    pub trace_sampling: f64,
    /// Send the spans of sampled requests to this OpenTelemetry collector, over OTLP/gRPC
    /// (`http://127.0.0.1:4317`). Without it, nothing is exported, but trace context is still
    /// propagated and logged. Also read from `OTEL_EXPORTER_OTLP_ENDPOINT`, OpenTelemetry's own
    /// variable, which the Kubernetes observability component sets.
    #[arg(long, value_name = "URL", env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = otlp_endpoint)]
    pub otlp_endpoint: Option<String>,
}

impl Default for TraceSettings {
    fn default() -> Self {
        TraceSettings {
            trace_sampling: DEFAULT_SAMPLING,
            otlp_endpoint: None,
        }
    }
}

/// A percentage, `0` to `100` (`0.5`, `100.0`).
fn percentage(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| format!("`{text}` is not a percentage from 0.0 to 100.0"))
}

/// An `http://HOST:PORT` URL (the collector speaks plain gRPC: no TLS here).
fn otlp_endpoint(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{text}`: expected http://HOST:PORT"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(format!("`{text}`: expected http://HOST:PORT"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_is_between_0_and_100() {
        assert_eq!(percentage("0"), Ok(0.0));
        assert_eq!(percentage("100.0"), Ok(100.0));
        assert_eq!(percentage("0.5"), Ok(0.5));
        for bad in ["-1", "100.1", "NaN", "one", ""] {
            let error = percentage(bad).expect_err(bad);
            assert!(error.contains("0.0 to 100.0"), "{error}");
        }
    }

    #[test]
    fn the_collector_is_an_http_url() {
        assert_eq!(
            otlp_endpoint("http://127.0.0.1:4317/").as_deref(),
            Ok("http://127.0.0.1:4317")
        );
        for bad in [
            "127.0.0.1:4317",
            "https://jaeger:4317",
            "http://",
            "http://a/b",
        ] {
            assert!(otlp_endpoint(bad).is_err(), "{bad}");
        }
    }
}
