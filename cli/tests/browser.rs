//! The app in a real browser: headless Chromium, driven through WebDriver, against a whole
//! stack started by `sailkit up`, used the way a person uses it: pages loaded, links and
//! buttons clicked, forms filled in.
//!
//! What is covered: the book page (every reviews version through the VIP, sign-in and out);
//! the banner admin in both stages (login, a banner scheduled from the calendar with an image,
//! drawn as a bar, shown above the book); an overlapping banner refused beside the field; bad
//! input (a wrong password, HTML and SQL in a title, an inverted schedule, a file that is not an
//! image, a form without its CSRF token); and the book page with the banner service stopped.
//!
//! Needs `chromium` and `chromedriver` (see `support::browser`); skips without them, unless
//! `CI` is set. Screenshots go to `test-artifacts/` at the repository root.

mod support;

use std::collections::BTreeSet;

use nix::sys::signal::Signal;
use sailkit::services::ServiceName;
use support::Stack;
use support::browser::Browser;
use time::{Date, OffsetDateTime};

/// The book every Bookinfo page is about.
const BOOK: &str = "The Comedy of Errors";

/// The admin account's user name (banner's default).
const ADMIN: &str = "admin";

/// The banner form's "Save" button (the page's first form is the header's "Sign out").
const SAVE: &str = "main form button[type=submit]";

/// The ratings of a loaded book page, as (stars, colour) in page order; empty for reviews v1.
async fn ratings(browser: &Browser) -> Vec<(String, String)> {
    let mut ratings = Vec::new();
    for rating in browser.elements(".book-reviews [data-stars]").await {
        let attr = async |name| rating.attr(name).await.ok().flatten().unwrap_or_default();
        ratings.push((attr("data-stars").await, attr("data-color").await));
    }
    ratings
}

#[tokio::test]
async fn the_book_page_shows_every_reviews_version_and_signs_a_user_in_and_out() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let stack = Stack::start();
    let app = &stack.state.app_url;

    // 1. The page: the document title, the book, its details and its two reviews.
    browser.open(app).await;
    assert_eq!(
        browser.title().await.expect("title"),
        "Simple Bookstore App"
    );
    assert_eq!(browser.text(".product-title").await, BOOK);
    let details = browser.text(".book-details").await;
    assert!(details.contains("PublisherA"), "{details}");
    let reviewers = browser.elements(".book-reviews .reviewer").await;
    let mut names = Vec::new();
    for reviewer in reviewers {
        names.push(reviewer.text().await.expect("reviewer"));
    }
    assert_eq!(names, ["Reviewer1", "Reviewer2"]);
    browser.screenshot("browser-productpage").await;

    // 2. Refreshed, the page shows what each reviews version answers: the reviews VIP takes
    //    turns over v1 (no stars), v2 (black stars) and v3 (red stars). The stars are drawn in
    //    their colour (the stylesheet's), as WebDriver reports a computed colour.
    let mut seen = BTreeSet::new();
    for _ in 0..12 {
        browser.refresh().await.expect("refresh");
        browser.element(".book-reviews .served-by").await;
        let shown = ratings(&browser).await;
        if let Some((_, color)) = shown.first() {
            let drawn = browser
                .element(".book-reviews .rating")
                .await
                .css_value("color")
                .await
                .expect("colour");
            let expected = match color.as_str() {
                "red" => "rgba(211, 47, 47, 1)",
                _ => "rgba(28, 36, 51, 1)",
            };
            assert_eq!(drawn, expected, "{color} stars");
        }
        seen.insert(shown);
    }
    let stars = |color: &str| vec![("5".into(), color.into()), ("4".into(), color.into())];
    assert_eq!(
        seen,
        BTreeSet::from([vec![], stars("black"), stars("red")]),
        "no stars (v1), black stars (v2), red stars (v3)"
    );

    // 3. Sign in as jason from the menu: the page greets him, and the form is gone.
    browser.click(".signin summary").await;
    browser.fill("#username", "jason").await;
    browser.fill("#passwd", "any password works").await;
    browser.click(".signin-panel button[type=submit]").await;
    assert_eq!(browser.text(".session .user-name").await, "jason");
    assert!(browser.elements(".signin").await.is_empty());
    assert_eq!(
        browser.text(".product-title").await,
        BOOK,
        "back on the book"
    );

    // 4. Sign out: nobody is signed in any more.
    browser.click(".session a[href='/logout']").await;
    browser.element(".signin summary").await;
    assert!(browser.elements(".session .user-name").await.is_empty());

    // 5. A user name made of HTML is shown as text, and its script never runs.
    let hostile = "<img src=x onerror=\"window.__xss=1\">";
    browser.click(".signin summary").await;
    browser.fill("#username", hostile).await;
    browser.click(".signin-panel button[type=submit]").await;
    assert_eq!(browser.text(".session .user-name").await, hostile);
    assert_eq!(
        browser.script("return window.__xss === undefined").await,
        true
    );
    assert!(browser.elements(".session img").await.is_empty());

    browser.close().await;
}

/// The admin password the launcher generated for this stack's banner service.
fn admin_password(stack: &Stack) -> String {
    let path = stack.data_dir().join("admin-password");
    let password = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), stack.output()));
    password.trim_end_matches(['\r', '\n']).to_string()
}

/// The pid of the banner instance, as the launcher records it now (`None` once it is down).
fn banner_pid(stack: &Stack) -> Option<u32> {
    let state = sailkit::up::state::read(&stack.data_dir().join("run")).ok()?;
    let instance = state
        .instances
        .into_iter()
        .find(|i| i.service == ServiceName::Banner)?;
    instance.pid
}

/// The banner VIP's address.
fn banner_url(stack: &Stack) -> String {
    let vip = stack.state.vip(ServiceName::Banner).expect("a banner VIP");
    vip.url.clone()
}

/// Fills in and sends the admin login form the browser is on.
async fn sign_in(browser: &Browser, user: &str, password: &str) {
    browser.fill("#user", user).await;
    browser.fill("#password", password).await;
    browser
        .click("form[action='/admin/login'] button[type=submit]")
        .await;
}

/// `day` at `hour`:00, as an `<input type="datetime-local">` value.
fn local_time(day: Date, hour: u8) -> String {
    format!("{day}T{hour:02}:00")
}

/// The titles of the bars in one calendar row (`desktop-1`, ...).
async fn bars(browser: &Browser, row: &str) -> Vec<String> {
    let mut titles = Vec::new();
    for bar in browser
        .elements(&format!("#row-{row} .bar .bar-title"))
        .await
    {
        titles.push(bar.text().await.expect("bar title"));
    }
    titles
}

/// Where an admin works: the address that serves `/admin` (banner's VIP, or the front door in
/// the monolith stage), the book page, and the stack's files.
struct AdminScene<'a> {
    browser: &'a Browser,
    stack: &'a Stack,
    admin: String,
    /// The prefix of the screenshots' names.
    shots: &'a str,
}

/// The admin's way to put a banner on the book page, through the calendar, checked at each
/// step: sent to the login page, signed in, the calendar, today's cell of DESKTOP 1 clicked,
/// the form filled in (with an image upload), the bar drawn, the banner shown above the book.
async fn schedule_a_banner_through_the_calendar(scene: &AdminScene<'_>, title: &str) {
    let AdminScene {
        browser,
        stack,
        admin,
        shots,
    } = scene;
    let today = OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("a tomorrow");

    // 1. The calendar is for the admin only: the browser is sent to the login page.
    browser.open(&format!("{admin}/admin")).await;
    browser.element("#password").await;
    let login = browser.url().await;
    assert!(
        login.starts_with(&format!("{admin}/admin/login")),
        "{login}"
    );
    browser.screenshot(&format!("{shots}-login")).await;

    // 2. Signed in, the calendar: a row per platform slot, DESKTOP 1 empty.
    sign_in(browser, ADMIN, &admin_password(stack)).await;
    browser.element(".calendar").await;
    let mut rows = Vec::new();
    for label in browser.elements(".calendar .cal-label").await {
        rows.push(label.text().await.expect("row label"));
    }
    assert_eq!(rows.len(), 12, "MOBILE 1-6 and DESKTOP 1-6: {rows:?}");
    assert!(rows.contains(&"DESKTOP 1".to_string()), "{rows:?}");
    assert!(bars(browser, "desktop-1").await.is_empty());

    // 3. A click on today's cell of DESKTOP 1 opens the form for that slot and day.
    browser.click("#row-desktop-1 .cal-cell.today").await;
    browser.element("#title").await;
    assert_eq!(value(browser, "#platform").await, "desktop");
    assert_eq!(value(browser, "#slot").await, "1");
    assert_eq!(value(browser, "#starts_at").await, local_time(today, 0));
    assert_eq!(value(browser, "#ends_at").await, local_time(tomorrow, 0));
    browser.fill("#title", title).await;
    browser
        .fill("#link_url", "https://shop.example.com/spring")
        .await;
    // An image to upload: any real PNG will do, so a screenshot of the page's logo.
    let png = browser
        .element(".topbar .brand")
        .await
        .screenshot()
        .await
        .expect("PNG");
    let picture = stack.dir.path().join("banner.png");
    std::fs::write(&picture, png).expect("write the PNG");
    let file = browser.element("#image").await;
    file.send_keys(&picture.display().to_string())
        .await
        .expect("choose the file");
    browser.click(SAVE).await;

    // 4. Back on the calendar, the banner is a bar in the DESKTOP 1 row, and nowhere else.
    browser.element(".calendar .bar.highlight").await;
    assert_eq!(bars(browser, "desktop-1").await, [title]);
    assert_eq!(browser.elements(".calendar .bar").await.len(), 1);
    browser.screenshot(&format!("{shots}-calendar")).await;

    // 5. The book page shows it above the book, as a link.
    browser.open(&stack.state.app_url).await;
    assert_eq!(browser.text(".banner .banner-title").await, title);
    let link = browser
        .element("a.banner")
        .await
        .attr("href")
        .await
        .expect("href");
    assert_eq!(link.as_deref(), Some("https://shop.example.com/spring"));
    // The uploaded image, served by banner, was loaded and decoded by the browser.
    browser.element(".banner .banner-image").await;
    let width = browser
        .until("the banner image has loaded", async |b| {
            let script = "const img = document.querySelector('.banner-image'); \
                          return img.complete ? img.naturalWidth : null;";
            b.script(script).await.as_u64()
        })
        .await;
    assert!(width > 0, "the image was not decoded");
    browser
        .screenshot(&format!("{shots}-productpage-banner"))
        .await;
}

/// The value of the form field matching `css`, as the form would send it.
async fn value(browser: &Browser, css: &str) -> String {
    let field = browser.element(css).await;
    field.prop("value").await.ok().flatten().unwrap_or_default()
}

#[tokio::test]
async fn an_admin_schedules_a_banner_in_the_calendar_and_the_book_page_shows_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    // Without restarts, a stopped banner service stays stopped (step 7).
    let stack = Stack::start_with(&["--no-restart"]);
    let banner = banner_url(&stack);
    let app = &stack.state.app_url;
    let title = format!("Spring sale {}", stack.state.launcher_pid);
    let today = OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("a tomorrow");

    // 1 to 5: through banner's own address, as in the split stage.
    let scene = AdminScene {
        browser: &browser,
        stack: &stack,
        admin: banner.clone(),
        shots: "browser",
    };
    schedule_a_banner_through_the_calendar(&scene, &title).await;

    // 6. Another banner in the same slot, overlapping the first, is refused: the form comes
    //    back with the error beside the start field, naming the banner in the way.
    browser.open(&format!("{banner}/admin")).await;
    browser.click("a[href='/admin/banners/new']").await;
    browser.fill("#title", "Overlapping offer").await;
    browser
        .element("#platform")
        .await
        .select_by_value("desktop")
        .await
        .expect("platform");
    browser
        .element("#slot")
        .await
        .select_by_value("1")
        .await
        .expect("slot");
    browser
        .set_value("#starts_at", &local_time(today, 12))
        .await;
    browser
        .set_value("#ends_at", &local_time(tomorrow, 12))
        .await;
    browser.click(SAVE).await;
    let error = browser.text("#starts_at-error").await;
    assert!(error.contains(&title), "{error}");
    assert!(error.contains("overlaps"), "{error}");
    assert_eq!(
        value(&browser, "#title").await,
        "Overlapping offer",
        "what was typed is kept"
    );
    browser.screenshot("browser-banner-overlap").await;

    // ... and the calendar still holds only the first banner.
    browser.open(&format!("{banner}/admin")).await;
    browser.element(".calendar").await;
    assert_eq!(bars(&browser, "desktop-1").await, [title.as_str()]);
    assert_eq!(browser.elements(".calendar .bar").await.len(), 1);

    // 7. The banner service stops (and stays stopped): the book page still works, without
    //    the banner strip.
    let pid = banner_pid(&stack).expect("banner runs");
    support::signal(pid, Signal::SIGTERM);
    browser
        .until("the launcher has seen banner stop", async |_| {
            banner_pid(&stack).is_none().then_some(())
        })
        .await;
    assert!(!support::is_alive(pid));
    browser.open(app).await;
    assert_eq!(browser.text(".product-title").await, BOOK);
    assert!(browser.text(".book-details").await.contains("PublisherA"));
    assert_eq!(browser.elements(".book-reviews .review").await.len(), 2);
    assert!(browser.elements("[data-banner]").await.is_empty());
    assert!(!browser.html().await.contains(&title));
    assert!(
        stack.output().contains("banner-v1 stays stopped"),
        "{}",
        stack.output()
    );

    browser.close().await;
}

#[tokio::test]
async fn bad_input_in_the_admin_is_refused_or_shown_as_text_and_changes_nothing() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let stack = Stack::start();
    let banner = banner_url(&stack);

    // 1. A wrong password: an error on the login page, and no calendar.
    browser.open(&format!("{banner}/admin/login")).await;
    sign_in(&browser, ADMIN, "not the password").await;
    let error = browser.text("#login-error").await;
    assert!(error.contains("wrong"), "{error}");
    assert!(browser.url().await.contains("/admin/login"));
    assert!(browser.elements(".calendar").await.is_empty());
    browser.screenshot("browser-login-error").await;

    // 2. A title made of HTML and SQL, scheduled through the calendar.
    let hostile = "<script>window.__xss=1</script> Sale'); DROP TABLE banners; --";
    sign_in(&browser, ADMIN, &admin_password(&stack)).await;
    browser.element(".calendar").await;
    browser.click("#row-desktop-1 .cal-cell.today").await;
    browser.fill("#title", hostile).await;
    browser.click(SAVE).await;
    let not_run = "return window.__xss === undefined";

    // It is shown as text, everywhere, and never runs: on the calendar ...
    browser.element(".calendar .bar.highlight").await;
    assert_eq!(bars(&browser, "desktop-1").await, [hostile]);
    assert!(browser.elements(".calendar script").await.is_empty());
    assert_eq!(browser.script(not_run).await, true);

    // ... on the banner's own page ...
    browser.click("#row-desktop-1 .bar").await;
    // (Waiting for an element of the banner page only: the calendar has an `h1` too.)
    assert_eq!(browser.text(".banner-card h1").await, hostile);
    assert_eq!(browser.script(not_run).await, true);

    // ... and on the book page.
    browser.open(&stack.state.app_url).await;
    assert_eq!(browser.text(".banner .banner-title").await, hostile);
    assert!(browser.elements(".banner script").await.is_empty());
    assert_eq!(browser.script(not_run).await, true);

    // 3. A schedule that ends before it starts: the error is beside the end.
    let today = OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("a tomorrow");
    browser.open(&format!("{banner}/admin")).await;
    browser.click("#row-desktop-2 .cal-cell.today").await;
    browser.fill("#title", "Backwards").await;
    browser
        .set_value("#starts_at", &local_time(today, 12))
        .await;
    browser.set_value("#ends_at", &local_time(today, 10)).await;
    browser.click(SAVE).await;
    let error = browser.text("#ends_at-error").await;
    assert!(error.contains("after the start"), "{error}");

    // 4. A text file offered as the image: the error is beside the image.
    browser
        .set_value("#ends_at", &local_time(tomorrow, 0))
        .await;
    let text_file = stack.dir.path().join("not-an-image.png");
    std::fs::write(&text_file, "only words, no pixels").expect("write the file");
    let file = browser.element("#image").await;
    file.send_keys(&text_file.display().to_string())
        .await
        .expect("choose the file");
    browser.click(SAVE).await;
    browser.element("#image-error").await;
    assert!(browser.elements("#ends_at-error").await.is_empty());

    // 5. The form sent without its CSRF token (as a forged form would be): refused.
    browser
        .script("document.querySelector('main form input[name=csrf]').remove(); return true;")
        .await;
    browser.click(SAVE).await;
    assert_eq!(browser.text(".message h1").await, "Forbidden");
    let text = browser.text(".message p").await;
    assert!(text.contains("security token"), "{text}");

    // 6. The calendar holds only the first banner, unchanged.
    browser.open(&format!("{banner}/admin")).await;
    browser.element(".calendar").await;
    assert_eq!(bars(&browser, "desktop-1").await, [hostile]);
    assert!(bars(&browser, "desktop-2").await.is_empty());
    assert_eq!(browser.elements(".calendar .bar").await.len(), 1);

    browser.close().await;
}

#[tokio::test]
async fn the_monolith_serves_the_same_calendar_and_banner_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let stack = Stack::start_with(&["--stage", "monolith"]);
    // One process behind the front door serves the book page and the banner admin alike.
    let scene = AdminScene {
        browser: &browser,
        stack: &stack,
        admin: stack.state.front_door.clone(),
        shots: "browser-monolith",
    };
    let title = format!("Monolith sale {}", stack.state.launcher_pid);
    schedule_a_banner_through_the_calendar(&scene, &title).await;
    browser.close().await;
}
