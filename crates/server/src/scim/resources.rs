//! One resource: POST, GET, PUT, PATCH, DELETE on `/Users` and `/Groups` (RFC 7644 §3.3–3.6).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use domain::project::Projection;
use domain::render::render;
use domain::StoredResource;
use serde_json::Value;

use super::service::Ctx;
use super::{base_url, kind_of, projection, Params};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::etag::{etag, Preconditions};
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

/// Renders a resource for a response: full JSON, projected, with ETag.
pub fn respond(
    ctx: &Ctx,
    res: &StoredResource,
    projection: &Projection,
    base: &str,
    status: StatusCode,
) -> ScimResponse {
    let full = render(res, base);
    let body = projection.apply(&ctx.registry, res.kind, full);
    let location = (status == StatusCode::CREATED)
        .then(|| format!("{base}/{}/{}", res.kind.endpoint(), res.id));
    ScimResponse {
        status,
        body: Some(Value::Object(body)),
        etag: Some(etag(res.version)),
        location,
    }
}

pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(endpoint): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    let params = Params::new(params);
    let (proj, load) = projection(
        &ctx.registry,
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )?;
    let created = ctx.create(kind, body, load).await?;
    Ok(respond(
        &ctx,
        &created,
        &proj,
        &base_url(&state, &headers),
        StatusCode::CREATED,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let pre = Preconditions::from_headers(&headers)?;
    let ctx = Ctx::new(&state, principal).await?;
    let params = Params::new(params);
    let (proj, load) = projection(
        &ctx.registry,
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )?;
    let res = ctx.get(kind, &id, load).await?;
    if pre
        .if_none_match
        .as_ref()
        .is_some_and(|p| p.matches(res.version))
    {
        return Ok(ScimResponse {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            etag: Some(etag(res.version)),
            location: None,
        });
    }
    if let Some(p) = &pre.if_match {
        if !p.matches(res.version) {
            return Err(domain::Error::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                etag(res.version)
            ))
            .into());
        }
    }
    Ok(respond(
        &ctx,
        &res,
        &proj,
        &base_url(&state, &headers),
        StatusCode::OK,
    ))
}

pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let pre = Preconditions::from_headers(&headers)?;
    let ctx = Ctx::new(&state, principal).await?;
    let params = Params::new(params);
    let (proj, load) = projection(
        &ctx.registry,
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )?;
    let res = ctx.replace(kind, &id, body, &pre, load).await?;
    Ok(respond(
        &ctx,
        &res,
        &proj,
        &base_url(&state, &headers),
        StatusCode::OK,
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let pre = Preconditions::from_headers(&headers)?;
    let ctx = Ctx::new(&state, principal).await?;
    let params = Params::new(params);
    let (proj, load) = projection(
        &ctx.registry,
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )?;
    let res = ctx.patch(kind, &id, &body, &pre, load).await?;
    Ok(respond(
        &ctx,
        &res,
        &proj,
        &base_url(&state, &headers),
        StatusCode::OK,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let kind = kind_of(&endpoint)?;
    let pre = Preconditions::from_headers(&headers)?;
    let ctx = Ctx::new(&state, principal).await?;
    ctx.delete(kind, &id, &pre).await?;
    Ok(StatusCode::NO_CONTENT)
}
