//! Moving an installation between backends (`scimitar store copy`): the port both stores
//! implement, and the tables as both schemas hold them, as rows of plain cells.
//!
//! Every backend keeps the same columns with the same meaning (integer-nanosecond timestamps,
//! JSON as text), so a copy is row for row. Rows are read in pages by their key, in key order.
//! `pos` is the insertion order of a table that has no natural key: SQLite's rowid, a column in
//! PostgreSQL; copying it keeps the order of group members.

use async_trait::async_trait;

use crate::Result;

/// A column's type on the wire between stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Text,
    Bytes,
    Bool,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A table to copy: its columns and the columns of its key (unique; pages are ordered by it).
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Ty)],
    pub key: &'static [&'static str],
}

impl Table {
    /// The positions of the key columns in a row.
    pub fn key_positions(&self) -> Vec<usize> {
        self.key
            .iter()
            .filter_map(|k| self.columns.iter().position(|(c, _)| c == k))
            .collect()
    }
}

use Ty::{Bool, Bytes, Int, Text};

/// Every table of an installation, parents before children. Leases are not copied: they belong
/// to running processes.
pub const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("created", Int),
            ("rules_gen", Int),
        ],
        key: &["id"],
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Text),
            ("tenant_id", Text),
            ("name", Text),
            ("hash", Bytes),
            ("scopes", Text),
            ("created", Int),
            ("expires", Int),
            ("revoked", Bool),
        ],
        key: &["id"],
    },
    Table {
        name: "extension_schemas",
        columns: &[("tenant_id", Text), ("uri", Text), ("json", Text)],
        key: &["tenant_id", "uri"],
    },
    Table {
        name: "resources",
        columns: &[
            ("seq", Int),
            ("tenant_id", Text),
            ("kind", Text),
            ("id", Text),
            ("body", Text),
            ("user_name_lc", Text),
            ("external_id", Text),
            ("display_name_lc", Text),
            ("display", Text),
            ("employee_number_lc", Text),
            ("created", Int),
            ("last_modified", Int),
            ("version", Int),
        ],
        key: &["seq"],
    },
    Table {
        name: "emails",
        columns: &[
            ("pos", Int),
            ("tenant_id", Text),
            ("resource_seq", Int),
            ("value_lc", Text),
        ],
        key: &["pos"],
    },
    Table {
        name: "memberships",
        columns: &[
            ("pos", Int),
            ("tenant_id", Text),
            ("group_seq", Int),
            ("member_seq", Int),
        ],
        key: &["pos"],
    },
    Table {
        name: "changes",
        columns: &[
            ("seq", Int),
            ("tenant_id", Text),
            ("kind", Text),
            ("resource_id", Text),
            ("op", Text),
            ("version", Int),
            ("at", Int),
        ],
        key: &["seq"],
    },
    Table {
        name: "dynamic_rules",
        columns: &[
            ("group_seq", Int),
            ("tenant_id", Text),
            ("rule", Text),
            ("cursor", Int),
        ],
        key: &["group_seq"],
    },
    Table {
        name: "apps",
        columns: &[
            ("id", Text),
            ("tenant_id", Text),
            ("name", Text),
            ("enabled", Bool),
            ("spec", Text),
            ("sealed_secret", Bytes),
            ("state", Text),
            ("created", Int),
            ("updated", Int),
        ],
        key: &["id"],
    },
    Table {
        name: "app_assignments",
        columns: &[("app_id", Text), ("kind", Text), ("resource_id", Text)],
        key: &["app_id", "kind", "resource_id"],
    },
    Table {
        name: "shadows",
        columns: &[
            ("app_id", Text),
            ("kind", Text),
            ("source_id", Text),
            ("target_id", Text),
            ("state", Text),
            ("last_sent", Text),
            ("due", Int),
            ("attempts", Int),
            ("last_error", Text),
            ("updated", Int),
        ],
        key: &["app_id", "kind", "source_id"],
    },
    Table {
        name: "provisioning_log",
        columns: &[
            ("seq", Int),
            ("app_id", Text),
            ("at", Int),
            ("cycle_id", Text),
            ("change_id", Text),
            ("kind", Text),
            ("source_id", Text),
            ("target_id", Text),
            ("action", Text),
            ("status", Text),
            ("reason", Text),
            ("error_code", Text),
            ("duration_ms", Int),
            ("details", Text),
        ],
        key: &["seq"],
    },
    Table {
        name: "inbound_requests",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("tenant_id", Text),
            ("source", Text),
            ("received", Int),
            ("records", Text),
            ("total", Int),
            ("processed", Int),
            ("completed", Int),
        ],
        key: &["seq"],
    },
    Table {
        name: "inbound_records",
        columns: &[
            ("request_seq", Int),
            ("idx", Int),
            ("bulk_id", Text),
            ("external_id", Text),
            ("outcome", Text),
            ("user_id", Text),
            ("error", Text),
        ],
        key: &["request_seq", "idx"],
    },
    Table {
        name: "lifecycle",
        columns: &[
            ("tenant_id", Text),
            ("user_id", Text),
            ("action", Text),
            ("due", Int),
            ("date", Text),
            ("source", Text),
        ],
        key: &["tenant_id", "user_id", "action"],
    },
];

/// Reading and writing whole tables, for copying an installation.
#[async_trait]
pub trait Transfer: Send + Sync + 'static {
    /// Up to `limit` rows of `table` whose key is greater than `after` (all rows from the first
    /// with `None`), in key order; cells in the order of `table.columns`.
    async fn export(
        &self,
        table: &'static Table,
        after: Option<Vec<Cell>>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>>;

    /// Inserts rows as they were exported, in one transaction.
    async fn import(&self, table: &'static Table, rows: Vec<Vec<Cell>>) -> Result<()>;

    /// How many rows `table` holds.
    async fn count(&self, table: &'static Table) -> Result<u64>;

    /// After the last import: counters (sequences, the change log's head) catch up with the
    /// rows imported.
    async fn finish_import(&self) -> Result<()>;
}
