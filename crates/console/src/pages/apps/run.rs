//! Running an app by hand: the plan of a full cycle (a dry run: nothing sent), provisioning one
//! user on demand with its step-by-step result, and the connection probe.

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::Value;
use server::AppState;

use super::{engine, load, pretty, resolve_user, text, AppHeader};
use crate::form::Posted;
use crate::page::{render, Chrome, UiResult};
use crate::session::Session;

/// Most operations a plan page lists (all are counted).
const PLAN_LIMIT: usize = 500;

struct PlanRow {
    object_type: String,
    source_id: String,
    display_name: String,
    action: String,
    reason: String,
    payload: String,
}

#[derive(Template)]
#[template(path = "app_plan.html")]
struct PlanPage {
    chrome: Chrome,
    app: AppHeader,
    counts: Vec<(String, String)>,
    operations: String,
    listed: usize,
    rows: Vec<PlanRow>,
}

pub async fn plan(State(state): State<AppState>, s: Session, Path(name): Path<String>) -> UiResult {
    let loaded = load(&state, &s, &name, "plan").await?;
    let plan = engine(&state)?
        .context(&loaded.record)?
        .dry_run(PLAN_LIMIT)
        .await?;
    let counts = plan
        .get("counts")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
        .unwrap_or_default();
    let rows: Vec<PlanRow> = plan
        .get("plan")
        .and_then(Value::as_array)
        .map(|ops| {
            ops.iter()
                .map(|op| PlanRow {
                    object_type: text(op, &["objectType"]),
                    source_id: text(op, &["sourceId"]),
                    display_name: text(op, &["displayName"]),
                    action: text(op, &["action"]),
                    reason: text(op, &["reason"]),
                    payload: op.get("operation").map(pretty).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&PlanPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        counts,
        operations: text(&plan, &["operations"]),
        listed: rows.len(),
        rows,
    }))
}

struct Step {
    name: String,
    status: String,
    description: String,
}

struct Request {
    method: String,
    path: String,
    status: String,
    request: String,
    response: String,
}

/// The result of provisioning one user now.
struct Provisioned {
    result: String,
    user: String,
    steps: Vec<Step>,
    requests: Vec<Request>,
    log_id: String,
}

#[derive(Template)]
#[template(path = "app_provision.html")]
struct ProvisionPage {
    chrome: Chrome,
    app: AppHeader,
    user: String,
    error: Option<String>,
    outcome: Option<Provisioned>,
}

#[derive(Debug, Deserialize)]
pub struct UserParam {
    user: Option<String>,
}

pub async fn provision_form(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
    Query(q): Query<UserParam>,
) -> UiResult {
    let loaded = load(&state, &s, &name, "provision").await?;
    Ok(render(&ProvisionPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        user: q.user.unwrap_or_default(),
        error: None,
        outcome: None,
    }))
}

fn provisioned(v: &Value) -> Provisioned {
    let list = |key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    Provisioned {
        result: text(v, &["result"]),
        user: text(v, &["user", "displayName"]),
        steps: list("steps")
            .iter()
            .map(|s| Step {
                name: text(s, &["name"]),
                status: text(s, &["status"]),
                description: text(s, &["description"]),
            })
            .collect(),
        requests: list("requests")
            .iter()
            .map(|r| Request {
                method: text(r, &["method"]),
                path: text(r, &["path"]),
                status: text(r, &["status"]),
                request: r
                    .get("request")
                    .filter(|b| !b.is_null())
                    .map(pretty)
                    .unwrap_or_default(),
                response: r
                    .get("response")
                    .filter(|b| !b.is_null())
                    .map(pretty)
                    .unwrap_or_default(),
            })
            .collect(),
        log_id: String::new(),
    }
}

pub async fn provision(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let loaded = load(&state, s, &name, "provision").await?;
    let given = posted.fields.get("user").unwrap_or_default().to_owned();
    let (outcome, error) = match resolve_user(&state, s, &given).await {
        Ok(user) => {
            let result = engine(&state)?
                .provision_on_demand(&loaded.record, &user.id)
                .await?;
            tracing::info!(app = %name, user = %user.id, "provisioned on demand from the console");
            let mut outcome = provisioned(&result);
            // The entry is numbered when stored: the newest of this user's.
            outcome.log_id = state
                .store
                .logs(&domain::LogQuery {
                    app_id: loaded.record.id.clone(),
                    source_id: Some(user.id.clone()),
                    status: None,
                    since: None,
                    until: None,
                    before: None,
                    limit: 1,
                })
                .await?
                .first()
                .map(|e| e.seq.to_string())
                .unwrap_or_default();
            (Some(outcome), None)
        }
        Err(e) => (None, Some(crate::page::message_of(e.0))),
    };
    Ok(render(&ProvisionPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        user: given,
        error,
        outcome,
    }))
}

/// One step of a connection probe.
pub struct ProbeStep {
    pub name: String,
    pub request: String,
    pub status: String,
    pub ok: bool,
    pub ms: String,
    pub message: String,
}

/// A connection probe's report as the page shows it.
pub struct ProbeView {
    pub ok: bool,
    pub steps: Vec<ProbeStep>,
    pub supports: Vec<(String, String)>,
}

/// Probes the app's target.
pub async fn probe(state: &AppState, record: &domain::AppRecord) -> UiResult<ProbeView> {
    let _ = (engine(state)?, record);
    Err(domain::Error::Internal("the connection probe is not built yet".into()).into())
}
