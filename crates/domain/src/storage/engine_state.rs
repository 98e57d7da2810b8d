//! The engine's state as every backend checks and reads it: what an engine commit may hold, and
//! how many log entries one query returns.

use crate::provisioning::{EngineCommit, LogQuery};
use crate::{Error, Result};

/// Log entries returned when a query asks for none, and the most one query returns.
const DEFAULT_LOG_LIMIT: usize = 100;
const MAX_LOG_LIMIT: usize = 1000;

/// How many entries `query` returns at most.
pub fn log_limit(query: &LogQuery) -> usize {
    match query.limit {
        0 => DEFAULT_LOG_LIMIT,
        n => n.min(MAX_LOG_LIMIT),
    }
}

/// An engine commit for `app_id` holds shadows and log entries of that app only.
pub fn check_commit(app_id: &str, commit: &EngineCommit) -> Result<()> {
    if let Some(shadow) = commit.shadows.iter().find(|s| s.app_id != app_id) {
        return Err(Error::InvalidValue(format!(
            "a shadow of app `{}` cannot be committed for app `{app_id}`",
            shadow.app_id
        )));
    }
    if let Some(entry) = commit.logs.iter().find(|l| l.app_id != app_id) {
        return Err(Error::InvalidValue(format!(
            "a log entry of app `{}` cannot be committed for app `{app_id}`",
            entry.app_id
        )));
    }
    Ok(())
}
