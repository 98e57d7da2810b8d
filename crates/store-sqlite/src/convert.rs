//! The mapping of SQLite errors. How values are stored in columns is `domain::storage::encode`.

use domain::{Error, Result};
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
