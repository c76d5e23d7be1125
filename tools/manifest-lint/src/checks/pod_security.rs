//! Every pod passes Pod Security Admission's `restricted` profile, the one a namespace labelled
//! `pod-security.kubernetes.io/enforce: restricted` enforces: a pod that fails it is refused
//! when its ReplicaSet creates it, so the Deployment is applied but never gets a pod. The rules
//! are Kubernetes' (the baseline ones, then restricted's own), plus sailkit's own rule that
//! every container's root filesystem is read-only (writes go to an emptyDir).
//!
//! A container's `securityContext` wins over the pod's for `runAsNonRoot`, `runAsUser`,
//! `seccompProfile` and `appArmorProfile`, so each is judged on what the container ends with.

use serde_json::Value;

use crate::finding::{Check, Finding};
use crate::inventory::Inventory;
use crate::object::{Container, PodTemplate, get, items};

/// Volume types `restricted` allows; any other (hostPath, nfs, ...) is refused.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Sysctls that are namespaced and safe, the only ones the baseline allows.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

const SECCOMP_ALLOWED: &[&str] = &["RuntimeDefault", "Localhost"];

pub fn check(inventory: &Inventory<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in &inventory.templates {
        let mut found = Vec::new();
        pod_rules(template, &mut |path, message| found.push((path, message)));
        for container in template.containers() {
            container_rules(template, &container, &mut |path, message| {
                found.push((path, format!("container {}: {message}", container.name)));
            });
        }
        for (path, message) in found {
            let message = format!("{message} (Pod Security restricted)");
            findings.push(Finding::at(
                Check::PodSecurity,
                template.owner,
                &path,
                message,
            ));
        }
        for container in template.containers() {
            let path = container.path("securityContext.readOnlyRootFilesystem");
            let read_only = get(container.value, "securityContext.readOnlyRootFilesystem");
            if read_only.and_then(Value::as_bool) != Some(true) {
                let message = format!(
                    "container {}: readOnlyRootFilesystem must be true; write to an emptyDir \
                     volume (sailkit's rule)",
                    container.name
                );
                findings.push(Finding::at(
                    Check::PodSecurity,
                    template.owner,
                    &path,
                    message,
                ));
            }
        }
    }
    findings
}

fn pod_rules(template: &PodTemplate<'_>, report: &mut impl FnMut(String, String)) {
    let spec = template.spec;
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(field).and_then(Value::as_bool) == Some(true) {
            report(template.path(field), format!("{field} must not be true"));
        }
    }
    for (i, volume) in items(spec.get("volumes")).iter().enumerate() {
        let Some(map) = volume.as_object() else {
            continue;
        };
        for kind in map.keys().filter(|k| *k != "name") {
            if !ALLOWED_VOLUMES.contains(&kind.as_str()) {
                let name = volume.get("name").and_then(Value::as_str).unwrap_or("?");
                report(
                    template.path(&format!("volumes[{i}].{kind}")),
                    format!("volume {name} is of type {kind}, which is not allowed"),
                );
            }
        }
    }
    let context = "securityContext";
    for (i, sysctl) in items(get(spec, "securityContext.sysctls"))
        .iter()
        .enumerate()
    {
        let name = sysctl.get("name").and_then(Value::as_str).unwrap_or("?");
        if !SAFE_SYSCTLS.contains(&name) {
            let path = template.path(&format!("{context}.sysctls[{i}]"));
            report(
                path,
                format!("sysctl {name} is not one of the safe sysctls"),
            );
        }
    }
    if let Some(pod) = spec.get(context) {
        shared_rules(pod, &template.path(context), "the pod", report);
    }
}

/// The rules that apply to the pod's `securityContext` and to each container's alike.
fn shared_rules(context: &Value, path: &str, whose: &str, report: &mut impl FnMut(String, String)) {
    if context.get("runAsUser").and_then(Value::as_i64) == Some(0) {
        report(
            format!("{path}.runAsUser"),
            format!("{whose} must not run as user 0"),
        );
    }
    if let Some(kind) = get(context, "seccompProfile.type").and_then(Value::as_str)
        && !SECCOMP_ALLOWED.contains(&kind)
    {
        report(
            format!("{path}.seccompProfile.type"),
            format!("{whose}'s seccompProfile is {kind}, and must be RuntimeDefault or Localhost"),
        );
    }
    if get(context, "appArmorProfile.type").and_then(Value::as_str) == Some("Unconfined") {
        report(
            format!("{path}.appArmorProfile.type"),
            format!("{whose}'s appArmorProfile must not be Unconfined"),
        );
    }
    if let Some(options) = context.get("seLinuxOptions") {
        let allowed_type = |t: &str| {
            [
                "container_t",
                "container_init_t",
                "container_kvm_t",
                "container_engine_t",
            ]
            .contains(&t)
        };
        let bad_type = options
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty() && !allowed_type(t));
        if bad_type || options.get("user").is_some() || options.get("role").is_some() {
            report(
                format!("{path}.seLinuxOptions"),
                format!("{whose}'s seLinuxOptions may set only a container type and level"),
            );
        }
    }
}

fn container_rules(
    template: &PodTemplate<'_>,
    container: &Container<'_>,
    report: &mut impl FnMut(String, String),
) {
    let pod = template.spec.get("securityContext");
    let own = container.value.get("securityContext");
    let path = container.path("securityContext");
    let field = |name: &str| own.and_then(|c| get(c, name));
    let pod_field = |name: &str| pod.and_then(|c| get(c, name));

    if field("privileged").and_then(Value::as_bool) == Some(true) {
        report(
            format!("{path}.privileged"),
            "privileged must not be true".into(),
        );
    }
    for (i, port) in items(container.value.get("ports")).iter().enumerate() {
        if port
            .get("hostPort")
            .and_then(Value::as_i64)
            .is_some_and(|p| p != 0)
        {
            report(
                container.path(&format!("ports[{i}].hostPort")),
                "hostPort must not be set".into(),
            );
        }
    }
    if field("allowPrivilegeEscalation").and_then(Value::as_bool) != Some(false) {
        report(
            format!("{path}.allowPrivilegeEscalation"),
            "allowPrivilegeEscalation must be false".into(),
        );
    }
    let non_root = field("runAsNonRoot").or_else(|| pod_field("runAsNonRoot"));
    if non_root.and_then(Value::as_bool) != Some(true) {
        report(
            format!("{path}.runAsNonRoot"),
            "runAsNonRoot must be true (in the container's or the pod's securityContext)".into(),
        );
    }
    if field("seccompProfile.type").is_none() && pod_field("seccompProfile.type").is_none() {
        report(
            format!("{path}.seccompProfile"),
            "seccompProfile must be RuntimeDefault or Localhost (in the container's or the \
             pod's securityContext)"
                .into(),
        );
    }
    let drop: Vec<&str> = items(field("capabilities.drop"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !drop.contains(&"ALL") {
        report(
            format!("{path}.capabilities.drop"),
            "capabilities must drop ALL".into(),
        );
    }
    for (i, added) in items(field("capabilities.add")).iter().enumerate() {
        let added = added.as_str().unwrap_or("?");
        if added != "NET_BIND_SERVICE" {
            report(
                format!("{path}.capabilities.add[{i}]"),
                format!("capability {added} may not be added (only NET_BIND_SERVICE)"),
            );
        }
    }
    if let Some(mount) = field("procMount").and_then(Value::as_str)
        && mount != "Default"
    {
        report(
            format!("{path}.procMount"),
            format!("procMount is {mount}, and must be Default"),
        );
    }
    if let Some(context) = own {
        shared_rules(context, &path, "the container", report);
    }
}
