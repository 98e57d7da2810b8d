//! Outbound provisioning apps, their assignments, and the per-app lease.
//!
//! The store keeps `spec` and `state` as opaque JSON text; their meaning belongs to the engine.
//! Writes that attach state to an app (`set_assignment`, `commit_engine`) first take a key-share
//! lock on its row ([`require_app`]), so a concurrent `delete_app` either waits for them and then
//! deletes what they wrote, or deletes the app first and they fail with `NotFound`: no state is
//! left behind for a deleted app.

use domain::{AppRecord, Error, ResourceKind, Result};
use jiff::Timestamp;
use serde_json::Value;
use tokio_postgres::Row;

use domain::storage::encode::{json_from_sql, json_to_sql, kind_from_sql, ts_from_sql, ts_to_sql};

use crate::convert::{constraint, internal, Constraint, PgResult};
use crate::db::{Conn, Tx};

/// The columns [`app_from_row`] reads, in order.
const APP_COLUMNS: &str =
    "id, tenant_id, name, enabled, spec, sealed_secret, state, created, updated";

fn app_from_row(row: &Row) -> Result<AppRecord> {
    let id: String = row.try_get(0).pg()?;
    Ok(AppRecord {
        tenant_id: row.try_get(1).pg()?,
        name: row.try_get(2).pg()?,
        enabled: row.try_get(3).pg()?,
        spec: json_from_sql(&id, "spec", row.try_get(4).pg()?)?,
        sealed_secret: row.try_get(5).pg()?,
        state: json_from_sql(&id, "state", row.try_get(6).pg()?)?,
        created: ts_from_sql(row.try_get(7).pg()?)?,
        updated: ts_from_sql(row.try_get(8).pg()?)?,
        id,
    })
}

fn app_not_found(app_id: &str) -> Error {
    Error::NotFound(format!("app `{app_id}` not found"))
}

/// Fails with `Error::NotFound` unless the app exists; otherwise keeps it from being deleted
/// until the transaction ends (a key-share lock: renames and deletes wait, other updates do not).
pub(crate) async fn require_app(conn: &Conn<'_>, app_id: &str) -> Result<()> {
    conn.query_opt("SELECT 1 FROM apps WHERE id = $1 FOR KEY SHARE", &[&app_id])
        .await
        .pg()?
        .map(|_| ())
        .ok_or_else(|| app_not_found(app_id))
}

pub(crate) async fn put_app(tx: &Tx<'_>, app: &AppRecord) -> Result<()> {
    tx.conn()
        .execute(
            "INSERT INTO apps (id, tenant_id, name, enabled, spec, sealed_secret, state, created,
                 updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id,
                 name = excluded.name, enabled = excluded.enabled, spec = excluded.spec,
                 sealed_secret = excluded.sealed_secret, state = excluded.state,
                 updated = excluded.updated",
            &[
                &app.id,
                &app.tenant_id,
                &app.name,
                &app.enabled,
                &json_to_sql(&app.spec)?,
                &app.sealed_secret,
                &json_to_sql(&app.state)?,
                &ts_to_sql(app.created)?,
                &ts_to_sql(app.updated)?,
            ],
        )
        .await
        .map_err(|e| match constraint(&e) {
            Some(Constraint::Unique("apps_tenant_id_name_key")) => Error::Conflict(format!(
                "an app named `{}` already exists in this tenant",
                app.name
            )),
            _ => internal(e),
        })?;
    Ok(())
}

pub(crate) async fn app(conn: &Conn<'_>, tenant_id: &str, name: &str) -> Result<Option<AppRecord>> {
    conn.query_opt(
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE tenant_id = $1 AND name = $2"),
        &[&tenant_id, &name],
    )
    .await
    .pg()?
    .as_ref()
    .map(app_from_row)
    .transpose()
}

pub(crate) async fn app_by_id(conn: &Conn<'_>, app_id: &str) -> Result<Option<AppRecord>> {
    conn.query_opt(
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"),
        &[&app_id],
    )
    .await
    .pg()?
    .as_ref()
    .map(app_from_row)
    .transpose()
}

/// Ordered by name, then (across tenants) by tenant, so the order is total.
pub(crate) async fn list_apps(conn: &Conn<'_>, tenant_id: Option<&str>) -> Result<Vec<AppRecord>> {
    let rows = match tenant_id {
        Some(tenant_id) => {
            conn.query(
                &format!(
                    "SELECT {APP_COLUMNS} FROM apps WHERE tenant_id = $1
                     ORDER BY name, tenant_id, id"
                ),
                &[&tenant_id],
            )
            .await
        }
        None => {
            conn.query(
                &format!("SELECT {APP_COLUMNS} FROM apps ORDER BY name, tenant_id, id"),
                &[],
            )
            .await
        }
    };
    rows.pg()?.iter().map(app_from_row).collect()
}

/// The app first: it waits for any transaction still attaching state to the app (see
/// [`require_app`]); each later statement sees what those committed.
pub(crate) async fn delete_app(tx: &Tx<'_>, tenant_id: &str, app_id: &str) -> Result<()> {
    let conn = tx.conn();
    let deleted = conn
        .execute(
            "DELETE FROM apps WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &app_id],
        )
        .await
        .pg()?;
    if deleted == 0 {
        return Err(app_not_found(app_id));
    }
    conn.execute(
        "WITH assignments AS (DELETE FROM app_assignments WHERE app_id = $1),
              shadows AS (DELETE FROM shadows WHERE app_id = $1),
              leases AS (DELETE FROM app_leases WHERE app_id = $1)
         DELETE FROM provisioning_log WHERE app_id = $1",
        &[&app_id],
    )
    .await
    .pg()?;
    Ok(())
}

pub(crate) async fn put_app_state(tx: &Tx<'_>, app_id: &str, state: &Value) -> Result<()> {
    let changed = tx
        .conn()
        .execute(
            "UPDATE apps SET state = $2 WHERE id = $1",
            &[&app_id, &json_to_sql(state)?],
        )
        .await
        .pg()?;
    if changed == 0 {
        return Err(app_not_found(app_id));
    }
    Ok(())
}

pub(crate) async fn set_assignment(
    tx: &Tx<'_>,
    app_id: &str,
    kind: ResourceKind,
    resource_id: &str,
    assigned: bool,
    now: Timestamp,
) -> Result<()> {
    let conn = tx.conn();
    require_app(&conn, app_id).await?;
    let sql = if assigned {
        "INSERT INTO app_assignments (app_id, kind, resource_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM app_assignments WHERE app_id = $1 AND kind = $2 AND resource_id = $3"
    };
    conn.execute(sql, &[&app_id, &kind.name(), &resource_id])
        .await
        .pg()?;
    // The engine must look at the object again either way: to provision or to deprovision it.
    conn.execute(
        "INSERT INTO shadows (app_id, kind, source_id, target_id, state, last_sent, due,
             attempts, last_error, updated)
         VALUES ($1, $2, $3, NULL, 'pending', '{}', $4, 0, NULL, $4)
         ON CONFLICT (app_id, kind, source_id) DO UPDATE SET due = excluded.due",
        &[&app_id, &kind.name(), &resource_id, &ts_to_sql(now)?],
    )
    .await
    .pg()?;
    Ok(())
}

/// Ordered by kind name (`Group` before `User`), then id.
pub(crate) async fn assignments(
    conn: &Conn<'_>,
    app_id: &str,
) -> Result<Vec<(ResourceKind, String)>> {
    conn.query(
        "SELECT kind, resource_id FROM app_assignments WHERE app_id = $1
         ORDER BY kind, resource_id",
        &[&app_id],
    )
    .await
    .pg()?
    .iter()
    .map(|row| Ok((kind_from_sql(row.try_get(0).pg()?)?, row.try_get(1).pg()?)))
    .collect()
}

/// One statement whatever the number of ids: they travel as one array parameter.
pub(crate) async fn assigned_among(
    conn: &Conn<'_>,
    app_id: &str,
    kind: ResourceKind,
    resource_ids: &[String],
) -> Result<Vec<String>> {
    if resource_ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.query(
        "SELECT resource_id FROM app_assignments
         WHERE app_id = $1 AND kind = $2 AND resource_id = ANY($3)",
        &[&app_id, &kind.name(), &resource_ids],
    )
    .await
    .pg()?
    .iter()
    .map(|row| row.try_get(0).pg())
    .collect()
}

/// Takes or renews the lease (`SELECT … FOR UPDATE SKIP LOCKED`: a replica never waits on
/// another replica's lease row).
///
/// The lock is asked only for a lease the caller may take (its own, or expired: at `until`
/// exactly counts), so replicas polling a live lease never lock its row, and the holder's
/// renewals do not find it locked by them. A row locked by another transaction is skipped:
/// someone else is taking it right now. With no row to lock, the caller inserts one if there
/// is none at all; only a concurrent first insert of the same row is waited for.
pub(crate) async fn acquire_lease(
    tx: &Tx<'_>,
    app_id: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let conn = tx.conn();
    let until = ts_to_sql(until)?;
    let takeable = conn
        .query_opt(
            "SELECT 1 FROM app_leases
             WHERE app_id = $1 AND (holder = $2 OR until <= $3)
             FOR UPDATE SKIP LOCKED",
            &[&app_id, &holder, &ts_to_sql(now)?],
        )
        .await
        .pg()?
        .is_some();
    let changed = if takeable {
        conn.execute(
            "UPDATE app_leases SET holder = $2, until = $3 WHERE app_id = $1",
            &[&app_id, &holder, &until],
        )
        .await
    } else {
        // `NOT EXISTS` first: `ON CONFLICT` alone would wait for a renewal in progress.
        conn.execute(
            "INSERT INTO app_leases (app_id, holder, until)
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM app_leases WHERE app_id = $1)
             ON CONFLICT DO NOTHING",
            &[&app_id, &holder, &until],
        )
        .await
    };
    Ok(changed.pg()? > 0)
}

pub(crate) async fn release_lease(tx: &Tx<'_>, app_id: &str, holder: &str) -> Result<()> {
    tx.conn()
        .execute(
            "DELETE FROM app_leases WHERE app_id = $1 AND holder = $2",
            &[&app_id, &holder],
        )
        .await
        .pg()?;
    Ok(())
}
