//! The provisioning engine's state: shadows of provisioned objects and the provisioning log,
//! written together (with the app's runtime state) by `commit_engine`.
//!
//! Invariant: an engine commit is one savepoint: its shadows, log entries and state land
//! together or not at all.

use domain::storage::encode::{
    attempts_from_sql, count_from_sql, duration_from_sql, duration_to_sql, json_from_sql,
    json_to_sql, kind_from_sql, limit_to_sql, log_status_from_sql, shadow_state_from_sql,
    ts_from_sql, ts_to_sql,
};
use domain::storage::engine_state::{check_commit, log_limit};
use domain::{EngineCommit, Error, LogEntry, LogQuery, ResourceKind, Result, Shadow, ShadowCounts};
use jiff::Timestamp;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, Row};

use crate::apps::require_app;
use crate::convert::{internal, SqlResult};

/// The columns [`ShadowRow::from_row`] reads, in order.
const SHADOW_COLUMNS: &str =
    "app_id, kind, source_id, target_id, state, last_sent, due, attempts, last_error, updated";

/// A `shadows` row before its text columns are parsed.
struct ShadowRow {
    app_id: String,
    kind: String,
    source_id: String,
    target_id: Option<String>,
    state: String,
    last_sent: String,
    due: Option<i64>,
    attempts: i64,
    last_error: Option<String>,
    updated: i64,
}

impl ShadowRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ShadowRow> {
        Ok(ShadowRow {
            app_id: row.get(0)?,
            kind: row.get(1)?,
            source_id: row.get(2)?,
            target_id: row.get(3)?,
            state: row.get(4)?,
            last_sent: row.get(5)?,
            due: row.get(6)?,
            attempts: row.get(7)?,
            last_error: row.get(8)?,
            updated: row.get(9)?,
        })
    }

    fn into_shadow(self) -> Result<Shadow> {
        Ok(Shadow {
            kind: kind_from_sql(&self.kind)?,
            target_id: self.target_id,
            state: shadow_state_from_sql(&self.state, Some(&self.source_id))?,
            last_sent: json_from_sql(&self.source_id, "last_sent", &self.last_sent)?,
            due: self.due.map(ts_from_sql).transpose()?,
            attempts: attempts_from_sql(self.attempts, &self.source_id)?,
            last_error: self.last_error,
            updated: ts_from_sql(self.updated)?,
            app_id: self.app_id,
            source_id: self.source_id,
        })
    }
}

fn collect_shadows(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Shadow>> {
    let mut stmt = conn.prepare_cached(sql).sql()?;
    let rows = stmt.query_map(params, ShadowRow::from_row).sql()?;
    rows.map(|row| row.map_err(internal)?.into_shadow())
        .collect()
}

/// The shadows whose `source_id` is one of `source_ids`.
pub(crate) fn shadows(
    conn: &Connection,
    app_id: &str,
    kind: ResourceKind,
    source_ids: &[String],
) -> Result<Vec<Shadow>> {
    shadows_with(conn, app_id, kind, "source_id", source_ids)
}

/// The shadows linked to these target ids (the reverse of [`shadows`]).
pub(crate) fn shadows_by_target(
    conn: &Connection,
    app_id: &str,
    kind: ResourceKind,
    target_ids: &[String],
) -> Result<Vec<Shadow>> {
    shadows_with(conn, app_id, kind, "target_id", target_ids)
}

/// One statement whatever the number of ids: they travel as one JSON array parameter, which
/// SQLite turns into an index probe per id. `column` is one of this module's literals.
fn shadows_with(
    conn: &Connection,
    app_id: &str,
    kind: ResourceKind,
    column: &'static str,
    ids: &[String],
) -> Result<Vec<Shadow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids)
        .map_err(|e| Error::Internal(format!("cannot serialise ids: {e}")))?;
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = ?1 AND kind = ?2 AND {column} IN (SELECT value FROM json_each(?3))"
        ),
        params![app_id, kind.name(), ids],
    )
}

pub(crate) fn shadows_after(
    conn: &Connection,
    app_id: &str,
    kind: ResourceKind,
    after: &str,
    limit: usize,
) -> Result<Vec<Shadow>> {
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = ?1 AND kind = ?2 AND source_id > ?3
             ORDER BY source_id LIMIT ?4"
        ),
        params![app_id, kind.name(), after, limit_to_sql(limit)],
    )
}

pub(crate) fn orphan_shadows(
    conn: &Connection,
    app_id: &str,
    tenant_id: &str,
    kind: ResourceKind,
    after: &str,
    limit: usize,
) -> Result<Vec<Shadow>> {
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = ?1 AND kind = ?2 AND source_id > ?3
               AND state <> 'deleted' AND target_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM resources r
                               WHERE r.tenant_id = ?4 AND r.kind = ?2 AND r.id = source_id)
             ORDER BY source_id LIMIT ?5"
        ),
        params![app_id, kind.name(), after, tenant_id, limit_to_sql(limit)],
    )
}

pub(crate) fn due_shadows(
    conn: &Connection,
    app_id: &str,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<Shadow>> {
    // `due IS NOT NULL` lets SQLite use the partial index `shadows_due`, whose order is the
    // answer's: no tie-breaker, which would sort every shadow due at the same instant (a whole
    // failed batch) to return the first few.
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = ?1 AND due IS NOT NULL AND due <= ?2
             ORDER BY due LIMIT ?3"
        ),
        params![app_id, ts_to_sql(now)?, limit_to_sql(limit)],
    )
}

pub(crate) fn shadow_counts(conn: &Connection, app_id: &str) -> Result<ShadowCounts> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, state, COUNT(*), SUM(attempts > 0) FROM shadows
             WHERE app_id = ?1 GROUP BY kind, state",
        )
        .sql()?;
    let rows = stmt
        .query_map([app_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .sql()?;
    let mut counts = ShadowCounts::default();
    for row in rows {
        let (kind, state, count, escrowed) = row.sql()?;
        counts.add(
            kind_from_sql(&kind)?,
            shadow_state_from_sql(&state, None)?,
            count_from_sql(count)?,
            count_from_sql(escrowed)?,
        );
    }
    Ok(counts)
}

pub(crate) fn commit_engine(
    conn: &mut Connection,
    app_id: &str,
    commit: &EngineCommit,
) -> Result<()> {
    let tx = conn.savepoint().sql()?;
    require_app(&tx, app_id)?;
    check_commit(app_id, commit)?;
    for shadow in &commit.shadows {
        put_shadow(&tx, shadow)?;
    }
    for entry in &commit.logs {
        insert_log(&tx, entry)?;
    }
    if let Some(state) = &commit.state {
        tx.prepare_cached("UPDATE apps SET state = ?2 WHERE id = ?1")
            .sql()?
            .execute(params![app_id, json_to_sql(state)?])
            .sql()?;
    }
    tx.commit().sql()
}

fn put_shadow(conn: &Connection, shadow: &Shadow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO shadows (app_id, kind, source_id, target_id, state, last_sent, due,
             attempts, last_error, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (app_id, kind, source_id) DO UPDATE SET target_id = excluded.target_id,
             state = excluded.state, last_sent = excluded.last_sent, due = excluded.due,
             attempts = excluded.attempts, last_error = excluded.last_error,
             updated = excluded.updated",
    )
    .sql()?
    .execute(params![
        shadow.app_id,
        shadow.kind.name(),
        shadow.source_id,
        shadow.target_id,
        shadow.state.as_str(),
        json_to_sql(&shadow.last_sent)?,
        shadow.due.map(ts_to_sql).transpose()?,
        shadow.attempts,
        shadow.last_error,
        ts_to_sql(shadow.updated)?
    ])
    .sql()?;
    Ok(())
}

/// Inserts the entry; the store assigns `seq`, whatever the entry says.
pub(crate) fn insert_log(conn: &Connection, entry: &LogEntry) -> Result<()> {
    let duration_ms = duration_to_sql(entry.duration_ms)?;
    conn.prepare_cached(
        "INSERT INTO provisioning_log (app_id, at, cycle_id, change_id, kind, source_id,
             target_id, action, status, reason, error_code, duration_ms, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .sql()?
    .execute(params![
        entry.app_id,
        ts_to_sql(entry.at)?,
        entry.cycle_id,
        entry.change_id,
        entry.kind.name(),
        entry.source_id,
        entry.target_id,
        entry.action,
        entry.status.as_str(),
        entry.reason,
        entry.error_code,
        duration_ms,
        json_to_sql(&entry.details)?
    ])
    .sql()?;
    Ok(())
}

const LOG_COLUMNS: &str = "seq, app_id, at, cycle_id, change_id, kind, source_id, target_id, \
     action, status, reason, error_code, duration_ms, details";

/// A `provisioning_log` row before its text columns are parsed.
struct LogRow {
    seq: i64,
    app_id: String,
    at: i64,
    cycle_id: String,
    change_id: String,
    kind: String,
    source_id: String,
    target_id: Option<String>,
    action: String,
    status: String,
    reason: String,
    error_code: Option<String>,
    duration_ms: i64,
    details: String,
}

impl LogRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<LogRow> {
        Ok(LogRow {
            seq: row.get(0)?,
            app_id: row.get(1)?,
            at: row.get(2)?,
            cycle_id: row.get(3)?,
            change_id: row.get(4)?,
            kind: row.get(5)?,
            source_id: row.get(6)?,
            target_id: row.get(7)?,
            action: row.get(8)?,
            status: row.get(9)?,
            reason: row.get(10)?,
            error_code: row.get(11)?,
            duration_ms: row.get(12)?,
            details: row.get(13)?,
        })
    }

    fn into_entry(self) -> Result<LogEntry> {
        let status = log_status_from_sql(&self.status, self.seq)?;
        let duration_ms = duration_from_sql(self.duration_ms, self.seq)?;
        Ok(LogEntry {
            details: json_from_sql(&self.seq.to_string(), "details", &self.details)?,
            seq: self.seq,
            app_id: self.app_id,
            at: ts_from_sql(self.at)?,
            cycle_id: self.cycle_id,
            change_id: self.change_id,
            kind: kind_from_sql(&self.kind)?,
            source_id: self.source_id,
            target_id: self.target_id,
            action: self.action,
            status,
            reason: self.reason,
            error_code: self.error_code,
            duration_ms,
        })
    }
}

/// Newest first. Only the filters the query sets appear in the statement, so that SQLite can
/// walk `provisioning_log_app` or `provisioning_log_source` backwards and stop at the limit.
/// `since` and `until` are both inclusive.
pub(crate) fn logs(conn: &Connection, query: &LogQuery) -> Result<Vec<LogEntry>> {
    let mut sql = format!("SELECT {LOG_COLUMNS} FROM provisioning_log WHERE app_id = ?");
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(query.app_id.clone())];
    if let Some(source_id) = &query.source_id {
        sql.push_str(" AND source_id = ?");
        args.push(SqlValue::Text(source_id.clone()));
    }
    if let Some(status) = query.status {
        sql.push_str(" AND status = ?");
        args.push(SqlValue::Text(status.as_str().to_owned()));
    }
    if let Some(since) = query.since {
        sql.push_str(" AND at >= ?");
        args.push(SqlValue::Integer(ts_to_sql(since)?));
    }
    if let Some(until) = query.until {
        sql.push_str(" AND at <= ?");
        args.push(SqlValue::Integer(ts_to_sql(until)?));
    }
    if let Some(before) = query.before {
        sql.push_str(" AND seq < ?");
        args.push(SqlValue::Integer(before));
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    args.push(SqlValue::Integer(limit_to_sql(log_limit(query))));

    let mut stmt = conn.prepare_cached(&sql).sql()?;
    let rows = stmt
        .query_map(params_from_iter(args), LogRow::from_row)
        .sql()?;
    rows.map(|row| row.map_err(internal)?.into_entry())
        .collect()
}
