//! Inbound provisioning's tables: staged bulkUpload requests (their records as one JSON array),
//! one row per processed record with its outcome, and the effective-dated actions per user.
//!
//! Invariant: a record's outcome, the user write it caused, the user's schedule and the log
//! entry commit together (one savepoint), so a restart repeats exactly the unprocessed records.
//! A request's `processed`/`completed` are recounted in the same transaction, once per batch.

use std::collections::HashMap;

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
use rusqlite::{params, Connection, OptionalExtension as _, Row};

use crate::convert::SqlResult;
use crate::engine_state::insert_log;
use crate::resources;

pub(crate) fn stage(conn: &mut Connection, request: &StagedRequest) -> Result<()> {
    // One row per request: staging is on the upload's critical path, results come one by one.
    let records = records_to_sql(&request.records)?;
    conn.prepare_cached(
        "INSERT INTO inbound_requests (id, tenant_id, source, received, records, total)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .sql()?
    .execute(params![
        request.id,
        request.tenant_id,
        request.source,
        ts_to_sql(request.received)?,
        records,
        count_to_sql(request.records.len() as u64)?
    ])
    .map_err(|e| match crate::convert::constraint(&e) {
        Some(crate::convert::Constraint::ForeignKey) => {
            Error::NotFound(format!("tenant `{}` not found", request.tenant_id))
        }
        _ => crate::convert::internal(e),
    })?;
    Ok(())
}

const SUMMARY_COLUMNS: &str = "id, tenant_id, source, received, total, processed, completed";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<(RequestSummary, i64, i64, i64, i64)> {
    Ok((
        RequestSummary {
            id: row.get(0)?,
            tenant_id: row.get(1)?,
            source: row.get(2)?,
            received: Timestamp::UNIX_EPOCH,
            total: 0,
            processed: 0,
            completed: None,
        },
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get::<_, Option<i64>>(6)?.unwrap_or(-1),
    ))
}

fn summary(raw: (RequestSummary, i64, i64, i64, i64)) -> Result<RequestSummary> {
    let (mut s, received, total, processed, completed) = raw;
    s.received = ts_from_sql(received)?;
    s.total = count_from_sql(total)?;
    s.processed = count_from_sql(processed)?;
    s.completed = (completed >= 0)
        .then(|| ts_from_sql(completed))
        .transpose()?;
    Ok(s)
}

pub(crate) fn backlog(conn: &Connection) -> Result<u64> {
    let left: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(total - processed), 0) FROM inbound_requests
             WHERE completed IS NULL",
        )
        .sql()?
        .query_row([], |row| row.get(0))
        .sql()?;
    Ok(u64::try_from(left).unwrap_or(0))
}

pub(crate) fn pending(conn: &Connection, limit: usize) -> Result<Vec<StagedRequest>> {
    let requests = conn
        .prepare_cached(
            "SELECT seq, id, tenant_id, source, received, records FROM inbound_requests
             WHERE completed IS NULL ORDER BY seq LIMIT ?1",
        )
        .sql()?
        .query_map([limit_to_sql(limit)], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })
        .sql()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .sql()?;
    let mut done = conn
        .prepare_cached("SELECT idx FROM inbound_records WHERE request_seq = ?1")
        .sql()?;
    let mut out = Vec::with_capacity(requests.len());
    for (seq, id, tenant_id, source, received, records) in requests {
        let finished: std::collections::HashSet<i64> = done
            .query_map([seq], |row| row.get(0))
            .sql()?
            .collect::<rusqlite::Result<_>>()
            .sql()?;
        out.push(StagedRequest {
            id,
            tenant_id,
            source,
            received: ts_from_sql(received)?,
            records: pending_records(&records, &finished)?,
        });
    }
    Ok(out)
}

pub(crate) fn request(
    conn: &Connection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<(RequestSummary, Vec<RecordResult>)>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT seq, {SUMMARY_COLUMNS} FROM inbound_requests WHERE tenant_id = ?1 AND id = ?2"
        ))
        .sql()?
        .query_row(params![tenant_id, id], |row| {
            let seq: i64 = row.get(0)?;
            Ok((
                seq,
                (
                    RequestSummary {
                        id: row.get(1)?,
                        tenant_id: row.get(2)?,
                        source: row.get(3)?,
                        received: Timestamp::UNIX_EPOCH,
                        total: 0,
                        processed: 0,
                        completed: None,
                    },
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get::<_, Option<i64>>(7)?.unwrap_or(-1),
                ),
            ))
        })
        .optional()
        .sql()?;
    let Some((seq, raw)) = row else {
        return Ok(None);
    };
    let rows = conn
        .prepare_cached(
            "SELECT idx, bulk_id, external_id, outcome, user_id, error FROM inbound_records
             WHERE request_seq = ?1 ORDER BY idx",
        )
        .sql()?
        .query_map([seq], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })
        .sql()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .sql()?;
    let mut results = Vec::with_capacity(rows.len());
    for (idx, bulk_id, external_id, outcome, user_id, error) in rows {
        results.push(RecordResult {
            index: count_from_sql(idx)?,
            bulk_id,
            external_id,
            outcome: outcome_from_sql(&outcome)?,
            user_id,
            error,
        });
    }
    Ok(Some((summary(raw)?, results)))
}

pub(crate) fn requests(
    conn: &Connection,
    tenant_id: &str,
    limit: usize,
) -> Result<Vec<RequestSummary>> {
    conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM inbound_requests WHERE tenant_id = ?1
         ORDER BY seq DESC LIMIT ?2"
    ))
    .sql()?
    .query_map(params![tenant_id, limit_to_sql(limit)], summary_from_row)
    .sql()?
    .map(|raw| summary(raw.sql()?))
    .collect()
}

/// One record's effect in one savepoint, then its request's progress.
pub(crate) fn commit(
    conn: &mut Connection,
    rules: &crate::dynamic::RulesCache,
    commit: InboundCommit,
) -> Result<InboundCommitted> {
    let mut many = commit_many(conn, rules, vec![commit])?;
    many.pop()
        .unwrap_or_else(|| Err(Error::Internal("an inbound commit went missing".into())))
}

/// Each commit in its own savepoint (standing or falling on its own), then the progress of the
/// requests they belong to, once per request. All in the writer's one transaction.
pub(crate) fn commit_many(
    conn: &mut Connection,
    rules: &crate::dynamic::RulesCache,
    commits: Vec<InboundCommit>,
) -> Result<Vec<Result<InboundCommitted>>> {
    let mut requests: HashMap<String, i64> = HashMap::new();
    let mut touched: Vec<i64> = Vec::new();
    let mut out = Vec::with_capacity(commits.len());
    let mut now = None;
    for commit in commits {
        now = Some(commit.now);
        let (outcome, seq) = commit_one(conn, rules, commit, &mut requests);
        if let Some(seq) = seq.filter(|s| !touched.contains(s)) {
            touched.push(seq);
        }
        out.push(outcome);
    }
    if let Some(now) = now {
        for seq in touched {
            refresh_request(conn, seq, now)?;
        }
    }
    Ok(out)
}

/// One record's effect in one savepoint, opened by name because the resource functions open
/// savepoints of their own on `&mut Connection`. Returns the request's seq when it wrote a
/// result.
fn commit_one(
    conn: &mut Connection,
    rules: &crate::dynamic::RulesCache,
    commit: InboundCommit,
    requests: &mut HashMap<String, i64>,
) -> (Result<InboundCommitted>, Option<i64>) {
    // Cached statements: `execute_batch` would prepare and finalise them for every record.
    let begin = conn
        .prepare_cached("SAVEPOINT inbound_commit")
        .and_then(|mut s| s.execute([]));
    if let Err(e) = begin {
        return (Err(crate::convert::internal(e)), None);
    }
    match commit_inner(conn, rules, commit, requests) {
        Ok((stored, seq)) => {
            let release = conn
                .prepare_cached("RELEASE inbound_commit")
                .and_then(|mut s| s.execute([]));
            match release {
                Ok(_) => (Ok(stored), seq),
                Err(e) => (Err(crate::convert::internal(e)), None),
            }
        }
        Err(e) => {
            // Undo whatever part was written, then leave the savepoint.
            let _ = conn.execute_batch("ROLLBACK TO inbound_commit; RELEASE inbound_commit");
            (Err(e), None)
        }
    }
}

/// Counts a request's results and marks it complete when every record has one.
fn refresh_request(conn: &Connection, seq: i64, now: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inbound_requests SET
             processed = (SELECT count(*) FROM inbound_records WHERE request_seq = ?1)
         WHERE seq = ?1",
    )
    .sql()?
    .execute([seq])
    .sql()?;
    conn.prepare_cached(
        "UPDATE inbound_requests SET completed = ?2
         WHERE seq = ?1 AND completed IS NULL AND processed >= total",
    )
    .sql()?
    .execute(params![seq, ts_to_sql(now)?])
    .sql()?;
    Ok(())
}

fn commit_inner(
    conn: &mut Connection,
    rules: &crate::dynamic::RulesCache,
    commit: InboundCommit,
    requests: &mut HashMap<String, i64>,
) -> Result<(InboundCommitted, Option<i64>)> {
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
        UserWrite::Create(write) => Some(resources::create(conn, rules, &tenant_id, write, now)?),
        UserWrite::Replace { id, write, version } => Some(resources::replace(
            conn,
            rules,
            &tenant_id,
            ResourceKind::User,
            &id,
            write,
            Some(version),
            now,
            Load::NONE,
        )?),
    };
    let user_id = attribute(stored.as_ref(), &mut result, &mut log);
    if let (Some(schedule), Some(user_id)) = (&schedule, &user_id) {
        put_schedule(conn, &tenant_id, user_id, &source, schedule)?;
    }
    let mut seq = None;
    if let Some((request_id, record)) = result {
        seq = Some(put_result(
            conn,
            &tenant_id,
            &request_id,
            &record,
            requests,
        )?);
    }
    if let Some(entry) = log {
        insert_log(conn, &entry)?;
    }
    Ok((stored, seq))
}

fn put_schedule(
    conn: &Connection,
    tenant_id: &str,
    user_id: &str,
    source: &str,
    schedule: &[Scheduled],
) -> Result<()> {
    conn.prepare_cached("DELETE FROM lifecycle WHERE tenant_id = ?1 AND user_id = ?2")
        .sql()?
        .execute(params![tenant_id, user_id])
        .sql()?;
    let mut insert = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO lifecycle (tenant_id, user_id, action, due, date, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .sql()?;
    for s in schedule {
        insert
            .execute(params![
                tenant_id,
                user_id,
                s.action.as_str(),
                ts_to_sql(s.due)?,
                s.date,
                source
            ])
            .sql()?;
    }
    Ok(())
}

/// Writes a record's result; returns its request's seq (looked up once per batch).
fn put_result(
    conn: &Connection,
    tenant_id: &str,
    request_id: &str,
    record: &RecordResult,
    requests: &mut HashMap<String, i64>,
) -> Result<i64> {
    let seq = match requests.get(request_id) {
        Some(seq) => *seq,
        None => {
            let seq: i64 = conn
                .prepare_cached("SELECT seq FROM inbound_requests WHERE tenant_id = ?1 AND id = ?2")
                .sql()?
                .query_row(params![tenant_id, request_id], |r| r.get(0))
                .optional()
                .sql()?
                .ok_or_else(|| {
                    Error::NotFound(format!("inbound request `{request_id}` not found"))
                })?;
            requests.insert(request_id.to_owned(), seq);
            seq
        }
    };
    conn.prepare_cached(
        "INSERT INTO inbound_records (request_seq, idx, bulk_id, external_id, outcome, user_id,
             error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .sql()?
    .execute(params![
        seq,
        count_to_sql(record.index)?,
        record.bulk_id,
        record.external_id,
        record.outcome.as_str(),
        record.user_id,
        record.error
    ])
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Error::Conflict(format!(
                "record {} of inbound request `{request_id}` already has a result",
                record.index
            ))
        }
        e => crate::convert::internal(e),
    })?;
    Ok(seq)
}

fn scheduled_from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn scheduled(raw: (String, i64, String)) -> Result<Scheduled> {
    let (action, due, date) = raw;
    Ok(Scheduled {
        action: action_from_sql(&action)?,
        due: ts_from_sql(due)?,
        date,
    })
}

pub(crate) fn due(conn: &Connection, now: Timestamp, limit: usize) -> Result<Vec<DueAction>> {
    conn.prepare_cached(
        "SELECT action, due, date, tenant_id, user_id, source FROM lifecycle
         WHERE due <= ?1 ORDER BY due LIMIT ?2",
    )
    .sql()?
    .query_map(params![ts_to_sql(now)?, limit_to_sql(limit)], |row| {
        Ok((
            scheduled_from_row(row)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
        ))
    })
    .sql()?
    .map(|raw| {
        let (s, tenant_id, user_id, source) = raw.sql()?;
        Ok(DueAction {
            tenant_id,
            user_id,
            source,
            scheduled: scheduled(s)?,
        })
    })
    .collect()
}

pub(crate) fn lifecycle_of(
    conn: &Connection,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Scheduled>> {
    conn.prepare_cached(
        "SELECT action, due, date FROM lifecycle WHERE tenant_id = ?1 AND user_id = ?2
         ORDER BY due",
    )
    .sql()?
    .query_map(params![tenant_id, user_id], scheduled_from_row)
    .sql()?
    .map(|raw| scheduled(raw.sql()?))
    .collect()
}
