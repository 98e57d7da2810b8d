//! An app at a glance: state, counts, the running cycle's progress (polled by htmx), held
//! deletions with approve / reject, quarantine, and the chart of the last 24 hours.

use askama::Template;
use axum::extract::{Path, State};
use domain::LogQuery;
use serde_json::Value;
use server::AppState;

use super::chart::{self, Chart};
use super::{json_text, load, number, AppHeader, Loaded};
use crate::form::Posted;
use crate::page::{render, see_other, Chrome, UiResult};
use crate::session::Session;

/// A running cycle's progress.
#[derive(Debug, Clone)]
pub struct Progress {
    pub kind: String,
    pub phase: String,
    pub done: u64,
    pub total: u64,
    pub percent: u64,
}

fn progress_of(loaded: &Loaded) -> Option<Progress> {
    let cycle = loaded.status.get("cycle").filter(|c| !c.is_null())?;
    let done = number(cycle, &["done"]);
    let total = number(cycle, &["total"]);
    Some(Progress {
        kind: json_text(cycle, &["kind"]),
        phase: json_text(cycle, &["phase"]),
        done,
        total,
        percent: (done * 100).checked_div(total).unwrap_or(0).min(100),
    })
}

struct Held {
    deletions: String,
    threshold: String,
    since: String,
}

#[derive(Template)]
#[template(path = "app_overview.html")]
struct OverviewPage {
    chrome: Chrome,
    app: AppHeader,
    enabled: bool,
    url: String,
    running: bool,
    progress: Option<Progress>,
    facts: Vec<(&'static str, String)>,
    held: Option<Held>,
    quarantine: Option<String>,
    last_error: String,
    chart: Chart,
}

pub async fn show(State(state): State<AppState>, s: Session, Path(name): Path<String>) -> UiResult {
    let loaded = load(&state, &s, &name, "overview").await?;
    let st = &loaded.status;
    let now = state.clock.now();
    let entries = state
        .store
        .logs(&LogQuery {
            app_id: loaded.record.id.clone(),
            source_id: None,
            status: None,
            since: Some(chart::since(now)),
            until: None,
            before: None,
            limit: chart::MAX_ENTRIES,
        })
        .await?;
    let chart = chart::build(&entries, now, entries.len() >= chart::MAX_ENTRIES);
    let held = st.get("held").filter(|h| !h.is_null()).map(|h| Held {
        deletions: json_text(h, &["deletions"]),
        threshold: json_text(h, &["threshold"]),
        since: json_text(h, &["since"])
            .parse::<jiff::Timestamp>()
            .map(crate::page::short_time)
            .unwrap_or_default(),
    });
    let quarantine = st.get("quarantine").filter(|q| !q.is_null()).map(|q| {
        format!(
            "{} since {} (attempt {}, next at {}): {}",
            json_text(q, &["reason"]),
            or_never(json_text(q, &["since"])),
            json_text(q, &["attempts"]),
            or_never(json_text(q, &["nextAttempt"])),
            json_text(q, &["error"])
        )
    });
    let facts = vec![
        (
            "Last cycle ended",
            or_never(json_text(st, &["lastCycleEnd"])),
        ),
        ("Changes waiting", json_text(st, &["pendingChanges"])),
        (
            "Users provisioned",
            number(st, &["counts", "usersActive"]).to_string(),
        ),
        (
            "Users disabled",
            number(st, &["counts", "usersDisabled"]).to_string(),
        ),
        (
            "Users deleted",
            number(st, &["counts", "usersDeleted"]).to_string(),
        ),
        (
            "Groups provisioned",
            number(st, &["counts", "groupsActive"]).to_string(),
        ),
        (
            "Retrying (escrowed)",
            number(st, &["counts", "escrowed"]).to_string(),
        ),
        (
            "Successes (all time)",
            number(st, &["totals", "successes"]).to_string(),
        ),
        (
            "Failures (all time)",
            number(st, &["totals", "failures"]).to_string(),
        ),
    ];
    Ok(render(&OverviewPage {
        chrome: s.chrome("apps"),
        enabled: loaded.record.enabled,
        url: json_text(&loaded.record.spec, &["url"]),
        running: st.get("running").and_then(Value::as_bool).unwrap_or(false),
        progress: progress_of(&loaded),
        facts,
        held,
        quarantine,
        last_error: json_text(st, &["lastError"]),
        chart,
        app: loaded.header,
    }))
}

/// A timestamp of the status as the console shows it; "never" when there is none.
fn or_never(s: String) -> String {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => crate::page::short_time(t),
        Err(_) if s.is_empty() => "never".into(),
        Err(_) => s,
    }
}

#[derive(Template)]
#[template(path = "app_progress.html")]
struct ProgressFragment {
    q: String,
    state: String,
    progress: Option<Progress>,
}

/// The progress fragment htmx polls while the overview is open.
pub async fn progress(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
) -> UiResult {
    let loaded = load(&state, &s, &name, "overview").await?;
    Ok(render(&ProgressFragment {
        progress: progress_of(&loaded),
        q: loaded.header.q,
        state: loaded.header.state,
    }))
}

/// What the overview's engine buttons do.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Lets the held deletions through (spec §4.6: allow the deletes).
    Approve,
    /// Refuses the held deletions: nothing is deleted; the app starts over with a full cycle,
    /// which holds again if the cause (users removed from scope by mistake) is still there.
    Reject,
    /// Starts the app over with a full cycle (spec §4.1 restart).
    Restart,
}

async fn act(state: &AppState, name: &str, posted: &Posted, action: Action) -> UiResult {
    let loaded = load(state, &posted.session, name, "overview").await?;
    let engine = super::engine(state)?;
    match action {
        Action::Approve => {
            engine.approve_deletions(&loaded.record).await?;
        }
        Action::Reject | Action::Restart => engine.restart(&loaded.record).await?,
    }
    tracing::info!(app = %name, ?action, "app action from the console");
    Ok(see_other(&format!("/ui/apps/{}", loaded.header.q)))
}

pub async fn approve(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    act(&state, &name, &posted, Action::Approve).await
}

pub async fn reject(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    act(&state, &name, &posted, Action::Reject).await
}

pub async fn restart(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    act(&state, &name, &posted, Action::Restart).await
}

/// Turns provisioning on or off (`enabled=true|false`).
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let loaded = load(&state, &posted.session, &name, "overview").await?;
    let mut body = super::settings_body(&loaded.record);
    body.insert(
        "enabled".into(),
        (posted.fields.get("enabled") == Some("true")).into(),
    );
    if let Err(message) = super::save_settings(&state, &posted.session, &name, body).await? {
        return Err(domain::Error::InvalidValue(message).into());
    }
    Ok(see_other(&format!("/ui/apps/{}", loaded.header.q)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn loaded(status: Value) -> Loaded {
        let now = jiff::Timestamp::UNIX_EPOCH;
        Loaded {
            record: domain::AppRecord {
                id: "a".into(),
                tenant_id: "t".into(),
                name: "peer".into(),
                enabled: true,
                spec: Value::Null,
                sealed_secret: None,
                state: Value::Null,
                created: now,
                updated: now,
            },
            header: AppHeader {
                name: "peer".into(),
                q: "peer".into(),
                state: json_text(&status, &["state"]),
                badge: "",
                tab: "overview",
            },
            status,
        }
    }

    #[test]
    fn a_running_cycle_shows_its_share_done() {
        let status = serde_json::json!({
            "state": "initial cycle",
            "cycle": {"kind": "initial", "phase": "users", "done": 250, "total": 1000},
        });
        let p = progress_of(&loaded(status)).unwrap();
        assert_eq!((p.done, p.total, p.percent), (250, 1000, 25));
        assert_eq!((p.kind.as_str(), p.phase.as_str()), ("initial", "users"));
    }

    #[test]
    fn no_cycle_no_progress_and_an_empty_total_is_not_a_division_by_zero() {
        assert!(progress_of(&loaded(
            serde_json::json!({"state": "in sync", "cycle": null})
        ))
        .is_none());
        let status = serde_json::json!({"cycle": {"kind": "reconcile", "done": 0, "total": 0}});
        assert_eq!(progress_of(&loaded(status)).unwrap().percent, 0);
    }
}
