//! The checks of a Gateway: at least one server, each with at least one host.

use super::unimplemented;
use crate::diagnostics::Report;
use crate::model::Gateway;

pub(super) fn gateway(gw: &Gateway, report: &mut Report<'_>) {
    if gw.servers.is_empty() {
        report.error("spec.servers", "at least one server is required");
    }
    for (i, server) in gw.servers.iter().enumerate() {
        let at = format!("spec.servers[{i}]");
        if server.hosts.is_empty() {
            report.error(&format!("{at}.hosts"), "at least one host is required");
        }
        unimplemented(report, &server.tls, &format!("{at}.tls"));
        unimplemented(report, &server.bind, &format!("{at}.bind"));
        unimplemented(
            report,
            &server.default_endpoint,
            &format!("{at}.defaultEndpoint"),
        );
    }
}
