//! Users and groups: create, read, replace, delete, with their email index rows, memberships
//! (`members`), dynamic-group membership and change-log entries, all in the caller's
//! transaction.
//!
//! Invariant: a replace or delete locks the resource's row before it compares versions, so that
//! of several writers with the same If-Match, on any replicas, exactly one wins. The lock is
//! `FOR NO KEY UPDATE` (what the `UPDATE` takes anyway), which does not block the foreign-key
//! checks of membership rows that name the resource.
//! Invariant: a write that changes nothing keeps its version and logs no change.

pub(crate) mod members;

use domain::storage::encode::{
    body_to_sql, ts_from_sql, ts_to_sql, version_from_sql, version_to_sql,
};
use domain::storage::resources::{
    check_kind, check_version, display_name_taken, not_found, split_list, user_name_taken,
    IndexKeys, ResourceRow,
};
use domain::{ChangeOp, Error, Load, ResourceKind, Result, StoredResource, Validated, Write};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::convert::{constraint, internal, Constraint, PgResult};
use crate::db::{Conn, Params, Tx};
use crate::dynamic::{self, RulesCache};
use members::{GroupRef, Refs};

/// The columns [`raw_row`] reads, in order.
pub(crate) const COLUMNS: &str = "seq, id, body, created, last_modified, version";

pub(crate) fn raw_row(row: &Row) -> Result<ResourceRow> {
    Ok(ResourceRow {
        seq: row.try_get(0).pg()?,
        id: row.try_get(1).pg()?,
        body: row.try_get(2).pg()?,
        created: row.try_get(3).pg()?,
        last_modified: row.try_get(4).pg()?,
        version: row.try_get(5).pg()?,
    })
}

/// Rows of `kind` as resources, with members or groups loaded as `load` asks (one statement
/// for all of them).
pub(crate) async fn load_rows(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    load: Load,
    rows: Vec<ResourceRow>,
) -> Result<Vec<StoredResource>> {
    let mut refs = match Refs::wanted(kind, load) {
        Some(wanted) => {
            let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
            Some(members::refs_of(conn, tenant_id, wanted, &seqs).await?)
        }
        None => None,
    };
    rows.into_iter()
        .map(|row| {
            let loaded = refs
                .as_mut()
                .map(|refs| refs.remove(&row.seq).unwrap_or_default());
            row.into_resource(kind, loaded)
        })
        .collect()
}

/// Maps a violated unique index to the SCIM uniqueness error naming the value.
fn write_error(e: tokio_postgres::Error, tenant_id: &str, body: &Validated) -> Error {
    match constraint(&e) {
        Some(Constraint::Unique("resources_user_name")) => user_name_taken(body),
        Some(Constraint::Unique("resources_group_display_name")) => display_name_taken(body),
        Some(Constraint::ForeignKey) => Error::NotFound(format!("tenant `{tenant_id}` not found")),
        _ => internal(e),
    }
}

/// Keeps the dynamic-group state in step with a user or group write.
async fn dynamic_written(
    tx: &Tx<'_>,
    rules: &RulesCache,
    tenant_id: &str,
    resource: (i64, &str),
    body: &Validated,
    now: Timestamp,
) -> Result<()> {
    match body.kind() {
        ResourceKind::User => {
            dynamic::user_written(tx, rules, tenant_id, resource, body.body(), now).await
        }
        ResourceKind::Group => dynamic::group_written(tx, tenant_id, resource.0, body.body()).await,
    }
}

pub(crate) async fn create(
    tx: &Tx<'_>,
    rules: &RulesCache,
    tenant_id: &str,
    write: Write,
    now: Timestamp,
) -> Result<StoredResource> {
    let kind = write.body.kind();
    check_kind(kind, &write)?;
    let id = uuid::Uuid::new_v4().to_string();
    let body = body_to_sql(&write.body)?;
    let cols = IndexKeys::of(&write.body);
    let conn = tx.conn();
    // One round trip: the row and its email index rows.
    let row = conn
        .query_one(
            "WITH r AS (
                 INSERT INTO resources (tenant_id, kind, id, body, user_name_lc, external_id,
                     display_name_lc, display, employee_number_lc, created, last_modified, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)
                 RETURNING seq),
             e AS (
                 INSERT INTO emails (tenant_id, resource_seq, value_lc)
                 SELECT $1, r.seq, v FROM r, unnest($11::text[]) AS v)
             SELECT seq FROM r",
            &[
                &tenant_id,
                &kind.name(),
                &id,
                &body,
                &cols.user_name_lc,
                &cols.external_id,
                &cols.display_name_lc,
                &cols.display,
                &cols.employee_number_lc,
                &ts_to_sql(now)?,
                &cols.emails_lc,
            ],
        )
        .await
        .map_err(|e| write_error(e, tenant_id, &write.body))?;
    let seq: i64 = row.try_get(0).pg()?;
    let group = GroupRef {
        tenant_id,
        seq,
        id: &id,
    };
    members::apply(&conn, &group, &write.members, true).await?;
    tx.change(tenant_id, kind, &id, ChangeOp::Created, 1, now)?;
    dynamic_written(tx, rules, tenant_id, (seq, &id), &write.body, now).await?;
    let (members, groups) = match kind {
        ResourceKind::Group => (
            Some(members::members_of(&conn, tenant_id, seq).await?),
            None,
        ),
        ResourceKind::User => (None, Some(Vec::new())),
    };
    Ok(StoredResource {
        id,
        kind,
        body: write.body.body().clone(),
        created: now,
        last_modified: now,
        version: 1,
        members,
        groups,
    })
}

pub(crate) async fn get(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    load: Load,
) -> Result<Option<StoredResource>> {
    let params: Params<'_> = &[&tenant_id, &kind.name(), &id];
    let Some(wanted) = Refs::wanted(kind, load) else {
        let sql = format!(
            "SELECT {COLUMNS} FROM resources WHERE tenant_id = $1 AND kind = $2 AND id = $3"
        );
        let row = conn.query_opt(&sql, params).await.pg()?;
        return row
            .map(|row| raw_row(&row)?.into_resource(kind, None))
            .transpose();
    };
    // The resource with its members or groups in ONE statement: GET by id is the hottest read.
    let sql = format!(
        "SELECT {COLUMNS}, ({}) FROM resources r
         WHERE r.tenant_id = $1 AND r.kind = $2 AND r.id = $3",
        wanted.json_of("r.seq")
    );
    let Some(row) = conn.query_opt(&sql, params).await.pg()? else {
        return Ok(None);
    };
    let refs = members::from_json(id, row.try_get(6).pg()?)?;
    raw_row(&row)?.into_resource(kind, Some(refs)).map(Some)
}

/// The row of a resource about to be written, locked, with the precondition checked.
struct Current {
    seq: i64,
    version: u64,
    created: i64,
    last_modified: i64,
    body: String,
}

async fn current(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
) -> Result<Current> {
    let row = conn
        .query_opt(
            "SELECT seq, version, created, last_modified, body FROM resources
             WHERE tenant_id = $1 AND kind = $2 AND id = $3
             FOR NO KEY UPDATE",
            &[&tenant_id, &kind.name(), &id],
        )
        .await
        .pg()?
        .ok_or_else(|| not_found(kind, id))?;
    let current = Current {
        seq: row.try_get(0).pg()?,
        version: version_from_sql(row.try_get(1).pg()?)?,
        created: row.try_get(2).pg()?,
        last_modified: row.try_get(3).pg()?,
        body: row.try_get(4).pg()?,
    };
    check_version(expected_version, current.version)?;
    Ok(current)
}

#[allow(clippy::too_many_arguments)] // mirrors `Store::replace`
pub(crate) async fn replace(
    tx: &Tx<'_>,
    rules: &RulesCache,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    write: Write,
    expected_version: Option<u64>,
    now: Timestamp,
    load: Load,
) -> Result<StoredResource> {
    check_kind(kind, &write)?;
    let body = body_to_sql(&write.body)?;
    let cols = IndexKeys::of(&write.body);
    let conn = tx.conn();
    let old = current(&conn, tenant_id, kind, id, expected_version).await?;
    let group = GroupRef {
        tenant_id,
        seq: old.seq,
        id,
    };
    let members_changed = members::apply(&conn, &group, &write.members, false).await?;
    let unchanged = members_changed == 0 && old.body == body;
    let (version, last_modified) = if unchanged {
        // Nothing to write: no new version, nothing in the change log for apps to follow.
        (old.version, ts_from_sql(old.last_modified)?)
    } else {
        let version = old.version + 1;
        // One round trip: the row, and its email index rows replaced.
        conn.execute(
            "WITH r AS (
                 UPDATE resources SET body = $3, user_name_lc = $4, external_id = $5,
                     display_name_lc = $6, display = $7, employee_number_lc = $8,
                     last_modified = $9, version = $10
                 WHERE tenant_id = $1 AND seq = $2
                 RETURNING seq),
             gone AS (DELETE FROM emails WHERE tenant_id = $1 AND resource_seq = $2)
             INSERT INTO emails (tenant_id, resource_seq, value_lc)
             SELECT $1, r.seq, v FROM r, unnest($11::text[]) AS v",
            &[
                &tenant_id,
                &old.seq,
                &body,
                &cols.user_name_lc,
                &cols.external_id,
                &cols.display_name_lc,
                &cols.display,
                &cols.employee_number_lc,
                &ts_to_sql(now)?,
                &version_to_sql(version)?,
                &cols.emails_lc,
            ],
        )
        .await
        .map_err(|e| write_error(e, tenant_id, &write.body))?;
        tx.change(tenant_id, kind, id, ChangeOp::Updated, version, now)?;
        dynamic_written(tx, rules, tenant_id, (old.seq, id), &write.body, now).await?;
        (version, now)
    };
    let refs = members::loaded(&conn, tenant_id, kind, load, old.seq).await?;
    let (members, groups) = split_list(kind, refs);
    Ok(StoredResource {
        id: id.to_owned(),
        kind,
        body: write.body.body().clone(),
        created: ts_from_sql(old.created)?,
        last_modified,
        version,
        members,
        groups,
    })
}

pub(crate) async fn delete(
    tx: &Tx<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
    now: Timestamp,
) -> Result<()> {
    let conn = tx.conn();
    let old = current(&conn, tenant_id, kind, id, expected_version).await?;
    if kind == ResourceKind::Group {
        dynamic::group_deleted(tx, tenant_id, old.seq).await?;
    }
    // The groups that lose this member change too: bump them and log it, so the engine sees it.
    let groups: Vec<i64> = conn
        .query(
            "DELETE FROM memberships WHERE tenant_id = $1 AND member_seq = $2
             RETURNING group_seq",
            &[&tenant_id, &old.seq],
        )
        .await
        .pg()?
        .iter()
        .map(|row| row.try_get(0).pg())
        .collect::<Result<_>>()?;
    members::touch_groups(tx, tenant_id, &groups, now).await?;
    // Its memberships as a group, its emails and its rule go by ON DELETE CASCADE.
    conn.execute(
        "DELETE FROM resources WHERE tenant_id = $1 AND seq = $2",
        &[&tenant_id, &old.seq],
    )
    .await
    .pg()?;
    tx.change(tenant_id, kind, id, ChangeOp::Deleted, old.version + 1, now)
}
