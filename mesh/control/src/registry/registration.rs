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
    /// Never empty: the `Register`'s, else `<app>-<version>` from the labels, else the
    /// service, else the proxy id (`mesh_api::workload::default_name`).
    pub workload: String,
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
        let labels: BTreeMap<String, String> = register.labels.into_iter().collect();
        let workload = if register.workload.is_empty() {
            mesh_api::workload::default_name(&labels, &register.service)
                .unwrap_or_else(|| register.proxy_id.clone())
        } else {
            register.workload
        };
        Ok(Registration {
            proxy_id: register.proxy_id,
            service: register.service,
            namespace,
            service_account: register.service_account,
            labels,
            address,
            workload,
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

    #[test]
    fn a_workload_not_named_is_app_version_else_the_service_else_the_proxy_id() {
        let parse = |register| Registration::parse(register, "default").expect("valid");
        let mut pod = register("reviews-v2-5d8f-x7k2", "");
        assert_eq!(parse(pod.clone()).workload, "reviews", "the service");
        pod.labels = [("app", "reviews"), ("version", "v2")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(parse(pod.clone()).workload, "reviews-v2");
        pod.workload = "reviews-canary".to_owned();
        assert_eq!(parse(pod).workload, "reviews-canary");
        let gateway = Register {
            service: String::new(),
            ..register("istio-ingressgateway-abc", "")
        };
        assert_eq!(parse(gateway).workload, "istio-ingressgateway-abc");
    }
}
