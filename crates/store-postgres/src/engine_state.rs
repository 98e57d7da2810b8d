//! The engine's state per app: shadows of the objects it provisions, and the provisioning log.

use domain::{EngineCommit, LogEntry, LogQuery, ResourceKind, Result, Shadow, ShadowCounts};
use jiff::Timestamp;

use crate::db::{Conn, Tx};

pub(crate) async fn shadows(
    _conn: &Conn<'_>,
    _app_id: &str,
    _kind: ResourceKind,
    _source_ids: &[String],
) -> Result<Vec<Shadow>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn shadows_by_target(
    _conn: &Conn<'_>,
    _app_id: &str,
    _kind: ResourceKind,
    _target_ids: &[String],
) -> Result<Vec<Shadow>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn shadows_after(
    _conn: &Conn<'_>,
    _app_id: &str,
    _kind: ResourceKind,
    _after: &str,
    _limit: usize,
) -> Result<Vec<Shadow>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn due_shadows(
    _conn: &Conn<'_>,
    _app_id: &str,
    _now: Timestamp,
    _limit: usize,
) -> Result<Vec<Shadow>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn shadow_counts(_conn: &Conn<'_>, _app_id: &str) -> Result<ShadowCounts> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn commit_engine(_tx: &Tx<'_>, _app_id: &str, _commit: &EngineCommit) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn logs(_conn: &Conn<'_>, _query: &LogQuery) -> Result<Vec<LogEntry>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
