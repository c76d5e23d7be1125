//! Creating, editing and deleting banners through the admin forms.
//!
//! A form that breaks a rule comes back (422) with every mistake next to its field and the
//! admin's input kept; an overlap names the banner in the way, with a link to it. A form that
//! passes is written in one transaction (banner, image, audit entries) and the browser is sent
//! to the calendar with the banner highlighted: the classic post/redirect/get, so that a reload
//! does not post the form twice.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::calendar::View;
use super::forms::{self, AdminPost, BannerFields, FieldErrors, PostedImage};
use super::pages::calendar_url;
use super::render;
use crate::AppState;
use crate::api::BannerId;
use crate::auth::{AdminSession, csrf};
use crate::error::{Error, Page};
use crate::images::describe_size;
use crate::model::Banner;
use crate::store::Upload;

/// `templates/banner_form.html`, for both a new banner and an edit.
#[derive(Template)]
#[template(path = "banner_form.html")]
struct FormPage<'a> {
    admin: Option<&'a AdminSession>,
    heading: String,
    /// Where the form posts to.
    action: String,
    /// Where "Cancel" goes.
    cancel: String,
    csrf: &'a str,
    fields: &'a BannerFields,
    errors: &'a FieldErrors,
    /// The banner the schedule overlaps, when that was the problem.
    conflict: Option<&'a Banner>,
    /// The image of the banner being edited.
    current_image: Option<&'a str>,
    /// A good image was sent with a form that came back: it has to be chosen again.
    reselect_image: bool,
    /// The upload limit, for people: `2 MB`.
    max_image: String,
}

/// What the form shows: the fields as typed, and what is wrong with them.
struct Shown<'a> {
    fields: &'a BannerFields,
    errors: &'a FieldErrors,
    conflict: Option<&'a Banner>,
    reselect_image: bool,
}

impl<'a> Shown<'a> {
    /// A form with no mistakes yet.
    fn fresh(fields: &'a BannerFields, errors: &'a FieldErrors) -> Self {
        Self {
            fields,
            errors,
            conflict: None,
            reselect_image: false,
        }
    }
}

/// Renders the form page for a new banner (`editing` is `None`) or an edit, with `status`.
fn form_page(
    state: &AppState,
    admin: &AdminSession,
    editing: Option<&Banner>,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<Response, Page> {
    let (heading, action, cancel) = match editing {
        Some(banner) => (
            format!("Edit “{}”", banner.title),
            format!("/admin/banners/{}/edit", banner.id),
            format!("/admin/banners/{}", banner.id),
        ),
        None => (
            "New banner".to_string(),
            "/admin/banners/new".to_string(),
            "/admin".to_string(),
        ),
    };
    let page = FormPage {
        admin: Some(admin),
        heading,
        action,
        cancel,
        csrf: &admin.csrf,
        fields: shown.fields,
        errors: shown.errors,
        conflict: shown.conflict,
        current_image: editing.and_then(|b| b.image_url.as_deref()),
        reselect_image: shown.reselect_image,
        max_image: describe_size(state.uploads.max_bytes),
    };
    Ok((status, render(&page)?).into_response())
}

/// The prefill of a new banner's form, from a calendar cell.
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    platform: Option<String>,
    slot: Option<String>,
    date: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    admin: AdminSession,
    query: Result<Query<NewQuery>, QueryRejection>,
) -> Result<Response, Page> {
    let fields = match &query {
        Ok(Query(q)) => {
            BannerFields::prefilled(q.platform.as_deref(), q.slot.as_deref(), q.date.as_deref())
        }
        Err(_) => BannerFields::prefilled(None, None, None),
    };
    let errors = FieldErrors::default();
    form_page(
        &state,
        &admin,
        None,
        Shown::fresh(&fields, &errors),
        StatusCode::OK,
    )
}

pub async fn create(
    State(state): State<AppState>,
    admin: AdminSession,
    request: Request,
) -> Result<Response, Page> {
    save(&state, &admin, None, request).await
}

pub async fn edit_form(
    State(state): State<AppState>,
    admin: AdminSession,
    id: Result<BannerId, Error>,
) -> Result<Response, Page> {
    let BannerId(id) = id?;
    let banner = state.store.get(id).await?;
    let fields = BannerFields::of(&banner);
    let errors = FieldErrors::default();
    form_page(
        &state,
        &admin,
        Some(&banner),
        Shown::fresh(&fields, &errors),
        StatusCode::OK,
    )
}

pub async fn update(
    State(state): State<AppState>,
    admin: AdminSession,
    id: Result<BannerId, Error>,
    request: Request,
) -> Result<Response, Page> {
    let BannerId(id) = id?;
    let banner = state.store.get(id).await?;
    save(&state, &admin, Some(&banner), request).await
}

/// Reads, checks and writes a posted banner form: a new banner, or an edit of `editing`.
async fn save(
    state: &AppState,
    admin: &AdminSession,
    editing: Option<&Banner>,
    request: Request,
) -> Result<Response, Page> {
    let base_url = state.uploads.base_url(request.headers());
    let posted = forms::read(request, state.uploads.max_bytes).await?;
    // Before anything else is looked at: a form without the session's token is not ours.
    csrf::verify(state.auth.key(), &admin.session, posted.csrf.as_deref())?;

    let again = |errors: &FieldErrors, conflict: Option<&Banner>| {
        let shown = Shown {
            fields: &posted.fields,
            errors,
            conflict,
            reselect_image: matches!(posted.image, Some(PostedImage::Bytes(_)))
                && errors.get("image").is_none(),
        };
        form_page(
            state,
            admin,
            editing,
            shown,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };

    let current_image = editing.and_then(|b| b.image_url.as_deref());
    let checked = match forms::check(&posted, current_image, state.uploads.max_bytes) {
        Ok(checked) => checked,
        Err(errors) => return again(&errors, None),
    };
    let upload = match (&checked.image, &base_url) {
        (None, _) => None,
        (Some(image), Some(base_url)) => Some(Upload { image, base_url }),
        (Some(_), None) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "image",
                "the service cannot tell its own address for the image link: set \
                 BANNER_PUBLIC_URL",
            );
            return again(&errors, None);
        }
    };

    let user = &admin.user;
    let saved = match editing {
        Some(banner) => {
            state
                .store
                .update(banner.id, &checked.data, user, upload)
                .await
        }
        None => state.store.create(&checked.data, user, upload).await,
    };
    match saved {
        Ok(banner) => {
            tracing::info!(id = banner.id, %user, "banner saved from the admin form");
            let calendar = calendar_url(View::Week, banner.starts_at.date());
            Ok(Redirect::to(&format!("{calendar}&highlight={}", banner.id)).into_response())
        }
        Err(Error::Overlap { conflicting, .. }) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "starts_at",
                "this schedule overlaps another banner in this slot",
            );
            again(&errors, conflicting.as_deref())
        }
        Err(e) => Err(e.into()),
    }
}

/// `templates/delete.html`: "Delete this banner?".
#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage<'a> {
    admin: Option<&'a AdminSession>,
    banner: &'a Banner,
    csrf: &'a str,
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    admin: AdminSession,
    id: Result<BannerId, Error>,
) -> Result<Response, Page> {
    let BannerId(id) = id?;
    let banner = state.store.get(id).await?;
    let page = DeletePage {
        admin: Some(&admin),
        banner: &banner,
        csrf: &admin.csrf,
    };
    Ok(render(&page)?.into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    id: Result<BannerId, Error>,
    AdminPost(admin): AdminPost,
) -> Result<Response, Page> {
    let BannerId(id) = id?;
    let banner = state.store.delete(id, &admin.user).await?;
    tracing::info!(id, user = admin.user, "banner deleted from the admin form");
    Ok(Redirect::to(&calendar_url(View::Week, banner.starts_at.date())).into_response())
}
