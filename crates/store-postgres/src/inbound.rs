//! Inbound provisioning: staged bulkUpload requests (their records as one JSON array), one row
//! per processed record with its outcome, and effective-dated lifecycle actions.
//!
//! Invariant: a record's outcome, the user write it caused, the user's schedule, the log entry
//! and its request's progress commit together (the caller's one transaction: `lib.rs` gives
//! every commit its own, so a failed one leaves nothing and needs no savepoint), so a restart
//! repeats exactly the unprocessed records.

use std::collections::{HashMap, HashSet};

use domain::inbound::{
    DueAction, InboundCommit, InboundCommitted, RecordResult, RequestSummary, Scheduled,
    StagedRequest, UserWrite,
};
use domain::storage::encode::{
    action_from_sql, count_from_sql, count_to_sql, limit_to_sql, outcome_from_sql, ts_from_sql,
    ts_to_sql,
};
use domain::storage::inbound::{attribute, pending_records, records_to_sql};
use domain::{Error, Load, ResourceKind, Result};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::convert::{constraint, internal, Constraint, PgResult};
use crate::db::{Conn, Tx};
use crate::dynamic::RulesCache;
use crate::engine_state::insert_logs;
use crate::resources;

/// One row per request: staging is on the upload's critical path, results come one by one.
pub(crate) async fn stage(tx: &Tx<'_>, request: &StagedRequest) -> Result<()> {
    let records = records_to_sql(&request.records)?;
    let total = i64::try_from(request.records.len())
        .map_err(|_| Error::InvalidValue("too many records".into()))?;
    tx.conn()
        .execute(
            "INSERT INTO inbound_requests (id, tenant_id, source, received, records, total)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &request.id,
                &request.tenant_id,
                &request.source,
                &ts_to_sql(request.received)?,
                &records,
                &total,
            ],
        )
        .await
        .map_err(|e| match constraint(&e) {
            Some(Constraint::ForeignKey) => {
                Error::NotFound(format!("tenant `{}` not found", request.tenant_id))
            }
            Some(Constraint::Unique(_)) => {
                Error::Conflict(format!("inbound request `{}` already exists", request.id))
            }
            None => internal(e),
        })?;
    Ok(())
}

/// Two statements whatever the number of requests: the requests, then every result they have.
pub(crate) async fn backlog(conn: &Conn<'_>) -> Result<u64> {
    let left: i64 = conn
        .query_one(
            "SELECT COALESCE(SUM(total - processed), 0)::bigint FROM inbound_requests
             WHERE completed IS NULL",
            &[],
        )
        .await
        .pg()?
        .get(0);
    Ok(u64::try_from(left).unwrap_or(0))
}

pub(crate) async fn pending(conn: &Conn<'_>, limit: usize) -> Result<Vec<StagedRequest>> {
    let requests = conn
        .query(
            "SELECT seq, id, tenant_id, source, received, records FROM inbound_requests
             WHERE completed IS NULL ORDER BY seq LIMIT $1",
            &[&limit_to_sql(limit)],
        )
        .await
        .pg()?;
    let seqs = requests
        .iter()
        .map(|row| row.try_get(0).pg())
        .collect::<Result<Vec<i64>>>()?;
    let mut finished: HashMap<i64, HashSet<i64>> = HashMap::new();
    if !seqs.is_empty() {
        let rows = conn
            .query(
                "SELECT request_seq, idx FROM inbound_records WHERE request_seq = ANY($1)",
                &[&seqs],
            )
            .await
            .pg()?;
        for row in &rows {
            finished
                .entry(row.try_get(0).pg()?)
                .or_default()
                .insert(row.try_get(1).pg()?);
        }
    }
    let none = HashSet::new();
    requests
        .iter()
        .map(|row| {
            let seq: i64 = row.try_get(0).pg()?;
            let done = finished.get(&seq).unwrap_or(&none);
            Ok(StagedRequest {
                id: row.try_get(1).pg()?,
                tenant_id: row.try_get(2).pg()?,
                source: row.try_get(3).pg()?,
                received: ts_from_sql(row.try_get(4).pg()?)?,
                records: pending_records(row.try_get(5).pg()?, done)?,
            })
        })
        .collect()
}

/// The columns [`summary_from_row`] reads, in order.
const SUMMARY_COLUMNS: &str = "id, tenant_id, source, received, total, processed, completed";

fn summary_from_row(row: &Row) -> Result<RequestSummary> {
    let completed: Option<i64> = row.try_get(6).pg()?;
    Ok(RequestSummary {
        id: row.try_get(0).pg()?,
        tenant_id: row.try_get(1).pg()?,
        source: row.try_get(2).pg()?,
        received: ts_from_sql(row.try_get(3).pg()?)?,
        total: count_from_sql(row.try_get(4).pg()?)?,
        processed: count_from_sql(row.try_get(5).pg()?)?,
        completed: completed.map(ts_from_sql).transpose()?,
    })
}

fn result_from_row(row: &Row) -> Result<RecordResult> {
    Ok(RecordResult {
        index: count_from_sql(row.try_get(0).pg()?)?,
        bulk_id: row.try_get(1).pg()?,
        external_id: row.try_get(2).pg()?,
        outcome: outcome_from_sql(row.try_get(3).pg()?)?,
        user_id: row.try_get(4).pg()?,
        error: row.try_get(5).pg()?,
    })
}

pub(crate) async fn request(
    conn: &Conn<'_>,
    tenant_id: &str,
    id: &str,
) -> Result<Option<(RequestSummary, Vec<RecordResult>)>> {
    let Some(row) = conn
        .query_opt(
            &format!(
                "SELECT {SUMMARY_COLUMNS}, seq FROM inbound_requests
                 WHERE tenant_id = $1 AND id = $2"
            ),
            &[&tenant_id, &id],
        )
        .await
        .pg()?
    else {
        return Ok(None);
    };
    let seq: i64 = row.try_get(7).pg()?;
    let results = conn
        .query(
            "SELECT idx, bulk_id, external_id, outcome, user_id, error FROM inbound_records
             WHERE request_seq = $1 ORDER BY idx",
            &[&seq],
        )
        .await
        .pg()?
        .iter()
        .map(result_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((summary_from_row(&row)?, results)))
}

pub(crate) async fn requests(
    conn: &Conn<'_>,
    tenant_id: &str,
    limit: usize,
) -> Result<Vec<RequestSummary>> {
    conn.query(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM inbound_requests WHERE tenant_id = $1
             ORDER BY seq DESC LIMIT $2"
        ),
        &[&tenant_id, &limit_to_sql(limit)],
    )
    .await
    .pg()?
    .iter()
    .map(summary_from_row)
    .collect()
}

/// Writes one record's (or lifecycle action's) effect inside `tx`: the user, then the user's
/// schedule, the record's result with its request's progress, and the log entry. Any failure
/// fails the whole, and the caller drops (rolls back) `tx`.
pub(crate) async fn commit(
    tx: &Tx<'_>,
    rules: &RulesCache,
    commit: InboundCommit,
) -> Result<InboundCommitted> {
    let InboundCommit {
        tenant_id,
        source,
        write,
        schedule,
        mut result,
        mut log,
        now,
    } = commit;
    let stored = match write {
        UserWrite::None => None,
        UserWrite::Create(write) => {
            Some(resources::create(tx, rules, &tenant_id, write, now).await?)
        }
        UserWrite::Replace { id, write, version } => Some(
            resources::replace(
                tx,
                rules,
                &tenant_id,
                ResourceKind::User,
                &id,
                write,
                Some(version),
                now,
                Load::NONE,
            )
            .await?,
        ),
    };
    let user_id = attribute(stored.as_ref(), &mut result, &mut log);
    let conn = tx.conn();
    if let (Some(schedule), Some(user_id)) = (&schedule, &user_id) {
        put_schedule(&conn, &tenant_id, user_id, &source, schedule).await?;
    }
    if let Some((request_id, record)) = result {
        put_result(&conn, &tenant_id, &request_id, &record, now).await?;
    }
    if let Some(entry) = log {
        insert_logs(&conn, std::slice::from_ref(&entry)).await?;
    }
    Ok(stored)
}

/// Replaces the user's schedule. An action given twice is kept as last given.
async fn put_schedule(
    conn: &Conn<'_>,
    tenant_id: &str,
    user_id: &str,
    source: &str,
    schedule: &[Scheduled],
) -> Result<()> {
    conn.execute(
        "DELETE FROM lifecycle WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant_id, &user_id],
    )
    .await
    .pg()?;
    let mut seen = HashSet::with_capacity(schedule.len());
    let schedule: Vec<&Scheduled> = schedule
        .iter()
        .rev()
        .filter(|s| seen.insert(s.action.as_str()))
        .collect();
    if schedule.is_empty() {
        return Ok(());
    }
    let actions: Vec<&str> = schedule.iter().map(|s| s.action.as_str()).collect();
    let dues = schedule
        .iter()
        .map(|s| ts_to_sql(s.due))
        .collect::<Result<Vec<i64>>>()?;
    let dates: Vec<&str> = schedule.iter().map(|s| s.date.as_str()).collect();
    // `ON CONFLICT`: another transaction may have scheduled the same user meanwhile.
    conn.execute(
        "INSERT INTO lifecycle (tenant_id, user_id, action, due, date, source)
         SELECT $1, $2, action, due, date, $6
         FROM UNNEST($3::text[], $4::bigint[], $5::text[]) AS s(action, due, date)
         ON CONFLICT (tenant_id, user_id, action) DO UPDATE SET due = excluded.due,
             date = excluded.date, source = excluded.source",
        &[&tenant_id, &user_id, &actions, &dues, &dates, &source],
    )
    .await
    .pg()?;
    Ok(())
}

/// Writes a record's result and counts it in its request, completing the request with its
/// last result. The count is an increment, not a recount: the request's row lock orders
/// concurrent results, and each result is counted once because it is inserted once.
async fn put_result(
    conn: &Conn<'_>,
    tenant_id: &str,
    request_id: &str,
    record: &RecordResult,
    now: Timestamp,
) -> Result<()> {
    let seq: i64 = conn
        .query_opt(
            "UPDATE inbound_requests SET processed = processed + 1,
                 completed = CASE WHEN completed IS NULL AND processed + 1 >= total
                                  THEN $3 ELSE completed END
             WHERE tenant_id = $1 AND id = $2
             RETURNING seq",
            &[&tenant_id, &request_id, &ts_to_sql(now)?],
        )
        .await
        .pg()?
        .ok_or_else(|| Error::NotFound(format!("inbound request `{request_id}` not found")))?
        .try_get(0)
        .pg()?;
    conn.execute(
        "INSERT INTO inbound_records (request_seq, idx, bulk_id, external_id, outcome, user_id,
             error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &seq,
            &count_to_sql(record.index)?,
            &record.bulk_id,
            &record.external_id,
            &record.outcome.as_str(),
            &record.user_id,
            &record.error,
        ],
    )
    .await
    .map_err(|e| match constraint(&e) {
        Some(Constraint::Unique(_)) => Error::Conflict(format!(
            "record {} of inbound request `{request_id}` already has a result",
            record.index
        )),
        _ => internal(e),
    })?;
    Ok(())
}

fn scheduled_from_row(row: &Row) -> Result<Scheduled> {
    Ok(Scheduled {
        action: action_from_sql(row.try_get(0).pg()?)?,
        due: ts_from_sql(row.try_get(1).pg()?)?,
        date: row.try_get(2).pg()?,
    })
}

pub(crate) async fn due(conn: &Conn<'_>, now: Timestamp, limit: usize) -> Result<Vec<DueAction>> {
    conn.query(
        "SELECT action, due, date, tenant_id, user_id, source FROM lifecycle
         WHERE due <= $1 ORDER BY due LIMIT $2",
        &[&ts_to_sql(now)?, &limit_to_sql(limit)],
    )
    .await
    .pg()?
    .iter()
    .map(|row| {
        Ok(DueAction {
            scheduled: scheduled_from_row(row)?,
            tenant_id: row.try_get(3).pg()?,
            user_id: row.try_get(4).pg()?,
            source: row.try_get(5).pg()?,
        })
    })
    .collect()
}

pub(crate) async fn lifecycle_of(
    conn: &Conn<'_>,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Scheduled>> {
    conn.query(
        "SELECT action, due, date FROM lifecycle WHERE tenant_id = $1 AND user_id = $2
         ORDER BY due",
        &[&tenant_id, &user_id],
    )
    .await
    .pg()?
    .iter()
    .map(scheduled_from_row)
    .collect()
}
