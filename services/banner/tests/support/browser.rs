//! A small stand-in for a browser on the admin pages: it keeps the session cookie, does not
//! follow redirects (tests look at them), and sends forms, urlencoded or multipart.

use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;

use super::{ADMIN_PASSWORD, ADMIN_USER, Api};

/// A page as received.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// The status, the headers and the start of the body: whole pages would drown a failure.
impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = (0..=self.body.len().min(1500))
            .rev()
            .find(|&i| self.body.is_char_boundary(i))
            .unwrap_or(0);
        f.debug_struct("Page")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &&self.body[..end])
            .finish()
    }
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().expect("ASCII"))
            .unwrap_or_else(|| panic!("no Location on {}:\n{}", self.status, self.body))
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        field_value(&self.body, "csrf")
            .unwrap_or_else(|| panic!("no csrf field in:\n{}", self.body))
    }

    /// The text of the element with `id="<field>-error"`, if there is one.
    pub fn field_error(&self, field: &str) -> Option<String> {
        let marker = format!("id=\"{field}-error\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find("</p>")? + start;
        Some(self.body[start..end].to_string())
    }

    /// The part of the calendar page that draws row `row` (such as `desktop-1`).
    pub fn calendar_row(&self, row: &str) -> &str {
        let marker = format!("id=\"row-{row}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no row {row} in:\n{}", self.body));
        let rest = &self.body[start..];
        let end = rest[1..]
            .find("class=\"cal-label")
            .map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }
}

/// The `value` of the first input named `name`.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// A `multipart/form-data` body, built by hand so that a test controls every byte (a file name
/// and content type that lie about the file, for instance).
#[derive(Debug, Clone, Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

/// One part: its name, its file name and content type if it is a file, and its bytes.
type Part = (String, Option<(String, String)>, Vec<u8>);

impl Multipart {
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts
            .push((name.into(), None, value.as_bytes().to_vec()));
        self
    }

    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.parts.push((
            name.into(),
            Some((file_name.into(), content_type.into())),
            bytes.to_vec(),
        ));
        self
    }

    /// A banner form with these fields (and no csrf: add it with `.text("csrf", ...)`).
    pub fn banner(title: &str, platform: &str, slot: &str, starts: &str, ends: &str) -> Self {
        Self::default()
            .text("title", title)
            .text("platform", platform)
            .text("slot", slot)
            .text("starts_at", starts)
            .text("ends_at", ends)
            .text("link_url", "")
    }

    fn encode(&self) -> (String, Vec<u8>) {
        let boundary = "----sailkit-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, file, bytes) in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some((file_name, content_type)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; \
                         filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

/// A browser with its own cookie.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    /// The session cookie, `name=value`.
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(api: &Api) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("a client"),
            base: api.server.url(""),
            cookie: None,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts an urlencoded form.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Posts a multipart form.
    pub async fn post_multipart(&mut self, path: &str, form: &Multipart) -> Page {
        let (content_type, body) = form.encode();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(request).await
    }

    /// Signs in as the admin through the login page; panics if that fails.
    pub async fn sign_in(&mut self) {
        let page = self.sign_in_as(ADMIN_USER, ADMIN_PASSWORD).await;
        assert_eq!(page.status, 303, "signing in: {page:?}");
    }

    /// Opens the login page and posts `user` and `password`; returns the answer to the post.
    pub async fn sign_in_as(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/admin/login").await;
        assert_eq!(form.status, 200, "{form:?}");
        let csrf = form.csrf();
        self.post_form(
            "/admin/login",
            &[("csrf", &csrf), ("user", user), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the signed-in session, read from the calendar page.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/admin").await;
        assert_eq!(page.status, 200, "{page:?}");
        page.csrf()
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(header::SET_COOKIE) {
            let text = set_cookie.to_str().expect("ASCII");
            let pair = text.split(';').next().unwrap_or_default().to_string();
            // A removal sets an empty value that has already expired.
            let removed = text.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = (!removed).then_some(pair);
        }
        let body = response.text().await.expect("a body");
        Page {
            status,
            headers,
            body,
        }
    }
}
