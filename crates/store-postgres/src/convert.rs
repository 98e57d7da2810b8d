//! Conversions between PostgreSQL values and domain types, and the mapping of PostgreSQL errors.

use domain::{Error, ResourceKind, Result};
use jiff::Timestamp;
use tokio_postgres::error::SqlState;

/// `tokio-postgres` and pool failures become `Error::Internal`; callers that expect a constraint
/// violation inspect it first with [`constraint`].
pub(crate) trait PgResult<T> {
    fn pg(self) -> Result<T>;
}

impl<T> PgResult<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(internal)
    }
}

pub(crate) fn internal(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::Internal(format!("postgres: {}: {}", db.code().code(), db.message())),
        None => Error::Internal(format!("postgres: {e}")),
    }
}

/// Which constraint a statement violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    /// A unique index or primary key, with the constraint's name.
    Unique(&'static str),
    ForeignKey,
}

/// The unique constraints the modules tell apart by name (`migrations.rs` names them).
const UNIQUE_NAMES: &[&str] = &[
    "resources_user_name",
    "resources_group_display_name",
    "resources_id",
    "tenants_name_key",
    "tokens_pkey",
    "tokens_hash_key",
    "apps_pkey",
    "apps_tenant_id_name_key",
    "inbound_requests_id_key",
];

/// Recognises unique and foreign-key violations.
pub(crate) fn constraint(e: &tokio_postgres::Error) -> Option<Constraint> {
    let db = e.as_db_error()?;
    if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
        return Some(Constraint::ForeignKey);
    }
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        let name = db.constraint().unwrap_or_default();
        let known = UNIQUE_NAMES.iter().find(|n| **n == name).copied();
        return Some(Constraint::Unique(known.unwrap_or("unknown")));
    }
    None
}

/// Timestamps are stored as BIGINT nanoseconds since the Unix epoch (exact round trip), as in
/// the SQLite store, so that `scimitar store copy` moves them unchanged.
pub(crate) fn ts_to_sql(ts: Timestamp) -> Result<i64> {
    i64::try_from(ts.as_nanosecond())
        .map_err(|_| Error::InvalidValue(format!("timestamp {ts} is out of range")))
}

pub(crate) fn ts_from_sql(nanos: i64) -> Result<Timestamp> {
    Timestamp::from_nanosecond(i128::from(nanos))
        .map_err(|e| Error::Internal(format!("stored timestamp {nanos} is invalid: {e}")))
}

pub(crate) fn kind_from_sql(name: &str) -> Result<ResourceKind> {
    ResourceKind::from_name(name)
        .ok_or_else(|| Error::Internal(format!("stored resource kind `{name}` is unknown")))
}

pub(crate) fn version_to_sql(version: u64) -> Result<i64> {
    i64::try_from(version).map_err(|_| Error::Internal(format!("version {version} out of range")))
}

pub(crate) fn version_from_sql(version: i64) -> Result<u64> {
    u64::try_from(version)
        .map_err(|_| Error::Internal(format!("stored version {version} is negative")))
}

/// A row count or `LIMIT` as PostgreSQL's BIGINT.
pub(crate) fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The ETag form used in precondition messages.
pub(crate) fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Case folding for caseExact=false columns.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}
