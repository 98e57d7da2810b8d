//! One resource: POST, GET, PUT, PATCH, DELETE on `/Users` and `/Groups` (RFC 7644 §3.3–3.6).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::project::Projection;
use domain::render::render;
use domain::StoredResource;
use serde_json::Value;

use super::service::Ctx;
use super::{kind_of, projection, Req};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::etag::etag;
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

/// Renders a resource for a response: full JSON, projected, with ETag.
pub fn respond(
    ctx: &Ctx,
    res: StoredResource,
    projection: &Projection,
    base: &str,
    status: StatusCode,
) -> ScimResponse {
    let location = (status == StatusCode::CREATED)
        .then(|| format!("{base}/{}/{}", res.kind.endpoint(), res.id));
    let (kind, version) = (res.kind, res.version);
    let full = render(res, base);
    let body = projection.apply(&ctx.registry, kind, full);
    ScimResponse {
        status,
        body: Some(Value::Object(body)),
        etag: Some(etag(version)),
        location,
    }
}

/// The projection of a read or a write's response, from `attributes` / `excludedAttributes`.
fn projection_of(
    ctx: &Ctx,
    kind: domain::ResourceKind,
    req: &Req,
) -> ApiResult<(Projection, domain::Load)> {
    projection(
        &ctx.registry,
        kind,
        req.params.get("attributes"),
        req.params.get("excludedAttributes"),
    )
}

pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(endpoint): Path<String>,
    req: Req,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    let (proj, load) = projection_of(&ctx, kind, &req)?;
    let created = ctx.create(kind, body, load).await?;
    Ok(respond(
        &ctx,
        created,
        &proj,
        &req.base,
        StatusCode::CREATED,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    req: Req,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    let (proj, load) = projection_of(&ctx, kind, &req)?;
    let res = ctx.get(kind, &id, load).await?;
    if req
        .pre
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
    if let Some(p) = &req.pre.if_match {
        if !p.matches(res.version) {
            return Err(domain::Error::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                etag(res.version)
            ))
            .into());
        }
    }
    Ok(respond(&ctx, res, &proj, &req.base, StatusCode::OK))
}

pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    req: Req,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    let (proj, load) = projection_of(&ctx, kind, &req)?;
    let res = ctx.replace(kind, &id, body, &req.pre, load).await?;
    Ok(respond(&ctx, res, &proj, &req.base, StatusCode::OK))
}

pub async fn patch(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    req: Req,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    let (proj, load) = projection_of(&ctx, kind, &req)?;
    let res = ctx.patch(kind, &id, &body, &req.pre, load).await?;
    Ok(respond(&ctx, res, &proj, &req.base, StatusCode::OK))
}

pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((endpoint, id)): Path<(String, String)>,
    req: Req,
) -> ApiResult<StatusCode> {
    let kind = kind_of(&endpoint)?;
    let ctx = Ctx::new(&state, principal).await?;
    ctx.delete(kind, &id, &req.pre).await?;
    Ok(StatusCode::NO_CONTENT)
}
