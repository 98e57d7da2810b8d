//! The connection pool, the two ways a module talks to PostgreSQL (`Conn` for a statement on a
//! pooled connection or inside a transaction, `Tx` for a write transaction), and the commit that
//! appends the change log.
//!
//! Invariant: a write transaction's change-log entries are buffered in its `Tx` and appended in
//! `Db::commit`, after every other statement: that takes the `change_head` row lock last, so
//! sequence order is commit order and the lock is held only for the commit itself (no deadlock
//! can involve it).

use std::sync::Mutex;

use deadpool_postgres::{ClientWrapper, Object, Pool, Transaction};
use domain::{ChangeOp, Error, ResourceKind, Result};
use jiff::Timestamp;
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use domain::storage::encode::{ts_to_sql, version_to_sql};

use crate::convert::PgResult;

/// The channel replicas announce new change-log heads on (payload: the head, as text).
pub(crate) const CHANGES_CHANNEL: &str = "scimitar_changes";

/// Statement parameters, as `tokio-postgres` takes them.
pub(crate) type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// What every `Store` call starts from.
pub(crate) struct Db {
    pub(crate) pool: Pool,
    /// The change log's head as this process knows it (commits here, and NOTIFY from others).
    pub(crate) feed: watch::Sender<i64>,
    /// Each tenant's compiled dynamic-group rules.
    pub(crate) rules: crate::dynamic::RulesCache,
}

impl Db {
    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| Error::Internal(format!("postgres: no connection from the pool: {e}")))
    }

    /// Begins a write transaction on `client`.
    pub(crate) async fn begin<'a>(&self, client: &'a mut Object) -> Result<Tx<'a>> {
        let inner = client.transaction().await.pg()?;
        Ok(Tx {
            inner,
            changes: Mutex::new(Vec::new()),
        })
    }

    /// Appends the transaction's change-log entries, announces the new head to other replicas,
    /// commits, and publishes the head in this process before returning.
    pub(crate) async fn commit(&self, tx: Tx<'_>) -> Result<()> {
        let changes = std::mem::take(
            &mut *tx
                .changes
                .lock()
                .map_err(|_| Error::Internal("change buffer poisoned".into()))?,
        );
        let head = if changes.is_empty() {
            None
        } else {
            Some(crate::changes::append(&tx.conn(), &changes).await?)
        };
        tx.inner.commit().await.pg()?;
        if let Some(head) = head {
            self.published(head);
        }
        Ok(())
    }

    /// Moves this process's view of the head forward (never back).
    pub(crate) fn published(&self, head: i64) {
        self.feed.send_if_modified(|current| {
            let newer = head > *current;
            if newer {
                *current = head;
            }
            newer
        });
    }
}

/// One statement target: a pooled connection or a transaction. Statements are prepared once
/// per connection (deadpool's statement cache).
#[derive(Clone, Copy)]
pub(crate) enum Conn<'a> {
    Client(&'a ClientWrapper),
    Tx(&'a Transaction<'a>),
}

impl<'a> From<&'a Object> for Conn<'a> {
    fn from(client: &'a Object) -> Conn<'a> {
        Conn::Client(client)
    }
}

impl Conn<'_> {
    async fn prepare(&self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error> {
        match self {
            Conn::Client(c) => c.prepare_cached(sql).await,
            Conn::Tx(t) => t.prepare_cached(sql).await,
        }
    }

    pub(crate) async fn query(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepare(sql).await?;
        match self {
            Conn::Client(c) => c.query(&statement, params).await,
            Conn::Tx(t) => t.query(&statement, params).await,
        }
    }

    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.prepare(sql).await?;
        match self {
            Conn::Client(c) => c.query_opt(&statement, params).await,
            Conn::Tx(t) => t.query_opt(&statement, params).await,
        }
    }

    pub(crate) async fn query_one(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Row, tokio_postgres::Error> {
        let statement = self.prepare(sql).await?;
        match self {
            Conn::Client(c) => c.query_one(&statement, params).await,
            Conn::Tx(t) => t.query_one(&statement, params).await,
        }
    }

    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let statement = self.prepare(sql).await?;
        match self {
            Conn::Client(c) => c.execute(&statement, params).await,
            Conn::Tx(t) => t.execute(&statement, params).await,
        }
    }
}

/// A change-log entry waiting for its sequence number (given at commit).
#[derive(Debug, Clone)]
pub(crate) struct PendingChange {
    pub(crate) tenant_id: String,
    pub(crate) kind: ResourceKind,
    pub(crate) resource_id: String,
    pub(crate) op: ChangeOp,
    pub(crate) version: i64,
    pub(crate) at: i64,
}

/// A write transaction. Dropped without `Db::commit`, it rolls back, change-log entries and all.
pub(crate) struct Tx<'a> {
    inner: Transaction<'a>,
    changes: Mutex<Vec<PendingChange>>,
}

impl Tx<'_> {
    /// Statements inside this transaction.
    pub(crate) fn conn(&self) -> Conn<'_> {
        Conn::Tx(&self.inner)
    }

    /// Records a change-log entry, appended when the transaction commits.
    pub(crate) fn change(
        &self,
        tenant_id: &str,
        kind: ResourceKind,
        resource_id: &str,
        op: ChangeOp,
        version: u64,
        at: Timestamp,
    ) -> Result<()> {
        let change = PendingChange {
            tenant_id: tenant_id.to_owned(),
            kind,
            resource_id: resource_id.to_owned(),
            op,
            version: version_to_sql(version)?,
            at: ts_to_sql(at)?,
        };
        self.changes
            .lock()
            .map_err(|_| Error::Internal("change buffer poisoned".into()))?
            .push(change);
        Ok(())
    }
}
