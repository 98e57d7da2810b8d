//! Apps (outbound provisioning), their assignments, and the per-app lease.

use domain::{AppRecord, ResourceKind, Result};
use jiff::Timestamp;

use crate::db::{Conn, Tx};

pub(crate) async fn put_app(_tx: &Tx<'_>, _app: &AppRecord) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn app(_conn: &Conn<'_>, _tenant_id: &str, _name: &str) -> Result<Option<AppRecord>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn app_by_id(_conn: &Conn<'_>, _app_id: &str) -> Result<Option<AppRecord>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn list_apps(_conn: &Conn<'_>, _tenant_id: Option<&str>) -> Result<Vec<AppRecord>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn delete_app(_tx: &Tx<'_>, _tenant_id: &str, _app_id: &str) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn put_app_state(_tx: &Tx<'_>, _app_id: &str, _state: &serde_json::Value) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn set_assignment(
    _tx: &Tx<'_>,
    _app_id: &str,
    _kind: ResourceKind,
    _resource_id: &str,
    _assigned: bool,
    _now: Timestamp,
) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn assignments(_conn: &Conn<'_>, _app_id: &str) -> Result<Vec<(ResourceKind, String)>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn assigned_among(
    _conn: &Conn<'_>,
    _app_id: &str,
    _kind: ResourceKind,
    _resource_ids: &[String],
) -> Result<Vec<String>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

/// Takes or renews the lease (`SELECT … FOR UPDATE SKIP LOCKED`: a replica never waits on
/// another replica's lease row).
pub(crate) async fn acquire_lease(
    _tx: &Tx<'_>,
    _app_id: &str,
    _holder: &str,
    _now: Timestamp,
    _until: Timestamp,
) -> Result<bool> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn release_lease(_tx: &Tx<'_>, _app_id: &str, _holder: &str) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
