//! Traffic behaviours of the mesh, end to end: traffic shifting, connection-pool limits (the
//! circuit breaker), mirroring, and `sailkit apply` refusing bad YAML.
//!
//! The first three each start their own stack (`sailkit up --port-base 0`, sidecars on) and
//! look at what a learner would look at: the product page, `sailkit load`'s JSON, a sidecar's
//! `/stats` and its access log (`<data-dir>/logs/<instance>-sidecar.log`). The bad-YAML tests
//! need no stack: `sailkit apply --data-dir` works on an empty data directory.
//!
//! The config files these tests invent (the circuit breaker, the mirror) are written into a
//! temporary folder, not `k8s/networking/`, which holds Bookinfo's own scenario files only.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{
    IN_FORCE_TIMEOUT, Stack, apply_to, config_dump, ratings_on, run, scenario, sidecar, stat,
};

/// How long a count that follows a request (a stats counter, an access-log line, a mirrored
/// copy sent from its own task) may lag behind it.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Helpers: applying, waiting for the config, reading pages, stats and logs.

/// Applies `files` to the stack, then waits until every sidecar has loaded the result.
async fn apply_and_wait(stack: &Stack, files: &[PathBuf]) {
    let applied = apply_to(&stack.data_dir(), files);
    assert!(applied.status.success(), "apply {files:?}: {applied:?}");
    in_force(stack).await;
}

/// Waits until every sidecar's `/config_dump` shows exactly the files of the config folder,
/// loaded without error. `apply` writes the new files before removing the ones they replace,
/// so a sidecar may see (and refuse) the in-between state first; polling for the final set
/// gets past it.
async fn in_force(stack: &Stack) {
    let dir = stack.data_dir().join("mesh").join("config");
    // By file name: a sidecar reading the folder reports paths, one fed by the control plane
    // the names the control plane sends.
    let name = |path: &std::path::Path| path.file_name().map(|n| n.to_string_lossy().into_owned());
    let want: BTreeSet<String> = mesh_proxy::state::config_files(&dir)
        .expect("config dir")
        .iter()
        .filter_map(|path| name(path))
        .collect();
    let deadline = Instant::now() + IN_FORCE_TIMEOUT;
    for instance in &stack.state.instances {
        let admin = &sidecar(&stack.state, &instance.name).admin;
        loop {
            let dump = config_dump(admin).await;
            let config = &dump["config"];
            let files: BTreeSet<String> = config["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| name(&PathBuf::from(f.as_str()?)))
                .collect();
            if files == want && config["rejected"] == false {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never loaded {want:?} within {IN_FORCE_TIMEOUT:?}: {config:#}",
                instance.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls until `current()` reaches `want` and returns it; fails after [`SETTLE_TIMEOUT`].
async fn settles<F, Fut>(what: &str, want: u64, mut current: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let now = current().await;
        if now >= want {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {now} after {SETTLE_TIMEOUT:?}, expected at least {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The address of the (only) endpoint of `service` in the mesh's registry: where sidecars
/// send its requests, as their access log names it.
fn endpoint(stack: &Stack, service: &str) -> String {
    let registry = stack.registry();
    let services = registry["services"].as_array().expect("services");
    let found = services.iter().find(|s| s["name"] == service);
    let endpoints = found.and_then(|s| s["endpoints"].as_array());
    match endpoints.map(Vec::as_slice) {
        Some([one]) => one["address"].as_str().expect("address").to_string(),
        _ => panic!("one endpoint of {service} in {registry:#}"),
    }
}

/// How many lines of `log` contain `needle`.
fn lines_with(log: &str, needle: &str) -> u64 {
    log.lines().filter(|l| l.contains(needle)).count() as u64
}

/// One anonymous product page; productpage answers 200 whatever its peers do.
async fn page(stack: &Stack) -> String {
    let page = support::page(stack, None).await;
    assert!(
        page.contains("Reviewer1") && page.contains("Reviewer2"),
        "the reviews came:\n{page}"
    );
    page
}

/// Writes `text` as `dir/name` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a config file");
    path
}

// ---------------------------------------------------------------------------------------------
// 1. Traffic shifting (istio.io task "traffic shifting").

/// Pages fetched under the 50/50 split.
const SHIFT_PAGES: u64 = 200;
/// The band the number of red (v3) pages must fall in. Each page's reviews call goes to v3
/// with probability 1/2, independently, so the red count is Binomial(200, 1/2). Exactly,
/// P(X < 66) = P(X > 134) = 4.2e-7, so a correct mesh fails this band with probability
/// 8.3e-7 < 1e-6. Both versions are seen whenever the count is in the band; a split that
/// sends nothing (or everything) to v3, or 80/20 either way, falls outside it.
const SHIFT_RED: std::ops::RangeInclusive<u64> = 66..=134;

#[tokio::test]
async fn fifty_fifty_between_v1_and_v3_shows_no_stars_or_red_stars_about_half_each() {
    let stack = Stack::start();
    apply_and_wait(
        &stack,
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-all-v1.yaml"),
        ],
    )
    .await;
    for _ in 0..5 {
        assert_eq!(ratings_on(&page(&stack).await), vec![], "all v1: no stars");
    }

    apply_and_wait(&stack, &[scenario("virtual-service-reviews-50-v3.yaml")]).await;
    let red_stars = vec![(5, "red".to_string()), (4, "red".to_string())];
    let mut red = 0;
    for _ in 0..SHIFT_PAGES {
        let page = page(&stack).await;
        let ratings = ratings_on(&page);
        if ratings == red_stars {
            red += 1;
        } else {
            // Anything else (black stars of v2, an error in place of the stars) is wrong.
            assert_eq!(ratings, vec![], "only v1 or v3:\n{page}");
        }
    }
    assert!(
        SHIFT_RED.contains(&red),
        "{red} of {SHIFT_PAGES} pages had red stars; a 50/50 split gives {SHIFT_RED:?} \
         but for a chance below 1e-6"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Connection-pool limits (istio.io task "circuit breaking", on details instead of httpbin).

/// The task's DestinationRule: one connection, one request waiting for it, no connection
/// reused. Its outlier detection is left out: this test is about the pool limits alone.
const CIRCUIT_BREAKER: &str = "\
# details through a tiny connection pool: one request in flight and one waiting, per
# calling sidecar; a third at the same moment is refused at once (503, flag UO).
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
spec:
  host: details
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
";

/// Requests of the load run. Three connections keep three requests in flight all the time
/// (an overflow is answered at once, and that connection sends its next request), so the
/// third one overflows again and again; 90 leaves no room for a run without any overflow.
const LOAD_REQUESTS: u64 = 90;

#[tokio::test]
async fn connection_pool_limits_refuse_the_overflow_with_503_uo() {
    let stack = Stack::start();
    let config = tempfile::tempdir().expect("tempdir");
    let file = write(
        config.path(),
        "destination-rule-details-circuit-breaker.yaml",
        CIRCUIT_BREAKER,
    );
    apply_and_wait(&stack, &[file]).await;

    // The caller: productpage's sidecar, the one productpage itself reaches details through.
    let caller = sidecar(&stack.state, "productpage-v1");
    let details = endpoint(&stack, "details");
    let overflow_before = stat(&caller.admin, "upstream_rq_pending_overflow").await;
    let uo_before = stat(&caller.admin, "flag_UO").await;
    let log_before = stack.sidecar_log("productpage-v1");
    let ok_line = "\"GET /details/0 HTTP/1.1\" 200 - ";
    let uo_line = "\"GET /details/0 HTTP/1.1\" 503 UO ";

    let requests = LOAD_REQUESTS.to_string();
    let url = format!("{}/details/0", caller.outbound);
    let load = run(&[
        "load",
        "-c",
        "3",
        "-n",
        &requests,
        "--timeout",
        "30s",
        "--json",
        "-H",
        "Host: details",
        &url,
    ]);
    assert!(load.status.success(), "{load:?}");
    let report: serde_json::Value = serde_json::from_slice(&load.stdout).expect("load's JSON");
    let status = |code: &str| report["status_codes"][code].as_u64().unwrap_or(0);
    let (ok, refused) = (status("200"), status("503"));
    assert_eq!(report["answered"], LOAD_REQUESTS, "{report:#}");
    assert_eq!(ok + refused, LOAD_REQUESTS, "only 200 and 503: {report:#}");
    assert!(ok > 0, "some requests got through: {report:#}");
    assert!(refused > 0, "some requests overflowed the pool: {report:#}");

    // Every 503 was the breaker's: counted as an overflow and flagged UO...
    let overflow = settles(
        "upstream_rq_pending_overflow",
        overflow_before + refused,
        || stat(&caller.admin, "upstream_rq_pending_overflow"),
    )
    .await;
    assert_eq!(overflow - overflow_before, refused);
    let uo = settles("flag_UO", uo_before + refused, || {
        stat(&caller.admin, "flag_UO")
    })
    .await;
    assert_eq!(uo - uo_before, refused);
    // ... and logged with the flag and no upstream (it never left the sidecar), while the
    // answered requests name the address of details.
    let new_lines = || {
        let log = stack.sidecar_log("productpage-v1");
        log.get(log_before.len()..).unwrap_or_default().to_string()
    };
    settles("access-log lines", LOAD_REQUESTS, || {
        let lines = new_lines();
        async move { lines_with(&lines, "\"GET /details/0 HTTP/1.1\"") }
    })
    .await;
    let lines = new_lines();
    assert_eq!(lines_with(&lines, uo_line), refused, "{lines}");
    let uo_without_upstream = format!("{uo_line}0 ");
    assert!(
        lines
            .lines()
            .filter(|l| l.contains(uo_line))
            .all(|l| l.contains(&uo_without_upstream) && l.contains("\"-\"")),
        "{lines}"
    );
    let ok_lines: Vec<&str> = lines.lines().filter(|l| l.contains(ok_line)).collect();
    assert_eq!(ok_lines.len() as u64, ok, "{lines}");
    assert!(
        ok_lines
            .iter()
            .all(|l| l.contains(&format!("\"{details}\""))),
        "answered by details ({details}):\n{lines}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Mirroring (istio.io task "mirroring", on reviews instead of httpbin).

/// Every reviews call goes to v1, and a copy of each goes to v2, whose answer is thrown away.
const MIRROR: &str = "\
# reviews v1 answers every call (no stars); a copy of each call goes to v2, whose answer is
# thrown away.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
    - route:
        - destination:
            host: reviews
            subset: v1
          weight: 100
      mirror:
        host: reviews
        subset: v2
      mirrorPercentage:
        value: 100.0
";

/// Pages fetched in each phase.
const MIRROR_PAGES: u64 = 20;

/// reviews v2 calls ratings once per request it serves and v1 never does, so the calls going
/// out of v2's sidecar count the requests v2 got: none while everything goes to v1, one per
/// page once v2 receives copies.
#[tokio::test]
async fn mirroring_sends_copies_to_v2_while_callers_see_only_v1() {
    let stack = Stack::start();
    apply_and_wait(
        &stack,
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-all-v1.yaml"),
        ],
    )
    .await;
    let (v2, v3) = (
        sidecar(&stack.state, "reviews-v2"),
        sidecar(&stack.state, "reviews-v3"),
    );
    let ratings_line = "\"GET /ratings/0 HTTP/1.1\" 200 ";

    // Without the mirror, v2 and v3 get nothing.
    let v2_before = stat(&v2.admin, "requests").await;
    let v3_before = stat(&v3.admin, "requests").await;
    for _ in 0..MIRROR_PAGES {
        assert_eq!(ratings_on(&page(&stack).await), vec![], "all v1: no stars");
    }
    assert_eq!(
        stat(&v2.admin, "requests").await,
        v2_before,
        "v2 gets no calls"
    );
    let log_before = stack.sidecar_log("reviews-v2");

    // With it, the callers still see v1 only, and v2 serves a copy of every call.
    let config = tempfile::tempdir().expect("tempdir");
    let file = write(
        config.path(),
        "virtual-service-reviews-mirror-v2.yaml",
        MIRROR,
    );
    apply_and_wait(&stack, &[file]).await;
    for _ in 0..MIRROR_PAGES {
        assert_eq!(
            ratings_on(&page(&stack).await),
            vec![],
            "v1 answers: no stars"
        );
    }
    // v2's sidecar logs one ratings call per copy. Only its outbound lines count: lines of an
    // inbound side, were requests to v2 to pass its sidecar, are named `inbound|<port>`.
    let outbound_ratings_calls = || {
        let log = stack.sidecar_log("reviews-v2");
        let lines = log.get(log_before.len()..).unwrap_or_default();
        lines
            .lines()
            .filter(|l| l.contains(ratings_line) && !l.contains("\"inbound|"))
            .count() as u64
    };
    settles(
        "ratings calls in reviews-v2's access log",
        MIRROR_PAGES,
        || {
            let calls = outbound_ratings_calls();
            async move { calls }
        },
    )
    .await;
    // Exactly one copy per call: no more once they have all arrived.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbound_ratings_calls(), MIRROR_PAGES, "one copy per call");
    let v2_requests = stat(&v2.admin, "requests").await - v2_before;
    assert!(
        v2_requests >= MIRROR_PAGES,
        "{v2_requests} requests in /stats"
    );
    assert_eq!(
        stat(&v3.admin, "requests").await,
        v3_before,
        "v3 is not the mirror"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. `sailkit apply` refuses bad YAML, one case per class of mistake.

/// A good VirtualService, the base of most bad files: weights on lines 13 and 17.
const GOOD_VS: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
    - route:
        - destination:
            host: reviews
            subset: v1
          weight: 80
        - destination:
            host: reviews
            subset: v2
          weight: 20
";

/// A good DestinationRule; its load balancer is on line 9.
const GOOD_DR: &str = "\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: RANDOM
  subsets:
    - name: v1
      labels: {version: v1}
";

/// Every file of a folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("config dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            let bytes = std::fs::read(entry.path()).expect("read");
            (entry.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// Applies Bookinfo's `destination-rule-all.yaml` and `virtual-service-reviews-80-20.yaml`
/// to an empty data directory, then the bad file: the apply must fail, print one error at
/// `file:line:column: error: path: ...` mentioning the message, and leave the config folder
/// exactly as it was. The line and column are those of the field's key (of the offending
/// character for a YAML syntax error, where `path` is empty).
fn assert_refused(refusal: &Refusal) {
    let Refusal {
        name,
        bad,
        at: (line, column),
        path,
        message,
    } = *refusal;
    let data = tempfile::tempdir().expect("tempdir");
    let good = apply_to(
        data.path(),
        &[
            scenario("destination-rule-all.yaml"),
            scenario("virtual-service-reviews-80-20.yaml"),
        ],
    );
    assert!(good.status.success(), "{good:?}");
    let config_dir = data.path().join("mesh").join("config");
    let before = snapshot(&config_dir);
    assert_eq!(before.len(), 2, "{before:?}");

    let files = tempfile::tempdir().expect("tempdir");
    let file = write(files.path(), name, &bad());
    let refused = apply_to(data.path(), std::slice::from_ref(&file));
    let stdout = String::from_utf8_lossy(&refused.stdout);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{name} was refused: {refused:?}");
    // The diagnostics go to stdout, one a line; the verdict to stderr.
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains(": error: ")).collect();
    let at = match path {
        "" => format!("{}:{line}:{column}: error: ", file.display()),
        path => format!("{}:{line}:{column}: error: {path}: ", file.display()),
    };
    assert!(
        matches!(errors.as_slice(), [one] if one.starts_with(&at) && one.contains(message)),
        "{name}: expected one error `{at}...{message}...`, got:\n{stdout}"
    );
    assert!(stderr.contains("nothing applied"), "{name}: {stderr}");
    assert_eq!(
        snapshot(&config_dir),
        before,
        "{name}: the config in force is unchanged"
    );
}

/// One class of mistake: the file `name`, made by `bad` from a good file, refused with one
/// error at `at` (line, column) on `path` (empty for a YAML syntax error) mentioning `message`.
struct Refusal {
    name: &'static str,
    bad: fn() -> String,
    at: (usize, usize),
    path: &'static str,
    message: &'static str,
}

/// 342 bytes that stand for 9^9 strings: `a: &a ["lol",...]`, then each next letter a list of
/// nine aliases of the one before, up to `i`. Expanding it takes more memory than any machine has.
fn alias_bomb() -> String {
    let mut text = format!("a: &a [\"lol\"{}]\n", ",\"lol\"".repeat(8));
    for pair in b"abcdefghi".windows(2) {
        let (previous, next) = (pair[0] as char, pair[1] as char);
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text += &format!("{next}: &{next} [{aliases}]\n");
    }
    text
}

/// The classes of mistake `sailkit apply` must refuse, one each.
const REFUSALS: &[Refusal] = &[
    Refusal {
        // The parser points at the bracket that was never closed.
        name: "unclosed-bracket.yaml",
        bad: || GOOD_VS.replace("weight: 20", "weight: [20"),
        at: (17, 19),
        path: "",
        message: "malformed YAML",
    },
    Refusal {
        name: "typo.yaml",
        bad: || GOOD_VS.replace("weight: 20", "wieght: 20"),
        at: (17, 11),
        path: "spec.http[0].route[1].wieght",
        message: "unknown field `wieght`",
    },
    Refusal {
        name: "wrong-type.yaml",
        bad: || GOOD_VS.replace("weight: 20", "weight: twenty"),
        at: (17, 11),
        path: "spec.http[0].route[1].weight",
        message: "invalid type",
    },
    Refusal {
        name: "weights.yaml",
        bad: || GOOD_VS.replace("weight: 20", "weight: 30"),
        at: (9, 7),
        path: "spec.http[0].route",
        message: "add up to 110",
    },
    Refusal {
        name: "weight-range.yaml",
        bad: || {
            GOOD_VS
                .replace("weight: 80", "weight: 0")
                .replace("weight: 20", "weight: 120")
        },
        at: (17, 11),
        path: "spec.http[0].route[1].weight",
        message: "outside 0..=100",
    },
    Refusal {
        // The second copy starts on line 19 (after `---` on line 18): its name is on line 22.
        name: "twice.yaml",
        bad: || format!("{GOOD_VS}---\n{GOOD_VS}"),
        at: (22, 3),
        path: "metadata.name",
        message: "already defined at",
    },
    Refusal {
        name: "duplicate-key.yaml",
        bad: || GOOD_VS.replace("weight: 20", "weight: 20\n          weight: 30"),
        at: (18, 11),
        path: "",
        message: "duplicate key `weight`",
    },
    Refusal {
        name: "duration.yaml",
        bad: || GOOD_VS.replace("    - route:", "    - timeout: 7\n      route:"),
        at: (9, 7),
        path: "spec.http[0].timeout",
        message: "invalid duration",
    },
    Refusal {
        name: "no-hosts.yaml",
        bad: || GOOD_VS.replace("  hosts:\n    - reviews\n", ""),
        at: (5, 1),
        path: "spec",
        message: "missing field `hosts`",
    },
    Refusal {
        name: "kind.yaml",
        bad: || GOOD_VS.replace("kind: VirtualService", "kind: VirtualServce"),
        at: (2, 1),
        path: "kind",
        message: "unknown kind",
    },
    Refusal {
        name: "version.yaml",
        bad: || GOOD_VS.replace("networking.istio.io/v1", "networking.istio.io/v2"),
        at: (1, 1),
        path: "apiVersion",
        message: "unknown version",
    },
    Refusal {
        name: "enum.yaml",
        bad: || GOOD_DR.replace("simple: RANDOM", "simple: FASTEST"),
        at: (9, 7),
        path: "spec.trafficPolicy.loadBalancer.simple",
        message: "unknown variant `FASTEST`",
    },
    Refusal {
        name: "regex.yaml",
        bad: || {
            GOOD_VS.replace(
                "    - route:",
                "    - match:\n        - uri:\n            regex: \"/api/(v1\"\n      route:",
            )
        },
        at: (11, 13),
        path: "spec.http[0].match[0].uri.regex",
        message: "invalid regex",
    },
    Refusal {
        name: "retry-on.yaml",
        bad: || {
            GOOD_VS.replace(
                "    - route:",
                "    - retries:\n        attempts: 3\n        retryOn: 5xx,sometimes\n      route:",
            )
        },
        at: (11, 9),
        path: "spec.http[0].retries.retryOn",
        message: "\"sometimes\"",
    },
    Refusal {
        // Refused at the alias that would take the copies past their limit, the sixth `*d`.
        name: "alias-bomb.yaml",
        bad: alias_bomb,
        at: (5, 23),
        path: "",
        message: "limit of 50000 nodes copied by aliases",
    },
];

#[test]
fn apply_refuses_each_class_of_bad_yaml() {
    for refusal in REFUSALS {
        assert_refused(refusal);
    }
}
