//! An alias bomb in the config folder: the proxy refuses the file, says where and why in
//! `/config_dump`, and keeps routing with the last good config.

mod support;

use support::{Mesh, scenario, upstream};

const REVIEWS: &str = "http://reviews:9080/reviews/0";

/// 342 bytes of YAML that stand for 9^9 strings: `a: &a ["lol",...]`, then each next letter a
/// list of nine aliases of the one before, up to `i`.
fn alias_bomb() -> String {
    let mut text = format!("a: &a [\"lol\"{}]\n", ",\"lol\"".repeat(8));
    for pair in b"abcdefghi".windows(2) {
        let (previous, next) = (pair[0] as char, pair[1] as char);
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text += &format!("{next}: &{next} [{aliases}]\n");
    }
    text
}

#[tokio::test]
async fn an_alias_bomb_is_refused_and_the_routing_in_force_stays() {
    let (v1, v2) = (upstream("v1").await, upstream("v2").await);
    let mesh = Mesh::start(
        &[("reviews", vec![(v1.addr, "v1"), (v2.addr, "v2")])],
        &[
            (
                "destination-rule-all.yaml",
                scenario("destination-rule-all.yaml"),
            ),
            (
                "virtual-service-all-v1.yaml",
                scenario("virtual-service-all-v1.yaml"),
            ),
        ],
    )
    .await;
    for _ in 0..4 {
        assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");
    }

    let bomb = alias_bomb();
    assert_eq!(bomb.len(), 342);
    mesh.write_config("bomb.yaml", &bomb);
    let dump = mesh
        .wait_for("/config_dump", |_, body| {
            body.contains("\"rejected\": true")
        })
        .await;
    let dump: serde_json::Value = serde_json::from_str(&dump).expect("config_dump is JSON");
    let diagnostics = dump["config"]["diagnostics"].to_string();
    // The sixth `*d` of line 5 is the alias that would pass the limit on copies.
    assert!(
        diagnostics.contains("bomb.yaml:5:23: error: YAML over a limit: alias *d")
            && diagnostics.contains("limit of 50000 nodes copied by aliases"),
        "{diagnostics}"
    );

    // Still up, still ready, still routing by the config in force.
    let (status, _) = mesh.admin_get("/ready").await;
    assert_eq!(status, 200);
    for _ in 0..4 {
        assert_eq!(
            mesh.get(REVIEWS, None).await.2,
            "v1",
            "the old routing applies"
        );
    }
    assert_eq!(v2.hits(), 0);

    // Without the bomb, the folder loads again.
    std::fs::remove_file(mesh.config_dir.join("bomb.yaml")).expect("remove the bomb");
    mesh.wait_for("/config_dump", |_, body| {
        body.contains("\"rejected\": false")
    })
    .await;
    assert_eq!(mesh.get(REVIEWS, None).await.2, "v1");
}
