//! The checks of a DestinationRule: its host, unique subset names, and each traffic policy (load
//! balancer, connection pool, outlier detection, TLS), at the top, per port and per subset.

use std::collections::BTreeSet;

use super::unimplemented;
use crate::diagnostics::{Report, Severity};
use crate::model::{
    ClientTlsSettings, ConnectionPoolSettings, DestinationRule, LoadBalancerSettings,
    OutlierDetection, SimpleLb, TlsMode, TrafficPolicy,
};

pub(super) fn destination_rule(dr: &DestinationRule, report: &mut Report<'_>) {
    if dr.host.is_empty() {
        report.error("spec.host", "a host is required");
    }
    if let Some(policy) = &dr.traffic_policy {
        traffic_policy(policy, "spec.trafficPolicy", report);
    }
    let mut names = BTreeSet::new();
    for (i, subset) in dr.subsets.iter().enumerate() {
        let at = format!("spec.subsets[{i}]");
        if subset.name.is_empty() {
            report.error(&format!("{at}.name"), "a subset needs a name");
        } else if !names.insert(subset.name.as_str()) {
            report.error(
                &format!("{at}.name"),
                format!("duplicate subset name {:?}", subset.name),
            );
        }
        if let Some(policy) = &subset.traffic_policy {
            traffic_policy(policy, &format!("{at}.trafficPolicy"), report);
        }
    }
    unimplemented(report, &dr.export_to, "spec.exportTo");
    unimplemented(report, &dr.workload_selector, "spec.workloadSelector");
}

fn traffic_policy(policy: &TrafficPolicy, at: &str, report: &mut Report<'_>) {
    policy_parts(
        policy.load_balancer.as_ref(),
        policy.connection_pool.as_ref(),
        policy.outlier_detection.as_ref(),
        policy.tls.as_ref(),
        at,
        report,
    );
    for (i, port) in policy.port_level_settings.iter().enumerate() {
        let path = format!("{at}.portLevelSettings[{i}]");
        if port.port.is_none() {
            report.error(&path, "missing field `port`");
        }
        policy_parts(
            port.load_balancer.as_ref(),
            port.connection_pool.as_ref(),
            port.outlier_detection.as_ref(),
            port.tls.as_ref(),
            &path,
            report,
        );
    }
    unimplemented(report, &policy.tunnel, &format!("{at}.tunnel"));
    unimplemented(
        report,
        &policy.proxy_protocol,
        &format!("{at}.proxyProtocol"),
    );
}

fn policy_parts(
    lb: Option<&LoadBalancerSettings>,
    pool: Option<&ConnectionPoolSettings>,
    outlier: Option<&OutlierDetection>,
    tls: Option<&ClientTlsSettings>,
    at: &str,
    report: &mut Report<'_>,
) {
    if let Some(lb) = lb {
        load_balancer(lb, &format!("{at}.loadBalancer"), report);
    }
    if let Some(pool) = pool {
        let path = format!("{at}.connectionPool");
        if let Some(tcp) = &pool.tcp {
            unimplemented(
                report,
                &tcp.tcp_keepalive,
                &format!("{path}.tcp.tcpKeepalive"),
            );
            unimplemented(
                report,
                &tcp.max_connection_duration,
                &format!("{path}.tcp.maxConnectionDuration"),
            );
            unimplemented(
                report,
                &tcp.idle_timeout,
                &format!("{path}.tcp.idleTimeout"),
            );
        }
        if let Some(http) = &pool.http {
            unimplemented(
                report,
                &http.h2_upgrade_policy,
                &format!("{path}.http.h2UpgradePolicy"),
            );
            unimplemented(
                report,
                &http.use_client_protocol,
                &format!("{path}.http.useClientProtocol"),
            );
            unimplemented(
                report,
                &http.max_concurrent_streams,
                &format!("{path}.http.maxConcurrentStreams"),
            );
        }
    }
    if let Some(outlier) = outlier {
        let path = format!("{at}.outlierDetection");
        for (field, value) in [
            ("maxEjectionPercent", outlier.max_ejection_percent),
            ("minHealthPercent", outlier.min_health_percent),
        ] {
            if value.is_some_and(|v| v > 100) {
                report.error(
                    &format!("{path}.{field}"),
                    format!("{field} is outside 0..=100"),
                );
            }
        }
        unimplemented(
            report,
            &outlier.consecutive_errors,
            &format!("{path}.consecutiveErrors"),
        );
        unimplemented(
            report,
            &outlier.split_external_local_origin_errors,
            &format!("{path}.splitExternalLocalOriginErrors"),
        );
        unimplemented(
            report,
            &outlier.consecutive_local_origin_failures,
            &format!("{path}.consecutiveLocalOriginFailures"),
        );
    }
    if let Some(tls) = tls {
        let path = format!("{at}.tls.mode");
        match tls.mode {
            None | Some(TlsMode::Disable) => {}
            Some(TlsMode::IstioMutual) => report.push(
                Severity::Info,
                &path,
                "ISTIO_MUTUAL noted: sailkit's sidecars do not encrypt yet, traffic between them stays plain",
            ),
            Some(mode) => report.warn(&path, format!("TLS mode {mode:?} is not implemented by sailkit: ignored")),
        }
    }
}

fn load_balancer(lb: &LoadBalancerSettings, at: &str, report: &mut Report<'_>) {
    if lb.simple.is_some() && lb.consistent_hash.is_some() {
        report.error(at, "set `simple` or `consistentHash`, not both");
    }
    match lb.simple {
        Some(SimpleLb::Passthrough) => report.warn(
            &format!("{at}.simple"),
            "PASSTHROUGH is not implemented by sailkit: ROUND_ROBIN is used",
        ),
        Some(SimpleLb::LeastConn) => report.warn(
            &format!("{at}.simple"),
            "LEAST_CONN is deprecated: treated as LEAST_REQUEST",
        ),
        _ => {}
    }
    if let Some(hash) = &lb.consistent_hash {
        let path = format!("{at}.consistentHash");
        let keys = [
            hash.http_header_name.is_some(),
            hash.http_cookie.is_some(),
            hash.use_source_ip.is_some(),
            hash.http_query_parameter_name.is_some(),
        ];
        if keys.iter().filter(|k| **k).count() != 1 {
            report.error(
                &path,
                "set exactly one of `httpHeaderName`, `httpCookie`, `useSourceIp` or `httpQueryParameterName`",
            );
        }
        unimplemented(
            report,
            &hash.http_query_parameter_name,
            &format!("{path}.httpQueryParameterName"),
        );
        unimplemented(report, &hash.ring_hash, &format!("{path}.ringHash"));
        unimplemented(report, &hash.maglev, &format!("{path}.maglev"));
        unimplemented(
            report,
            &hash.minimum_ring_size,
            &format!("{path}.minimumRingSize"),
        );
    }
    unimplemented(
        report,
        &lb.locality_lb_setting,
        &format!("{at}.localityLbSetting"),
    );
    unimplemented(
        report,
        &lb.warmup_duration_secs,
        &format!("{at}.warmupDurationSecs"),
    );
    unimplemented(report, &lb.warmup, &format!("{at}.warmup"));
}
