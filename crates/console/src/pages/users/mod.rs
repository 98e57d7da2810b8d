//! Users: the list (searched with a SCIM filter, paged by userName), a user's page with its
//! edit form, and disabling or enabling. Everything goes through the SCIM service (`Ctx`), so
//! the console validates, versions and recomputes dynamic groups exactly as the API does.

mod edit;
mod list;
mod show;

use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use server::scim::service::Ctx;
use server::AppState;

use crate::page::UiResult;
use crate::session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list::list))
        .route("/users/{id}", get(show::show).post(edit::edit))
        .route("/users/{id}/active", post(edit::set_active))
}

/// The SCIM service acting for the signed-in admin.
async fn ctx(state: &AppState, s: &Session) -> UiResult<Ctx> {
    Ok(Ctx::new(state, s.principal.clone()).await?)
}

/// The base URL resources are rendered with (their `meta.location`).
fn base_url(state: &AppState) -> &str {
    state.config.public_url.as_deref().unwrap_or("/scim/v2")
}

/// The string at `path` in a JSON object (`["name", "givenName"]`), or `""`.
fn text_at(v: &Value, path: &[&str]) -> String {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `active` as a badge: SCIM leaves it out for users whose source does not say.
fn active_of(v: &Value) -> Option<bool> {
    v.get("active").and_then(Value::as_bool)
}
