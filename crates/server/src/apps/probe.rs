//! "Test connection": `POST /api/v1/apps/{name}/test-connection` probes the app's downstream
//! SCIM target with the client provisioning uses and answers the report
//! (`scim_proto::probe::ProbeReport`). A failed test is still a 200: the report's `ok` and its
//! steps say what failed; only an unknown app (404), a missing scope (401/403) or settings no
//! client can be built from (400) are errors.

use axum::extract::{Path, State};
use domain::Error;

use super::{engine, find};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::json::ScimResponse;
use crate::AppState;

pub async fn test_connection(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> ApiResult<ScimResponse> {
    let record = find(&state, &p, &name).await?;
    let (engine, _) = engine(&state)?;
    let report = engine.test_connection(&record).await?;
    let body = serde_json::to_value(&report)
        .map_err(|e| Error::Internal(format!("connection test report: {e}")))?;
    Ok(ScimResponse::ok(body))
}
