//! The store test suite, instantiated for SQLite, plus SQLite-only tests.
//!
//! The suite lives in the `store-suite` crate, written once against `Arc<dyn Store>`; this binary
//! instantiates it with a fresh database file per test.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sqlite;

use std::sync::Arc;

use domain::Store;
use store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A fresh SQLite database in its own temporary directory (dropped with the `TempDir`).
async fn suite_store() -> Option<(Arc<dyn Store>, TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("nested").join("scimitar.db")).unwrap();
    Some((Arc::new(store), dir))
}

store_suite::store_suite!(crate::suite_store);
