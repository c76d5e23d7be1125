//! The pages that show: the calendar (`/admin`) and a banner with its history
//! (`/admin/banners/{id}`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::calendar::{self, Calendar, Period, View};
use super::render;
use crate::AppState;
use crate::api::BannerId;
use crate::audit::AuditEntry;
use crate::auth::AdminSession;
use crate::error::{Error, Page};
use crate::model::{Banner, format_minutes};
use crate::store::ListFilter;

/// How many entries "Recent changes" shows under the calendar.
const RECENT: u32 = 8;

/// `templates/calendar.html`.
#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    admin: Option<&'a AdminSession>,
    calendar: Calendar,
    previous: String,
    today: String,
    next: String,
    views: Vec<ViewLink>,
    /// A bar to draw attention to: the banner just saved.
    highlight: Option<i64>,
    recent: Vec<AuditEntry>,
}

impl CalendarPage<'_> {
    fn is_highlighted(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.highlight == Some(*id.borrow())
    }
}

/// A button of the view switch.
struct ViewLink {
    label: &'static str,
    href: String,
    active: bool,
}

/// The calendar's query string. Unknown parameters are ignored, as browsers and people add
/// their own.
#[derive(Debug, Deserialize)]
pub struct CalendarQuery {
    view: Option<String>,
    start: Option<String>,
    highlight: Option<i64>,
}

/// `/admin?view=<view>&start=<day>`.
pub fn calendar_url(view: View, start: Date) -> String {
    format!("/admin?view={}&start={start}", view.as_str())
}

pub async fn calendar(
    State(state): State<AppState>,
    admin: AdminSession,
    query: Result<Query<CalendarQuery>, QueryRejection>,
) -> Result<Response, Page> {
    let Query(query) = query.map_err(|e| Error::invalid("query", e.body_text()))?;
    let view = match query.view.as_deref().filter(|v| !v.is_empty()) {
        None => View::Week,
        Some(raw) => View::parse(raw).ok_or_else(|| {
            Error::invalid(
                "view",
                format!("must be week, month or 2months, got {raw:?}"),
            )
        })?,
    };
    let today = OffsetDateTime::now_utc().date();
    let start = match query.start.as_deref().filter(|s| !s.is_empty()) {
        None => today,
        Some(raw) => calendar::parse_day("start", raw)?,
    };
    let period = Period::containing(view, start);
    let filter = ListFilter {
        from: Some(period.from()),
        to: Some(period.to()),
        ..ListFilter::default()
    };
    let banners = state.store.list(&filter).await?;
    let page = CalendarPage {
        admin: Some(&admin),
        calendar: calendar::layout(&period, &banners, today),
        previous: calendar_url(view, period.previous()),
        today: calendar_url(view, today),
        next: calendar_url(view, period.next()),
        views: View::ALL
            .into_iter()
            .map(|v| ViewLink {
                label: v.label(),
                href: calendar_url(v, period.first),
                active: v == view,
            })
            .collect(),
        highlight: query.highlight,
        recent: state.store.recent_history(RECENT).await?,
    };
    Ok(render(&page)?.into_response())
}

/// `templates/banner.html`: a banner, or what is left of a deleted one (its history).
#[derive(Template)]
#[template(path = "banner.html")]
struct BannerPage<'a> {
    admin: Option<&'a AdminSession>,
    id: i64,
    banner: Option<Banner>,
    /// The image to show: the banner's image URL, when it is a web address.
    image: Option<String>,
    created: String,
    updated: String,
    /// The calendar week of the banner's start.
    calendar: String,
    history: Vec<AuditEntry>,
}

pub async fn banner(
    State(state): State<AppState>,
    admin: AdminSession,
    id: Result<BannerId, Error>,
) -> Result<Response, Page> {
    let BannerId(id) = id?;
    let history = state.store.history(id).await?;
    let banner = match state.store.get(id).await {
        Ok(banner) => banner,
        // Deleted, but it had a history: show that, with the 404 of a missing banner.
        Err(Error::NotFound(_)) if !history.is_empty() => {
            let page = BannerPage {
                admin: Some(&admin),
                id,
                banner: None,
                image: None,
                created: String::new(),
                updated: String::new(),
                calendar: String::new(),
                history,
            };
            return Ok((StatusCode::NOT_FOUND, render(&page)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let page = BannerPage {
        admin: Some(&admin),
        id,
        image: banner
            .image_url
            .clone()
            .filter(|url| url.starts_with("http://") || url.starts_with("https://")),
        created: format_minutes(banner.created_at),
        updated: format_minutes(banner.updated_at),
        calendar: format!(
            "{}&highlight={id}",
            calendar_url(View::Week, banner.starts_at.date())
        ),
        banner: Some(banner),
        history,
    };
    Ok(render(&page)?.into_response())
}
