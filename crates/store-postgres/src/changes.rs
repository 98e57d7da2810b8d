//! The change log: appended at commit (see `db.rs`), read by engines in sequence order.

use domain::storage::encode::{
    kind_from_sql, limit_to_sql, op_from_sql, ts_from_sql, version_from_sql,
};
use domain::{Change, Result};

use crate::convert::PgResult;
use crate::db::{Conn, PendingChange, CHANGES_CHANNEL};

/// Takes the next `changes.len()` sequence numbers from `change_head` (its row lock is held
/// until the transaction ends), inserts the entries, and announces the new head to every
/// replica (NOTIFY is delivered at commit). Returns the new head.
pub(crate) async fn append(conn: &Conn<'_>, changes: &[PendingChange]) -> Result<i64> {
    let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    let head: i64 = conn
        .query_one(
            "UPDATE change_head SET seq = seq + $1 RETURNING seq",
            &[&count],
        )
        .await
        .pg()?
        .get(0);
    let first = head - count + 1;
    let seqs: Vec<i64> = (first..=head).collect();
    let tenants: Vec<&str> = changes.iter().map(|c| c.tenant_id.as_str()).collect();
    let kinds: Vec<&str> = changes.iter().map(|c| c.kind.name()).collect();
    let ids: Vec<&str> = changes.iter().map(|c| c.resource_id.as_str()).collect();
    let ops: Vec<&str> = changes.iter().map(|c| c.op.as_str()).collect();
    let versions: Vec<i64> = changes.iter().map(|c| c.version).collect();
    let ats: Vec<i64> = changes.iter().map(|c| c.at).collect();
    conn.execute(
        "INSERT INTO changes (seq, tenant_id, kind, resource_id, op, version, at)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::bigint[], $7::bigint[])",
        &[&seqs, &tenants, &kinds, &ids, &ops, &versions, &ats],
    )
    .await
    .pg()?;
    conn.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANGES_CHANNEL, &head.to_string()],
    )
    .await
    .pg()?;
    Ok(head)
}

pub(crate) async fn changes_after(
    conn: &Conn<'_>,
    after: i64,
    limit: usize,
) -> Result<Vec<Change>> {
    let rows = conn
        .query(
            "SELECT seq, tenant_id, kind, resource_id, op, version, at FROM changes
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit_to_sql(limit)],
        )
        .await
        .pg()?;
    rows.iter()
        .map(|row| {
            Ok(Change {
                seq: row.try_get(0).pg()?,
                tenant_id: row.try_get(1).pg()?,
                kind: kind_from_sql(row.try_get(2).pg()?)?,
                resource_id: row.try_get(3).pg()?,
                op: op_from_sql(row.try_get(4).pg()?)?,
                version: version_from_sql(row.try_get(5).pg()?)?,
                at: ts_from_sql(row.try_get(6).pg()?)?,
            })
        })
        .collect()
}

pub(crate) async fn head_seq(conn: &Conn<'_>) -> Result<i64> {
    Ok(conn
        .query_one("SELECT seq FROM change_head", &[])
        .await
        .pg()?
        .get(0))
}
