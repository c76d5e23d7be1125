//! Sign-in and sign-out over real sockets: the signed cookie, the redirects, and the
//! `end-user` header the peers receive.

mod support;

use productpage::config::SessionSecret;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, REFERER, SET_COOKIE};
use support::{Peers, client, get, productpage, productpage_for};
use testkit::TestServer;

/// Signs in as `user` and returns the response's status, `Location` and `Set-Cookie`.
async fn login(server: &TestServer, user: &str, referer: Option<&str>) -> (u16, String, String) {
    let form = format!("username={}&passwd=any%20password", form_encode(user));
    let mut request = client()
        .post(server.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form);
    if let Some(referer) = referer {
        request = request.header(REFERER, referer);
    }
    let response = request.send().await.expect("productpage answers");
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII").to_string())
            .unwrap_or_default()
    };
    (
        response.status().as_u16(),
        header(LOCATION),
        header(SET_COOKIE),
    )
}

/// `value` encoded for an `application/x-www-form-urlencoded` body.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `name=value` part of a `Set-Cookie` header, ready to send back.
fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().expect("a cookie pair")
}

#[tokio::test]
async fn signing_in_sets_a_signed_cookie_and_sends_end_user() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;
    let referer = server.url("/productpage?u=test");

    let (status, location, set_cookie) = login(&server, "jason", Some(&referer)).await;

    assert_eq!(status, 302);
    assert_eq!(
        location, "/productpage?u=test",
        "back where the visitor was"
    );
    assert!(set_cookie.starts_with("session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");

    let (status, html) = get(
        &server.url("/productpage"),
        &[("cookie", cookie_pair(&set_cookie))],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("<span class=\"user-name\">jason</span>"));
    assert!(html.contains("Sign out"));
    assert!(!html.contains("Sign in to BookInfo"));
    assert_eq!(
        peers.reviews.header(0, "end-user").as_deref(),
        Some("jason")
    );
    assert_eq!(
        peers.details.header(0, "end-user").as_deref(),
        Some("jason")
    );
}

#[tokio::test]
async fn a_visitor_who_did_not_sign_in_sees_the_sign_in_form() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (status, html) = get(&server.url("/productpage"), &[]).await;

    assert_eq!(status, 200);
    assert!(html.contains("Sign in to BookInfo"));
    assert!(html.contains("name=\"username\""));
    assert!(html.contains("name=\"passwd\""));
    assert!(!html.contains("Sign out"));
    assert_eq!(peers.reviews.header(0, "end-user"), None);
}

#[tokio::test]
async fn signing_out_clears_the_cookie() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;
    let (_, _, set_cookie) = login(&server, "jason", None).await;

    let response = client()
        .get(server.url("/logout"))
        .header(COOKIE, cookie_pair(&set_cookie))
        .header(REFERER, "/productpage")
        .send()
        .await
        .expect("productpage answers");

    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(
        response.headers().get(LOCATION).map(|v| v.as_bytes()),
        Some(&b"/productpage"[..])
    );
    let removal = response
        .headers()
        .get(SET_COOKIE)
        .expect("a removal cookie")
        .to_str()
        .expect("ASCII");
    assert!(removal.starts_with("session="), "{removal}");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(removal.contains("Path=/"), "{removal}");
}

#[tokio::test]
async fn a_tampered_cookie_is_ignored() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;
    let (_, _, set_cookie) = login(&server, "jason", None).await;
    // The value is the signature followed by the name: change the name, keep the signature.
    let forged = cookie_pair(&set_cookie).replace("jason", "admin");
    assert_ne!(forged, cookie_pair(&set_cookie));

    for cookie in [forged.as_str(), "session=not-even-signed", "session="] {
        let (status, html) = get(&server.url("/productpage"), &[("cookie", cookie)]).await;
        assert_eq!(status, 200, "{cookie}");
        assert!(html.contains("Sign in to BookInfo"), "{cookie}");
        assert!(!html.contains("admin"), "{cookie}");
    }
    assert!(
        peers
            .reviews
            .seen()
            .iter()
            .all(|r| !r.headers.contains_key("end-user")),
        "no end-user for a cookie that fails the check"
    );
}

#[tokio::test]
async fn an_empty_user_name_is_refused() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for user in ["", "   "] {
        let (status, _, set_cookie) = login(&server, user, None).await;
        assert_eq!(status, 400, "{user:?}");
        assert!(set_cookie.is_empty(), "no cookie for {user:?}");
    }
    let (status, _, _) = login(&server, &"x".repeat(65), None).await;
    assert_eq!(status, 400, "too long");
}

#[tokio::test]
async fn a_referer_from_another_site_is_not_followed() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    for referer in ["https://evil.example/phish", "//evil.example/phish"] {
        let (status, location, _) = login(&server, "jason", Some(referer)).await;
        assert_eq!(status, 302);
        assert_eq!(location, "/productpage", "{referer}");
    }
    let (_, location, _) = login(&server, "jason", None).await;
    assert_eq!(location, "/productpage", "no referer");
}

#[tokio::test]
async fn names_with_spaces_and_accents_round_trip() {
    let peers = Peers::bookinfo().await;
    let server = productpage_for(&peers).await;

    let (_, _, set_cookie) = login(&server, "Ana María", None).await;
    let (_, html) = get(
        &server.url("/productpage"),
        &[("cookie", cookie_pair(&set_cookie))],
    )
    .await;

    assert!(html.contains("<span class=\"user-name\">Ana María</span>"));
}

#[tokio::test]
async fn a_shared_session_secret_lets_another_replica_read_the_cookie() {
    let peers = Peers::bookinfo().await;
    let secret =
        || Some(SessionSecret::new(*b"a test secret that is 32+ bytes long").expect("long enough"));
    let mut config = peers.config();
    config.session_secret = secret();
    let first = productpage(config.clone()).await;
    let second = productpage(config).await;
    let mut other = peers.config();
    other.session_secret =
        Some(SessionSecret::new(*b"another secret, also 32+ bytes long").expect("long enough"));
    let stranger = productpage(other).await;

    let (_, _, set_cookie) = login(&first, "jason", None).await;
    let cookie = [("cookie", cookie_pair(&set_cookie))];

    let (_, html) = get(&second.url("/productpage"), &cookie).await;
    assert!(html.contains("<span class=\"user-name\">jason</span>"));
    let (_, html) = get(&stranger.url("/productpage"), &cookie).await;
    assert!(
        html.contains("Sign in to BookInfo"),
        "a different key rejects it"
    );
}
