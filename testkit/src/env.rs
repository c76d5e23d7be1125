//! A service's configuration read from a few `(NAME, value)` pairs instead of the process
//! environment, which all the tests of a binary share. It goes through the service's own
//! [`Service::config`], the very call its binary makes at start.

use std::collections::HashMap;

use common::{ConfigError, Service};

/// `S`'s configuration with exactly these variables set (the rest unset):
/// `testkit::env::config::<Reviews>(&[("STAR_COLOR", "red")])`.
pub fn config<S: Service>(pairs: &[(&str, &str)]) -> Result<S::Config, ConfigError> {
    let env: HashMap<&str, &str> = pairs.iter().copied().collect();
    S::config(&env)
}
