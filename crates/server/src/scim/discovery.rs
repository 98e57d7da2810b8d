//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. They describe
//! exactly what this server does. Anonymous callers see the built-in schemas; a tenant's token
//! also sees the tenant's extension schemas.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use domain::schema::Registry;
use domain::{Error, ResourceKind};
use serde_json::{json, Value};

use super::base_url;
use crate::auth::MaybePrincipal;
use crate::error::ApiResult;
use crate::json::ScimResponse;
use crate::AppState;

async fn registry_for(state: &AppState, who: &MaybePrincipal) -> ApiResult<Arc<Registry>> {
    match &who.0 {
        Some(p) => state.registry(&p.tenant_id).await,
        None => Ok(Arc::new(Registry::builtin())),
    }
}

fn list_response(items: Vec<Value>) -> Value {
    json!({
        "schemas": [scim_proto::LIST_RESPONSE],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}

pub async fn service_provider_config(
    State(state): State<AppState>,
    _who: MaybePrincipal,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let c = &state.config;
    let base = base_url(&state, &headers);
    Ok(ScimResponse::ok(json!({
        "schemas": [scim_proto::SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/scimitar/scimitar#readme",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": c.bulk_max_operations, "maxPayloadSize": c.bulk_max_payload},
        "filter": {"supported": true, "maxResults": c.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": c.default_count,
            "maxPageSize": c.max_results,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A Scimitar API token in `Authorization: Bearer <token>`; create one with `scimitar token create`.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })))
}

fn resource_type_json(registry: &Registry, kind: ResourceKind, base: &str) -> Value {
    let extensions: Vec<Value> = registry
        .extensions_of(kind)
        .into_iter()
        .map(|(uri, required)| json!({"schema": uri, "required": required}))
        .collect();
    let mut rt = json!({
        "schemas": [scim_proto::RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind { ResourceKind::User => "User Account", ResourceKind::Group => "Group" },
        "schema": kind.core_schema(),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())},
    });
    if !extensions.is_empty() {
        if let Some(obj) = rt.as_object_mut() {
            obj.insert("schemaExtensions".into(), Value::Array(extensions));
        }
    }
    rt
}

pub async fn resource_types(
    State(state): State<AppState>,
    who: MaybePrincipal,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let registry = registry_for(&state, &who).await?;
    let base = base_url(&state, &headers);
    let items = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .map(|k| resource_type_json(&registry, k, &base))
        .collect();
    Ok(ScimResponse::ok(list_response(items)))
}

pub async fn resource_type(
    State(state): State<AppState>,
    who: MaybePrincipal,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let registry = registry_for(&state, &who).await?;
    let kind = ResourceKind::from_name(&name)
        .ok_or_else(|| Error::NotFound(format!("resource type `{name}` not found")))?;
    Ok(ScimResponse::ok(resource_type_json(
        &registry,
        kind,
        &base_url(&state, &headers),
    )))
}

fn schema_json(schema: &scim_proto::schema::SchemaRepr, base: &str) -> Value {
    let mut v = serde_json::to_value(schema).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("schemas".into(), json!([scim_proto::SCHEMA_SCHEMA]));
        obj.insert(
            "meta".into(),
            json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{}", schema.id)}),
        );
    }
    v
}

pub async fn schemas(
    State(state): State<AppState>,
    who: MaybePrincipal,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let registry = registry_for(&state, &who).await?;
    let base = base_url(&state, &headers);
    let items = registry
        .schemas()
        .into_iter()
        .map(|s| schema_json(s, &base))
        .collect();
    Ok(ScimResponse::ok(list_response(items)))
}

pub async fn schema(
    State(state): State<AppState>,
    who: MaybePrincipal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<ScimResponse> {
    let registry = registry_for(&state, &who).await?;
    let schema = registry
        .schema(&id)
        .ok_or_else(|| Error::NotFound(format!("schema `{id}` not found")))?;
    Ok(ScimResponse::ok(schema_json(
        schema,
        &base_url(&state, &headers),
    )))
}
