//! Provisioning apps: the list, and per app an overview (state, progress, held deletions,
//! the chart of actions), its connection, mappings, scope, plan, on-demand provisioning and
//! logs. Settings changes go through the admin API's own handlers (`server::apps::settings`),
//! so the console and the API validate alike.

mod chart;
mod connection;
mod logs;
mod mappings;
mod overview;
mod run;
mod scope;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use domain::{AppRecord, Error, Load, ResourceKind, StoredResource};
use serde_json::Value;
use server::AppState;

use crate::page::{render, seg, Chrome, UiResult};
pub use crate::pages::json_text;
use crate::session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(list).post(connection::create))
        .route("/apps/new", get(connection::new_form))
        .route("/apps/{name}", get(overview::show))
        .route("/apps/{name}/progress", get(overview::progress))
        .route("/apps/{name}/approve", post(overview::approve))
        .route("/apps/{name}/reject", post(overview::reject))
        .route("/apps/{name}/restart", post(overview::restart))
        .route("/apps/{name}/enabled", post(overview::set_enabled))
        .route(
            "/apps/{name}/connection",
            get(connection::show).post(connection::save),
        )
        .route("/apps/{name}/test", post(connection::test))
        .route(
            "/apps/{name}/mappings",
            get(mappings::show).post(mappings::save),
        )
        .route("/apps/{name}/mappings/eval", post(mappings::eval_one))
        .route(
            "/apps/{name}/scope",
            get(scope::show).post(scope::save_scoping),
        )
        .route("/apps/{name}/assign", post(scope::assign))
        .route("/apps/{name}/unassign", post(scope::unassign))
        .route("/apps/{name}/explain", post(scope::explain))
        .route("/apps/{name}/plan", get(run::plan))
        .route(
            "/apps/{name}/provision",
            get(run::provision_form).post(run::provision),
        )
        .route("/apps/{name}/logs", get(logs::list))
        .route("/apps/{name}/logs/{seq}", get(logs::detail))
}

/// The header and tabs every app page shows.
#[derive(Debug, Clone)]
pub struct AppHeader {
    pub name: String,
    /// The name as a URL path segment.
    pub q: String,
    pub state: String,
    pub badge: &'static str,
    pub tab: &'static str,
}

impl AppHeader {
    pub fn current(&self, tab: &str) -> &'static str {
        if self.tab == tab {
            "page"
        } else {
            "false"
        }
    }
}

/// The badge colour of an app state.
pub fn badge_of(state: &str) -> &'static str {
    match state {
        "in sync" => "ok",
        "held" | "quarantined" => "bad",
        "disabled" | "not started" => "",
        _ => "warn",
    }
}

/// An app of the session's tenant, with its status (the API's `status` document).
pub struct Loaded {
    pub record: AppRecord,
    pub status: Value,
    pub header: AppHeader,
}

pub async fn load(
    state: &AppState,
    s: &Session,
    name: &str,
    tab: &'static str,
) -> UiResult<Loaded> {
    let record = state
        .store
        .app(&s.principal.tenant_id, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("app `{name}` not found")))?;
    let status = server::apps::settings::status_of(state, &record).await?;
    let label = json_text(&status, &["state"]);
    Ok(Loaded {
        header: AppHeader {
            name: record.name.clone(),
            q: seg(&record.name),
            badge: badge_of(&label),
            state: label,
            tab,
        },
        record,
        status,
    })
}

/// The engine of this server, or a 503 saying how to get one.
pub fn engine(state: &AppState) -> UiResult<&engine::Engine> {
    state.engine.as_ref().ok_or_else(|| {
        server::ApiError::Busy(
            "the provisioning engine is not running in this server; start it with `scimitar serve`"
                .into(),
        )
        .into()
    })
}

/// The number at a path of a JSON document (0 when absent).
pub fn number(v: &Value, path: &[&str]) -> u64 {
    let mut at = v;
    for key in path {
        match at.get(key) {
            Some(next) => at = next,
            None => return 0,
        }
    }
    at.as_u64().unwrap_or(0)
}

/// JSON, indented for a `<pre>`.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A user named by id or by userName.
pub async fn resolve_user(state: &AppState, s: &Session, given: &str) -> UiResult<StoredResource> {
    resolve(state, s, ResourceKind::User, "userName", given).await
}

/// A group named by id or by displayName.
pub async fn resolve_group(state: &AppState, s: &Session, given: &str) -> UiResult<StoredResource> {
    resolve(state, s, ResourceKind::Group, "displayName", given).await
}

async fn resolve(
    state: &AppState,
    s: &Session,
    kind: ResourceKind,
    attribute: &str,
    given: &str,
) -> UiResult<StoredResource> {
    let given = given.trim();
    if given.is_empty() {
        return Err(Error::InvalidValue(format!(
            "give a {}'s {attribute} or id",
            kind.name().to_lowercase()
        ))
        .into());
    }
    let ctx = crate::pages::ctx(state, s).await?;
    crate::pages::find(&ctx, kind, attribute, given, Load::NONE)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no {} with id or {attribute} `{given}`",
                kind.name()
            ))
            .into()
        })
}

/// A user or group as the console names it.
pub fn label_of(r: &StoredResource) -> String {
    ["displayName", "userName"]
        .iter()
        .find_map(|k| r.body.get(*k).and_then(Value::as_str))
        .unwrap_or(&r.id)
        .to_owned()
}

struct AppRow {
    name: String,
    q: String,
    enabled: bool,
    state: String,
    badge: &'static str,
    last_cycle: String,
    users: u64,
    groups: u64,
    successes: u64,
    failures: u64,
    quarantined: bool,
    held: bool,
    url: String,
}

#[derive(askama::Template)]
#[template(path = "apps.html")]
struct AppsPage {
    chrome: Chrome,
    apps: Vec<AppRow>,
}

async fn list(State(state): State<AppState>, s: Session) -> UiResult {
    let mut apps = Vec::new();
    for record in state.store.list_apps(Some(&s.principal.tenant_id)).await? {
        let status = server::apps::settings::status_of(&state, &record).await?;
        let label = json_text(&status, &["state"]);
        apps.push(AppRow {
            q: seg(&record.name),
            name: record.name.clone(),
            enabled: record.enabled,
            badge: badge_of(&label),
            state: label,
            last_cycle: json_text(&status, &["lastCycleEnd"])
                .parse::<jiff::Timestamp>()
                .map(crate::page::short_time)
                .unwrap_or_default(),
            users: number(&status, &["counts", "usersActive"]),
            groups: number(&status, &["counts", "groupsActive"]),
            successes: number(&status, &["totals", "successes"]),
            failures: number(&status, &["totals", "failures"]),
            quarantined: status.get("quarantine").is_some_and(|q| !q.is_null()),
            held: status.get("held").is_some_and(|h| !h.is_null()),
            url: json_text(&record.spec, &["url"]),
        });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(render(&AppsPage {
        chrome: s.chrome("apps"),
        apps,
    }))
}

/// The app's settings as the API's replace takes them: its spec plus `enabled`.
pub fn settings_body(record: &AppRecord) -> serde_json::Map<String, Value> {
    let mut body = record.spec.as_object().cloned().unwrap_or_default();
    body.insert("enabled".into(), record.enabled.into());
    body
}

/// Saves an app's settings through the admin API's replace. A client's mistake comes back as
/// its message, for the form to show; anything else is an error page.
pub async fn save_settings(
    state: &AppState,
    s: &Session,
    name: &str,
    body: serde_json::Map<String, Value>,
) -> UiResult<Result<(), String>> {
    let result = server::apps::settings::replace(
        State(state.clone()),
        s.principal.clone(),
        axum::extract::Path(name.to_owned()),
        server::json::ScimBody(Value::Object(body)),
    )
    .await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(e) if e.parts().0.is_client_error() => Ok(Err(crate::page::message_of(e))),
        Err(e) => Err(e.into()),
    }
}
