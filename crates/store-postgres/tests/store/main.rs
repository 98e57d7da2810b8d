//! The store test suite (`store-suite`), instantiated for PostgreSQL, plus PostgreSQL-only
//! tests. Each test creates its own database on the server named by `SCIMITAR_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`) and drops it when it ends.
//!
//! Where that server cannot be reached, the tests report loudly that they did not run, and pass;
//! with `SCIMITAR_REQUIRE_POSTGRES=1` (as `.ci/run` sets) they fail instead.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod postgres;

use store_suite::pg as testdb;

use std::sync::Arc;

use domain::Store;
use store_postgres::PgStore;

/// A fresh database with the schema, or `None` when PostgreSQL is not reachable (and not
/// required).
async fn suite_store() -> Option<(Arc<dyn Store>, testdb::TestDb)> {
    let db = testdb::TestDb::create().await?;
    let store = PgStore::connect(&db.url).await.unwrap();
    Some((Arc::new(store), db))
}

store_suite::store_suite!(crate::suite_store);
