//! The summary table of a stack: where to point the browser, and every address behind it.
//!
//! `up` prints it once the stack is ready, `status` prints it from `stack.json`.

use std::fmt::Write;

use super::console::Console;
use super::plan::ADMIN_PASSWORD_FILE;
use super::state::{Instance, Stack};
use crate::services::ServiceName;

/// The table for `stack`; `note` adds a word about each instance (its pid, whether it runs).
pub fn render(stack: &Stack, console: &Console, note: impl Fn(&Instance) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "  Open the app:  {}", console.bold(&stack.app_url));
    let _ = writeln!(
        out,
        "  Banner admin:  {}/admin  (user admin, password in {})",
        admin_base(stack),
        stack.data_dir.join(ADMIN_PASSWORD_FILE).display()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<12} {:<24} {:<16} {:<24} PROCESS",
        "SERVICE", "ADDRESS (VIP)", "INSTANCE", "INSTANCE ADDRESS"
    );
    for vip in &stack.vips {
        let mut first = true;
        // The instances the VIP sends requests to: in the monolith stage, the productpage VIP
        // fronts the `monolith` instance.
        let behind = stack
            .instances
            .iter()
            .filter(|i| vip.instances.contains(&i.name));
        for instance in behind {
            let (service, url) = if first {
                (vip.name.as_str(), vip.url.as_str())
            } else {
                ("", "")
            };
            first = false;
            let _ = writeln!(
                out,
                "  {:<12} {:<24} {:<16} {:<24} {}",
                service,
                url,
                instance.name,
                instance.url,
                note(instance)
            );
        }
    }
    let with_sidecars: Vec<_> = stack
        .instances
        .iter()
        .filter_map(|i| i.sidecar.as_ref().map(|s| (i, s)))
        .collect();
    if !with_sidecars.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} PROCESS",
            "SIDECAR", "ADMIN (/ready /stats)", "OUTBOUND (HTTP_PROXY)"
        );
        for (instance, sidecar) in with_sidecars {
            let _ = writeln!(
                out,
                "  {:<24} {:<24} {:<24} pid {}",
                format!("{}-sidecar", instance.name),
                sidecar.admin,
                sidecar.outbound,
                sidecar.pid
            );
        }
        let _ = writeln!(
            out,
            "  Mesh config: {} (change it with `sailkit apply FILE`)",
            super::mesh::config_dir(&stack.data_dir).display()
        );
    }
    if let Some(gateway) = &stack.gateway {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} PROCESS",
            "INGRESS GATEWAY", "ADMIN (/ready /stats)", "ADDRESS (the way in)"
        );
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} pid {}",
            gateway.name, gateway.admin, gateway.url, gateway.pid
        );
        // The note only while nothing lets traffic in: with Bookinfo's file applied (now or in
        // an earlier run), the gateway routes and the note would be wrong.
        let in_force = super::in_force::resources(&stack.data_dir);
        if !super::in_force::binds_gateway(&in_force, &gateway.gateway) {
            let _ = writeln!(
                out,
                "  It routes with the VirtualServices bound to Gateway {}; until they are applied\n  \
                 (`sailkit apply k8s/networking/bookinfo-gateway.yaml`), it answers 404.",
                gateway.gateway
            );
        }
    }
    if let Some(control) = &stack.control_plane {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} PROCESS",
            "CONTROL PLANE", "ADMIN (/ready /proxies)", "GRPC (the proxies')"
        );
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} pid {}",
            super::control::NAME,
            control.admin,
            control.grpc,
            control.pid
        );
        let _ = writeln!(
            out,
            "  Every proxy takes its config from it; `sailkit proxy-status` lists them."
        );
    }
    if let Some(dashboard) = &stack.dashboard {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} PROCESS",
            "DASHBOARD", "PAGES (graph, traces)", "OTLP (spans in)"
        );
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:<24} the launcher",
            "sailkit-dashboard", dashboard.url, dashboard.otlp
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  Data directory: {}", stack.data_dir.display());
    let _ = writeln!(
        out,
        "  (SQLite files; logs/<instance>.log; run/stack.json describes this stack)"
    );
    out
}

/// Where the banner admin pages are: the banner VIP, or the front door when there is no banner
/// service of its own (the monolith serves them itself).
fn admin_base(stack: &Stack) -> &str {
    stack
        .vips
        .iter()
        .find(|vip| vip.service == ServiceName::Banner)
        .map_or(stack.front_door.as_str(), |vip| vip.url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ServiceName;
    use crate::up::state::Vip;

    #[test]
    fn every_instance_is_listed_under_its_service() {
        let instance = |name: &str, port: u16| Instance {
            name: name.into(),
            service: ServiceName::Reviews,
            version: "v1".into(),
            url: format!("http://127.0.0.1:{port}"),
            pid: Some(u32::from(port)),
            sidecar: None,
        };
        let stack = Stack {
            launcher_pid: 1,
            data_dir: "/d".into(),
            front_door: "http://127.0.0.1:9080".into(),
            app_url: "http://127.0.0.1:9080/productpage".into(),
            vips: vec![Vip {
                name: "reviews".into(),
                service: ServiceName::Reviews,
                url: "http://127.0.0.1:9082".into(),
                instances: vec!["reviews-v1".into(), "reviews-v2".into()],
            }],
            instances: vec![instance("reviews-v1", 9102), instance("reviews-v2", 9103)],
            gateway: None,
            control_plane: None,
            dashboard: None,
        };
        let console = Console::detect(10);
        let text = render(&stack, &console, |i| format!("pid {}", i.pid.unwrap_or(0)));
        assert!(text.contains("http://127.0.0.1:9080/productpage"), "{text}");
        let rows: Vec<_> = text.lines().filter(|l| l.contains("reviews-v")).collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(rows[0].contains("http://127.0.0.1:9082") && rows[0].contains("pid 9102"));
        assert!(!rows[1].contains("9082") && rows[1].contains("pid 9103"));
        assert!(
            !text.contains("INGRESS GATEWAY"),
            "no gateway, no row: {text}"
        );
    }

    #[test]
    fn the_ingress_gateway_has_its_row_and_says_how_to_open_it() {
        let stack = Stack {
            launcher_pid: 1,
            data_dir: "/d".into(),
            front_door: "http://127.0.0.1:9080".into(),
            app_url: "http://127.0.0.1:9080/productpage".into(),
            vips: vec![],
            instances: vec![],
            gateway: Some(crate::up::state::Gateway {
                name: "istio-ingressgateway".into(),
                gateway: "bookinfo-gateway".into(),
                pid: 77,
                url: "http://127.0.0.1:9088".into(),
                admin: "http://127.0.0.1:40000".into(),
            }),
            control_plane: Some(crate::up::state::ControlPlane {
                pid: 78,
                grpc: "http://127.0.0.1:9089".into(),
                admin: "http://127.0.0.1:40001".into(),
            }),
            dashboard: Some(crate::up::state::Dashboard {
                url: "http://127.0.0.1:9086".into(),
                otlp: "http://127.0.0.1:9087".into(),
            }),
        };
        let text = render(&stack, &Console::detect(8), |_| String::new());
        let row = text
            .lines()
            .find(|l| l.contains("istio-ingressgateway"))
            .unwrap_or_else(|| panic!("no gateway row:\n{text}"));
        assert!(
            row.contains("http://127.0.0.1:9088") && row.contains("pid 77"),
            "{row}"
        );
        assert!(text.contains("Gateway bookinfo-gateway"), "{text}");
        let control = text
            .lines()
            .find(|l| l.contains("sailkit-control"))
            .unwrap_or_else(|| panic!("no control plane row:\n{text}"));
        assert!(
            control.contains("http://127.0.0.1:9089") && control.contains("pid 78"),
            "{control}"
        );
        assert!(
            text.contains("k8s/networking/bookinfo-gateway.yaml"),
            "{text}"
        );
        let dashboard = text
            .lines()
            .find(|l| l.contains("sailkit-dashboard"))
            .unwrap_or_else(|| panic!("no dashboard row:\n{text}"));
        assert!(
            dashboard.contains("http://127.0.0.1:9086")
                && dashboard.contains("http://127.0.0.1:9087"),
            "{dashboard}"
        );
    }

    #[test]
    fn a_vip_lists_the_instances_it_fronts_even_of_another_service() {
        let stack = Stack {
            launcher_pid: 1,
            data_dir: "/d".into(),
            front_door: "http://127.0.0.1:9080".into(),
            app_url: "http://127.0.0.1:9080/productpage".into(),
            vips: vec![Vip {
                name: "productpage".into(),
                service: ServiceName::Productpage,
                url: "http://127.0.0.1:9080".into(),
                instances: vec!["monolith".into()],
            }],
            instances: vec![Instance {
                name: "monolith".into(),
                service: ServiceName::Monolith,
                version: "v1".into(),
                url: "http://127.0.0.1:9100".into(),
                pid: Some(42),
                sidecar: None,
            }],
            gateway: None,
            control_plane: None,
            dashboard: None,
        };
        let text = render(&stack, &Console::detect(8), |_| "pid 42".into());
        let row = text
            .lines()
            .find(|l| l.contains("monolith"))
            .unwrap_or_else(|| panic!("no monolith row:\n{text}"));
        assert!(row.contains("productpage") && row.contains("http://127.0.0.1:9080"));
        assert!(row.contains("http://127.0.0.1:9100") && row.contains("pid 42"));
    }

    #[test]
    fn the_banner_admin_address_and_password_file_are_shown() {
        let vip = |name: &str, service, port: u16| Vip {
            name: name.into(),
            service,
            url: format!("http://127.0.0.1:{port}"),
            instances: vec![],
        };
        let mut stack = Stack {
            launcher_pid: 1,
            data_dir: "/d".into(),
            front_door: "http://127.0.0.1:9080".into(),
            app_url: "http://127.0.0.1:9080/productpage".into(),
            vips: vec![
                vip("productpage", ServiceName::Productpage, 9080),
                vip("banner", ServiceName::Banner, 9084),
            ],
            instances: vec![],
            gateway: None,
            control_plane: None,
            dashboard: None,
        };
        let text = render(&stack, &Console::detect(8), |_| String::new());
        assert!(
            text.contains(
                "Banner admin:  http://127.0.0.1:9084/admin  (user admin, password in \
                 /d/admin-password)"
            ),
            "{text}"
        );
        // Without a banner service (the monolith), the front door serves the admin pages.
        stack.vips.truncate(1);
        let text = render(&stack, &Console::detect(8), |_| String::new());
        assert!(
            text.contains("Banner admin:  http://127.0.0.1:9080/admin"),
            "{text}"
        );
    }
}
