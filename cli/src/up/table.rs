//! The summary table of a stack: where to point the browser, and every address behind it.
//!
//! `up` prints it once the stack is ready, `status` prints it from `stack.json`.

use std::fmt::Write;

use super::console::Console;
use super::state::{Instance, Stack};

/// The table for `stack`; `note` adds a word about each instance (its pid, whether it runs).
pub fn render(stack: &Stack, console: &Console, note: impl Fn(&Instance) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "  Open the app:  {}", console.bold(&stack.app_url));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<12} {:<24} {:<16} {:<24} PROCESS",
        "SERVICE", "ADDRESS (VIP)", "INSTANCE", "INSTANCE ADDRESS"
    );
    for vip in &stack.vips {
        let mut first = true;
        for instance in stack.instances.iter().filter(|i| i.service == vip.service) {
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
    let _ = writeln!(out);
    let _ = writeln!(out, "  Data directory: {}", stack.data_dir.display());
    let _ = writeln!(
        out,
        "  (SQLite files; logs/<instance>.log; run/stack.json describes this stack)"
    );
    out
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
        };
        let console = Console::detect(10);
        let text = render(&stack, &console, |i| format!("pid {}", i.pid.unwrap_or(0)));
        assert!(text.contains("http://127.0.0.1:9080/productpage"), "{text}");
        let rows: Vec<_> = text.lines().filter(|l| l.contains("reviews-v")).collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(rows[0].contains("http://127.0.0.1:9082") && rows[0].contains("pid 9102"));
        assert!(!rows[1].contains("9082") && rows[1].contains("pid 9103"));
    }
}
