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
use domain::{Error, Load, Query, ResourceKind, StoredResource};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, Span};
use serde_json::Value;
use server::scim::service::Ctx;
use server::AppState;

use crate::page::{see_other, UiResult};
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

/// The SCIM service acting for the signed-in admin.
pub async fn ctx(state: &AppState, s: &Session) -> UiResult<Ctx> {
    Ok(Ctx::new(state, s.principal.clone()).await?)
}

/// The base URL resources are rendered with (their `meta.location`).
pub fn base_url(state: &AppState) -> &str {
    state.config.public_url.as_deref().unwrap_or("/scim/v2")
}

/// The user or group named by `who`: its id, else the one whose `attribute` equals it (an
/// indexed lookup: `userName`, a group's `displayName`).
pub async fn find(
    ctx: &Ctx,
    kind: ResourceKind,
    attribute: &str,
    who: &str,
    load: Load,
) -> UiResult<Option<StoredResource>> {
    match ctx.get(kind, who, load).await {
        Ok(found) => return Ok(Some(found)),
        Err(server::ApiError::Domain(Error::NotFound(_))) => {}
        Err(e) => return Err(e.into()),
    }
    let query = Query {
        filter: Some(Filter::Compare {
            attr: AttrPath {
                uri: None,
                name: attribute.into(),
                sub: None,
                span: Span::default(),
            },
            op: CompareOp::Eq,
            value: CompValue::String(who.to_owned()),
            span: Span::default(),
        }),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 1,
        cursor: None,
        load,
    };
    let info = ctx.registry.info(kind);
    let page = ctx
        .state
        .store
        .query(&ctx.principal.tenant_id, kind, &query, &info)
        .await?;
    Ok(page.resources.into_iter().next())
}

/// The value at `path` of a JSON document as text: strings as they are, numbers and booleans
/// written out, `""` when absent or null.
pub fn json_text(v: &Value, path: &[&str]) -> String {
    match path.iter().try_fold(v, |v, key| v.get(key)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
