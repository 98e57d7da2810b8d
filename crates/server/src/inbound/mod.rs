//! API-driven inbound provisioning, compatible with Entra's (spec §5), under `/api/v1/inbound`:
//! `POST bulkUpload` (the default source) and `POST {source}/bulkUpload` take a SCIM
//! BulkRequest of user records from an HR system, check it whole, stage it and answer 202 with
//! the `Location` of its status resource (`GET requests/{id}`: each record's outcome); the
//! processor (`inbound::Inbound`) applies the records asynchronously.
//!
//! Tokens of the tenant with `scim:write` may upload; `scim:read` or `scim:write` may read the
//! status. Over the per-tenant-and-source rate limit, or with too many records waiting, the
//! answer is 429 with `Retry-After`.

mod limit;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use domain::inbound::{Outcome, RecordResult, RequestSummary, StagedRequest};
use domain::{Error, LogQuery, LogStatus, Scope};
use serde_json::{json, Map, Value};

pub use self::limit::{RateLimit, RateLimiter};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::{ScimResponse, SCIM_JSON};
use crate::AppState;

/// The processor and the rate limiter of this server's inbound endpoints.
#[derive(Clone, Debug)]
pub struct InboundState {
    pub processor: inbound::Inbound,
    pub limiter: std::sync::Arc<RateLimiter>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbound/bulkUpload", post(upload_default))
        .route("/inbound/{source}/bulkUpload", post(upload_named))
        .route("/inbound/requests", get(list))
        .route("/inbound/requests/{id}", get(show))
        .route("/inbound/{source}/logs", get(logs))
        .route("/inbound/sources", get(sources))
}

fn processor(state: &AppState) -> ApiResult<&InboundState> {
    state.inbound.as_ref().ok_or_else(|| {
        ApiError::Busy(
            "inbound provisioning is not running in this server; start it with `scimitar serve`"
                .into(),
        )
    })
}

async fn upload_default(
    State(state): State<AppState>,
    p: Principal,
    req: Request,
) -> ApiResult<ScimResponse> {
    upload(state, p, inbound::DEFAULT_SOURCE.to_owned(), req).await
}

async fn upload_named(
    State(state): State<AppState>,
    p: Principal,
    Path(source): Path<String>,
    req: Request,
) -> ApiResult<ScimResponse> {
    upload(state, p, source, req).await
}

/// Checks everything before staging anything: a refused request leaves no trace.
async fn upload(
    state: AppState,
    p: Principal,
    source: String,
    req: Request,
) -> ApiResult<ScimResponse> {
    p.require(Scope::ScimWrite)?;
    let inbound = processor(&state)?;
    let src =
        inbound.processor.sources().find(&source).ok_or_else(|| {
            Error::NotFound(format!("inbound source `{source}` is not configured"))
        })?;
    require_scim_json(req.headers())?;
    inbound.limiter.check(&p.tenant_id, &source)?;
    let backlog = inbound.processor.backlog();
    let cap = inbound.processor.config().max_backlog;
    if backlog >= cap {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "{backlog} records are waiting to be processed (the cap is {cap}); send this \
                 request again later"
            ),
            retry_after: 5,
        });
    }
    let limit = state.config.bulk_max_payload;
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!(
                "the request body is over the limit of {limit} bytes"
            ))
        })?;
    let body = crate::json::parse_json(&bytes)?;
    let registry = state.registry(&p.tenant_id).await?;
    let known = |uri: &str| registry.schema(uri).is_some();
    let records = inbound::record::parse_bulk(body, &src, &known)?;
    let id = uuid::Uuid::new_v4().to_string();
    let staged = StagedRequest {
        id: id.clone(),
        tenant_id: p.tenant_id.clone(),
        source: source.clone(),
        received: state.clock.now(),
        records,
    };
    inbound.processor.stage(&staged).await?;
    let location = format!("/api/v1/inbound/requests/{id}");
    Ok(ScimResponse {
        status: StatusCode::ACCEPTED,
        body: Some(json!({
            "id": id,
            "source": source,
            "status": "staged",
            "records": staged.records.len(),
            "location": location,
        })),
        etag: None,
        location: Some(location),
    })
}

/// Entra answers 400 when the content type is missing or not SCIM's (spec §5).
fn require_scim_json(headers: &HeaderMap) -> ApiResult<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim().to_owned();
    if essence == SCIM_JSON {
        return Ok(());
    }
    let got = if essence.is_empty() {
        "none".to_owned()
    } else {
        format!("`{essence}`")
    };
    Err(Error::InvalidSyntax(format!(
        "bulkUpload requires `Content-Type: {SCIM_JSON}` (got {got})"
    ))
    .into())
}

fn require_read(p: &Principal) -> ApiResult<()> {
    p.require(Scope::ScimRead)
        .or_else(|_| p.require(Scope::ScimWrite))
}

fn state_of(s: &RequestSummary) -> &'static str {
    match (s.completed, s.processed) {
        (Some(_), _) => "completed",
        (None, 0) => "staged",
        (None, _) => "processing",
    }
}

fn summary_json(s: &RequestSummary) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), s.id.clone().into());
    m.insert("source".into(), s.source.clone().into());
    m.insert("status".into(), state_of(s).into());
    m.insert("received".into(), s.received.to_string().into());
    m.insert(
        "completed".into(),
        s.completed.map_or(Value::Null, |c| c.to_string().into()),
    );
    m.insert("total".into(), s.total.into());
    m.insert("processed".into(), s.processed.into());
    m.insert(
        "location".into(),
        format!("/api/v1/inbound/requests/{}", s.id).into(),
    );
    m
}

fn record_json(r: &RecordResult) -> Value {
    json!({
        "index": r.index,
        "bulkId": r.bulk_id,
        "externalId": r.external_id,
        "outcome": r.outcome.as_str(),
        "userId": r.user_id,
        "error": r.error,
    })
}

async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ScimResponse> {
    require_read(&p)?;
    let (summary, records) = state
        .store
        .inbound_request(&p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("inbound request `{id}` not found")))?;
    let mut body = summary_json(&summary);
    let mut counts = Map::new();
    for outcome in Outcome::ALL {
        let n = records.iter().filter(|r| r.outcome == outcome).count();
        counts.insert(outcome.as_str().into(), n.into());
    }
    body.insert("outcomes".into(), Value::Object(counts));
    body.insert(
        "records".into(),
        Value::Array(records.iter().map(record_json).collect()),
    );
    Ok(ScimResponse::ok(Value::Object(body)))
}

#[derive(Debug, serde::Deserialize)]
struct ListParams {
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<ScimResponse> {
    require_read(&p)?;
    let limit = params.limit.unwrap_or(50).clamp(1, 1000);
    let requests = state.store.inbound_requests(&p.tenant_id, limit).await?;
    let items: Vec<Value> = requests
        .iter()
        .map(|s| Value::Object(summary_json(s)))
        .collect();
    Ok(ScimResponse::ok(json!({ "requests": items })))
}

#[derive(Debug, serde::Deserialize)]
struct LogParams {
    status: Option<String>,
    user: Option<String>,
    since: Option<String>,
    before: Option<i64>,
    limit: Option<usize>,
}

/// The source's provisioning log, newest first: one entry per record processed (and per
/// effective-dated action), with `?status=`, `?user=`, `?since=` and `?before=` (paging).
async fn logs(
    State(state): State<AppState>,
    p: Principal,
    Path(source): Path<String>,
    Query(params): Query<LogParams>,
) -> ApiResult<ScimResponse> {
    require_read(&p)?;
    let status = params
        .status
        .as_deref()
        .map(|s| {
            LogStatus::parse(s).ok_or_else(|| {
                Error::InvalidValue(format!(
                    "parameter `status`: `{s}` is not one of success, warning, failure, skipped"
                ))
            })
        })
        .transpose()?;
    let since = params
        .since
        .as_deref()
        .map(|s| {
            s.parse::<jiff::Timestamp>().map_err(|e| {
                Error::InvalidValue(format!(
                    "parameter `since`: `{s}` is not an RFC 3339 time: {e}"
                ))
            })
        })
        .transpose()?;
    let query = LogQuery {
        app_id: domain::inbound::log_app_id(&p.tenant_id, &source),
        source_id: params.user,
        status,
        since,
        until: None,
        before: params.before,
        limit: params.limit.unwrap_or(50).clamp(1, 1000),
    };
    let entries: Vec<Value> = state
        .store
        .logs(&query)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "at": e.at.to_string(),
                "requestId": e.cycle_id,
                "userId": (!e.source_id.is_empty()).then_some(e.source_id),
                "action": e.action,
                "status": e.status.as_str(),
                "reason": e.reason,
                "bulkId": e.details.get("bulkId"),
                "externalId": e.details.get("externalId"),
                "outcome": e.details.get("outcome"),
            })
        })
        .collect();
    Ok(ScimResponse::ok(json!({ "entries": entries })))
}

/// The configured sources and their settings, with the URL each takes uploads at.
async fn sources(State(state): State<AppState>, p: Principal) -> ApiResult<ScimResponse> {
    require_read(&p)?;
    let inbound = processor(&state)?;
    let mut items = Vec::new();
    for source in inbound.processor.sources().all() {
        let mut spec = serde_json::to_value(&source.spec)
            .map_err(|e| Error::Internal(format!("cannot show source settings: {e}")))?;
        let url = if source.name() == inbound::DEFAULT_SOURCE {
            "/api/v1/inbound/bulkUpload".to_owned()
        } else {
            format!("/api/v1/inbound/{}/bulkUpload", source.name())
        };
        if let Some(o) = spec.as_object_mut() {
            o.insert("bulkUpload".into(), url.into());
        }
        items.push(spec);
    }
    Ok(ScimResponse::ok(json!({ "sources": items })))
}
