//! The storage port. Adapters (`store-sqlite`, `store-postgres`) implement it, with the help of
//! `crate::storage`; every call is scoped by tenant.
//!
//! Invariant: every resource write appends to the change log in the same transaction.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::inbound::{
    DueAction, InboundCommit, InboundCommitted, RecordResult, RequestSummary, StagedRequest,
};
use crate::model::*;
use crate::provisioning::{AppRecord, EngineCommit, LogEntry, LogQuery, Shadow, ShadowState};
use crate::Result;

/// Persistent state of a Scimitar installation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- tenants -----------------------------------------------------------------------------
    /// Creates a tenant; `Error::Conflict` if the name is taken.
    async fn create_tenant(&self, name: &str) -> Result<Tenant>;
    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;

    // --- tokens ------------------------------------------------------------------------------
    /// Stores a token whose `id` and `created` the caller chose.
    async fn insert_token(&self, token: &TokenInfo) -> Result<()>;
    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenInfo>>;
    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>>;
    /// Revokes a token of this tenant; `Error::NotFound` if there is none with that id.
    async fn revoke_token(&self, tenant_id: &str, token_id: &str) -> Result<()>;

    // --- tenant extension schemas (stored as their SCIM JSON representation) -----------------
    async fn extension_schemas(&self, tenant_id: &str) -> Result<Vec<String>>;
    /// Adds or replaces the schema with this URN.
    async fn put_extension_schema(&self, tenant_id: &str, uri: &str, json: &str) -> Result<()>;
    async fn delete_extension_schema(&self, tenant_id: &str, uri: &str) -> Result<()>;

    // --- resources ---------------------------------------------------------------------------
    /// Creates a resource with a new id. `Error::Uniqueness` for a taken userName (users) or
    /// displayName (groups), compared case-insensitively; `Error::InvalidValue` for a member id
    /// that is not a user or group of this tenant.
    async fn create(&self, tenant_id: &str, write: Write, now: Timestamp)
        -> Result<StoredResource>;

    async fn get(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        load: Load,
    ) -> Result<Option<StoredResource>>;

    /// Replaces the body (and applies the membership change) of an existing resource.
    /// With `expected_version`, fails with `Error::PreconditionFailed` unless it is current.
    /// The returned resource has members/groups loaded as `load` asks.
    #[allow(clippy::too_many_arguments)]
    async fn replace(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        write: Write,
        expected_version: Option<u64>,
        now: Timestamp,
        load: Load,
    ) -> Result<StoredResource>;

    /// Deletes a resource and its memberships (as group and as member).
    async fn delete(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<()>;

    /// Lists resources. `schema` answers caseExact and type questions for filtering and sorting.
    async fn query(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        query: &Query,
        schema: &(dyn scim_filter::SchemaInfo + Sync),
    ) -> Result<Page>;

    /// Resources of `kind` whose store sequence number is greater than `after`, in that order,
    /// at most `limit`, each with its sequence number: how the engine walks a whole tenant in
    /// pages, without counting it and without a filter.
    async fn walk(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        after: i64,
        limit: usize,
        load: Load,
    ) -> Result<Vec<(i64, StoredResource)>>;

    // --- dynamic groups (rules are written with their group; see `crate::dynamic`) ----------
    /// One step of recomputing a dynamic group's membership over all users: evaluates its rule
    /// for at most `limit` users after the group's cursor, applies the difference (with the
    /// group's change-log entry) and moves the cursor, in one transaction. A group whose
    /// membership is complete, or that has no rule, gives a `done` step that changed nothing.
    /// `Error::NotFound` if there is no such group.
    async fn recompute_dynamic_group(
        &self,
        tenant_id: &str,
        group_id: &str,
        limit: usize,
        now: Timestamp,
    ) -> Result<crate::dynamic::RecomputeStep>;

    /// Dynamic groups whose recomputation has not finished, as (tenant id, group id): what a
    /// restart resumes.
    async fn pending_dynamic_groups(&self) -> Result<Vec<(String, String)>>;

    /// The group's rule and recomputation progress; `None` for a static (or unknown) group.
    async fn dynamic_rule(
        &self,
        tenant_id: &str,
        group_id: &str,
    ) -> Result<Option<crate::dynamic::RuleState>>;

    // --- change log --------------------------------------------------------------------------
    /// Changes with `seq > after`, oldest first, at most `limit`.
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>>;

    /// The sequence number of the newest change (0 when there is none).
    async fn head_seq(&self) -> Result<i64>;

    /// A receiver that sees the newest change sequence number after every commit that appended
    /// to the change log, in this process. Engines wait on it instead of polling.
    fn change_feed(&self) -> tokio::sync::watch::Receiver<i64>;

    // --- apps (outbound provisioning) --------------------------------------------------------
    /// Creates the app, or replaces the app with the same id. `Error::Conflict` if another app of
    /// the tenant has the name.
    async fn put_app(&self, app: &AppRecord) -> Result<()>;
    async fn app(&self, tenant_id: &str, name: &str) -> Result<Option<AppRecord>>;
    async fn app_by_id(&self, app_id: &str) -> Result<Option<AppRecord>>;
    /// Every app of the tenant, or of every tenant with `None`, by name.
    async fn list_apps(&self, tenant_id: Option<&str>) -> Result<Vec<AppRecord>>;
    /// Deletes the app with its assignments, shadows, logs and lease. `Error::NotFound` if absent.
    async fn delete_app(&self, tenant_id: &str, app_id: &str) -> Result<()>;
    /// Replaces only the app's runtime state.
    async fn put_app_state(&self, app_id: &str, state: &serde_json::Value) -> Result<()>;

    /// Assigns (or with `assigned` false, unassigns) a user or group to the app, and in the same
    /// transaction marks the object's shadow due now (creating a pending shadow if needed), so
    /// the engine looks at it again. Assigning twice is a no-op.
    async fn set_assignment(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_id: &str,
        assigned: bool,
        now: Timestamp,
    ) -> Result<()>;
    /// The app's assignments, ordered by kind then id.
    async fn assignments(&self, app_id: &str) -> Result<Vec<(ResourceKind, String)>>;
    /// Of `resource_ids`, those assigned to the app (as `kind`).
    async fn assigned_among(
        &self,
        app_id: &str,
        kind: ResourceKind,
        resource_ids: &[String],
    ) -> Result<Vec<String>>;

    // --- the engine's state ------------------------------------------------------------------
    /// The shadows of these source objects that exist (in no particular order).
    async fn shadows(
        &self,
        app_id: &str,
        kind: ResourceKind,
        source_ids: &[String],
    ) -> Result<Vec<Shadow>>;
    /// The shadows linked to these target ids (any state), in no particular order.
    async fn shadows_by_target(
        &self,
        app_id: &str,
        kind: ResourceKind,
        target_ids: &[String],
    ) -> Result<Vec<Shadow>>;
    /// The app's shadows of `kind` with `source_id > after`, ordered by source id, at most `limit`.
    async fn shadows_after(
        &self,
        app_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>>;
    /// The app's shadows of `kind` with `source_id > after`, ordered by source id, at most
    /// `limit`, that link a target account (not deleted) to a source object no longer in
    /// `tenant_id`: accounts whose user or group is gone.
    async fn orphan_shadows(
        &self,
        app_id: &str,
        tenant_id: &str,
        kind: ResourceKind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Shadow>>;
    /// Shadows due at or before `now` (of any kind), earliest first, at most `limit`.
    async fn due_shadows(&self, app_id: &str, now: Timestamp, limit: usize) -> Result<Vec<Shadow>>;
    /// Counts of the app's shadows per (kind, state), and how many are in escrow (attempts > 0).
    async fn shadow_counts(&self, app_id: &str) -> Result<ShadowCounts>;
    /// Writes shadows, log entries and the app's state in one transaction.
    async fn commit_engine(&self, app_id: &str, commit: EngineCommit) -> Result<()>;
    /// Provisioning log entries, newest first.
    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>>;

    // --- leases (one worker per app across replicas) -----------------------------------------
    /// Takes or renews the app's lease for `holder` until `until`; `false` if another holder has
    /// an unexpired lease.
    async fn acquire_lease(
        &self,
        app_id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool>;
    /// Gives the lease up if `holder` has it.
    async fn release_lease(&self, app_id: &str, holder: &str) -> Result<()>;

    // --- inbound provisioning ----------------------------------------------------------------
    /// Stages an accepted bulkUpload request for processing.
    async fn stage_inbound(&self, request: &StagedRequest) -> Result<()>;
    /// Requests not completely processed yet (of every tenant), oldest first, at most `limit`,
    /// with the records that have no result yet.
    async fn pending_inbound(&self, limit: usize) -> Result<Vec<StagedRequest>>;
    /// How many staged records (of every tenant) have no result yet: one count, not a read of
    /// the records.
    async fn inbound_backlog(&self) -> Result<u64>;
    /// A request of the tenant with the results of its processed records, in record order.
    async fn inbound_request(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(RequestSummary, Vec<RecordResult>)>>;
    /// The tenant's most recent requests, newest first.
    async fn inbound_requests(&self, tenant_id: &str, limit: usize) -> Result<Vec<RequestSummary>>;
    /// Writes a record's (or lifecycle action's) effect in one transaction; nothing of it when
    /// any part fails. `Error::PreconditionFailed` when a replaced user is no longer at the
    /// version read.
    async fn commit_inbound(&self, commit: InboundCommit) -> Result<InboundCommitted>;
    /// Several `commit_inbound`s in one round trip, each all or nothing on its own; the
    /// outcome of each, in order.
    async fn commit_inbound_many(
        &self,
        commits: Vec<InboundCommit>,
    ) -> Result<Vec<Result<InboundCommitted>>>;
    /// Scheduled actions due at or before `now`, earliest first, at most `limit`.
    async fn due_lifecycle(&self, now: Timestamp, limit: usize) -> Result<Vec<DueAction>>;
    /// The user's scheduled actions, earliest first.
    async fn lifecycle_of(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Vec<crate::inbound::Scheduled>>;
}

/// How many objects an app's shadow holds, per kind and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShadowCounts {
    pub users_active: u64,
    pub users_disabled: u64,
    pub users_deleted: u64,
    pub groups_active: u64,
    pub groups_deleted: u64,
    /// Objects whose last attempt failed (retried when due).
    pub escrowed: u64,
}

impl ShadowCounts {
    /// Counts `count` shadows of `kind` in `state`, `escrowed` of them in escrow. Pending objects
    /// are not in the target yet, and groups have no disabled state: those count as escrowed
    /// only.
    pub fn add(&mut self, kind: ResourceKind, state: ShadowState, count: u64, escrowed: u64) {
        self.escrowed += escrowed;
        let slot = match (kind, state) {
            (ResourceKind::User, ShadowState::Active) => &mut self.users_active,
            (ResourceKind::User, ShadowState::Disabled) => &mut self.users_disabled,
            (ResourceKind::User, ShadowState::Deleted) => &mut self.users_deleted,
            (ResourceKind::Group, ShadowState::Active) => &mut self.groups_active,
            (ResourceKind::Group, ShadowState::Deleted) => &mut self.groups_deleted,
            (_, ShadowState::Pending) | (ResourceKind::Group, ShadowState::Disabled) => return,
        };
        *slot += count;
    }
}
