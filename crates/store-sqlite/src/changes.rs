//! The change log: appended to inside every resource write, read by the provisioning engine.

use domain::storage::encode::{
    kind_from_sql, limit_to_sql, op_from_sql, ts_from_sql, ts_to_sql, version_from_sql,
    version_to_sql,
};
use domain::{Change, ChangeOp, ResourceKind, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::convert::SqlResult;

/// Appends one entry; the caller's transaction makes it atomic with the write it records.
pub(crate) fn append(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    resource_id: &str,
    op: ChangeOp,
    version: u64,
    at: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO changes (tenant_id, kind, resource_id, op, version, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .sql()?
    .execute(params![
        tenant_id,
        kind.name(),
        resource_id,
        op.as_str(),
        version_to_sql(version)?,
        ts_to_sql(at)?
    ])
    .sql()?;
    Ok(())
}

pub(crate) fn changes_after(conn: &Connection, after: i64, limit: usize) -> Result<Vec<Change>> {
    let limit = limit_to_sql(limit);
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, tenant_id, kind, resource_id, op, version, at FROM changes
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .sql()?;
    let rows = stmt
        .query_map(params![after, limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, i64>(6)?,
            ))
        })
        .sql()?;
    let mut changes = Vec::new();
    for row in rows {
        let (seq, tenant_id, kind, resource_id, op, version, at) = row.sql()?;
        changes.push(Change {
            seq,
            tenant_id,
            kind: kind_from_sql(&kind)?,
            resource_id,
            op: op_from_sql(&op)?,
            version: version_from_sql(version)?,
            at: ts_from_sql(at)?,
        });
    }
    Ok(changes)
}

/// The sequence number of the newest change, 0 before the first. `sqlite_sequence` holds one
/// row per AUTOINCREMENT table, so this is a read of a tiny table (cheap enough to run after
/// every commit batch).
pub(crate) fn head_seq(conn: &Connection) -> Result<i64> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        .sql()?
        .query_row([], |row| row.get(0))
        .optional()
        .sql()?;
    Ok(seq.unwrap_or(0))
}
