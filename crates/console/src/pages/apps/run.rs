//! Running an app by hand: the plan of a full cycle (a dry run: nothing sent), provisioning one
//! user on demand with its step-by-step result, and the connection probe.

use askama::Template;
use axum::extract::{Path, Query, State};
use scim_proto::probe::{Cleanup, ProbeReport};
use serde::Deserialize;
use serde_json::Value;
use server::AppState;

use super::{engine, json_text, load, pretty, resolve_user, AppHeader};
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
                    object_type: json_text(op, &["objectType"]),
                    source_id: json_text(op, &["sourceId"]),
                    display_name: json_text(op, &["displayName"]),
                    action: json_text(op, &["action"]),
                    reason: json_text(op, &["reason"]),
                    payload: op.get("operation").map(pretty).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&PlanPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        counts,
        operations: json_text(&plan, &["operations"]),
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
        result: json_text(v, &["result"]),
        user: json_text(v, &["user", "displayName"]),
        steps: list("steps")
            .iter()
            .map(|s| Step {
                name: json_text(s, &["name"]),
                status: json_text(s, &["status"]),
                description: json_text(s, &["description"]),
            })
            .collect(),
        requests: list("requests")
            .iter()
            .map(|r| Request {
                method: json_text(r, &["method"]),
                path: json_text(r, &["path"]),
                status: json_text(r, &["status"]),
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

/// One request of the connection test, as the page shows it.
pub struct ProbeRow {
    pub name: String,
    pub request: String,
    pub status: String,
    pub ok: bool,
    pub required: bool,
    pub ms: u64,
    pub message: String,
}

/// A connection test's report as the page shows it.
pub struct ProbeView {
    pub ok: bool,
    pub steps: Vec<ProbeRow>,
    pub cleanup: String,
    pub supports: Vec<(&'static str, String)>,
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "unknown".into(),
    }
}

fn listed(v: Option<&Vec<String>>) -> String {
    match v {
        Some(items) if items.is_empty() => "none".into(),
        Some(items) => items.join(", "),
        None => "unknown".into(),
    }
}

impl ProbeView {
    fn of(r: &ProbeReport) -> ProbeView {
        let s = &r.supports;
        let bulk = match &s.bulk {
            Some(b) if b.supported => format!(
                "yes (up to {} operations, {} bytes)",
                b.max_operations.map_or("?".into(), |n| n.to_string()),
                b.max_payload_size.map_or("?".into(), |n| n.to_string())
            ),
            Some(_) => "no".into(),
            None => "unknown".into(),
        };
        let filter = match &s.filter {
            Some(f) if f.supported => format!(
                "yes (up to {} results)",
                f.max_results.map_or("?".into(), |n| n.to_string())
            ),
            Some(_) => "no".into(),
            None => "unknown".into(),
        };
        ProbeView {
            ok: r.ok,
            steps: r
                .steps
                .iter()
                .map(|st| ProbeRow {
                    name: st.name.as_str().to_owned(),
                    request: format!("{} {}", st.method, st.path),
                    status: st
                        .status
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "no answer".into()),
                    ok: st.ok,
                    required: st.required,
                    ms: st.duration_ms,
                    message: st.message.clone().unwrap_or_default(),
                })
                .collect(),
            cleanup: match r.cleanup {
                Cleanup::NothingToDelete => "no test user was created".into(),
                Cleanup::Deleted => format!("the test user {} was deleted again", r.user_name),
                Cleanup::LeftBehind => format!(
                    "the test user {} could not be deleted: delete it in the app",
                    r.user_name
                ),
            },
            supports: vec![
                ("PATCH", yes_no(s.patch)),
                ("Bulk", bulk),
                ("Filtering", filter),
                ("Sorting", yes_no(s.sort)),
                ("ETags", yes_no(s.etag)),
                ("Password change", yes_no(s.change_password)),
                ("Authentication", listed(s.authentication_schemes.as_ref())),
                ("Resource types", listed(s.resource_types.as_ref())),
                ("Schemas", listed(s.schemas.as_ref())),
            ],
        }
    }
}

/// Runs the connection test against the app's target, with the client provisioning uses.
pub async fn probe(state: &AppState, record: &domain::AppRecord) -> UiResult<ProbeView> {
    let report = engine(state)?.test_connection(record).await?;
    Ok(ProbeView::of(&report))
}
