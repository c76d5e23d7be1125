//! Logging with `tracing`.
//!
//! Every service logs through `tracing`. The level comes from `RUST_LOG` (default `info`), the
//! format from `LOG_FORMAT`: `text` (default, for people) or `json` (for log collectors).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call twice: the second call does nothing, which
/// keeps tests that start several services in one process simple.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A log line that cannot be written (the launcher that read our output is gone) must not
    // take the service down: without this, the subscriber reports its own write error with a
    // panicking `eprintln!`.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .log_internal_errors(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}
