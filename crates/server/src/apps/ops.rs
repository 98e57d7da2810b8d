//! What admins do with an app beyond its settings: assignments, status, the plan of a full
//! cycle, provisioning one user on demand, logs, restart and approving held deletions.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use domain::{Error, Load, LogQuery, LogStatus, ResourceKind};
use engine::runtime::report::log_json;
use serde_json::{json, Value};

use super::settings::status_of;
use super::{engine, find};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

/// Most log entries or plan operations one request returns.
const MAX_LIMIT: usize = 1000;

fn kind(name: &str) -> ApiResult<ResourceKind> {
    let singular = name.strip_suffix('s').unwrap_or(name);
    ResourceKind::from_name(singular).ok_or_else(|| {
        Error::InvalidValue(format!("type `{name}` is neither `User` nor `Group`")).into()
    })
}

/// The query string's parameters, decoded.
fn params(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(params: &[(String, String)], name: &str) -> ApiResult<Option<T>> {
    param(params, name)
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::from(Error::InvalidValue(format!(
                    "parameter `{name}`: `{v}` is not a valid number"
                )))
            })
        })
        .transpose()
}

fn timestamp(params: &[(String, String)], name: &str) -> ApiResult<Option<jiff::Timestamp>> {
    param(params, name)
        .map(|v| {
            v.parse().map_err(|e| {
                ApiError::from(Error::InvalidValue(format!(
                    "parameter `{name}`: `{v}` is not an RFC 3339 time such as \
                     2025-03-01T08:00:00Z ({e})"
                )))
            })
        })
        .transpose()
}

pub async fn assignments(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let items: Vec<Value> = state
        .store
        .assignments(&record.id)
        .await?
        .into_iter()
        .map(|(k, id)| json!({"type": k.name(), "id": id}))
        .collect();
    Ok(ScimResponse::ok(Value::Array(items)))
}

pub async fn assign(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let kind = kind(body.get("type").and_then(Value::as_str).unwrap_or("User"))?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::InvalidValue("`id` (the user's or group's id) is required".into()))?;
    if state
        .store
        .get(&p.tenant_id, kind, id, Load::NONE)
        .await?
        .is_none()
    {
        return Err(Error::NotFound(format!(
            "there is no {} with id `{id}` in this tenant",
            kind.name().to_lowercase()
        ))
        .into());
    }
    state
        .store
        .set_assignment(&record.id, kind, id, true, state.clock.now())
        .await?;
    engine.wake(&record.id);
    Ok(ScimResponse {
        status: StatusCode::CREATED,
        ..ScimResponse::ok(json!({"type": kind.name(), "id": id}))
    })
}

pub async fn unassign(
    State(state): State<AppState>,
    p: Principal,
    Path((name, kind_name, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let record = find(&state, &p, &name).await?;
    let kind = kind(&kind_name)?;
    state
        .store
        .set_assignment(&record.id, kind, &id, false, state.clock.now())
        .await?;
    if let Some(engine) = &state.engine {
        engine.wake(&record.id);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn status(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    Ok(ScimResponse::ok(status_of(&state, &record).await?))
}

pub async fn plan(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let params = params(query.as_deref());
    let limit = number::<usize>(&params, "limit")?
        .unwrap_or(100)
        .min(MAX_LIMIT);
    let plan = engine.context(&record)?.dry_run(limit).await?;
    Ok(ScimResponse::ok(plan))
}

pub async fn provision(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let user = body
        .get("userId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::InvalidValue("`userId` (the user to provision) is required".into())
        })?;
    Ok(ScimResponse::ok(
        engine.provision_on_demand(&record, user).await?,
    ))
}

/// `GET /apps/{name}/explain?user=ID`: why the user is (not) in the app's scope and what the
/// next cycle would send for them; nothing is sent.
pub async fn explain(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let params = params(query.as_deref());
    let user = param(&params, "user").ok_or_else(|| {
        Error::InvalidValue("parameter `user` (the user's id in the directory) is required".into())
    })?;
    Ok(ScimResponse::ok(
        engine.context(&record)?.explain_user(user).await?,
    ))
}

pub async fn logs(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let params = params(query.as_deref());
    let status = param(&params, "status")
        .map(|s| {
            LogStatus::parse(s).ok_or_else(|| {
                ApiError::from(Error::InvalidValue(format!(
                    "parameter `status`: `{s}` is not one of success, warning, failure, skipped"
                )))
            })
        })
        .transpose()?;
    let query = LogQuery {
        app_id: record.id.clone(),
        source_id: param(&params, "user").map(str::to_owned),
        status,
        since: timestamp(&params, "since")?,
        until: timestamp(&params, "until")?,
        before: number(&params, "before")?,
        limit: number::<usize>(&params, "limit")?
            .unwrap_or(50)
            .clamp(1, MAX_LIMIT),
    };
    let entries: Vec<Value> = state
        .store
        .logs(&query)
        .await?
        .iter()
        .map(log_json)
        .collect();
    Ok(ScimResponse::ok(Value::Array(entries)))
}

pub async fn restart(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    engine.restart(&record).await?;
    Ok(ScimResponse::ok(json!({"restarted": true})))
}

pub async fn approve(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let held = engine.approve_deletions(&record).await?;
    Ok(ScimResponse::ok(json!({
        "held": held,
        "message": if held {
            "the held deletions are let through"
        } else {
            "no deletions were held; this cycle window's deletions are approved"
        },
    })))
}
