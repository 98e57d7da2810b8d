//! Listing resources: filters (index lookups pushed down, the rest evaluated on the rows),
//! sorting, paging by index or cursor; and the engine's walk in store order.

use domain::{Load, Page, Query, ResourceKind, Result, StoredResource};

use crate::db::Conn;

pub(crate) async fn query(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _kind: ResourceKind,
    _query: &Query,
    _schema: &(dyn scim_filter::SchemaInfo + Sync),
) -> Result<Page> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn walk(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _kind: ResourceKind,
    _after: i64,
    _limit: usize,
    _load: Load,
) -> Result<Vec<(i64, StoredResource)>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
