//! Users: the list (searched with a SCIM filter, paged by userName), a user's page with its
//! edit form, and disabling or enabling. Everything goes through the SCIM service (`Ctx`), so
//! the console validates, versions and recomputes dynamic groups exactly as the API does.

mod edit;
mod list;
mod show;

use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use server::AppState;

use crate::pages::{base_url, ctx, json_text};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list::list))
        .route("/users/{id}", get(show::show).post(edit::edit))
        .route("/users/{id}/active", post(edit::set_active))
}

/// `active` as a badge: SCIM leaves it out for users whose source does not say.
fn active_of(v: &Value) -> Option<bool> {
    v.get("active").and_then(Value::as_bool)
}
