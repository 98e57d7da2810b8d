//! The provisioning apps of the admin API under `/api/v1/apps` (admin-scoped tokens; the tenant
//! is the token's): settings (`settings`), the engine's status, plans, on-demand runs, logs
//! and controls (`ops`), and the connection test of an app's target (`probe`). Every change tells
//! the engine to reload.

pub mod ops;
pub mod probe;
pub mod settings;

use axum::routing::{delete, get, post};
use axum::Router;
use domain::{AppRecord, Scope};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(settings::list).post(settings::create))
        .route(
            "/apps/{name}",
            get(settings::show)
                .put(settings::replace)
                .delete(settings::remove),
        )
        .route(
            "/apps/{name}/assignments",
            get(ops::assignments).post(ops::assign),
        )
        .route(
            "/apps/{name}/assignments/{kind}/{id}",
            delete(ops::unassign),
        )
        .route("/apps/{name}/status", get(ops::status))
        .route("/apps/{name}/plan", post(ops::plan))
        .route("/apps/{name}/provision", post(ops::provision))
        .route("/apps/{name}/logs", get(ops::logs))
        .route("/apps/{name}/explain", get(ops::explain))
        .route("/apps/{name}/restart", post(ops::restart))
        .route("/apps/{name}/approve-deletions", post(ops::approve))
        .route("/apps/{name}/test-connection", post(probe::test_connection))
}

/// The engine and sealer of this server, or 503 when it runs without them.
fn engine(state: &AppState) -> ApiResult<(&engine::Engine, &domain::secret::Sealer)> {
    match (&state.engine, &state.sealer) {
        (Some(e), Some(s)) => Ok((e, s)),
        _ => Err(ApiError::Busy(
            "the provisioning engine is not configured in this server; start it with \
             `scimitar serve`"
                .into(),
        )),
    }
}

/// The admin principal's app `name`, or 404.
async fn find(state: &AppState, p: &Principal, name: &str) -> ApiResult<AppRecord> {
    p.require(Scope::Admin)?;
    engine(state)?;
    state
        .store
        .app(&p.tenant_id, name)
        .await?
        .ok_or_else(|| domain::Error::NotFound(format!("app `{name}` not found")).into())
}
