//! Where a benchmark's data lives for one run: a temporary SQLite file, or with `--postgres` a
//! database created on that server for the run and dropped after it.

use std::sync::Arc;

use anyhow::Context as _;
use domain::Store;
use tokio_postgres::NoTls;

pub enum BenchDb {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl BenchDb {
    /// A fresh, empty database.
    pub async fn create(postgres: Option<&str>) -> anyhow::Result<BenchDb> {
        let Some(server) = postgres else {
            let dir =
                tempfile::tempdir().context("cannot create a temporary directory for the store")?;
            return Ok(BenchDb::Sqlite(dir));
        };
        let server = server.trim_end_matches('/').to_owned();
        let name = format!("scimitar_bench_{}", uuid::Uuid::new_v4().simple());
        admin(&server)
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        Ok(BenchDb::Postgres { server, name })
    }

    /// Opens the store: each call on PostgreSQL is another replica (its own pool and listener).
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            BenchDb::Sqlite(dir) => Arc::new(store_sqlite::SqliteStore::open(
                &dir.path().join("scimitar.db"),
            )?),
            BenchDb::Postgres { server, name } => {
                Arc::new(store_postgres::PgStore::connect(&format!("{server}/{name}")).await?)
            }
        })
    }

    /// What the report says the store was.
    pub fn describe(&self) -> String {
        match self {
            BenchDb::Sqlite(dir) => {
                format!("sqlite://{}", dir.path().join("scimitar.db").display())
            }
            BenchDb::Postgres { server, name } => {
                store_postgres::redact(&format!("{server}/{name}"))
            }
        }
    }

    /// The backend's name for the report.
    pub fn backend(&self) -> &'static str {
        match self {
            BenchDb::Sqlite(_) => "sqlite",
            BenchDb::Postgres { .. } => "postgres",
        }
    }

    /// Gives PostgreSQL's planner statistics of the freshly seeded tables, as autovacuum's
    /// analyze would within a minute or so (measuring before it would measure sequential scans
    /// planned for the near-empty tables of the start of the seeding).
    pub async fn analyze(&self) -> anyhow::Result<()> {
        if let BenchDb::Postgres { server, name } = self {
            let (client, connection) =
                tokio_postgres::connect(&format!("{server}/{name}"), NoTls).await?;
            tokio::spawn(connection);
            client.batch_execute("ANALYZE").await?;
        }
        Ok(())
    }

    /// Removes the database (a temporary directory goes by itself).
    pub async fn remove(self) -> anyhow::Result<()> {
        if let BenchDb::Postgres { server, name } = self {
            admin(&server)
                .await?
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .with_context(|| format!("cannot drop the database {name}"))?;
        }
        Ok(())
    }
}

/// A connection to the server's `postgres` database, for CREATE and DROP DATABASE.
async fn admin(server: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(&format!("{server}/postgres"), NoTls)
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {}",
                store_postgres::redact(server)
            )
        })?;
    tokio::spawn(connection);
    Ok(client)
}
