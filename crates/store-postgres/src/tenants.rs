//! Tenants, their API tokens and their extension schemas.

use domain::storage::encode::{
    hash_from_sql, scopes_from_sql, scopes_to_sql, ts_from_sql, ts_to_sql,
};
use domain::{Error, Result, Tenant, TokenInfo};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::convert::{constraint, internal, Constraint, PgResult};
use crate::db::Conn;

pub(crate) async fn create_tenant(conn: &Conn<'_>, name: &str, now: Timestamp) -> Result<Tenant> {
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        created: now,
    };
    let inserted = conn
        .execute(
            "INSERT INTO tenants (id, name, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&tenant.id, &tenant.name, &ts_to_sql(now)?],
        )
        .await
        .pg()?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("tenant `{name}` already exists")));
    }
    Ok(tenant)
}

fn tenant(row: &Row) -> Result<Tenant> {
    Ok(Tenant {
        id: row.try_get(0).pg()?,
        name: row.try_get(1).pg()?,
        created: ts_from_sql(row.try_get(2).pg()?)?,
    })
}

pub(crate) async fn tenant_by_name(conn: &Conn<'_>, name: &str) -> Result<Option<Tenant>> {
    conn.query_opt(
        "SELECT id, name, created FROM tenants WHERE name = $1",
        &[&name],
    )
    .await
    .pg()?
    .as_ref()
    .map(tenant)
    .transpose()
}

pub(crate) async fn list_tenants(conn: &Conn<'_>) -> Result<Vec<Tenant>> {
    conn.query("SELECT id, name, created FROM tenants ORDER BY name", &[])
        .await
        .pg()?
        .iter()
        .map(tenant)
        .collect()
}

pub(crate) async fn insert_token(conn: &Conn<'_>, token: &TokenInfo) -> Result<()> {
    let expires = token.expires.map(ts_to_sql).transpose()?;
    conn.execute(
        "INSERT INTO tokens (id, tenant_id, name, hash, scopes, created, expires, revoked)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &token.id,
            &token.tenant_id,
            &token.name,
            &&token.hash[..],
            &scopes_to_sql(&token.scopes),
            &ts_to_sql(token.created)?,
            &expires,
            &token.revoked,
        ],
    )
    .await
    .map_err(|e| match constraint(&e) {
        Some(Constraint::ForeignKey) => {
            Error::NotFound(format!("tenant `{}` not found", token.tenant_id))
        }
        Some(Constraint::Unique(_)) => Error::Conflict("token already exists".into()),
        None => internal(e),
    })?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, tenant_id, name, hash, scopes, created, expires, revoked";

fn token(row: &Row) -> Result<TokenInfo> {
    let id: String = row.try_get(0).pg()?;
    let expires: Option<i64> = row.try_get(6).pg()?;
    Ok(TokenInfo {
        tenant_id: row.try_get(1).pg()?,
        name: row.try_get(2).pg()?,
        hash: hash_from_sql(&id, row.try_get(3).pg()?)?,
        scopes: scopes_from_sql(&id, row.try_get(4).pg()?)?,
        created: ts_from_sql(row.try_get(5).pg()?)?,
        expires: expires.map(ts_from_sql).transpose()?,
        revoked: row.try_get(7).pg()?,
        id,
    })
}

pub(crate) async fn token_by_hash(conn: &Conn<'_>, hash: &[u8; 32]) -> Result<Option<TokenInfo>> {
    conn.query_opt(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"),
        &[&&hash[..]],
    )
    .await
    .pg()?
    .as_ref()
    .map(token)
    .transpose()
}

pub(crate) async fn list_tokens(conn: &Conn<'_>, tenant_id: &str) -> Result<Vec<TokenInfo>> {
    conn.query(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = $1 ORDER BY created, id"),
        &[&tenant_id],
    )
    .await
    .pg()?
    .iter()
    .map(token)
    .collect()
}

pub(crate) async fn revoke_token(conn: &Conn<'_>, tenant_id: &str, token_id: &str) -> Result<()> {
    let changed = conn
        .execute(
            "UPDATE tokens SET revoked = true WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &token_id],
        )
        .await
        .pg()?;
    if changed == 0 {
        return Err(Error::NotFound(format!("token `{token_id}` not found")));
    }
    Ok(())
}

pub(crate) async fn extension_schemas(conn: &Conn<'_>, tenant_id: &str) -> Result<Vec<String>> {
    conn.query(
        "SELECT json FROM extension_schemas WHERE tenant_id = $1 ORDER BY uri_lc",
        &[&tenant_id],
    )
    .await
    .pg()?
    .iter()
    .map(|row| row.try_get(0).pg())
    .collect()
}

pub(crate) async fn put_extension_schema(
    conn: &Conn<'_>,
    tenant_id: &str,
    uri: &str,
    json: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO extension_schemas (tenant_id, uri_lc, uri, json) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, uri_lc) DO UPDATE SET uri = excluded.uri, json = excluded.json",
        &[&tenant_id, &uri.to_lowercase(), &uri, &json],
    )
    .await
    .map_err(|e| match constraint(&e) {
        Some(Constraint::ForeignKey) => Error::NotFound(format!("tenant `{tenant_id}` not found")),
        _ => internal(e),
    })?;
    Ok(())
}

pub(crate) async fn delete_extension_schema(
    conn: &Conn<'_>,
    tenant_id: &str,
    uri: &str,
) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM extension_schemas WHERE tenant_id = $1 AND uri_lc = $2",
            &[&tenant_id, &uri.to_lowercase()],
        )
        .await
        .pg()?;
    if deleted == 0 {
        return Err(Error::NotFound(format!("schema `{uri}` not found")));
    }
    Ok(())
}
