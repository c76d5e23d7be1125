//! End to end: the ingress gateway that `sailkit up` starts with the mesh. It routes only with
//! the VirtualServices bound to Bookinfo's Gateway, so it answers 404 `NR` until
//! `k8s/networking/bookinfo-gateway.yaml` is applied, and lets `/productpage` in afterwards,
//! as Istio's Bookinfo guide shows with `$GATEWAY_URL`.

mod support;

use std::time::{Duration, Instant};

use support::{IN_FORCE_TIMEOUT, Stack, apply, http, is_alive};

/// GET `url`: the status, the `x-sailkit-failed` header (who failed, when the proxy answered
/// itself) and the body.
async fn get(url: &str) -> (u16, Option<String>, String) {
    let response = http().get(url).send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let failed = response
        .headers()
        .get("x-sailkit-failed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, failed, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_gateway_lets_bookinfo_in_once_its_gateway_is_applied() {
    let mut stack = Stack::start();
    let gateway = stack
        .state
        .gateway
        .clone()
        .unwrap_or_else(|| panic!("stack.json has a gateway:\n{}", stack.output()));
    assert_eq!(gateway.name, "istio-ingressgateway");
    assert_eq!(gateway.gateway, "bookinfo-gateway");
    assert!(
        stack.output().contains("istio-ingressgateway"),
        "the table shows it:\n{}",
        stack.output()
    );

    // 1. Nothing is bound to the Gateway yet: the gateway answers 404 itself.
    let (status, failed, _) = get(&format!("{}/productpage", gateway.url)).await;
    assert_eq!((status, failed.as_deref()), (404, Some("proxy")));

    // 2. Bookinfo's Gateway and its VirtualService: /productpage comes in.
    apply(&stack, &["bookinfo-gateway.yaml"]);
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let (status, _, body) = get(&format!("{}/productpage", gateway.url)).await;
        if status == 200 {
            assert!(body.contains("Simple Bookstore App"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never let /productpage in; last answer {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, body) = get(&format!("{}/api/v1/products", gateway.url)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("The Comedy of Errors"), "{body}");

    // 3. Only the five paths: `/` is not one of them.
    let (status, failed, _) = get(&format!("{}/", gateway.url)).await;
    assert_eq!((status, failed.as_deref()), (404, Some("proxy")));

    // 4. Its access log names the rule that let the page in, and the refusal.
    let log_path = stack
        .data_dir()
        .join("logs")
        .join("istio-ingressgateway.log");
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let let_in = log.lines().any(|l| {
            l.contains("\"GET /productpage HTTP/1.1\" 200") && l.contains("\"bookinfo/http[0]\"")
        });
        let refused = log.lines().any(|l| l.contains("\"GET / HTTP/1.1\" 404 NR"));
        if let_in && refused {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway's access log lacks the lines:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 5. SIGTERM stops it with the rest.
    let exit = stack.terminate();
    assert!(exit.success(), "{exit}\n{}", stack.output());
    assert!(
        !is_alive(gateway.pid),
        "gateway pid {} still runs",
        gateway.pid
    );
}
