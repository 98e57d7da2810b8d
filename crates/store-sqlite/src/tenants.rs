//! Tenants, their API tokens and their extension schemas.

use domain::storage::encode::{
    hash_from_sql, scopes_from_sql, scopes_to_sql, ts_from_sql, ts_to_sql,
};
use domain::{Error, Result, Tenant, TokenInfo};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::convert::{internal, SqlResult};

pub(crate) fn create_tenant(conn: &Connection, name: &str, now: Timestamp) -> Result<Tenant> {
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        created: now,
    };
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO tenants (id, name, created) VALUES (?1, ?2, ?3)")
        .sql()?
        .execute(params![tenant.id, tenant.name, ts_to_sql(now)?])
        .sql()?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("tenant `{name}` already exists")));
    }
    Ok(tenant)
}

fn tenant_from_row(row: &Row<'_>) -> rusqlite::Result<(String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn tenant(parts: (String, String, i64)) -> Result<Tenant> {
    let (id, name, created) = parts;
    Ok(Tenant {
        id,
        name,
        created: ts_from_sql(created)?,
    })
}

pub(crate) fn tenant_by_name(conn: &Connection, name: &str) -> Result<Option<Tenant>> {
    conn.prepare_cached("SELECT id, name, created FROM tenants WHERE name = ?1")
        .sql()?
        .query_row([name], tenant_from_row)
        .optional()
        .sql()?
        .map(tenant)
        .transpose()
}

pub(crate) fn list_tenants(conn: &Connection) -> Result<Vec<Tenant>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, created FROM tenants ORDER BY name")
        .sql()?;
    let rows = stmt.query_map([], tenant_from_row).sql()?;
    rows.map(|row| tenant(row.map_err(internal)?)).collect()
}

pub(crate) fn insert_token(conn: &Connection, token: &TokenInfo) -> Result<()> {
    let expires = token.expires.map(ts_to_sql).transpose()?;
    conn.prepare_cached(
        "INSERT INTO tokens (id, tenant_id, name, hash, scopes, created, expires, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .sql()?
    .execute(params![
        token.id,
        token.tenant_id,
        token.name,
        &token.hash[..],
        scopes_to_sql(&token.scopes),
        ts_to_sql(token.created)?,
        expires,
        token.revoked
    ])
    .map_err(|e| match crate::convert::constraint(&e) {
        Some(crate::convert::Constraint::ForeignKey) => {
            Error::NotFound(format!("tenant `{}` not found", token.tenant_id))
        }
        _ if is_unique_violation(&e) => Error::Conflict("token already exists".into()),
        _ => internal(e),
    })?;
    Ok(())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

const TOKEN_COLUMNS: &str = "id, tenant_id, name, hash, scopes, created, expires, revoked";

type TokenRow = (
    String,
    String,
    String,
    Vec<u8>,
    String,
    i64,
    Option<i64>,
    bool,
);

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn token(parts: TokenRow) -> Result<TokenInfo> {
    let (id, tenant_id, name, hash, scopes, created, expires, revoked) = parts;
    Ok(TokenInfo {
        hash: hash_from_sql(&id, hash)?,
        scopes: scopes_from_sql(&id, &scopes)?,
        id,
        tenant_id,
        name,
        created: ts_from_sql(created)?,
        expires: expires.map(ts_from_sql).transpose()?,
        revoked,
    })
}

pub(crate) fn token_by_hash(conn: &Connection, hash: &[u8; 32]) -> Result<Option<TokenInfo>> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"
    ))
    .sql()?
    .query_row([&hash[..]], token_from_row)
    .optional()
    .sql()?
    .map(token)
    .transpose()
}

pub(crate) fn list_tokens(conn: &Connection, tenant_id: &str) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = ?1 ORDER BY created, id"
        ))
        .sql()?;
    let rows = stmt.query_map([tenant_id], token_from_row).sql()?;
    rows.map(|row| token(row.map_err(internal)?)).collect()
}

pub(crate) fn revoke_token(conn: &Connection, tenant_id: &str, token_id: &str) -> Result<()> {
    let changed = conn
        .prepare_cached("UPDATE tokens SET revoked = 1 WHERE tenant_id = ?1 AND id = ?2")
        .sql()?
        .execute([tenant_id, token_id])
        .sql()?;
    if changed == 0 {
        return Err(Error::NotFound(format!("token `{token_id}` not found")));
    }
    Ok(())
}

pub(crate) fn extension_schemas(conn: &Connection, tenant_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT json FROM extension_schemas WHERE tenant_id = ?1 ORDER BY uri")
        .sql()?;
    let rows = stmt.query_map([tenant_id], |row| row.get(0)).sql()?;
    rows.collect::<rusqlite::Result<Vec<String>>>().sql()
}

pub(crate) fn put_extension_schema(
    conn: &Connection,
    tenant_id: &str,
    uri: &str,
    json: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO extension_schemas (tenant_id, uri, json) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id, uri) DO UPDATE SET uri = excluded.uri, json = excluded.json",
    )
    .sql()?
    .execute([tenant_id, uri, json])
    .map_err(|e| match crate::convert::constraint(&e) {
        Some(crate::convert::Constraint::ForeignKey) => {
            Error::NotFound(format!("tenant `{tenant_id}` not found"))
        }
        _ => internal(e),
    })?;
    Ok(())
}

pub(crate) fn delete_extension_schema(conn: &Connection, tenant_id: &str, uri: &str) -> Result<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM extension_schemas WHERE tenant_id = ?1 AND uri = ?2")
        .sql()?
        .execute([tenant_id, uri])
        .sql()?;
    if deleted == 0 {
        return Err(Error::NotFound(format!("schema `{uri}` not found")));
    }
    Ok(())
}
