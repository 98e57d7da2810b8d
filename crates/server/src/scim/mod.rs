//! The SCIM 2.0 endpoints (RFC 7644 §3), mounted at `/scim/v2`.

pub mod bulk;
pub mod discovery;
pub mod list;
pub mod resources;
pub mod service;

use std::collections::HashMap;

use axum::http::{header, HeaderMap, Method, Uri};
use axum::routing::{any, get, post};
use axum::Router;
use domain::project::Projection;
use domain::schema::Registry;
use domain::{Load, ResourceKind};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/Bulk", post(bulk::bulk))
        .route("/.search", post(list::search_root))
        .route("/Me", any(me))
        .route("/Me/{*rest}", any(me))
        .route("/{endpoint}", get(list::list).post(resources::create))
        .route("/{endpoint}/.search", post(list::search))
        .route(
            "/{endpoint}/{id}",
            get(resources::get)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .method_not_allowed_fallback(method_not_allowed)
}

/// `/Me` (RFC 7644 §3.11) needs a token bound to a user; Scimitar's tokens are bound to tenants.
async fn me() -> ApiError {
    ApiError::NotImplemented(
        "/Me is not implemented: Scimitar tokens belong to a tenant, not to a user; use /Users/{id}".into(),
    )
}

/// 405 naming the method and the full path (nested routers see only the rest of it).
pub(crate) async fn method_not_allowed(
    method: Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(format!("there is no endpoint at {}", uri.path()))
}

/// `Users` → User, `Groups` → Group.
pub fn kind_of(endpoint: &str) -> ApiResult<ResourceKind> {
    if endpoint.eq_ignore_ascii_case("Users") {
        Ok(ResourceKind::User)
    } else if endpoint.eq_ignore_ascii_case("Groups") {
        Ok(ResourceKind::Group)
    } else {
        Err(ApiError::NoRoute(format!(
            "there is no resource type at /{endpoint}; this server has /Users and /Groups"
        )))
    }
}

/// The SCIM base URL as clients see it, for `meta.location` and `Location`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}/scim/v2")
}

/// Query parameters, with names matched case-insensitively (clients vary).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// From a query string (`+` and percent escapes decoded, as Entra encodes filters).
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
        Params(
            pairs
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|s| !s.is_empty())
    }

    /// A parameter that may be present with an empty value (`?cursor`).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// What a SCIM handler needs from the request line and headers: the base URL, the query
/// parameters and the preconditions, read without copying the header map.
#[derive(Debug)]
pub struct Req {
    pub base: String,
    pub params: Params,
    pub pre: crate::etag::Preconditions,
}

impl axum::extract::FromRequestParts<AppState> for Req {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Req {
            base: base_url(state, &parts.headers),
            params: Params::from_query(parts.uri.query()),
            pre: crate::etag::Preconditions::from_headers(&parts.headers)?,
        })
    }
}

/// The projection a read asks for, and what the store must load for it.
pub fn projection(
    registry: &Registry,
    kind: ResourceKind,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> ApiResult<(Projection, Load)> {
    let projection = Projection::parse(registry, kind, attributes, excluded)?;
    let load = Load {
        members: kind == ResourceKind::Group && projection.wants_members(),
        groups: kind == ResourceKind::User && projection.wants_groups(),
    };
    Ok((projection, load))
}
