//! Provisioning logs (spec §4.5): newest first, filtered by status, user and time, paged by
//! entry number; each entry's detail shows its steps, modified properties and requests.

use askama::Template;
use axum::extract::{Path, Query, State};
use domain::{Error, LogEntry, LogQuery, LogStatus};
use serde::Deserialize;
use serde_json::Value;
use server::AppState;

use super::{json_text, load, pretty, AppHeader};
use crate::page::{render, seg, short_time, Chrome, UiResult};
use crate::session::Session;

const PAGE: usize = 50;

struct LogRow {
    seq: i64,
    at: String,
    kind: &'static str,
    source_id: String,
    display: String,
    action: String,
    status: &'static str,
    reason: String,
}

fn row(e: &LogEntry) -> LogRow {
    LogRow {
        seq: e.seq,
        at: short_time(e.at),
        kind: e.kind.name(),
        source_id: e.source_id.clone(),
        display: json_text(&e.details, &["displayName"]),
        action: e.action.clone(),
        status: e.status.as_str(),
        reason: e.reason.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogFilter {
    status: Option<String>,
    user: Option<String>,
    since: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "app_logs.html")]
struct LogsPage {
    chrome: Chrome,
    app: AppHeader,
    rows: Vec<LogRow>,
    status: String,
    user: String,
    since: String,
    error: Option<String>,
    older: Option<String>,
}

fn nonempty(s: Option<&String>) -> Option<&str> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
    Query(f): Query<LogFilter>,
) -> UiResult {
    let loaded = load(&state, &s, &name, "logs").await?;
    let mut error = None;
    let status = match nonempty(f.status.as_ref()) {
        Some(text) => LogStatus::parse(text).or_else(|| {
            error = Some(format!(
                "status `{text}` is not one of success, warning, failure, skipped"
            ));
            None
        }),
        None => None,
    };
    let since = match nonempty(f.since.as_ref()) {
        Some(text) => parse_since(text).map_err(|e| error = Some(e)).ok(),
        None => None,
    };
    let query = LogQuery {
        app_id: loaded.record.id.clone(),
        source_id: nonempty(f.user.as_ref()).map(str::to_owned),
        status,
        since,
        until: None,
        before: f.before,
        limit: PAGE,
    };
    let entries = if error.is_none() {
        state.store.logs(&query).await?
    } else {
        Vec::new()
    };
    let older = (entries.len() == PAGE).then(|| {
        let last = entries.last().map_or(0, |e| e.seq);
        format!(
            "/ui/apps/{}/logs?status={}&user={}&since={}&before={last}",
            loaded.header.q,
            seg(f.status.as_deref().unwrap_or_default()),
            seg(f.user.as_deref().unwrap_or_default()),
            seg(f.since.as_deref().unwrap_or_default()),
        )
    });
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let page = LogsPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        rows: entries.iter().map(row).collect(),
        status: f.status.unwrap_or_default(),
        user: f.user.unwrap_or_default(),
        since: f.since.unwrap_or_default(),
        error,
        older,
    };
    Ok(axum::response::IntoResponse::into_response((
        status,
        render(&page),
    )))
}

/// A time to filter from: RFC 3339, a date (midnight UTC), or hours ago (`24h`).
fn parse_since(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        if let Ok(t) = d.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(t.timestamp());
        }
    }
    if let Some(hours) = text
        .strip_suffix('h')
        .and_then(|h| h.trim().parse::<i64>().ok())
    {
        if let Ok(t) = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(hours)) {
            return Ok(t);
        }
    }
    Err(format!(
        "since `{text}`: give a time such as 2026-03-01T08:00:00Z, a date such as 2026-03-01, or hours ago such as 24h"
    ))
}

struct Step {
    name: String,
    status: String,
    description: String,
}

#[derive(Template)]
#[template(path = "app_log.html")]
struct LogPage {
    chrome: Chrome,
    app: AppHeader,
    entry: LogRow,
    cycle_id: String,
    change_id: String,
    target_id: String,
    error_code: String,
    duration_ms: u64,
    steps: Vec<Step>,
    modified: String,
    details: String,
}

pub async fn detail(
    State(state): State<AppState>,
    s: Session,
    Path((name, seq)): Path<(String, i64)>,
) -> UiResult {
    let loaded = load(&state, &s, &name, "logs").await?;
    let entry = state
        .store
        .logs(&LogQuery {
            app_id: loaded.record.id.clone(),
            source_id: None,
            status: None,
            since: None,
            until: None,
            before: seq.checked_add(1),
            limit: 1,
        })
        .await?
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| Error::NotFound(format!("log entry {seq} not found in app `{name}`")))?;
    let steps = entry
        .details
        .get("steps")
        .and_then(Value::as_array)
        .map(|st| {
            st.iter()
                .map(|x| Step {
                    name: json_text(x, &["name"]),
                    status: json_text(x, &["status"]),
                    description: json_text(x, &["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let modified = entry
        .details
        .get("modifiedProperties")
        .filter(|m| !m.is_null())
        .map(pretty)
        .unwrap_or_default();
    Ok(render(&LogPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        cycle_id: entry.cycle_id.clone(),
        change_id: entry.change_id.clone(),
        target_id: entry.target_id.clone().unwrap_or_default(),
        error_code: entry.error_code.clone().unwrap_or_default(),
        duration_ms: entry.duration_ms,
        steps,
        modified,
        details: pretty(&entry.details),
        entry: row(&entry),
    }))
}
