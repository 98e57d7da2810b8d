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
//! Provisioning state (assignments, shadows, logs, leases) is bound to an app id instead, which
//! belongs to exactly one tenant.

mod apps;
mod changes;
mod convert;
mod dynamic;
mod engine_state;
mod inbound;
mod migrations;
mod query;
mod readers;
mod resources;
mod tenants;
mod transfer;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{
    AppRecord, Change, EngineCommit, Error, Load, LogEntry, LogQuery, Page, Query, ResourceKind,
    Result, Shadow, ShadowCounts, StoredResource, Tenant, TokenInfo, Write,
};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::watch;

use crate::convert::SqlResult;

/// Reader connections; reads beyond this many wait for one to be free.
const READERS: usize = 4;
/// Page cache per connection, in KiB (SQLite's default is 2 MiB).
const CACHE_KIB: i64 = 64 * 1024;
/// The writer's page cache, in KiB, and it reads with `pread`, not the memory map. SQLite scans
/// its page cache's hash table at the end of every write transaction (`pcache1TruncateUnsafe`):
/// with the readers' 64 MiB that scan took an eighth of the writer's time in `bench --dynamic`.
/// Mapped, a smaller cache made the writer touch most of the file (505 MB of RSS in
/// `bench --engine`); read with `pread`, those pages stay in the kernel's page cache. 4 MiB made
/// large group commits spill and POSTs slower.
const WRITER_CACHE_KIB: i64 = 16 * 1024;
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
    /// The change log's head; the writer thread holds the other sender and publishes to it.
    feed: watch::Sender<i64>,
    /// Each tenant's compiled dynamic-group rules, used by the writer thread.
    rules: Arc<dynamic::RulesCache>,
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
        writer
            .pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
            .sql()?;
        writer.pragma_update(None, "mmap_size", 0).sql()?;
        let readers = (0..READERS)
            .map(|_| connect(path, OpenFlags::empty()))
            .collect::<Result<Vec<_>>>()?;
        let readers = Arc::new(readers::Readers::new(readers));
        let feed = watch::Sender::new(changes::head_seq(&writer)?);
        let writer = writer::Writer::start(writer, Arc::clone(&readers), feed.clone())?;
        Ok(SqliteStore {
            pool: Arc::new(Pool {
                writer,
                readers,
                feed,
                rules: Arc::default(),
            }),
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
        let rules = Arc::clone(&self.pool.rules);
        self.write(move |conn| resources::create(conn, &rules, &tenant_id, write, now))
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
        let rules = Arc::clone(&self.pool.rules);
        self.write(move |conn| {
            resources::replace(
                conn,
                &rules,
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

    async fn walk(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        after: i64,
        limit: usize,
        load: Load,
    ) -> Result<Vec<(i64, StoredResource)>> {
        let tenant_id = tenant_id.to_owned();
        self.read(move |conn| query::walk(conn, &tenant_id, kind, after, limit, load))
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
        if domain::storage::lookup::is_lookup(kind, query) {
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

    async fn recompute_dynamic_group(
        &self,
        tenant_id: &str,
        group_id: &str,
        limit: usize,
        now: Timestamp,
    ) -> Result<domain::dynamic::RecomputeStep> {
        let (tenant_id, group_id) = (tenant_id.to_owned(), group_id.to_owned());
        self.write(move |conn| {
            let tx = conn.savepoint().sql()?;
            let step = dynamic::recompute_step(&tx, &tenant_id, &group_id, limit, now)?;
            tx.commit().sql()?;
            Ok(step)
        })
        .await
    }

    async fn pending_dynamic_groups(&self) -> Result<Vec<(String, String)>> {
        self.read(dynamic::pending).await
    }

    async fn dynamic_rule(
        &self,
        tenant_id: &str,
        group_id: &str,
    ) -> Result<Option<domain::dynamic::RuleState>> {
        let (tenant_id, group_id) = (tenant_id.to_owned(), group_id.to_owned());
        // A point read (SCIM PATCHes of group members ask it), except while a recomputation
        // counts its progress.
        self.read_point(move |conn| dynamic::state(conn, &tenant_id, &group_id))
            .await
    }

    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>> {
        self.read(move |conn| changes::changes_after(conn, after, limit))
            .await
    }

    async fn head_seq(&self) -> Result<i64> {
        self.read_point(changes::head_seq).await
    }

    fn change_feed(&self) -> watch::Receiver<i64> {
        self.pool.feed.subscribe()
    }

    async fn put_app(&self, app: &AppRecord) -> Result<()> {
        let app = app.clone();
        self.write(move |conn| apps::put_app(conn, &app)).await
    }

    async fn app(&self, tenant_id: &str, name: &str) -> Result<Option<AppRecord>> {
        let (tenant_id, name) = (tenant_id.to_owned(), name.to_owned());
        self.read_point(move |conn| apps::app(conn, &tenant_id, &name))
            .await
    }

    async fn app_by_id(&self, app_id: &str) -> Result<Option<AppRecord>> {
        let app_id = app_id.to_owned();
        self.read_point(move |conn| apps::app_by_id(conn, &app_id))
            .await
    }

    async fn list_apps(&self, tenant_id: Option<&str>) -> Result<Vec<AppRecord>> {
        let tenant_id = tenant_id.map(str::to_owned);
        self.read(move |conn| apps::list_apps(conn, tenant_id.as_deref()))
            .await
    }

    async fn delete_app(&self, tenant_id: &str, app_id: &str) -> Result<()> {
        let (tenant_id, app_id) = (tenant_id.to_owned(), app_id.to_owned());
        self.write(move |conn| apps::delete_app(conn, &tenant_id, &app_id))
            .await
    }

    async fn put_app_state(&self, app_id: &str, state: &serde_json::Value) -> Result<()> {
        let (app_id, state) = (app_id.to_owned(), state.clone());
        self.write(move |conn| apps::put_app_state(conn, &app_id, &state))
            .await
    }

    async fn set_assignment(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_id: &str,
        assigned: bool,
        now: Timestamp,
    ) -> Result<()> {
        let (app_id, resource_id) = (app_id.to_owned(), resource_id.to_owned());
        self.write(move |conn| {
            apps::set_assignment(conn, &app_id, kind, &resource_id, assigned, now)
        })
        .await
    }

    async fn assignments(&self, app_id: &str) -> Result<Vec<(ResourceKind, String)>> {
        let app_id = app_id.to_owned();
        self.read(move |conn| apps::assignments(conn, &app_id))
            .await
    }

    async fn assigned_among(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_ids: &[String],
    ) -> Result<Vec<String>> {
        let (app_id, resource_ids) = (app_id.to_owned(), resource_ids.to_vec());
        self.read(move |conn| apps::assigned_among(conn, &app_id, kind, &resource_ids))
            .await
    }

    async fn shadows(
        &self,
        app_id: &str,
        kind: ResourceKind,
        source_ids: &[String],
    ) -> Result<Vec<Shadow>> {
        let (app_id, source_ids) = (app_id.to_owned(), source_ids.to_vec());
        self.read(move |conn| engine_state::shadows(conn, &app_id, kind, &source_ids))
            .await
    }

    async fn shadows_by_target(
        &self,
        app_id: &str,
        kind: ResourceKind,
        target_ids: &[String],
    ) -> Result<Vec<Shadow>> {
        let (app_id, target_ids) = (app_id.to_owned(), target_ids.to_vec());
        self.read(move |conn| engine_state::shadows_by_target(conn, &app_id, kind, &target_ids))
            .await
    }

    async fn shadows_after(
        &self,
        app_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>> {
        let (app_id, after) = (app_id.to_owned(), after.to_owned());
        self.read(move |conn| engine_state::shadows_after(conn, &app_id, kind, &after, limit))
            .await
    }

    async fn orphan_shadows(
        &self,
        app_id: &str,
        tenant_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>> {
        let (app_id, tenant_id, after) =
            (app_id.to_owned(), tenant_id.to_owned(), after.to_owned());
        self.read(move |conn| {
            engine_state::orphan_shadows(conn, &app_id, &tenant_id, kind, &after, limit)
        })
        .await
    }

    async fn due_shadows(&self, app_id: &str, now: Timestamp, limit: usize) -> Result<Vec<Shadow>> {
        let app_id = app_id.to_owned();
        self.read(move |conn| engine_state::due_shadows(conn, &app_id, now, limit))
            .await
    }

    async fn shadow_counts(&self, app_id: &str) -> Result<ShadowCounts> {
        let app_id = app_id.to_owned();
        self.read(move |conn| engine_state::shadow_counts(conn, &app_id))
            .await
    }

    async fn commit_engine(&self, app_id: &str, commit: EngineCommit) -> Result<()> {
        let app_id = app_id.to_owned();
        self.write(move |conn| engine_state::commit_engine(conn, &app_id, &commit))
            .await
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>> {
        let query = query.clone();
        self.read(move |conn| engine_state::logs(conn, &query))
            .await
    }

    async fn acquire_lease(
        &self,
        app_id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        let (app_id, holder) = (app_id.to_owned(), holder.to_owned());
        self.write(move |conn| apps::acquire_lease(conn, &app_id, &holder, now, until))
            .await
    }

    async fn release_lease(&self, app_id: &str, holder: &str) -> Result<()> {
        let (app_id, holder) = (app_id.to_owned(), holder.to_owned());
        self.write(move |conn| apps::release_lease(conn, &app_id, &holder))
            .await
    }

    // --- inbound provisioning ----------------------------------------------------------------
    async fn stage_inbound(&self, request: &domain::inbound::StagedRequest) -> Result<()> {
        let request = request.clone();
        self.write(move |conn| inbound::stage(conn, &request)).await
    }

    async fn pending_inbound(&self, limit: usize) -> Result<Vec<domain::inbound::StagedRequest>> {
        self.read(move |conn| inbound::pending(conn, limit)).await
    }

    async fn inbound_backlog(&self) -> Result<u64> {
        self.read_point(inbound::backlog).await
    }

    async fn inbound_request(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<
        Option<(
            domain::inbound::RequestSummary,
            Vec<domain::inbound::RecordResult>,
        )>,
    > {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.read(move |conn| inbound::request(conn, &tenant_id, &id))
            .await
    }

    async fn inbound_requests(
        &self,
        tenant_id: &str,
        limit: usize,
    ) -> Result<Vec<domain::inbound::RequestSummary>> {
        let tenant_id = tenant_id.to_owned();
        self.read(move |conn| inbound::requests(conn, &tenant_id, limit))
            .await
    }

    async fn commit_inbound(
        &self,
        commit: domain::inbound::InboundCommit,
    ) -> Result<domain::inbound::InboundCommitted> {
        let rules = Arc::clone(&self.pool.rules);
        self.write(move |conn| inbound::commit(conn, &rules, commit))
            .await
    }

    async fn commit_inbound_many(
        &self,
        commits: Vec<domain::inbound::InboundCommit>,
    ) -> Result<Vec<Result<domain::inbound::InboundCommitted>>> {
        let rules = Arc::clone(&self.pool.rules);
        self.write(move |conn| inbound::commit_many(conn, &rules, commits))
            .await
    }

    async fn due_lifecycle(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<domain::inbound::DueAction>> {
        self.read(move |conn| inbound::due(conn, now, limit)).await
    }

    async fn lifecycle_of(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Vec<domain::inbound::Scheduled>> {
        let (tenant_id, user_id) = (tenant_id.to_owned(), user_id.to_owned());
        self.read(move |conn| inbound::lifecycle_of(conn, &tenant_id, &user_id))
            .await
    }
}
