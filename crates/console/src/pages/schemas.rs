//! The tenant's extension schemas (RFC 7643 §3.3): the attributes its users carry beyond the
//! core and enterprise schemas. Registering and removing go through the admin API's own
//! handlers, which rebuild the registry first: a clash or a bad definition is refused with the
//! API's message and nothing is stored.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use server::json::ScimBody;
use server::AppState;

use crate::form::Posted;
use crate::page::{message_of, render, see_other, Chrome, UiResult};
use crate::session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemas", get(list).post(add))
        .route("/schemas/remove", post(remove))
}

struct Attribute {
    name: String,
    kind: String,
    multi: bool,
    uniqueness: String,
}

struct SchemaRow {
    uri: String,
    name: String,
    description: String,
    attributes: Vec<Attribute>,
}

fn row(v: &Value) -> SchemaRow {
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    SchemaRow {
        uri: text(v, "id"),
        name: text(v, "name"),
        description: text(v, "description"),
        attributes: v
            .get("attributes")
            .and_then(Value::as_array)
            .map(|attrs| {
                attrs
                    .iter()
                    .map(|a| Attribute {
                        name: text(a, "name"),
                        kind: text(a, "type"),
                        multi: a.get("multiValued").and_then(Value::as_bool) == Some(true),
                        uniqueness: text(a, "uniqueness"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "schemas.html")]
struct SchemasPage {
    chrome: Chrome,
    schemas: Vec<SchemaRow>,
    json: String,
    error: Option<String>,
}

async fn page(state: &AppState, s: &Session, json: String, error: Option<String>) -> UiResult {
    let listed = server::admin::list_schemas(State(state.clone()), s.principal.clone()).await?;
    let schemas = listed
        .body
        .as_ref()
        .and_then(Value::as_array)
        .map(|a| a.iter().map(row).collect())
        .unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = SchemasPage {
        chrome: s.chrome("schemas"),
        schemas,
        json,
        error,
    };
    Ok((status, render(&page)).into_response())
}

async fn list(State(state): State<AppState>, s: Session) -> UiResult {
    page(&state, &s, String::new(), None).await
}

/// Registers (or replaces) an extension schema given as JSON.
async fn add(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let json = posted.fields.get("schema").unwrap_or_default().to_owned();
    let body = match serde_json::from_str::<Value>(&json) {
        Ok(body) => body,
        Err(e) => {
            let error = format!("the schema is not JSON: {e}");
            return page(&state, s, json, Some(error)).await;
        }
    };
    match server::admin::put_schema(State(state.clone()), s.principal.clone(), ScimBody(body)).await
    {
        Ok(_) => {
            tracing::info!(tenant = %s.tenant_name, "extension schema registered in the console");
            Ok(see_other("/ui/schemas"))
        }
        Err(e) if e.parts().0.is_client_error() => page(&state, s, json, Some(message_of(e))).await,
        Err(e) => Err(e.into()),
    }
}

async fn remove(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let uri = posted.fields.get("uri").unwrap_or_default().to_owned();
    server::admin::delete_schema(
        State(state.clone()),
        s.principal.clone(),
        axum::extract::Path(uri),
    )
    .await?;
    Ok(see_other("/ui/schemas"))
}
