//! Fixtures shared by the suite: validated bodies, filters, timestamps.

use std::sync::Arc;

use domain::schema::{Mode, Registry};
use domain::{Load, Query, ResourceKind, Store, StoredResource, Write};
use jiff::Timestamp;
use serde_json::{json, Value};

pub fn registry() -> Registry {
    Registry::builtin()
}

pub fn write(kind: ResourceKind, body: Value) -> Write {
    Write::whole(registry().validate(kind, body, Mode::Create).unwrap())
}

pub fn user_write(user_name: &str) -> Write {
    write(ResourceKind::User, json!({ "userName": user_name }))
}

pub fn group_write(display_name: &str, members: &[&str]) -> Write {
    let members: Vec<Value> = members.iter().map(|id| json!({ "value": id })).collect();
    write(
        ResourceKind::Group,
        json!({ "displayName": display_name, "members": members }),
    )
}

/// A fixed instant plus `seconds`, so that tests can compare timestamps exactly.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

pub async fn tenant(store: &Arc<dyn Store>, name: &str) -> String {
    store.create_tenant(name).await.unwrap().id
}

pub async fn user(store: &Arc<dyn Store>, tenant: &str, user_name: &str) -> StoredResource {
    store
        .create(tenant, user_write(user_name), at(0))
        .await
        .unwrap()
}

pub async fn group(
    store: &Arc<dyn Store>,
    tenant: &str,
    display_name: &str,
    members: &[&str],
) -> StoredResource {
    store
        .create(tenant, group_write(display_name, members), at(0))
        .await
        .unwrap()
}

pub fn list(filter: Option<&str>) -> Query {
    Query {
        filter: filter.map(|f| scim_filter::parse_filter(f).unwrap()),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 10_000,
        cursor: None,
        load: Load::NONE,
    }
}

/// The ids of a query's page, in order.
pub async fn ids(
    store: &Arc<dyn Store>,
    tenant: &str,
    kind: ResourceKind,
    query: &Query,
) -> Vec<String> {
    let registry = registry();
    let page = store
        .query(tenant, kind, query, &registry.info(kind))
        .await
        .unwrap();
    page.resources.into_iter().map(|r| r.id).collect()
}

pub fn member_ids(resource: &StoredResource) -> Vec<&str> {
    resource
        .members
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.value.as_str())
        .collect()
}
