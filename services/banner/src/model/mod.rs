//! The domain: what a banner is, and the checks a banner must pass before it is stored.
//!
//! A banner is shown in one *slot* of one *platform* (the six banner places of the mobile or the
//! desktop site) during a half-open time interval `[starts_at, ends_at)`: it shows from
//! `starts_at` on and has gone at `ends_at`, so a banner ending at noon and the next one starting
//! at noon share no instant. Two banners of the same platform slot never overlap; the database
//! enforces that (see `store` and the migrations), because only it can do so for concurrent
//! writers.
//!
//! Nothing here knows about HTTP or SQL. A request body arrives as an unchecked
//! [`BannerRequest`]; [`BannerRequest::validate`] turns it into [`BannerData`], which the store
//! accepts. Parsing into a checked type, instead of checking and passing the raw value on, means
//! an unchecked banner cannot reach the database by accident.
//!
//! The files:
//! - `placement.rs`: where a banner shows, [`Platform`] and [`Slot`];
//! - `banner.rs`: the stored banner, [`Banner`], as the API sends it;
//! - `request.rs`: a banner as sent, [`BannerRequest`], and its checked form [`BannerData`];
//! - `rules.rs`: the rules each field must pass (title, text, URLs, schedule);
//! - `times.rs`: times read from RFC 3339 and written for the API and for people.

mod banner;
mod placement;
mod request;
mod rules;
mod times;

pub use banner::Banner;
pub use placement::{Platform, SLOTS, Slot};
pub use request::{BannerData, BannerRequest};
pub use rules::{
    MAX_TITLE_CHARS, MAX_URL_CHARS, SCHEDULE_YEARS, check_schedule, check_schedule_year,
    check_text, check_title, check_url,
};
pub use times::{format_minutes, format_schedule, format_time, parse_time};
