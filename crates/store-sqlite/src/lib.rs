//! `Store` on SQLite: the embedded default backend.
//!
//! One writer thread owns the only writing connection and commits queued writes in groups
//! (`writer`); SQLite allows one writer anyway, and serialising in-process avoids `SQLITE_BUSY`
//! retries. A few reader connections serve reads concurrently thanks to WAL. Every call runs off
//! the async runtime's worker threads.
//!
//! Invariant: every resource write, including a membership change, is atomic together with the
//! `changes` rows it appends (one savepoint inside the writer's transaction).
//! Invariant: every statement that touches tenant data is bound to the caller's tenant id.

mod changes;
mod convert;
mod migrations;
mod query;
mod readers;
mod resources;
mod tenants;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{
    Change, Error, Load, Page, Query, ResourceKind, Result, StoredResource, Tenant, TokenInfo,
    Write,
};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};

use crate::convert::SqlResult;

/// Reader connections; reads beyond this many wait for one to be free.
const READERS: usize = 4;
/// Page cache per connection, in KiB (SQLite's default is 2 MiB).
const CACHE_KIB: i64 = 64 * 1024;
/// How much of the database file each connection maps into memory.
const MMAP_BYTES: i64 = 1 << 30;
/// Distinct SQL texts are few, but the query module builds some per kind and lookup.
const STATEMENT_CACHE: usize = 64;

/// A SQLite database file holding one Scimitar installation.
pub struct SqliteStore {
    pool: Arc<Pool>,
}

struct Pool {
    writer: writer::Writer,
    readers: Arc<readers::Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, creating its parent directory, and
    /// applies pending schema migrations.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Internal(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let mut writer = connect(path, OpenFlags::SQLITE_OPEN_CREATE)?;
        migrations::migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(path, OpenFlags::empty()))
            .collect::<Result<Vec<_>>>()?;
        let readers = Arc::new(readers::Readers::new(readers));
        let writer = writer::Writer::start(writer, Arc::clone(&readers))?;
        Ok(SqliteStore {
            pool: Arc::new(Pool { writer, readers }),
        })
    }

    /// Runs a point read (an index lookup of a few microseconds) inline when a reader is free:
    /// handing it to the blocking pool would cost more than the read. Otherwise as `read`.
    async fn read_point<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        if let Some(conn) = self.pool.readers.free()? {
            return f(&conn);
        }
        self.read(f).await
    }

    /// Runs `f` on a reader connection, off the async worker threads.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || f(&*pool.readers.any()?))
            .await
            .map_err(|e| Error::Internal(format!("store task failed: {e}")))?
    }

    /// Runs `f` on the writer thread, inside a transaction; `f` must not commit.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.pool.writer.run(f).await
    }
}

pub(crate) fn connect(path: &Path, extra: OpenFlags) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI
        | extra;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::Internal(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).sql()?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .sql()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Internal(format!(
            "SQLite refused WAL mode (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL").sql()?;
    conn.pragma_update(None, "foreign_keys", "ON").sql()?;
    // Reads come from the page cache and the memory map instead of `pread` per page.
    conn.pragma_update(None, "cache_size", -CACHE_KIB).sql()?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES).sql()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Runs CPU-heavy work that borrows from the caller (a query's schema) without stalling other
/// tasks on a multi-threaded runtime; on a current-thread runtime (tests) it runs inline.
fn blocking_in_place<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[async_trait]
impl domain::Store for SqliteStore {
    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let name = name.to_owned();
        self.write(move |conn| tenants::create_tenant(conn, &name, Timestamp::now()))
            .await
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let name = name.to_owned();
        self.read_point(move |conn| tenants::tenant_by_name(conn, &name))
            .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(tenants::list_tenants).await
    }

    async fn insert_token(&self, token: &TokenInfo) -> Result<()> {
        let token = token.clone();
        self.write(move |conn| tenants::insert_token(conn, &token))
            .await
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenInfo>> {
        let hash = *hash;
        self.read_point(move |conn| tenants::token_by_hash(conn, &hash))
            .await
    }

    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>> {
        let tenant_id = tenant_id.to_owned();
        self.read(move |conn| tenants::list_tokens(conn, &tenant_id))
            .await
    }

    async fn revoke_token(&self, tenant_id: &str, token_id: &str) -> Result<()> {
        let (tenant_id, token_id) = (tenant_id.to_owned(), token_id.to_owned());
        self.write(move |conn| tenants::revoke_token(conn, &tenant_id, &token_id))
            .await
    }

    async fn extension_schemas(&self, tenant_id: &str) -> Result<Vec<String>> {
        let tenant_id = tenant_id.to_owned();
        self.read_point(move |conn| tenants::extension_schemas(conn, &tenant_id))
            .await
    }

    async fn put_extension_schema(&self, tenant_id: &str, uri: &str, json: &str) -> Result<()> {
        let (tenant_id, uri, json) = (tenant_id.to_owned(), uri.to_owned(), json.to_owned());
        self.write(move |conn| tenants::put_extension_schema(conn, &tenant_id, &uri, &json))
            .await
    }

    async fn delete_extension_schema(&self, tenant_id: &str, uri: &str) -> Result<()> {
        let (tenant_id, uri) = (tenant_id.to_owned(), uri.to_owned());
        self.write(move |conn| tenants::delete_extension_schema(conn, &tenant_id, &uri))
            .await
    }

    async fn create(
        &self,
        tenant_id: &str,
        write: Write,
        now: Timestamp,
    ) -> Result<StoredResource> {
        let tenant_id = tenant_id.to_owned();
        self.write(move |conn| resources::create(conn, &tenant_id, write, now))
            .await
    }

    async fn get(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        load: Load,
    ) -> Result<Option<StoredResource>> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        let read = move |conn: &Connection| resources::get(conn, &tenant_id, kind, &id, load);
        if kind == ResourceKind::Group && load.members {
            // A group's members may be many rows: not a point read.
            self.read(read).await
        } else {
            self.read_point(read).await
        }
    }

    async fn replace(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        write: Write,
        expected_version: Option<u64>,
        now: Timestamp,
        load: Load,
    ) -> Result<StoredResource> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write(move |conn| {
            resources::replace(
                conn,
                &tenant_id,
                kind,
                &id,
                write,
                expected_version,
                now,
                load,
            )
        })
        .await
    }

    async fn delete(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<()> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write(move |conn| {
            resources::delete(conn, &tenant_id, kind, &id, expected_version, now)
        })
        .await
    }

    async fn query(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        query: &Query,
        schema: &(dyn scim_filter::SchemaInfo + Sync),
    ) -> Result<Page> {
        // Index lookups (what clients mostly send) run inline when a reader is free.
        if query::is_lookup(kind, query) {
            if let Some(conn) = self.pool.readers.free()? {
                return query::query(&conn, tenant_id, kind, query, schema);
            }
        }
        // The schema is borrowed, so this cannot move to a blocking task; see `blocking_in_place`.
        blocking_in_place(|| {
            let conn = self.pool.readers.any()?;
            query::query(&conn, tenant_id, kind, query, schema)
        })
    }

    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>> {
        self.read(move |conn| changes::changes_after(conn, after, limit))
            .await
    }
}
