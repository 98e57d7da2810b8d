//! App settings: list, create, show, replace, delete. Bodies are the engine's `AppSpec` fields
//! plus `name`, `enabled` and the write-only secret (`token` or `clientSecret`); responses never
//! hold a secret, only `hasSecret`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::{AppRecord, Error, Scope};
use engine::runtime::report::status_json;
use engine::state::RunState;
use engine::AppSpec;
use serde_json::{Map, Value};

use super::{engine, find};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

/// Keys of a response that a body may carry back (a GET edited and PUT) and that are ignored.
const READ_ONLY: [&str; 6] = ["id", "hasSecret", "status", "created", "updated", "tenant"];

/// What a create or replace body says.
struct Input {
    name: Option<String>,
    enabled: Option<bool>,
    secret: Option<String>,
    spec: AppSpec,
}

fn string_field(body: &mut Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match body.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::InvalidValue(format!("`{key}` must be a string")).into()),
    }
}

fn parse_input(body: Value) -> ApiResult<Input> {
    let Value::Object(mut body) = body else {
        return Err(Error::InvalidSyntax("the app must be a JSON object".into()).into());
    };
    let name = string_field(&mut body, "name")?;
    let enabled = match body.remove("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            return Err(Error::InvalidValue("`enabled` must be true or false".into()).into())
        }
    };
    let token = string_field(&mut body, "token")?;
    let client_secret = string_field(&mut body, "clientSecret")?;
    let secret = match (token, client_secret) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidValue(
                "give either `token` (bearer) or `clientSecret` (OAuth), not both".into(),
            )
            .into())
        }
        (t, c) => t.or(c).filter(|s| !s.is_empty()),
    };
    for key in READ_ONLY {
        body.remove(key);
    }
    let spec: AppSpec = serde_json::from_value(Value::Object(body))
        .map_err(|e| Error::InvalidValue(format!("app settings: {e}")))?;
    spec.build()
        .map_err(|e| Error::InvalidValue(format!("app settings: {e}")))?;
    Ok(Input {
        name,
        enabled,
        secret,
        spec,
    })
}

fn check_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidValue(format!(
            "app name `{name}` must be 1-100 letters, digits, `-`, `_` or `.`"
        ))
        .into())
    }
}

/// The app as the API shows it: identity, settings, `hasSecret`; `status` when given.
pub fn view(record: &AppRecord, status: Option<Value>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), record.id.clone().into());
    out.insert("name".into(), record.name.clone().into());
    out.insert("enabled".into(), record.enabled.into());
    out.insert("hasSecret".into(), record.sealed_secret.is_some().into());
    if let Value::Object(spec) = &record.spec {
        for (k, v) in spec {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("created".into(), record.created.to_string().into());
    out.insert("updated".into(), record.updated.to_string().into());
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    Value::Object(out)
}

/// The engine's status of the app.
pub async fn status_of(state: &AppState, record: &AppRecord) -> ApiResult<Value> {
    let (engine, _) = engine(state)?;
    let counts = state.store.shadow_counts(&record.id).await?;
    let head = state.store.head_seq().await?;
    Ok(status_json(
        &record.name,
        record.enabled,
        engine.is_running(&record.id),
        &RunState::from_json(&record.state),
        &counts,
        head,
    ))
}

/// `v[key]` without indexing: `null` when absent.
fn at(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}

fn spec_json(spec: &AppSpec) -> ApiResult<Value> {
    serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()).into())
}

pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<ScimResponse> {
    p.require(Scope::Admin)?;
    engine(&state)?;
    let mut items = Vec::new();
    for record in state.store.list_apps(Some(&p.tenant_id)).await? {
        let status = status_of(&state, &record).await?;
        let short = serde_json::json!({
            "state": at(&status, "state"),
            "running": at(&status, "running"),
            "cycle": at(&status, "cycle"),
            "lastError": at(&status, "lastError"),
        });
        let mut item = serde_json::json!({
            "id": record.id,
            "name": record.name,
            "enabled": record.enabled,
            "url": record.spec.get("url").cloned().unwrap_or(Value::Null),
            "scope": record.spec.get("scope").cloned().unwrap_or(Value::Null),
            "hasSecret": record.sealed_secret.is_some(),
        });
        if let Some(obj) = item.as_object_mut() {
            obj.insert("status".into(), short);
        }
        items.push(item);
    }
    Ok(ScimResponse::ok(Value::Array(items)))
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    p.require(Scope::Admin)?;
    let (engine, sealer) = engine(&state)?;
    let input = parse_input(body)?;
    let name = input
        .name
        .ok_or_else(|| Error::InvalidValue("`name` is required".into()))?;
    check_name(&name)?;
    if state.store.app(&p.tenant_id, &name).await?.is_some() {
        return Err(Error::Conflict(format!("an app named `{name}` already exists")).into());
    }
    let now = state.clock.now();
    let record = AppRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: p.tenant_id.clone(),
        name,
        enabled: input.enabled.unwrap_or(true),
        spec: spec_json(&input.spec)?,
        sealed_secret: input.secret.map(|s| sealer.seal(&s)).transpose()?,
        state: Value::Null,
        created: now,
        updated: now,
    };
    state.store.put_app(&record).await?;
    engine.reload();
    Ok(ScimResponse {
        status: StatusCode::CREATED,
        location: Some(format!("/api/v1/apps/{}", record.name)),
        ..ScimResponse::ok(view(&record, None))
    })
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let status = status_of(&state, &record).await?;
    Ok(ScimResponse::ok(view(&record, Some(status))))
}

pub async fn replace(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let mut record = find(&state, &p, &name).await?;
    let (engine, sealer) = engine(&state)?;
    let input = parse_input(body)?;
    if let Some(new_name) = input.name.filter(|n| *n != record.name) {
        check_name(&new_name)?;
        record.name = new_name;
    }
    if let Some(enabled) = input.enabled {
        record.enabled = enabled;
    }
    if let Some(secret) = input.secret {
        record.sealed_secret = Some(sealer.seal(&secret)?);
    }
    record.spec = spec_json(&input.spec)?;
    // A later `updated` is how the engine notices the change and restarts the app's worker.
    let now = state.clock.now();
    record.updated = if now > record.updated {
        now
    } else {
        record
            .updated
            .checked_add(jiff::SignedDuration::from_millis(1))
            .unwrap_or(now)
    };
    state.store.put_app(&record).await?;
    engine.reload();
    Ok(ScimResponse::ok(view(&record, None)))
}

pub async fn remove(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    state.store.delete_app(&p.tenant_id, &record.id).await?;
    engine.reload();
    Ok(StatusCode::NO_CONTENT)
}
