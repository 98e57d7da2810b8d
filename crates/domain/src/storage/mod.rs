//! What every storage adapter does the same way, whatever its SQL: how domain values are stored
//! in columns (`encode`), which SCIM filters an index answers (`lookup`), cursors and the
//! in-memory part of listing (`page`), a resource row, its filter view, its indexed columns and
//! the checks of a write (`resources`), and the pure parts of the engine's state and of inbound
//! provisioning (`engine_state`, `inbound`).
//!
//! Each backend keeps its own SQL, transactions, row access and the mapping of its driver's
//! errors; nothing here knows a dialect.
//!
//! Invariant: every backend stores a value the same way, so `scimitar store copy` moves rows
//! between them cell for cell.

pub mod encode;
pub mod engine_state;
pub mod inbound;
pub mod lookup;
pub mod page;
pub mod resources;
