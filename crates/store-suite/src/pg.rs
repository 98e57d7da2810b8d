//! A throwaway database per test on the local PostgreSQL server (`SCIMITAR_TEST_POSTGRES`,
//! default `postgres://postgres@127.0.0.1:5432`), for the PostgreSQL store's tests and the
//! replica tests of the binary.
//!
//! Where that server cannot be reached, `TestDb::create` reports loudly that the test did not
//! run and gives `None`; with `SCIMITAR_REQUIRE_POSTGRES=1` (as `.ci/run` sets) it panics.

use tokio_postgres::NoTls;

/// The server the tests use, without a database name.
fn server() -> String {
    std::env::var("SCIMITAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn required() -> bool {
    std::env::var("SCIMITAR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Says once per test binary, on the terminal (past the test harness's capture of passing
/// tests' output), that the PostgreSQL tests did not run.
fn not_run(server: &str, error: &tokio_postgres::Error) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL tests NOT RUN: cannot reach {server} ({error}).\n\
             *** They pass without checking anything. Start PostgreSQL or set \
             SCIMITAR_TEST_POSTGRES; with SCIMITAR_REQUIRE_POSTGRES=1 (as in CI) they fail.\n"
        );
    });
}

/// A database that is dropped (connections and all) when this value is.
pub struct TestDb {
    pub url: String,
    name: String,
}

impl TestDb {
    /// Creates `scimitar_test_<random>`; `None` (after a loud message) when the server cannot
    /// be reached and `SCIMITAR_REQUIRE_POSTGRES` is not `1`.
    pub async fn create() -> Option<TestDb> {
        let server = server();
        let admin = format!("{server}/postgres");
        let client = match tokio_postgres::connect(&admin, NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client
            }
            Err(e) if !required() => {
                not_run(&server, &e);
                return None;
            }
            Err(e) => panic!("PostgreSQL is required (SCIMITAR_REQUIRE_POSTGRES=1) but {server} cannot be reached: {e}"),
        };
        let name = format!("scimitar_test_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Some(TestDb {
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = format!("{}/postgres", server());
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await: a thread with its own runtime does it, and is waited for.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin, NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&sql).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
