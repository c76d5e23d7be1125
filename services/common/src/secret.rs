//! Secrets that sign cookies.
//!
//! productpage signs its login cookie and banner its admin session with a key from the
//! environment. A key must be long enough to resist guessing, and must never end up in a log:
//! configs are logged with `{:?}`, so [`SessionSecret`]'s `Debug` hides the value.

use std::fmt;

use crate::env::{ConfigError, Env};

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// A cookie-signing secret of at least [`MIN_SECRET_LEN`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(Vec<u8>);

/// A secret shorter than [`MIN_SECRET_LEN`].
#[derive(Debug, thiserror::Error)]
#[error("must be at least {MIN_SECRET_LEN} bytes long, got {0}")]
pub struct SecretTooShort(pub usize);

impl SessionSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SecretTooShort> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_LEN {
            return Err(SecretTooShort(secret.len()));
        }
        Ok(Self(secret))
    }

    /// The secret in variable `name`, `None` when unset; a short one is an error naming `name`.
    pub fn from_env(env: &dyn Env, name: &str) -> Result<Option<Self>, ConfigError> {
        env.get(name)
            .map(|value| {
                Self::new(value).map_err(|e| ConfigError::new(name, "<hidden>", e.to_string()))
            })
            .transpose()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_short_secret_names_the_variable_and_hides_the_value() {
        let env: HashMap<&str, &str> = [("SESSION_SECRET", "too-short")].into_iter().collect();
        let err = SessionSecret::from_env(&env, "SESSION_SECRET").expect_err("too short");
        let message = err.to_string();
        assert!(message.contains("SESSION_SECRET"), "{message}");
        assert!(!message.contains("too-short"), "{message}");
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = SessionSecret::new(*b"0123456789abcdef0123456789abcdef").expect("32 bytes");
        assert_eq!(format!("{secret:?}"), "SessionSecret(<hidden>)");
    }
}
