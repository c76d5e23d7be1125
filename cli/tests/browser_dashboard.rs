//! The mesh dashboard in a real browser: headless Chromium, driven through WebDriver, on the
//! dashboard that `sailkit up` serves, while `sailkit load` sends Bookinfo pages through the
//! stack. The graph page redraws itself every few seconds, so the test loads it once and
//! watches it change, as a person watching the screen would.
//!
//! What is covered: the graph under load (productpage calls the three reviews versions, v2 and
//! v3 call ratings); `virtual-service-all-v1.yaml` making the edges to reviews v2 and v3 idle
//! (drawn faded) within the dashboard's 10 s window while v1 stays healthy; the ratings delay
//! for jason making his edges slow and failing (the delayed calls drawn to the service
//! `ratings`, since they reach none of its instances), and the failed edge's traces holding his 6 s
//! page in their waterfall.
//!
//! Needs `chromium` and `chromedriver` (see `support::browser`); skips without them, unless
//! `CI` is set. Screenshots go to `test-artifacts/` at the repository root.

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Stdio};

use support::browser::Browser;
use support::{Stack, apply, sign_in};

/// An edge of the graph as drawn now, from its `g.edge` element's attributes.
#[derive(Debug, Clone, PartialEq)]
struct DrawnEdge {
    /// `healthy`, `degraded`, `failing` or `idle` (the class `edge-<state>`).
    state: String,
    /// The class `slow`: a p99 of a second or more.
    slow: bool,
    /// `data-p99-ms`, absent on an edge with no request in the window.
    p99_ms: Option<f64>,
}

/// Every edge of the drawing, by (source, destination) workload. One script reads them all at
/// once: the page replaces its drawing every few seconds, and elements found one by one could
/// belong to two different drawings, or vanish between two calls.
async fn edges(browser: &Browser) -> BTreeMap<(String, String), DrawnEdge> {
    let script = "return Array.from(document.querySelectorAll('g.edge')).map(e => [\
                  e.getAttribute('data-source'), e.getAttribute('data-destination'), \
                  e.getAttribute('data-state'), e.classList.contains('slow'), \
                  e.getAttribute('data-p99-ms')]);";
    let rows = browser.script(script).await;
    let mut edges = BTreeMap::new();
    for row in rows.as_array().into_iter().flatten() {
        let text = |i: usize| row[i].as_str().unwrap_or_default().to_string();
        edges.insert(
            (text(0), text(1)),
            DrawnEdge {
                state: text(2),
                slow: row[3].as_bool().unwrap_or(false),
                p99_ms: row[4].as_str().and_then(|ms| ms.parse().ok()),
            },
        );
    }
    edges
}

/// The state of the edge `from` → `to` in `edges`, `None` when it is not drawn.
fn state<'e>(
    edges: &'e BTreeMap<(String, String), DrawnEdge>,
    from: &str,
    to: &str,
) -> Option<&'e str> {
    let edge = edges.get(&(from.to_string(), to.to_string()))?;
    Some(edge.state.as_str())
}

/// `sailkit load` running in the background against the stack, stopped when dropped. A child
/// process rather than a thread around [`support::run`]: the test ends it when it is done,
/// instead of waiting for a duration chosen in advance.
struct Load {
    child: Child,
}

impl Load {
    /// Sends pages to `url` on `connections` connections at `qps` pages a second (0: each
    /// connection as fast as the pages come), with the request headers `headers`.
    fn start(url: &str, connections: u32, qps: u32, headers: &[String]) -> Self {
        let mut command = support::sailkit();
        command.args(["load", "--quiet", "-t", "10m", "--timeout", "30s"]);
        command.args(["-c", &connections.to_string(), "--qps", &qps.to_string()]);
        for header in headers {
            command.args(["-H", header]);
        }
        let child = command
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sailkit load starts");
        Self { child }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A duration as the trace pages print it (`6012.35 ms`), in milliseconds.
fn millis(text: &str) -> Option<f64> {
    text.trim().strip_suffix("ms")?.trim().parse().ok()
}

#[tokio::test]
async fn the_graph_follows_the_traffic_fades_unused_versions_and_shows_the_ratings_delay() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let stack = Stack::start();
    let dashboard = stack
        .state
        .dashboard
        .as_ref()
        .unwrap_or_else(|| panic!("no dashboard in stack.json:\n{}", stack.output()))
        .url
        .clone();
    let app = &stack.state.app_url;
    // A modest, steady load: ten pages a second leave the machine to the stack and the browser.
    let _anonymous = Load::start(app, 2, 10, &[]);

    // 1. The graph draws Bookinfo's calls as they happen: productpage calls the three reviews
    //    versions in turn (no routing applied yet), v2 and v3 call ratings. All healthy.
    browser.open(&dashboard).await;
    let calls = [
        ("productpage-v1", "reviews-v1"),
        ("productpage-v1", "reviews-v2"),
        ("productpage-v1", "reviews-v3"),
        ("reviews-v2", "ratings-v1"),
        ("reviews-v3", "ratings-v1"),
    ];
    let drawn = browser
        .until("the graph shows Bookinfo's calls, healthy", async |b| {
            let edges = edges(b).await;
            let healthy = |&(from, to)| state(&edges, from, to) == Some("healthy");
            calls.iter().all(healthy).then_some(edges)
        })
        .await;
    assert!(
        state(&drawn, "reviews-v1", "ratings-v1").is_none(),
        "reviews v1 never calls ratings: {drawn:?}"
    );
    // The table under the drawing lists the same edges, with their numbers.
    let rps = browser
        .script(
            "const cell = document.querySelector(\"tr.edge-row[data-source='productpage-v1']\
             [data-destination='reviews-v1'] td.rps\"); return cell && cell.textContent;",
        )
        .await;
    let rps: f64 = rps.as_str().and_then(|r| r.parse().ok()).unwrap_or(0.0);
    assert!(rps > 0.0, "productpage → reviews-v1 at {rps} req/s");
    browser.screenshot("dashboard-graph").await;

    // 2. Every service on v1: under the same load, the edges to reviews v2 and v3 (and theirs
    //    to ratings) see no request any more and turn idle, drawn faded, once the dashboard's
    //    10 s window has slid past their last request. v1 stays healthy.
    apply(
        &stack,
        &["virtual-service-all-v1.yaml", "destination-rule-all.yaml"],
    );
    let faded = browser
        .until("the edges to reviews v2 and v3 are idle", async |b| {
            let edges = edges(b).await;
            let idle = |&(from, to)| state(&edges, from, to) == Some("idle");
            calls[1..].iter().all(idle).then_some(edges)
        })
        .await;
    assert_eq!(
        state(&faded, "productpage-v1", "reviews-v1"),
        Some("healthy"),
        "{faded:?}"
    );
    // Faded, as the stylesheet draws an idle edge.
    let opacity = browser
        .script(
            "return getComputedStyle(document.querySelector(\
             \"g.edge[data-destination='reviews-v2']\")).opacity;",
        )
        .await;
    assert_eq!(opacity.as_str(), Some("0.35"), "an idle edge is faded");
    browser.screenshot("dashboard-graph-all-v1").await;

    // 3. The ratings delay for jason: his reviews come from v2, whose calls to ratings are held
    //    7 s; productpage gives reviews 3 s per attempt, twice, so his page takes about 6 s.
    //    His pages go on beside the anonymous load.
    let jason = sign_in(&stack, "jason").await;
    apply(
        &stack,
        &[
            "virtual-service-reviews-test-v2.yaml",
            "virtual-service-ratings-test-delay.yaml",
        ],
    );
    let _jason = Load::start(app, 2, 0, &[format!("cookie: {jason}")]);
    // The delayed calls reach no ratings instance (reviews gives up first), so, as in Kiali,
    // they are drawn to the service `ratings` rather than to one of its workloads.
    let delayed = [("productpage-v1", "reviews-v2"), ("reviews-v2", "ratings")];
    let slow = browser
        .until("jason's edges are slow", async |b| {
            let edges = edges(b).await;
            let slow = |&(from, to): &(&str, &str)| {
                edges
                    .get(&(from.to_string(), to.to_string()))
                    .is_some_and(|e| e.slow)
            };
            delayed.iter().all(slow).then_some(edges)
        })
        .await;
    for (from, to) in delayed {
        let edge = &slow[&(from.to_string(), to.to_string())];
        // Every one of his calls to reviews and ratings was given up after 3 s.
        assert_eq!(edge.state, "failing", "{from} → {to}: {edge:?}");
        let p99 = edge.p99_ms.expect("a p99");
        assert!(p99 >= 2500.0, "{from} → {to}: p99 {p99} ms");
    }
    assert!(
        !slow[&("productpage-v1".to_string(), "reviews-v1".to_string())].slow,
        "everyone else's pages stay fast: {slow:?}"
    );
    browser.screenshot("dashboard-graph-delay").await;

    // 4. From the failing edge to its traces, and to the waterfall of one of jason's pages:
    //    productpage's page took about 6 s, spent in two attempts of 3 s to reviews v2.
    let script = "const a = document.querySelector(\"tr.edge-row[data-source='productpage-v1']\
                  [data-destination='reviews-v2'] a.edge-traces\"); \
                  return a ? a.getAttribute('href') : null;";
    let href = browser
        .until("the failing edge links to its traces", async |b| {
            b.script(script).await.as_str().map(str::to_string)
        })
        .await;
    browser.open(&format!("{dashboard}{href}")).await;
    browser.element("#traces tr.trace[data-error='true']").await;
    browser.screenshot("dashboard-traces-delay").await;
    // The list shows what had arrived when it was drawn; the waterfall is read once every span
    // of a page (the 6 s one last) is in.
    let trace = browser
        .element("#traces tr.trace[data-error='true'] a")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a link to the trace");
    let spans = browser
        .until("a span of jason's page lasts about 6 s", async |b| {
            b.open(&format!("{dashboard}{trace}")).await;
            let mut spans = Vec::new();
            for row in b.elements("#waterfall tr.span").await {
                let service = row
                    .find(fantoccini::Locator::Css("td.service"))
                    .await
                    .ok()?;
                let duration = row
                    .find(fantoccini::Locator::Css("td.duration"))
                    .await
                    .ok()?;
                let ms = millis(&duration.text().await.ok()?)?;
                spans.push((service.text().await.ok()?, ms));
            }
            spans.iter().any(|(_, ms)| *ms >= 5500.0).then_some(spans)
        })
        .await;
    let longest = spans.iter().map(|(_, ms)| *ms).fold(0.0_f64, f64::max);
    assert!(
        (5500.0..9000.0).contains(&longest),
        "about 6 s, two attempts of 3 s: {spans:?}"
    );
    assert!(
        spans
            .iter()
            .any(|(service, _)| service.starts_with("reviews")),
        "the trace goes on into reviews: {spans:?}"
    );
    browser.screenshot("dashboard-trace-delay").await;

    browser.close().await;
}
