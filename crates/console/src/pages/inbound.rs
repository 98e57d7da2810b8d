//! Inbound provisioning: the bulkUpload requests HR sources sent, newest first, and each
//! record's outcome (created, updated, unchanged, enabled, disabled, failed and why).

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use domain::inbound::{Outcome, RequestSummary};
use domain::Error;
use server::AppState;

use crate::page::{render, short_time, Chrome, UiResult};
use crate::session::Session;

/// Requests the list shows.
const LIMIT: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbound", get(list))
        .route("/inbound/{id}", get(show))
}

struct RequestRow {
    id: String,
    source: String,
    received: String,
    state: &'static str,
    total: u64,
    processed: u64,
    percent: u64,
}

fn row(s: &RequestSummary) -> RequestRow {
    RequestRow {
        id: s.id.clone(),
        source: s.source.clone(),
        received: short_time(s.received),
        state: match (s.completed, s.processed) {
            (Some(_), _) => "completed",
            (None, 0) => "staged",
            (None, _) => "processing",
        },
        total: s.total,
        processed: s.processed,
        percent: (s.processed * 100).checked_div(s.total).unwrap_or(100),
    }
}

#[derive(Template)]
#[template(path = "inbound.html")]
struct ListPage {
    chrome: Chrome,
    requests: Vec<RequestRow>,
}

async fn list(State(state): State<AppState>, s: Session) -> UiResult {
    let requests = state
        .store
        .inbound_requests(&s.principal.tenant_id, LIMIT)
        .await?;
    Ok(render(&ListPage {
        chrome: s.chrome("inbound"),
        requests: requests.iter().map(row).collect(),
    }))
}

struct RecordRow {
    index: u64,
    bulk_id: String,
    external_id: String,
    outcome: &'static str,
    failed: bool,
    user_id: String,
    error: String,
}

#[derive(Template)]
#[template(path = "inbound_request.html")]
struct RequestPage {
    chrome: Chrome,
    request: RequestRow,
    completed: String,
    outcomes: Vec<(&'static str, usize)>,
    records: Vec<RecordRow>,
}

async fn show(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> UiResult {
    let (summary, records) = state
        .store
        .inbound_request(&s.principal.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("inbound request `{id}` not found")))?;
    let outcomes = Outcome::ALL
        .iter()
        .map(|o| {
            (
                o.as_str(),
                records.iter().filter(|r| r.outcome == *o).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(render(&RequestPage {
        chrome: s.chrome("inbound"),
        completed: summary.completed.map(short_time).unwrap_or_default(),
        request: row(&summary),
        outcomes,
        records: records
            .iter()
            .map(|r| RecordRow {
                index: r.index,
                bulk_id: r.bulk_id.clone().unwrap_or_default(),
                external_id: r.external_id.clone().unwrap_or_default(),
                outcome: r.outcome.as_str(),
                failed: r.outcome == Outcome::Failed,
                user_id: r.user_id.clone().unwrap_or_default(),
                error: r.error.clone().unwrap_or_default(),
            })
            .collect(),
    }))
}
