//! The storage port. Adapters (`store-sqlite`, later `store-postgres`) implement it; every call is
//! scoped by tenant.
//!
//! Invariant: every resource write appends to the change log in the same transaction.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::model::*;
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

    // --- change log --------------------------------------------------------------------------
    /// Changes with `seq > after`, oldest first, at most `limit`.
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>>;
}
