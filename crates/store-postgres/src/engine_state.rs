//! The engine's state per app: shadows of the objects it provisions, and the provisioning log,
//! written together (with the app's runtime state) by `commit_engine`.
//!
//! Invariant: an engine commit is one transaction: its shadows, log entries and state land
//! together or not at all.
//!
//! Each statement is a network round trip, so sets of ids travel as one array parameter
//! (`= ANY($n)`) and sets of rows as one array per column (`UNNEST`): one statement per table
//! whatever the batch's size.

use std::collections::HashSet;

use domain::storage::encode::{
    attempts_from_sql, count_from_sql, duration_from_sql, duration_to_sql, json_from_sql,
    json_to_sql, kind_from_sql, limit_to_sql, log_status_from_sql, shadow_state_from_sql,
    ts_from_sql, ts_to_sql,
};
use domain::storage::engine_state::{check_commit, log_limit};
use domain::{
    EngineCommit, LogEntry, LogQuery, LogStatus, ResourceKind, Result, Shadow, ShadowCounts,
};
use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::apps::require_app;
use crate::convert::PgResult;
use crate::db::{Conn, Params, Tx};

/// The columns [`shadow_from_row`] reads, in order.
const SHADOW_COLUMNS: &str =
    "app_id, kind, source_id, target_id, state, last_sent, due, attempts, last_error, updated";

fn shadow_from_row(row: &Row) -> Result<Shadow> {
    let source_id: String = row.try_get(2).pg()?;
    let due: Option<i64> = row.try_get(6).pg()?;
    Ok(Shadow {
        app_id: row.try_get(0).pg()?,
        kind: kind_from_sql(row.try_get(1).pg()?)?,
        target_id: row.try_get(3).pg()?,
        state: shadow_state_from_sql(row.try_get(4).pg()?, Some(&source_id))?,
        last_sent: json_from_sql(&source_id, "last_sent", row.try_get(5).pg()?)?,
        due: due.map(ts_from_sql).transpose()?,
        attempts: attempts_from_sql(row.try_get(7).pg()?, &source_id)?,
        last_error: row.try_get(8).pg()?,
        updated: ts_from_sql(row.try_get(9).pg()?)?,
        source_id,
    })
}

async fn collect_shadows(conn: &Conn<'_>, sql: &str, params: Params<'_>) -> Result<Vec<Shadow>> {
    conn.query(sql, params)
        .await
        .pg()?
        .iter()
        .map(shadow_from_row)
        .collect()
}

/// The shadows whose `source_id` is one of `source_ids`.
pub(crate) async fn shadows(
    conn: &Conn<'_>,
    app_id: &str,
    kind: ResourceKind,
    source_ids: &[String],
) -> Result<Vec<Shadow>> {
    shadows_with(conn, app_id, kind, "source_id", source_ids).await
}

/// The shadows linked to these target ids (the reverse of [`shadows`]).
pub(crate) async fn shadows_by_target(
    conn: &Conn<'_>,
    app_id: &str,
    kind: ResourceKind,
    target_ids: &[String],
) -> Result<Vec<Shadow>> {
    shadows_with(conn, app_id, kind, "target_id", target_ids).await
}

/// One statement whatever the number of ids. `column` is one of this module's literals.
async fn shadows_with(
    conn: &Conn<'_>,
    app_id: &str,
    kind: ResourceKind,
    column: &'static str,
    ids: &[String],
) -> Result<Vec<Shadow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = $1 AND kind = $2 AND {column} = ANY($3)"
        ),
        &[&app_id, &kind.name(), &ids],
    )
    .await
}

pub(crate) async fn shadows_after(
    conn: &Conn<'_>,
    app_id: &str,
    kind: ResourceKind,
    after: &str,
    limit: usize,
) -> Result<Vec<Shadow>> {
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = $1 AND kind = $2 AND source_id > $3
             ORDER BY source_id LIMIT $4"
        ),
        &[&app_id, &kind.name(), &after, &limit_to_sql(limit)],
    )
    .await
}

pub(crate) async fn orphan_shadows(
    conn: &Conn<'_>,
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
             WHERE app_id = $1 AND kind = $2 AND source_id > $3
               AND state <> 'deleted' AND target_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM resources r
                               WHERE r.tenant_id = $4 AND r.kind = $2 AND r.id = source_id)
             ORDER BY source_id LIMIT $5"
        ),
        &[
            &app_id,
            &kind.name(),
            &after,
            &tenant_id,
            &limit_to_sql(limit),
        ],
    )
    .await
}

/// No tie-breaker after `due`: the partial index `shadows_due` gives this order as it is,
/// where a second key would sort every shadow due at the same instant (a whole failed batch)
/// to return the first few.
pub(crate) async fn due_shadows(
    conn: &Conn<'_>,
    app_id: &str,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<Shadow>> {
    collect_shadows(
        conn,
        &format!(
            "SELECT {SHADOW_COLUMNS} FROM shadows
             WHERE app_id = $1 AND due IS NOT NULL AND due <= $2
             ORDER BY due LIMIT $3"
        ),
        &[&app_id, &ts_to_sql(now)?, &limit_to_sql(limit)],
    )
    .await
}

pub(crate) async fn shadow_counts(conn: &Conn<'_>, app_id: &str) -> Result<ShadowCounts> {
    let rows = conn
        .query(
            "SELECT kind, state, count(*), count(*) FILTER (WHERE attempts > 0) FROM shadows
             WHERE app_id = $1 GROUP BY kind, state",
            &[&app_id],
        )
        .await
        .pg()?;
    let mut counts = ShadowCounts::default();
    for row in &rows {
        counts.add(
            kind_from_sql(row.try_get(0).pg()?)?,
            shadow_state_from_sql(row.try_get(1).pg()?, None)?,
            count_from_sql(row.try_get(2).pg()?)?,
            count_from_sql(row.try_get(3).pg()?)?,
        );
    }
    Ok(counts)
}

pub(crate) async fn commit_engine(tx: &Tx<'_>, app_id: &str, commit: &EngineCommit) -> Result<()> {
    let conn = tx.conn();
    require_app(&conn, app_id).await?;
    check_commit(app_id, commit)?;
    put_shadows(&conn, app_id, &commit.shadows).await?;
    insert_logs(&conn, &commit.logs).await?;
    if let Some(state) = &commit.state {
        conn.execute(
            "UPDATE apps SET state = $2 WHERE id = $1",
            &[&app_id, &json_to_sql(state)?],
        )
        .await
        .pg()?;
    }
    Ok(())
}

/// Upserts the app's shadows in one statement. A shadow given twice is written as last given
/// (one statement cannot upsert a row twice).
async fn put_shadows(conn: &Conn<'_>, app_id: &str, shadows: &[Shadow]) -> Result<()> {
    let mut seen = HashSet::with_capacity(shadows.len());
    let mut shadows: Vec<&Shadow> = shadows
        .iter()
        .rev()
        .filter(|s| seen.insert((s.kind, s.source_id.as_str())))
        .collect();
    shadows.reverse();
    if shadows.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = shadows.iter().map(|s| s.kind.name()).collect();
    let source_ids: Vec<&str> = shadows.iter().map(|s| s.source_id.as_str()).collect();
    let target_ids: Vec<Option<&str>> = shadows.iter().map(|s| s.target_id.as_deref()).collect();
    let states: Vec<&str> = shadows.iter().map(|s| s.state.as_str()).collect();
    let last_sent = shadows
        .iter()
        .map(|s| json_to_sql(&s.last_sent))
        .collect::<Result<Vec<String>>>()?;
    let dues = shadows
        .iter()
        .map(|s| s.due.map(ts_to_sql).transpose())
        .collect::<Result<Vec<Option<i64>>>>()?;
    let attempts: Vec<i64> = shadows.iter().map(|s| i64::from(s.attempts)).collect();
    let errors: Vec<Option<&str>> = shadows.iter().map(|s| s.last_error.as_deref()).collect();
    let updated = shadows
        .iter()
        .map(|s| ts_to_sql(s.updated))
        .collect::<Result<Vec<i64>>>()?;
    conn.execute(
        "INSERT INTO shadows (app_id, kind, source_id, target_id, state, last_sent, due,
             attempts, last_error, updated)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::bigint[], $8::bigint[], $9::text[], $10::bigint[])
         ON CONFLICT (app_id, kind, source_id) DO UPDATE SET target_id = excluded.target_id,
             state = excluded.state, last_sent = excluded.last_sent, due = excluded.due,
             attempts = excluded.attempts, last_error = excluded.last_error,
             updated = excluded.updated",
        &[
            &app_id,
            &kinds,
            &source_ids,
            &target_ids,
            &states,
            &last_sent,
            &dues,
            &attempts,
            &errors,
            &updated,
        ],
    )
    .await
    .pg()?;
    Ok(())
}

/// Inserts the entries in one statement, numbered in the order given; the store assigns `seq`,
/// whatever the entries say.
pub(crate) async fn insert_logs(conn: &Conn<'_>, entries: &[LogEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let app_ids: Vec<&str> = entries.iter().map(|e| e.app_id.as_str()).collect();
    let ats = entries
        .iter()
        .map(|e| ts_to_sql(e.at))
        .collect::<Result<Vec<i64>>>()?;
    let cycle_ids: Vec<&str> = entries.iter().map(|e| e.cycle_id.as_str()).collect();
    let change_ids: Vec<&str> = entries.iter().map(|e| e.change_id.as_str()).collect();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.name()).collect();
    let source_ids: Vec<&str> = entries.iter().map(|e| e.source_id.as_str()).collect();
    let target_ids: Vec<Option<&str>> = entries.iter().map(|e| e.target_id.as_deref()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let statuses: Vec<&str> = entries.iter().map(|e| e.status.as_str()).collect();
    let reasons: Vec<&str> = entries.iter().map(|e| e.reason.as_str()).collect();
    let codes: Vec<Option<&str>> = entries.iter().map(|e| e.error_code.as_deref()).collect();
    let durations = entries
        .iter()
        .map(|e| duration_to_sql(e.duration_ms))
        .collect::<Result<Vec<i64>>>()?;
    let details = entries
        .iter()
        .map(|e| json_to_sql(&e.details))
        .collect::<Result<Vec<String>>>()?;
    // `ORDER BY n`: `seq` is drawn as the rows come, so they come in the order given.
    conn.execute(
        "INSERT INTO provisioning_log (app_id, at, cycle_id, change_id, kind, source_id,
             target_id, action, status, reason, error_code, duration_ms, details)
         SELECT app_id, at, cycle_id, change_id, kind, source_id, target_id, action, status,
                reason, error_code, duration_ms, details
         FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                     $12::bigint[], $13::text[])
              WITH ORDINALITY AS e(app_id, at, cycle_id, change_id, kind, source_id, target_id,
                                   action, status, reason, error_code, duration_ms, details, n)
         ORDER BY n",
        &[
            &app_ids,
            &ats,
            &cycle_ids,
            &change_ids,
            &kinds,
            &source_ids,
            &target_ids,
            &actions,
            &statuses,
            &reasons,
            &codes,
            &durations,
            &details,
        ],
    )
    .await
    .pg()?;
    Ok(())
}

const LOG_COLUMNS: &str = "seq, app_id, at, cycle_id, change_id, kind, source_id, target_id, \
     action, status, reason, error_code, duration_ms, details";

fn log_from_row(row: &Row) -> Result<LogEntry> {
    let seq: i64 = row.try_get(0).pg()?;
    Ok(LogEntry {
        seq,
        app_id: row.try_get(1).pg()?,
        at: ts_from_sql(row.try_get(2).pg()?)?,
        cycle_id: row.try_get(3).pg()?,
        change_id: row.try_get(4).pg()?,
        kind: kind_from_sql(row.try_get(5).pg()?)?,
        source_id: row.try_get(6).pg()?,
        target_id: row.try_get(7).pg()?,
        action: row.try_get(8).pg()?,
        status: log_status_from_sql(row.try_get(9).pg()?, seq)?,
        reason: row.try_get(10).pg()?,
        error_code: row.try_get(11).pg()?,
        duration_ms: duration_from_sql(row.try_get(12).pg()?, seq)?,
        details: json_from_sql(&seq.to_string(), "details", row.try_get(13).pg()?)?,
    })
}

/// Newest first. Only the filters the query sets appear in the statement, so that PostgreSQL
/// can walk `provisioning_log_app` or `provisioning_log_source` backwards and stop at the limit
/// (and each combination is its own cached statement with its own plan). `since` and `until`
/// are both inclusive.
pub(crate) async fn logs(conn: &Conn<'_>, query: &LogQuery) -> Result<Vec<LogEntry>> {
    let status = query.status.map(LogStatus::as_str);
    let since = query.since.map(ts_to_sql).transpose()?;
    let until = query.until.map(ts_to_sql).transpose()?;
    let limit = limit_to_sql(log_limit(query));

    let mut sql = format!("SELECT {LOG_COLUMNS} FROM provisioning_log WHERE app_id = $1");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&query.app_id];
    let filters: [(&str, Option<&(dyn ToSql + Sync)>); 5] = [
        ("source_id =", query.source_id.as_ref().map(|v| v as _)),
        ("status =", status.as_ref().map(|v| v as _)),
        ("at >=", since.as_ref().map(|v| v as _)),
        ("at <=", until.as_ref().map(|v| v as _)),
        ("seq <", query.before.as_ref().map(|v| v as _)),
    ];
    for (condition, value) in filters {
        if let Some(value) = value {
            params.push(value);
            sql.push_str(&format!(" AND {condition} ${}", params.len()));
        }
    }
    params.push(&limit);
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", params.len()));

    conn.query(&sql, &params)
        .await
        .pg()?
        .iter()
        .map(log_from_row)
        .collect()
}
