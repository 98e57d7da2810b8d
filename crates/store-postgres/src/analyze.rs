//! Planner statistics that keep up with bulk loads. PostgreSQL's autovacuum analyzes a table
//! after 10 % of it changed and looks once a minute; a tenant loaded from empty (an initial
//! sync, `bulkUpload`, an import) meanwhile has statistics from when the table held a few rows,
//! and lookups are planned as sequential scans (measured: 278 instead of 7,289 GETs/s at 20,000
//! users). Every few seconds each replica analyzes the tables that changed by more than a fifth
//! since their last analysis; analyzing twice from two replicas is harmless.

use std::sync::Weak;
use std::time::Duration;

use crate::convert::PgResult;
use crate::db::{Conn, Db};

/// How often the statistics are checked.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(5);
/// Changes since the last analysis below which a table is left to autovacuum.
const MIN_CHANGES: i64 = 1_000;

/// Runs until the store is dropped.
pub(crate) async fn run(db: Weak<Db>) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let Some(db) = db.upgrade() else {
            return;
        };
        if let Err(e) = analyze_stale(&db).await {
            tracing::warn!(error = %e, "refreshing planner statistics failed");
        }
    }
}

/// Analyzes this schema's tables whose statistics are stale; returns their names.
pub(crate) async fn analyze_stale(db: &Db) -> domain::Result<Vec<String>> {
    let client = db.client().await?;
    let conn = Conn::from(&client);
    let stale: Vec<String> = conn
        .query(
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE schemaname = current_schema()
               AND n_mod_since_analyze > $1
               AND n_mod_since_analyze > n_live_tup / 5",
            &[&MIN_CHANGES],
        )
        .await
        .pg()?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for table in &stale {
        // The name comes from the catalogue; quoted as an identifier all the same.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        conn.execute(&format!("ANALYZE {quoted}"), &[]).await.pg()?;
        tracing::debug!(table = %table, "analyzed after a bulk change");
    }
    Ok(stale)
}
