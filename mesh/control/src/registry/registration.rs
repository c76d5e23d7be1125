//! A proxy's registration: the `Register` message, checked.
//!
//! The message is self-asserted (nothing proves a proxy is who it says, see the proto), so the
//! checks are only about shape: an id is present, and an address, when given, is `IP:PORT`.
//! A registration that fails them ends the stream with INVALID_ARGUMENT naming the field.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use mesh_api::v1::Register;

/// A `Register` that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub proxy_id: String,
    /// Empty for a gateway.
    pub service: String,
    /// Never empty: a registration that names none gets the control plane's `--namespace`.
    pub namespace: String,
    pub service_account: String,
    /// Sorted, so that equal registrations compare equal.
    pub labels: BTreeMap<String, String>,
    /// `None` while the application is not listening yet: known, but sent no traffic.
    pub address: Option<SocketAddr>,
}

/// Why a `Register` was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRegister {
    #[error("register.proxy_id: must not be empty")]
    EmptyProxyId,
    #[error("register.address: {address:?} is not IP:PORT ({reason})")]
    Address { address: String, reason: String },
}

impl Registration {
    /// Checks `register`; `default_namespace` stands in for an empty namespace.
    pub fn parse(
        register: Register,
        default_namespace: &str,
    ) -> Result<Registration, InvalidRegister> {
        if register.proxy_id.trim().is_empty() {
            return Err(InvalidRegister::EmptyProxyId);
        }
        let address = match register.address.as_str() {
            "" => None,
            text => Some(
                text.parse::<SocketAddr>()
                    .map_err(|error| InvalidRegister::Address {
                        address: text.to_owned(),
                        reason: error.to_string(),
                    })?,
            ),
        };
        let namespace = if register.namespace.is_empty() {
            default_namespace.to_owned()
        } else {
            register.namespace
        };
        Ok(Registration {
            proxy_id: register.proxy_id,
            service: register.service,
            namespace,
            service_account: register.service_account,
            labels: register.labels.into_iter().collect(),
            address,
        })
    }

    /// True when this workload gets traffic: it serves a service and has an address.
    pub fn is_endpoint(&self) -> bool {
        !self.service.is_empty() && self.address.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(proxy_id: &str, address: &str) -> Register {
        Register {
            proxy_id: proxy_id.to_owned(),
            service: "reviews".to_owned(),
            address: address.to_owned(),
            ..Register::default()
        }
    }

    #[test]
    fn an_address_must_be_ip_and_port() {
        let refused = Registration::parse(register("reviews-v1", "reviews:9080"), "default");
        assert!(
            matches!(refused, Err(InvalidRegister::Address { .. })),
            "{refused:?}"
        );
        let message = refused.expect_err("refused").to_string();
        assert!(message.starts_with("register.address:"), "{message}");
    }

    #[test]
    fn an_empty_namespace_is_the_default_one_and_an_empty_address_is_no_endpoint() {
        let registration =
            Registration::parse(register("reviews-v1", ""), "bookinfo").expect("valid");
        assert_eq!(registration.namespace, "bookinfo");
        assert!(!registration.is_endpoint());
        assert_eq!(
            Registration::parse(register(" ", "127.0.0.1:1"), "default"),
            Err(InvalidRegister::EmptyProxyId)
        );
    }
}
