//! Outbound provisioning apps, their assignments and their leases.
//!
//! The store keeps `spec` and `state` as opaque JSON text; their meaning belongs to the engine.
//! Assignment changes mark the object's shadow due in the same savepoint, so the engine's next
//! look at due shadows cannot miss them.

use domain::{AppRecord, Error, ResourceKind, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use domain::storage::encode::{json_from_sql, json_to_sql, kind_from_sql, ts_from_sql, ts_to_sql};

use crate::convert::{internal, SqlResult};

/// The columns [`AppRow::from_row`] reads, in order.
const APP_COLUMNS: &str =
    "id, tenant_id, name, enabled, spec, sealed_secret, state, created, updated";

/// An `apps` row before its JSON is parsed.
struct AppRow {
    id: String,
    tenant_id: String,
    name: String,
    enabled: bool,
    spec: String,
    sealed_secret: Option<Vec<u8>>,
    state: String,
    created: i64,
    updated: i64,
}

impl AppRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<AppRow> {
        Ok(AppRow {
            id: row.get(0)?,
            tenant_id: row.get(1)?,
            name: row.get(2)?,
            enabled: row.get(3)?,
            spec: row.get(4)?,
            sealed_secret: row.get(5)?,
            state: row.get(6)?,
            created: row.get(7)?,
            updated: row.get(8)?,
        })
    }

    fn into_app(self) -> Result<AppRecord> {
        Ok(AppRecord {
            spec: json_from_sql(&self.id, "spec", &self.spec)?,
            state: json_from_sql(&self.id, "state", &self.state)?,
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            enabled: self.enabled,
            sealed_secret: self.sealed_secret,
            created: ts_from_sql(self.created)?,
            updated: ts_from_sql(self.updated)?,
        })
    }
}

fn app_not_found(app_id: &str) -> Error {
    Error::NotFound(format!("app `{app_id}` not found"))
}

/// Fails with `Error::NotFound` unless the app exists.
pub(crate) fn require_app(conn: &Connection, app_id: &str) -> Result<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM apps WHERE id = ?1")
        .sql()?
        .exists([app_id])
        .sql()?;
    if exists {
        Ok(())
    } else {
        Err(app_not_found(app_id))
    }
}

fn is_name_taken(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(message))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            && message.contains("apps.name"))
}

pub(crate) fn put_app(conn: &Connection, app: &AppRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO apps (id, tenant_id, name, enabled, spec, sealed_secret, state, created,
             updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name,
             enabled = excluded.enabled, spec = excluded.spec,
             sealed_secret = excluded.sealed_secret, state = excluded.state,
             updated = excluded.updated",
    )
    .sql()?
    .execute(params![
        app.id,
        app.tenant_id,
        app.name,
        app.enabled,
        json_to_sql(&app.spec)?,
        app.sealed_secret,
        json_to_sql(&app.state)?,
        ts_to_sql(app.created)?,
        ts_to_sql(app.updated)?
    ])
    .map_err(|e| {
        if is_name_taken(&e) {
            Error::Conflict(format!(
                "an app named `{}` already exists in this tenant",
                app.name
            ))
        } else {
            internal(e)
        }
    })?;
    Ok(())
}

pub(crate) fn app(conn: &Connection, tenant_id: &str, name: &str) -> Result<Option<AppRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {APP_COLUMNS} FROM apps WHERE tenant_id = ?1 AND name = ?2"
    ))
    .sql()?
    .query_row([tenant_id, name], AppRow::from_row)
    .optional()
    .sql()?
    .map(AppRow::into_app)
    .transpose()
}

pub(crate) fn app_by_id(conn: &Connection, app_id: &str) -> Result<Option<AppRecord>> {
    conn.prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps WHERE id = ?1"))
        .sql()?
        .query_row([app_id], AppRow::from_row)
        .optional()
        .sql()?
        .map(AppRow::into_app)
        .transpose()
}

pub(crate) fn list_apps(conn: &Connection, tenant_id: Option<&str>) -> Result<Vec<AppRecord>> {
    // Ordered by name, then (across tenants) by tenant, so the order is total.
    let filter = match tenant_id {
        Some(_) => "WHERE tenant_id = ?1",
        None => "WHERE ?1 IS NULL",
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {APP_COLUMNS} FROM apps {filter} ORDER BY name, tenant_id, id"
        ))
        .sql()?;
    let rows = stmt.query_map([tenant_id], AppRow::from_row).sql()?;
    rows.map(|row| row.map_err(internal)?.into_app()).collect()
}

pub(crate) fn delete_app(conn: &mut Connection, tenant_id: &str, app_id: &str) -> Result<()> {
    let tx = conn.savepoint().sql()?;
    let deleted = tx
        .prepare_cached("DELETE FROM apps WHERE tenant_id = ?1 AND id = ?2")
        .sql()?
        .execute([tenant_id, app_id])
        .sql()?;
    if deleted == 0 {
        return Err(app_not_found(app_id));
    }
    for table in [
        "app_assignments",
        "shadows",
        "provisioning_log",
        "app_leases",
    ] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE app_id = ?1"))
            .sql()?
            .execute([app_id])
            .sql()?;
    }
    tx.commit().sql()
}

pub(crate) fn put_app_state(conn: &Connection, app_id: &str, state: &Value) -> Result<()> {
    let changed = conn
        .prepare_cached("UPDATE apps SET state = ?2 WHERE id = ?1")
        .sql()?
        .execute(params![app_id, json_to_sql(state)?])
        .sql()?;
    if changed == 0 {
        return Err(app_not_found(app_id));
    }
    Ok(())
}

pub(crate) fn set_assignment(
    conn: &mut Connection,
    app_id: &str,
    kind: ResourceKind,
    resource_id: &str,
    assigned: bool,
    now: Timestamp,
) -> Result<()> {
    let tx = conn.savepoint().sql()?;
    require_app(&tx, app_id)?;
    let sql = if assigned {
        "INSERT OR IGNORE INTO app_assignments (app_id, kind, resource_id) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM app_assignments WHERE app_id = ?1 AND kind = ?2 AND resource_id = ?3"
    };
    tx.prepare_cached(sql)
        .sql()?
        .execute([app_id, kind.name(), resource_id])
        .sql()?;
    // The engine must look at the object again either way: to provision or to deprovision it.
    tx.prepare_cached(
        "INSERT INTO shadows (app_id, kind, source_id, target_id, state, last_sent, due,
             attempts, last_error, updated)
         VALUES (?1, ?2, ?3, NULL, 'pending', '{}', ?4, 0, NULL, ?4)
         ON CONFLICT (app_id, kind, source_id) DO UPDATE SET due = excluded.due",
    )
    .sql()?
    .execute(params![app_id, kind.name(), resource_id, ts_to_sql(now)?])
    .sql()?;
    tx.commit().sql()
}

/// Ordered by kind name (`Group` before `User`), then id.
pub(crate) fn assignments(conn: &Connection, app_id: &str) -> Result<Vec<(ResourceKind, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, resource_id FROM app_assignments WHERE app_id = ?1
             ORDER BY kind, resource_id",
        )
        .sql()?;
    let rows = stmt
        .query_map([app_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .sql()?;
    rows.map(|row| {
        let (kind, id) = row.map_err(internal)?;
        Ok((kind_from_sql(&kind)?, id))
    })
    .collect()
}

/// One statement whatever the number of ids: they travel as one JSON array parameter.
pub(crate) fn assigned_among(
    conn: &Connection,
    app_id: &str,
    kind: ResourceKind,
    resource_ids: &[String],
) -> Result<Vec<String>> {
    if resource_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(resource_ids)
        .map_err(|e| Error::Internal(format!("cannot serialise ids: {e}")))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT resource_id FROM app_assignments
             WHERE app_id = ?1 AND kind = ?2
               AND resource_id IN (SELECT value FROM json_each(?3))",
        )
        .sql()?;
    let rows = stmt
        .query_map(params![app_id, kind.name(), ids], |row| row.get(0))
        .sql()?;
    rows.collect::<rusqlite::Result<Vec<String>>>().sql()
}

/// One statement: the upsert only updates when the lease is the holder's own or has expired, so
/// "no row changed" means another holder has it.
pub(crate) fn acquire_lease(
    conn: &Connection,
    app_id: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO app_leases (app_id, holder, until) VALUES (?1, ?2, ?4)
             ON CONFLICT (app_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE app_leases.holder = excluded.holder OR app_leases.until <= ?3",
        )
        .sql()?
        .execute(params![app_id, holder, ts_to_sql(now)?, ts_to_sql(until)?])
        .sql()?;
    Ok(changed > 0)
}

pub(crate) fn release_lease(conn: &Connection, app_id: &str, holder: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM app_leases WHERE app_id = ?1 AND holder = ?2")
        .sql()?
        .execute([app_id, holder])
        .sql()?;
    Ok(())
}
