//! The console's pages, one module per section. Handlers take a [`Session`] (reading) or a
//! [`Posted`] form (changing), call the domain, engine or admin-API functions, and render a
//! template from `templates/`.

mod apps;
mod groups;
mod inbound;
mod listing;
mod schemas;
mod tokens;
mod users;

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use server::AppState;

use crate::page::see_other;
use crate::session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(apps::routes())
        .merge(groups::routes())
        .merge(inbound::routes())
        .merge(schemas::routes())
        .merge(tokens::routes())
        .merge(users::routes())
}

/// The console opens on the apps overview.
async fn home(_: Session) -> Response {
    see_other("/ui/apps")
}
