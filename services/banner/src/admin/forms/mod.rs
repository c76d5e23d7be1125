//! The banner form: reading what was posted, and checking every field at once.
//!
//! The form is `multipart/form-data`, the encoding that can carry a file. It is read field by
//! field as it streams in; the image is kept only up to the size limit (anything beyond is read
//! and dropped, so the fields after it still arrive).
//!
//! Unlike the JSON API, which reports the first mistake, the form reports *all* of them, each
//! next to its field, and comes back with everything the admin typed (a form that forgets its
//! input on every mistake is a form nobody wants to use). The checks are the model's own
//! (`check_title`, `check_url`, ...), so both paths accept exactly the same banners.
//!
//! Times arrive from `<input type="datetime-local">` as `2026-06-01T09:30`, with no time zone;
//! the form says they are UTC, and they are read as UTC, within the years the model allows
//! (`model::SCHEDULE_YEARS`).
//!
//! The files, one a job:
//! - `read.rs`: the posted banner form read off the body, its image kept up to the limit;
//! - `fields.rs`: the banner form's fields as typed, empty, prefilled or of a banner;
//! - `check.rs`: every field checked at once, into the banner to write;
//! - `field_errors.rs`: the message for each field at fault;
//! - `datetime_local.rs`: the times of `<input type="datetime-local">`, read and written as UTC;
//! - `admin_post.rs`: the other kind of form, a bodyless action with only its CSRF token.

mod admin_post;
mod check;
mod datetime_local;
mod field_errors;
mod fields;
mod read;

pub use admin_post::AdminPost;
pub use check::{Checked, check};
pub use field_errors::FieldErrors;
pub use fields::BannerFields;
pub use read::{FORM_OVERHEAD, Posted, PostedImage, body_limit, read};
