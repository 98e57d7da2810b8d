//! Who an app provisions: its assignments (users and groups), its scoping filters, and "why is
//! this user (not) in scope", which shows the scope decision and what the next cycle would
//! send for the user.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::{Load, ResourceKind};
use serde_json::{json, Value};
use server::json::ScimBody;
use server::AppState;

use super::{
    engine, json_text, label_of, load, pretty, resolve_group, resolve_user, save_settings,
    settings_body, AppHeader,
};
use crate::form::Posted;
use crate::page::{render, see_other, Chrome, UiResult};
use crate::session::Session;

struct Assignment {
    kind: &'static str,
    id: String,
    label: String,
}

struct Explained {
    user: String,
    assigned: bool,
    reason: String,
    target_id: String,
    operations: Vec<(String, String)>,
    deferred: Vec<String>,
}

#[derive(Template)]
#[template(path = "app_scope.html")]
struct ScopePage {
    chrome: Chrome,
    app: AppHeader,
    scope: String,
    assignments: Vec<Assignment>,
    scoping: String,
    error: Option<String>,
    explain_user: String,
    explained: Option<Explained>,
}

async fn page(
    state: &AppState,
    s: &Session,
    name: &str,
    scoping: Option<String>,
    error: Option<String>,
    explain_user: String,
    explained: Option<Explained>,
) -> UiResult {
    let loaded = load(state, s, name, "scope").await?;
    let mut assignments = Vec::new();
    for (kind, id) in state.store.assignments(&loaded.record.id).await? {
        let label = state
            .store
            .get(&s.principal.tenant_id, kind, &id, Load::NONE)
            .await?
            .map_or_else(|| "(deleted)".to_owned(), |r| label_of(&r));
        assignments.push(Assignment {
            kind: kind.name(),
            id,
            label,
        });
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = ScopePage {
        chrome: s.chrome("apps"),
        scope: json_text(&loaded.record.spec, &["scope"]),
        scoping: scoping.unwrap_or_else(|| json_text(&loaded.record.spec, &["scoping"])),
        app: loaded.header,
        assignments,
        error,
        explain_user,
        explained,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn show(State(state): State<AppState>, s: Session, Path(name): Path<String>) -> UiResult {
    page(&state, &s, &name, None, None, String::new(), None).await
}

/// Assigns a user (by userName or id) or a group (by displayName or id).
pub async fn assign(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let given = posted.fields.get("who").unwrap_or_default();
    let (kind, found) = if posted.fields.get("kind") == Some("Group") {
        (ResourceKind::Group, resolve_group(&state, s, given).await)
    } else {
        (ResourceKind::User, resolve_user(&state, s, given).await)
    };
    let resource = match found {
        Ok(r) => r,
        Err(e) => {
            let message = crate::page::message_of(e.0);
            return page(&state, s, &name, None, Some(message), String::new(), None).await;
        }
    };
    server::apps::ops::assign(
        State(state.clone()),
        s.principal.clone(),
        Path(name.clone()),
        ScimBody(json!({"type": kind.name(), "id": resource.id})),
    )
    .await?;
    Ok(see_other(&format!(
        "/ui/apps/{}/scope",
        crate::page::seg(&name)
    )))
}

pub async fn unassign(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let kind = posted.fields.get("kind").unwrap_or("User").to_owned();
    let id = posted.fields.get("id").unwrap_or_default().to_owned();
    server::apps::ops::unassign(
        State(state.clone()),
        s.principal.clone(),
        Path((name.clone(), kind, id)),
    )
    .await?;
    Ok(see_other(&format!(
        "/ui/apps/{}/scope",
        crate::page::seg(&name)
    )))
}

/// Saves the scoping filters (Entra's scoping clauses, one group per line; empty: none).
pub async fn save_scoping(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let loaded = load(&state, s, &name, "scope").await?;
    let scoping = posted
        .fields
        .get("scoping")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut body = settings_body(&loaded.record);
    if scoping.is_empty() {
        body.remove("scoping");
    } else {
        body.insert("scoping".into(), scoping.clone().into());
    }
    match save_settings(&state, s, &name, body).await? {
        Ok(()) => Ok(see_other(&format!("/ui/apps/{}/scope", loaded.header.q))),
        Err(e) => {
            page(
                &state,
                s,
                &name,
                Some(scoping),
                Some(e),
                String::new(),
                None,
            )
            .await
        }
    }
}

/// Why a user is (not) in scope, and what the next cycle would send for them.
pub async fn explain(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let given = posted.fields.get("user").unwrap_or_default().to_owned();
    let user = match resolve_user(&state, s, &given).await {
        Ok(u) => u,
        Err(e) => {
            let message = crate::page::message_of(e.0);
            return page(&state, s, &name, None, Some(message), given, None).await;
        }
    };
    let loaded = load(&state, s, &name, "scope").await?;
    let v = engine(&state)?
        .context(&loaded.record)?
        .explain_user(&user.id)
        .await?;
    let explained = Explained {
        user: label_of(&user),
        assigned: v.get("assigned").and_then(Value::as_bool).unwrap_or(false),
        reason: json_text(&v, &["reason"]),
        target_id: json_text(&v, &["targetId"]),
        operations: v
            .get("operations")
            .and_then(Value::as_array)
            .map(|ops| {
                ops.iter()
                    .map(|o| {
                        (
                            json_text(o, &["action"]),
                            o.get("operation").map(pretty).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        deferred: v
            .get("deferred")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    };
    page(&state, s, &name, None, None, given, Some(explained)).await
}
