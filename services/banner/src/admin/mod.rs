//! The admin pages: the banner calendar and its forms, rendered on the server.
//!
//! Plain HTML from askama templates (`templates/`), one stylesheet and one small script built
//! into the binary: no front-end build, nothing fetched from the network, so the screen works
//! offline and on a projector in a room with bad Wi-Fi.
//!
//! | route                               | page                                                |
//! |-------------------------------------|-----------------------------------------------------|
//! | `GET /admin`                        | the calendar: `?view=week\|month\|2months&start=YYYY-MM-DD` |
//! | `GET`, `POST /admin/login`          | sign in (`?next=` the page to return to)            |
//! | `POST /admin/logout`                | sign out                                            |
//! | `GET`, `POST /admin/banners/new`    | create (`?platform=&slot=&date=` prefill from a calendar cell) |
//! | `GET /admin/banners/{id}`           | a banner, its image and its history                 |
//! | `GET`, `POST /admin/banners/{id}/edit`   | edit                                           |
//! | `GET`, `POST /admin/banners/{id}/delete` | confirm, then delete                           |
//! | `GET /admin/static/...`             | the stylesheet and the script                       |
//!
//! Every page but the login page needs a signed-in admin ([`AdminSession`]); every `POST` checks
//! the form's CSRF token. Responses are never cached (they carry tokens) and forbid framing.
//!
//! Layout:
//! - [`calendar`]: the grid as data: days, rows, bars and their lanes (pure, unit-tested).
//! - [`forms`]: reading and checking the banner form; the CSRF-checked bodyless post.
//! - [`login`]: sign in and out.
//! - [`pages`]: the calendar page and the banner page.
//! - [`editor`]: create, edit and delete.
//!
//! [`AdminSession`]: crate::auth::AdminSession

pub mod calendar;
pub mod editor;
pub mod forms;
pub mod login;
pub mod pages;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::error::Error;

const CSS: &str = include_str!("../../static/admin.css");
const JS: &str = include_str!("../../static/admin.js");

/// What the admin pages may load and do: only this origin's styles, scripts and forms; images
/// from anywhere on the web (a banner's image may live on a CDN); never inside a frame (which
/// would let another site trick clicks onto our buttons). Style *attributes* are allowed: the
/// calendar places its bars with them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' http: https: data:; \
     style-src 'self' 'unsafe-inline'; script-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The admin routes. Uploads may be `max_image_bytes` plus the form around them; larger bodies
/// are refused before they are read (413).
pub fn router(max_image_bytes: usize) -> Router<AppState> {
    let upload_limit = DefaultBodyLimit::max(forms::body_limit(max_image_bytes));
    Router::new()
        .route("/admin", get(pages::calendar))
        .route("/admin/login", get(login::page).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route(
            "/admin/banners/new",
            get(editor::new_form)
                .post(editor::create)
                .layer(upload_limit),
        )
        .route("/admin/banners/{id}", get(pages::banner))
        .route(
            "/admin/banners/{id}/edit",
            get(editor::edit_form)
                .post(editor::update)
                .layer(upload_limit),
        )
        .route(
            "/admin/banners/{id}/delete",
            get(editor::confirm_delete).post(editor::delete),
        )
        .route("/admin/static/admin.css", get(css))
        .route("/admin/static/admin.js", get(js))
        .layer(middleware::map_response(protect))
}

/// Renders a page template.
pub fn render(page: &impl Template) -> Result<Html<String>, Error> {
    Ok(Html(page.render()?))
}

/// The headers every admin response carries.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // The static files set their own caching; pages hold CSRF tokens and must not be stored.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}
