//! Conversions between SQLite values and domain types, and the mapping of SQLite errors.

use domain::{Error, ResourceKind, Result};
use jiff::Timestamp;
use rusqlite::ErrorCode;

/// `rusqlite` failures become `Error::Internal`; callers that expect a constraint violation
/// inspect it first with [`constraint`].
pub(crate) trait SqlResult<T> {
    fn sql(self) -> Result<T>;
}

impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn sql(self) -> Result<T> {
        self.map_err(internal)
    }
}

pub(crate) fn internal(e: rusqlite::Error) -> Error {
    Error::Internal(format!("sqlite: {e}"))
}

/// Which constraint a statement violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    UserName,
    DisplayName,
    ForeignKey,
}

/// Recognises the violations of the unique lookup indexes and of foreign keys.
pub(crate) fn constraint(e: &rusqlite::Error) -> Option<Constraint> {
    let rusqlite::Error::SqliteFailure(failure, message) = e else {
        return None;
    };
    if failure.code != ErrorCode::ConstraintViolation {
        return None;
    }
    if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY {
        return Some(Constraint::ForeignKey);
    }
    let message = message.as_deref().unwrap_or_default();
    if message.contains("user_name_lc") {
        Some(Constraint::UserName)
    } else if message.contains("display_name_lc") {
        Some(Constraint::DisplayName)
    } else {
        None
    }
}

/// Timestamps are stored as integer nanoseconds since the Unix epoch (exact round trip).
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

/// The ETag form used in precondition messages.
pub(crate) fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Case folding for caseExact=false columns.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}
