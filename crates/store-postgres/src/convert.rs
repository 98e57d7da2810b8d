//! The mapping of PostgreSQL errors. How values are stored in columns is `domain::storage::encode`.

use domain::{Error, Result};
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
