//! End to end: `sailkit up --stage monolith` as a real process. One child process serves the
//! whole app behind the front door: the book page, the products API and the banner API, over
//! one database file; SIGTERM stops it.

mod support;

use sailkit::services::ServiceName;
use serde_json::json;
use support::{Stack, http, is_alive};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&Rfc3339)
        .expect("formattable")
}

#[tokio::test]
async fn the_monolith_stage_serves_the_whole_app_from_one_process_and_stops_cleanly() {
    let mut stack = Stack::start_with(&["--stage", "monolith"]);
    let client = http();
    let front_door = stack.state.front_door.clone();
    let app = stack.state.app_url.clone();
    assert_eq!(app, format!("{front_door}/productpage"));

    // 1. One instance, the monolith, behind one VIP: the front door.
    let [monolith] = stack.state.instances.as_slice() else {
        panic!("one instance: {:?}", stack.state.instances);
    };
    assert_eq!(monolith.name, "monolith");
    assert_eq!(monolith.service, ServiceName::Monolith);
    let pid = monolith.pid.expect("running");
    let [vip] = stack.state.vips.as_slice() else {
        panic!("one VIP: {:?}", stack.state.vips);
    };
    assert_eq!(vip.service, ServiceName::Productpage);
    assert_eq!(vip.url, front_door);
    assert_eq!(vip.instances, ["monolith"]);

    // 2. The page: details, reviews and black stars, the same every time.
    for _ in 0..3 {
        let response = client.get(&app).send().await.expect("front door");
        assert_eq!(response.status(), 200);
        let page = response.text().await.expect("page");
        assert!(page.contains("PublisherA"), "details are shown: {page}");
        assert!(page.contains("Reviews served by: monolith"), "{page}");
        assert_eq!(page.matches("data-color=\"black\"").count(), 2, "{page}");
    }

    // 3. The banner API and its admin pages, through the same front door, into the one database.
    let login = client
        .get(format!("{front_door}/admin/login"))
        .send()
        .await
        .expect("front door");
    assert_eq!(login.status(), 200);
    // Writes need the banner admin; the launcher made its password on the first start.
    let password = std::fs::read_to_string(stack.data_dir().join("admin-password"))
        .expect("the launcher wrote the admin password");
    let title = format!("Monolith week {}", stack.state.launcher_pid);
    let now = OffsetDateTime::now_utc();
    let created = client
        .post(format!("{front_door}/api/v1/banners"))
        .basic_auth("admin", Some(password.trim_end()))
        .json(&json!({
            "title": title,
            "platform": "desktop",
            "slot": 1,
            "starts_at": rfc3339(now - time::Duration::hours(1)),
            "ends_at": rfc3339(now + time::Duration::hours(1)),
        }))
        .send()
        .await
        .expect("front door");
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    let page = client
        .get(&app)
        .send()
        .await
        .expect("front door")
        .text()
        .await
        .expect("page");
    assert!(page.contains(&title), "{page}");
    assert!(stack.data_dir().join("monolith.db").exists());
    assert!(!stack.data_dir().join("banner.db").exists());

    // 4. SIGTERM: exit 0, the monolith gone, the state file removed.
    let exit = stack.terminate();
    assert!(exit.success(), "{exit}\n{}", stack.output());
    assert!(!is_alive(pid), "the monolith (pid {pid}) is still running");
    assert!(!stack.data_dir().join("run").join("stack.json").exists());
    assert!(
        stack.output().contains("starting the monolith"),
        "{}",
        stack.output()
    );
}
