//! The admin API under `/api/v1` (admin-scoped tokens): tenant extension schemas for now.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use domain::schema::Registry;
use domain::{Error, Scope};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemas", get(list_schemas).post(put_schema))
        .route("/schemas/{uri}", get(get_schema).delete(delete_schema))
        .fallback(crate::scim::no_route)
}

pub async fn list_schemas(State(state): State<AppState>, p: Principal) -> ApiResult<ScimResponse> {
    p.require(Scope::Admin)?;
    let mut items = Vec::new();
    for json in state.store.extension_schemas(&p.tenant_id).await? {
        items.push(
            serde_json::from_str::<Value>(&json).map_err(|e| Error::Internal(e.to_string()))?,
        );
    }
    Ok(ScimResponse::ok(Value::Array(items)))
}

async fn get_schema(
    State(state): State<AppState>,
    p: Principal,
    Path(uri): Path<String>,
) -> ApiResult<ScimResponse> {
    p.require(Scope::Admin)?;
    for json in state.store.extension_schemas(&p.tenant_id).await? {
        let ext = Registry::parse_extension(&json)?;
        if ext.uri().eq_ignore_ascii_case(&uri) {
            let v = serde_json::from_str(&json).map_err(|e| Error::Internal(e.to_string()))?;
            return Ok(ScimResponse::ok(v));
        }
    }
    Err(Error::NotFound(format!("extension schema `{uri}` not found")).into())
}

/// Registers (or replaces) a tenant extension schema. The whole registry is rebuilt first, so a
/// definition that clashes with another is refused before anything is stored.
pub async fn put_schema(
    State(state): State<AppState>,
    p: Principal,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    p.require(Scope::Admin)?;
    let json = body.to_string();
    let ext = Registry::parse_extension(&json)?;
    let uri = ext.uri().to_owned();
    let mut exts = vec![ext];
    for other in state.store.extension_schemas(&p.tenant_id).await? {
        let other = Registry::parse_extension(&other)?;
        if !other.uri().eq_ignore_ascii_case(&uri) {
            exts.push(other);
        }
    }
    Registry::with_extensions(exts)?;
    state
        .store
        .put_extension_schema(&p.tenant_id, &uri, &json)
        .await?;
    state.invalidate_registry(&p.tenant_id);
    Ok(ScimResponse {
        status: StatusCode::CREATED,
        ..ScimResponse::ok(body)
    })
}

pub async fn delete_schema(
    State(state): State<AppState>,
    p: Principal,
    Path(uri): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.require(Scope::Admin)?;
    state
        .store
        .delete_extension_schema(&p.tenant_id, &uri)
        .await?;
    state.invalidate_registry(&p.tenant_id);
    Ok(StatusCode::NO_CONTENT)
}
