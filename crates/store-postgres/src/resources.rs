//! Users and groups: create, read, replace, delete, with memberships, emails, dynamic-group
//! membership and change-log entries in the same transaction.

use domain::{Load, ResourceKind, Result, StoredResource, Write};
use jiff::Timestamp;

use crate::db::{Conn, Tx};
use crate::dynamic::RulesCache;

pub(crate) async fn create(
    _tx: &Tx<'_>,
    _rules: &RulesCache,
    _tenant_id: &str,
    _write: Write,
    _now: Timestamp,
) -> Result<StoredResource> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn get(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _kind: ResourceKind,
    _id: &str,
    _load: Load,
) -> Result<Option<StoredResource>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn replace(
    _tx: &Tx<'_>,
    _rules: &RulesCache,
    _tenant_id: &str,
    _kind: ResourceKind,
    _id: &str,
    _write: Write,
    _expected_version: Option<u64>,
    _now: Timestamp,
    _load: Load,
) -> Result<StoredResource> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn delete(
    _tx: &Tx<'_>,
    _tenant_id: &str,
    _kind: ResourceKind,
    _id: &str,
    _expected_version: Option<u64>,
    _now: Timestamp,
) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
