//! End to end: `sailkit apply` and `sailkit delete` on a running stack go through its control
//! plane's Config API. An applied routing change is in every proxy when apply returns (seen on
//! the page's stars), a refused file changes no proxy's version, a delete sent from elsewhere
//! with `--control-plane URL` (as from outside docker compose) brings the default routing back,
//! and a second delete of the same resource says it is not in force.

mod support;

use std::path::Path;

use support::{Stack, apply_to, proxy_status, ratings_on, run, scenario, until, until_all_synced};

/// Every proxy's id and the config version it ACKed last.
fn acked(stack: &Stack) -> Vec<(String, String)> {
    proxy_status(stack)["proxies"]
        .as_array()
        .expect("proxies")
        .iter()
        .map(|p| {
            let field = |name: &str| p[name].as_str().unwrap_or_default().to_owned();
            (field("proxy_id"), field("acked_config_version"))
        })
        .collect()
}

/// The version in `... (config version V)`, the last line of an apply or delete.
fn version_said(stdout: &str) -> String {
    let (_, rest) = stdout
        .rsplit_once("(config version ")
        .unwrap_or_else(|| panic!("no config version in:\n{stdout}"));
    rest.trim_end().trim_end_matches(')').to_owned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("config folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn apply_and_delete_go_through_the_control_plane() {
    let stack = Stack::start();
    let control = stack.state.control_plane.clone().expect("a control plane");
    let folder = stack.data_dir().join("mesh").join("config");
    until_all_synced(&stack);

    // 1. All to v1. When apply returns, every proxy has ACKed the new version.
    let rule = scenario("destination-rule-all.yaml");
    let all_v1 = scenario("virtual-service-all-v1.yaml");
    let applied = apply_to(&stack.data_dir(), &[rule, all_v1.clone()]);
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{applied:?}");
    assert!(
        stdout.contains(&format!(
            "applied {} (VirtualService productpage, VirtualService reviews",
            all_v1.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("in force in all 9 proxies"), "{stdout}");
    let version = version_said(&stdout);
    let in_force = acked(&stack);
    assert_eq!(in_force.len(), 9);
    assert!(in_force.iter().all(|(_, v)| *v == version), "{in_force:?}");
    until(&stack, None, "no stars (reviews v1)", |p| {
        ratings_on(p).is_empty() && p.contains("Reviews served by: reviews-v1")
    })
    .await;

    // 2. A broken file: the error with file:line:col, and no proxy's version moves.
    let mistakes = tempfile::tempdir().expect("tempdir");
    let split =
        std::fs::read_to_string(scenario("virtual-service-reviews-50-v3.yaml")).expect("scenario");
    let broken = mistakes.path().join("my-split.yaml");
    std::fs::write(&broken, split.replace("weight: 50", "weight: 60")).expect("write");
    let files_before = names(&folder);
    let refused = apply_to(&stack.data_dir(), std::slice::from_ref(&broken));
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains(&format!(
            "{}:10:7: error: spec.http[0].route: the weights add up to 120",
            broken.display()
        )),
        "{said}"
    );
    let verdict = String::from_utf8_lossy(&refused.stderr);
    assert!(
        verdict.contains(&format!(
            "error: nothing applied: the configuration in force in {} is unchanged",
            folder.display()
        )),
        "{verdict}"
    );
    assert_eq!(acked(&stack), in_force);
    assert_eq!(names(&folder), files_before);

    // 3. `apply --list` asks the control plane what is in force.
    let data_dir = stack.data_dir().display().to_string();
    let listed = run(&["apply", "--list", "--data-dir", &data_dir]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    let reviews = format!(
        "VirtualService   default/reviews          {}",
        folder.join("virtual-service-all-v1.yaml").display()
    );
    assert!(listed.lines().any(|l| l == reviews), "{listed}");

    // 4. Deleted from elsewhere: a data directory with no stack, and the control plane's URL,
    //    so the change can only travel over gRPC. The default routing (every version) is back.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let elsewhere = elsewhere.path().display().to_string();
    let all_v1 = all_v1.display().to_string();
    let delete = |what: &str| {
        run(&[
            "delete",
            "--control-plane",
            &control.grpc,
            "--data-dir",
            &elsewhere,
            what,
        ])
    };
    let deleted = delete(&all_v1);
    let stdout = String::from_utf8_lossy(&deleted.stdout);
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(
        stdout.contains(&format!(
            "removed {} (deleted: VirtualService productpage, VirtualService reviews",
            folder.join("virtual-service-all-v1.yaml").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("in force in all 9 proxies"), "{stdout}");
    assert_eq!(names(&folder), ["destination-rule-all.yaml"]);
    for colour in ["black", "red"] {
        until(&stack, None, &format!("{colour} stars"), |p| {
            ratings_on(p).iter().any(|(_, c)| c == colour)
        })
        .await;
    }

    // 5. Gone: a second delete names what is not there, and changes nothing.
    let again = delete("vs/reviews");
    assert!(!again.status.success(), "{again:?}");
    let verdict = String::from_utf8_lossy(&again.stderr);
    assert!(
        verdict.contains("error: not in force: VirtualService default/reviews"),
        "{verdict}"
    );
}
