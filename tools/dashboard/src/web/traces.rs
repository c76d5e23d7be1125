//! `/traces` (the recent traces, filterable) and `/traces/{id}` (one trace's waterfall).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::access_log::{self, AccessLogSection};
use super::{AppState, problem};
use crate::metrics::istio::is_safe_name;
use crate::traces::store::StoreStats;
use crate::traces::view::{self, Filter, Row, Summary};

/// The query of `/traces`, as typed: every field checked in [`TracesQuery::filter`].
#[derive(Debug, Default, Deserialize)]
pub struct TracesQuery {
    service: Option<String>,
    error: Option<String>,
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Empty fields (a submitted form's blanks) mean "no filter".
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn is_hex_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

impl TracesQuery {
    fn filter(&self) -> Result<Filter, String> {
        let errors_only = match self.error.as_deref().map(str::trim) {
            None | Some("" | "0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => return Err(format!("`error={other}`: use error=1 or leave it out")),
        };
        let id = given(&self.id).map(|id| id.to_ascii_lowercase());
        if let Some(id) = id.as_deref().filter(|id| !is_hex_id(id)) {
            return Err(format!("`id={id}` is not a trace id (up to 32 hex digits)"));
        }
        for (field, value) in [
            ("service", &self.service),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = given(value).filter(|v| !is_safe_name(v)) {
                return Err(format!(
                    "`{field}={value}` is not a service or workload name (letters, digits, `-`, `.`, `_`)"
                ));
            }
        }
        Ok(Filter {
            service: given(&self.service),
            errors_only,
            id,
            from: given(&self.from),
            to: given(&self.to),
        })
    }
}

#[derive(Template)]
#[template(path = "traces.html")]
struct TracesPage {
    traces: Vec<Summary>,
    filter: Filter,
    /// Whether any filter is set (the empty message differs).
    filtered: bool,
    stats: StoreStats,
}

/// At most this many lines on `/traces`; the filters find older ones.
const LIST_LIMIT: usize = 200;

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<TracesQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return problem::page(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(message) => return problem::page(StatusCode::BAD_REQUEST, &message),
    };
    let traces = state
        .store
        .recent()
        .iter()
        .filter_map(|trace| {
            let summary = view::summary(trace);
            filter.accepts(trace, &summary).then_some(summary)
        })
        .take(LIST_LIMIT)
        .collect();
    problem::render(&TracesPage {
        traces,
        filtered: filter != Filter::default(),
        filter,
        stats: state.store.stats(),
    })
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    summary: Summary,
    rows: Vec<Row>,
    dropped_spans: u64,
    access_log: AccessLogSection,
}

pub async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = id.to_ascii_lowercase();
    if !is_hex_id(&id) {
        return problem::page(
            StatusCode::BAD_REQUEST,
            &format!("`{id}` is not a trace id (up to 32 hex digits)."),
        );
    }
    let Some(trace) = state.store.get(&id) else {
        return problem::page(
            StatusCode::NOT_FOUND,
            &format!(
                "No trace {id} here: it was never received, or it was dropped to make room for \
                 newer ones (see the caps on /traces)."
            ),
        );
    };
    let summary = view::summary(&trace);
    let access_log = access_log::section(state.access_logs.clone(), &summary.id).await;
    problem::render(&TracePage {
        summary,
        access_log,
        rows: view::waterfall(&trace),
        dropped_spans: trace.dropped_spans,
    })
}
