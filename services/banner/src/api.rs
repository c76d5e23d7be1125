//! The JSON API of banner.
//!
//! | route                          | answer                                                    |
//! |--------------------------------|-----------------------------------------------------------|
//! | `GET /health`                  | `{"status": "Banner is healthy"}`; 503 if the DB fails    |
//! | `POST /api/v1/banners`         | 201, `Location` and the new banner; 409 on overlap        |
//! | `GET /api/v1/banners`          | the banners; filters `platform`, `slot`, `from`, `to`     |
//! | `GET /api/v1/banners/active`   | the banner in `platform` slot `slot` at `at` (or now)     |
//! | `GET /api/v1/banners/{id}`     | one banner                                                |
//! | `PUT /api/v1/banners/{id}`     | replaces it (same body as `POST`); 409 on overlap         |
//! | `DELETE /api/v1/banners/{id}`  | 204                                                       |
//!
//! Reads are public. Writes (`POST`, `PUT`, `DELETE`) need the admin account with HTTP Basic
//! authentication ([`ApiAdmin`]); each is recorded in the audit log under that user name.
//!
//! Handlers are thin: take the request apart, validate it into domain types, call the
//! [`Store`](crate::store::Store), and let [`Error`] pick the status of anything that fails.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use common::http::QueryParams;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::AppState;
use crate::auth::basic::ApiAdmin;
use crate::error::Error;
use crate::model::{Banner, BannerRequest, Platform, Slot, parse_time};
use crate::store::ListFilter;

/// The routes above, to be given an [`AppState`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/banners", get(list).post(create))
        // A fixed segment wins over `{id}`, so `active` is never read as an id.
        .route("/api/v1/banners/active", get(active))
        .route(
            "/api/v1/banners/{id}",
            get(show).put(replace).delete(remove),
        )
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "Banner is healthy"})))
}

async fn create(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    body: Result<Json<BannerRequest>, JsonRejection>,
) -> Result<impl IntoResponse, Error> {
    let Json(request) = body?;
    let banner = state
        .store
        .create(&request.validate()?, &user, None)
        .await?;
    tracing::info!(id = banner.id, platform = %banner.platform, slot = %banner.slot, %user, "banner created");
    let location = format!("/api/v1/banners/{}", banner.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(banner),
    ))
}

/// The query string of `GET /api/v1/banners`. Values arrive as text and are parsed by the
/// domain types, so a bad one gets the same message as in a body; an unknown parameter (a
/// misspelt `platfrom`) is refused rather than silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    platform: Option<String>,
    slot: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Vec<Banner>>, Error> {
    let filter = ListFilter {
        platform: query.platform.as_deref().map(str::parse).transpose()?,
        slot: query.slot.as_deref().map(str::parse).transpose()?,
        from: query.from.map(|t| parse_time("from", &t)).transpose()?,
        to: query.to.map(|t| parse_time("to", &t)).transpose()?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(Error::invalid("from", "must be before to"));
    }
    Ok(Json(state.store.list(&filter).await?))
}

/// The query string of `GET /api/v1/banners/active`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveQuery {
    platform: Option<String>,
    slot: Option<String>,
    at: Option<String>,
}

async fn active(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ActiveQuery>,
) -> Result<Json<Banner>, Error> {
    let platform: Platform = required("platform", query.platform)?.parse()?;
    let slot: Slot = required("slot", query.slot)?.parse()?;
    let at = match query.at {
        Some(at) => parse_time("at", &at)?,
        None => OffsetDateTime::now_utc(),
    };
    Ok(Json(state.store.active_at(platform, slot, at).await?))
}

fn required(field: &'static str, value: Option<String>) -> Result<String, Error> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

async fn show(
    State(state): State<AppState>,
    BannerId(id): BannerId,
) -> Result<Json<Banner>, Error> {
    Ok(Json(state.store.get(id).await?))
}

async fn replace(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    BannerId(id): BannerId,
    body: Result<Json<BannerRequest>, JsonRejection>,
) -> Result<Json<Banner>, Error> {
    let Json(request) = body?;
    let banner = state
        .store
        .update(id, &request.validate()?, &user, None)
        .await?;
    tracing::info!(id, %user, "banner replaced");
    Ok(Json(banner))
}

async fn remove(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    BannerId(id): BannerId,
) -> Result<StatusCode, Error> {
    state.store.delete(id, &user).await?;
    tracing::info!(id, %user, "banner deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The `{id}` of a banner route: a positive whole number, or a JSON 400 that says so (axum's own
/// `Path` rejection would answer in plain text).
pub struct BannerId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for BannerId {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| Error::invalid("id", rejection.body_text()))?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(BannerId(id)),
            _ => Err(Error::invalid(
                "id",
                format!("must be a positive whole number, got {raw:?}"),
            )),
        }
    }
}
