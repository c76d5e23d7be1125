//! Which library answers a request: the monolith's whole routing table, as data.
//!
//! productpage and banner each come with a complete router of their own (routes, JSON 404/405
//! fallbacks, middleware). The monolith does not take them apart: it hands each request to one of
//! the two, by path. banner owns the paths under its prefixes (its JSON API, its admin pages
//! with their own sign-in and assets under `/admin`, the uploaded images), productpage
//! everything else (its pages, its JSON API under `/api/v1/products`, `/login`, `/static/...`,
//! `/metrics`). The two never claim the same path, which the tests below check.
//!
//! Both routers answer `/health`; in the monolith that path is the monolith's own (see
//! `app`), asked before this table is consulted.
//!
//! A prefix owns itself and what lies below it, by whole segments: `/api/v1/banners` owns
//! `/api/v1/banners/7`, not `/api/v1/bannersale`.

/// The part of the monolith that answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// productpage's router: the book pages, sign-in, the products API, the assets, `/metrics`.
    Productpage,
    /// banner's router: its JSON API, its admin pages, its images.
    Banner,
}

/// The path prefixes that belong to banner. Everything else is productpage's.
pub const BANNER_PREFIXES: &[&str] = &["/api/v1/banners", "/admin", "/images"];

/// Who answers `path`. Pure: no I/O, so the table is tested as data.
pub fn owner(path: &str) -> Owner {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if BANNER_PREFIXES.iter().any(|prefix| under(prefix)) {
        Owner::Banner
    } else {
        Owner::Productpage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_owns_its_api() {
        for path in [
            "/api/v1/banners",
            "/api/v1/banners/",
            "/api/v1/banners/active",
            "/api/v1/banners/42",
            "/admin",
            "/admin/login",
            "/admin/banners/3/edit",
            "/admin/static/admin.css",
            "/images/3",
        ] {
            assert_eq!(owner(path), Owner::Banner, "{path}");
        }
    }

    #[test]
    fn productpage_owns_everything_else() {
        for path in [
            "/",
            "/index.html",
            "/productpage",
            "/login",
            "/logout",
            "/api/v1/products",
            "/api/v1/products/0/ratings",
            "/static/css/bookinfo.css",
            "/favicon.ico",
            "/metrics",
            "/api/v1/bannersale",
            "/administrator",
            "/imagesque",
            "/no/such/page",
        ] {
            assert_eq!(owner(path), Owner::Productpage, "{path}");
        }
    }
}
