//! `Store` on PostgreSQL: the scale-out backend, shared by several `scimitar serve` replicas.
//!
//! Every call takes a pooled connection; a write is one transaction (`db.rs`), whose change-log
//! entries get their sequence numbers at commit, so sequence order is commit order across
//! replicas. Optimistic concurrency (If-Match) holds across replicas because a replace locks
//! the resource's row before comparing versions. Each app's engine work is leased in the
//! database (`apps::acquire_lease`); change wake-ups cross replicas by LISTEN/NOTIFY, with a
//! poll as the fallback (`feed.rs`).
//!
//! Invariant: every resource write, including a membership change, is atomic together with the
//! `changes` rows it appends.
//! Invariant: every statement that touches tenant data is bound to the caller's tenant id.
//! Provisioning state (assignments, shadows, logs, leases) is bound to an app id instead, which
//! belongs to exactly one tenant.

mod analyze;
mod apps;
mod changes;
mod convert;
mod db;
mod dynamic;
mod engine_state;
mod feed;
mod inbound;
mod migrations;
mod query;
mod resources;
mod tenants;
mod transfer;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use domain::{
    AppRecord, Change, EngineCommit, Error, Load, LogEntry, LogQuery, Page, Query, ResourceKind,
    Result, Shadow, ShadowCounts, StoredResource, Tenant, TokenInfo, Write,
};
use jiff::Timestamp;
use tokio::sync::watch;
use tokio_postgres::NoTls;

use crate::db::{Conn, Db};

/// Connections per process; requests beyond this many wait for one to be free.
const POOL_SIZE: usize = 16;

/// A PostgreSQL database holding one Scimitar installation.
pub struct PgStore {
    db: Arc<Db>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`), applies pending schema
    /// migrations, and starts listening for other replicas' changes. Must run inside a Tokio
    /// runtime.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| Error::InvalidValue(format!("invalid PostgreSQL URL: {e}")))?;
        // Statements are prepared once per connection; a generic plan would be chosen for the
        // first tenant's statistics (one tenant's list walking the whole table for another).
        config.options("-c plan_cache_mode=force_custom_plan");
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::Internal(format!("postgres: cannot build the pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            Error::Internal(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redact(url)
            ))
        })?;
        migrations::migrate(&mut client).await?;
        let head = changes::head_seq(&Conn::from(&client)).await?;
        drop(client);
        let db = Arc::new(Db {
            pool,
            feed: watch::Sender::new(head),
            rules: dynamic::RulesCache::default(),
        });
        tokio::spawn(feed::run(Arc::downgrade(&db), config));
        tokio::spawn(analyze::run(Arc::downgrade(&db)));
        Ok(PgStore { db })
    }

    /// The schema version of this build (what `connect` migrates to).
    pub fn schema_version() -> i64 {
        migrations::latest()
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let (before, after) = url.split_at(at);
            match before.get(scheme + 3..).and_then(|user| user.find(':')) {
                Some(colon) => format!(
                    "{}:***{after}",
                    before.get(..scheme + 3 + colon).unwrap_or(before)
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
impl domain::Store for PgStore {
    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = tenants::create_tenant(&tx.conn(), name, Timestamp::now()).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        tenants::tenant_by_name(&c, name).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        tenants::list_tenants(&c).await
    }

    async fn insert_token(&self, token: &TokenInfo) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = tenants::insert_token(&tx.conn(), token).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenInfo>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        tenants::token_by_hash(&c, hash).await
    }

    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        tenants::list_tokens(&c, tenant_id).await
    }

    async fn revoke_token(&self, tenant_id: &str, token_id: &str) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = tenants::revoke_token(&tx.conn(), tenant_id, token_id).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn extension_schemas(&self, tenant_id: &str) -> Result<Vec<String>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        tenants::extension_schemas(&c, tenant_id).await
    }

    async fn put_extension_schema(&self, tenant_id: &str, uri: &str, json: &str) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = tenants::put_extension_schema(&tx.conn(), tenant_id, uri, json).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn delete_extension_schema(&self, tenant_id: &str, uri: &str) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = tenants::delete_extension_schema(&tx.conn(), tenant_id, uri).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn create(
        &self,
        tenant_id: &str,
        write: Write,
        now: Timestamp,
    ) -> Result<StoredResource> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = resources::create(&tx, &self.db.rules, tenant_id, write, now).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn get(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        load: Load,
    ) -> Result<Option<StoredResource>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        resources::get(&c, tenant_id, kind, id, load).await
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
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = resources::replace(
            &tx,
            &self.db.rules,
            tenant_id,
            kind,
            id,
            write,
            expected_version,
            now,
            load,
        )
        .await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn delete(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = resources::delete(&tx, tenant_id, kind, id, expected_version, now).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn walk(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        after: i64,
        limit: usize,
        load: Load,
    ) -> Result<Vec<(i64, StoredResource)>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        query::walk(&c, tenant_id, kind, after, limit, load).await
    }

    async fn query(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        query: &Query,
        schema: &(dyn scim_filter::SchemaInfo + Sync),
    ) -> Result<Page> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        query::query(&c, tenant_id, kind, query, schema).await
    }

    async fn recompute_dynamic_group(
        &self,
        tenant_id: &str,
        group_id: &str,
        limit: usize,
        now: Timestamp,
    ) -> Result<domain::dynamic::RecomputeStep> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = dynamic::recompute_step(&tx, tenant_id, group_id, limit, now).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn pending_dynamic_groups(&self) -> Result<Vec<(String, String)>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        dynamic::pending(&c).await
    }

    async fn dynamic_rule(
        &self,
        tenant_id: &str,
        group_id: &str,
    ) -> Result<Option<domain::dynamic::RuleState>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        dynamic::state(&c, tenant_id, group_id).await
    }

    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        changes::changes_after(&c, after, limit).await
    }

    async fn head_seq(&self) -> Result<i64> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        changes::head_seq(&c).await
    }

    fn change_feed(&self) -> watch::Receiver<i64> {
        self.db.feed.subscribe()
    }

    async fn put_app(&self, app: &AppRecord) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::put_app(&tx, app).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn app(&self, tenant_id: &str, name: &str) -> Result<Option<AppRecord>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        apps::app(&c, tenant_id, name).await
    }

    async fn app_by_id(&self, app_id: &str) -> Result<Option<AppRecord>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        apps::app_by_id(&c, app_id).await
    }

    async fn list_apps(&self, tenant_id: Option<&str>) -> Result<Vec<AppRecord>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        apps::list_apps(&c, tenant_id).await
    }

    async fn delete_app(&self, tenant_id: &str, app_id: &str) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::delete_app(&tx, tenant_id, app_id).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn put_app_state(&self, app_id: &str, state: &serde_json::Value) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::put_app_state(&tx, app_id, state).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn set_assignment(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_id: &str,
        assigned: bool,
        now: Timestamp,
    ) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::set_assignment(&tx, app_id, kind, resource_id, assigned, now).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn assignments(&self, app_id: &str) -> Result<Vec<(ResourceKind, String)>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        apps::assignments(&c, app_id).await
    }

    async fn assigned_among(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_ids: &[String],
    ) -> Result<Vec<String>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        apps::assigned_among(&c, app_id, kind, resource_ids).await
    }

    async fn shadows(
        &self,
        app_id: &str,
        kind: ResourceKind,
        source_ids: &[String],
    ) -> Result<Vec<Shadow>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::shadows(&c, app_id, kind, source_ids).await
    }

    async fn shadows_by_target(
        &self,
        app_id: &str,
        kind: ResourceKind,
        target_ids: &[String],
    ) -> Result<Vec<Shadow>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::shadows_by_target(&c, app_id, kind, target_ids).await
    }

    async fn shadows_after(
        &self,
        app_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::shadows_after(&c, app_id, kind, after, limit).await
    }

    async fn orphan_shadows(
        &self,
        app_id: &str,
        tenant_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::orphan_shadows(&c, app_id, tenant_id, kind, after, limit).await
    }

    async fn due_shadows(&self, app_id: &str, now: Timestamp, limit: usize) -> Result<Vec<Shadow>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::due_shadows(&c, app_id, now, limit).await
    }

    async fn shadow_counts(&self, app_id: &str) -> Result<ShadowCounts> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::shadow_counts(&c, app_id).await
    }

    async fn commit_engine(&self, app_id: &str, commit: EngineCommit) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = engine_state::commit_engine(&tx, app_id, &commit).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        engine_state::logs(&c, query).await
    }

    async fn acquire_lease(
        &self,
        app_id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::acquire_lease(&tx, app_id, holder, now, until).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn release_lease(&self, app_id: &str, holder: &str) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = apps::release_lease(&tx, app_id, holder).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn stage_inbound(&self, request: &domain::inbound::StagedRequest) -> Result<()> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = inbound::stage(&tx, request).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn pending_inbound(&self, limit: usize) -> Result<Vec<domain::inbound::StagedRequest>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        inbound::pending(&c, limit).await
    }

    async fn inbound_backlog(&self) -> Result<u64> {
        let client = self.db.client().await?;
        inbound::backlog(&Conn::from(&client)).await
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
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        inbound::request(&c, tenant_id, id).await
    }

    async fn inbound_requests(
        &self,
        tenant_id: &str,
        limit: usize,
    ) -> Result<Vec<domain::inbound::RequestSummary>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        inbound::requests(&c, tenant_id, limit).await
    }

    async fn commit_inbound(
        &self,
        commit: domain::inbound::InboundCommit,
    ) -> Result<domain::inbound::InboundCommitted> {
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let out = inbound::commit(&tx, &self.db.rules, commit).await?;
        self.db.commit(tx).await?;
        Ok(out)
    }

    async fn commit_inbound_many(
        &self,
        commits: Vec<domain::inbound::InboundCommit>,
    ) -> Result<Vec<Result<domain::inbound::InboundCommitted>>> {
        // Each in its own transaction: all or nothing on its own, as the port asks.
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            outcomes.push(self.commit_inbound(commit).await);
        }
        Ok(outcomes)
    }

    async fn due_lifecycle(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<domain::inbound::DueAction>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        inbound::due(&c, now, limit).await
    }

    async fn lifecycle_of(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Vec<domain::inbound::Scheduled>> {
        let client = self.db.client().await?;
        let c = Conn::from(&client);
        inbound::lifecycle_of(&c, tenant_id, user_id).await
    }
}
