//! Configuration in two steps (STYLE 19): the clap + TOML structs below (doc comments are the
//! `--help`), then a validated `serve::Settings`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::Store;
use serde::Deserialize;

/// Scimitar: an identity provisioning hub. A SCIM 2.0 directory for users and groups, in one
/// binary, on embedded SQLite by default.
///
/// Start with `scimitar serve`; the first start prints an admin token for the tenant `default`
/// (or set SCIMITAR_BOOTSTRAP_TOKEN). SCIM clients then use http://127.0.0.1:8080/scim/v2 with
/// `Authorization: Bearer <token>`.
#[derive(Debug, Parser)]
#[command(name = "scimitar", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Log format on stderr.
    #[arg(long, global = true, env = "SCIMITAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the data lives; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory of the embedded SQLite database (created if missing).
    #[arg(long, global = true, env = "SCIMITAR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL instead of the data directory: `sqlite://PATH`, or
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` for several replicas on one PostgreSQL
    /// (the schema is created or migrated at start).
    #[arg(long, global = true, env = "SCIMITAR_DATABASE")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: SCIM at /scim/v2, admin API at /api/v1, the web console at /ui, health
    /// at /healthz, metrics at /metrics.
    Serve(ServeArgs),
    /// Manage tenants (isolated directories).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage API tokens (shown once, stored hashed).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage a tenant's extension schemas (custom SCIM attributes).
    #[command(subcommand)]
    Schema(SchemaCmd),
    /// Create or upgrade the database schema, then exit (`serve` also does this when it starts).
    Migrate,
    /// Move an installation between databases: `scimitar store copy --from sqlite://… --to
    /// postgres://…`.
    #[command(subcommand)]
    Store(crate::store_cmd::StoreCmd),
    /// Measure the server against its performance targets (creates a temporary store).
    Bench(crate::bench::BenchArgs),
    /// Import users from a CSV file, matched and mapped as inbound provisioning does.
    Import(crate::import::ImportArgs),
    /// Mapping expressions (Entra ID syntax).
    #[command(subcommand)]
    Expr(crate::lang::ExprCmd),
    /// Dynamic-membership rules (Entra ID syntax).
    #[command(subcommand)]
    Rule(crate::lang::RuleCmd),
    /// Manage provisioning apps (downstream SCIM targets) through a running server's admin API.
    App(crate::app_cmd::AppArgs),
    /// Dynamic groups (membership rules in Entra ID syntax) through a running server's admin API:
    /// create, set a rule with progress, preview, explain.
    Group(crate::group_cmd::GroupArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMITAR_LISTEN")]
    pub listen: Option<String>,
    /// TOML configuration file (keys: listen, data_dir, database, public_url, [limits],
    /// [[apps]] provisioning apps, [[inbound]] inbound sources).
    #[arg(long, env = "SCIMITAR_CONFIG")]
    pub config: Option<PathBuf>,
    /// The SCIM base URL as clients reach it (for `meta.location`), e.g.
    /// https://id.example.com/scim/v2. Default: from the request's Host header.
    #[arg(long, env = "SCIMITAR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds an app's provisioning lease lasts without renewal. With several replicas on one
    /// PostgreSQL, each app runs on one replica at a time; when that replica stops, another takes
    /// its apps over within about this long.
    #[arg(long, env = "SCIMITAR_LEASE_SECONDS", default_value_t = 30.0)]
    pub lease_seconds: f64,
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Its name (unique).
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token and print it once on stdout.
    Create {
        /// The tenant the token belongs to.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Scopes: scim:read, scim:write, admin (repeat or comma-separate). Default: scim:read,scim:write.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// Expiry: a duration such as 90d, 12h, 30m, or an RFC 3339 time. Default: never.
        #[arg(long)]
        expires: Option<String>,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Revoke a token by id.
    Revoke {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The token id shown by `token list`.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaCmd {
    /// Register (or replace) an extension schema from a JSON file (RFC 7643 §7 form, optional
    /// "resourceType": "User" | "Group").
    Add {
        #[arg(long, default_value = "default")]
        tenant: String,
        file: PathBuf,
    },
    /// List the tenant's extension schemas.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Remove an extension schema by URN.
    Remove {
        #[arg(long, default_value = "default")]
        tenant: String,
        uri: String,
    },
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    #[serde(default)]
    pub limits: FileLimits,
    /// Provisioning apps (`[[apps]]`), created or updated at start (`crate::declared`).
    #[serde(default)]
    pub apps: Vec<toml::Table>,
    /// Named inbound sources (`[[inbound]]`): `/api/v1/inbound/{name}/bulkUpload`.
    #[serde(default)]
    pub inbound: Vec<inbound::SourceSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_body_bytes: Option<usize>,
    pub bulk_max_operations: Option<usize>,
    pub bulk_max_payload: Option<usize>,
    pub max_results: Option<u64>,
    pub default_count: Option<u64>,
    /// Seconds a token check is reused; a token revoked elsewhere stops working within it.
    pub token_cache_seconds: Option<f64>,
    /// bulkUpload requests per tenant and source per window (default 1,000 per 5 s).
    pub inbound_requests_per_window: Option<u32>,
    pub inbound_window_seconds: Option<f64>,
    /// Staged records waiting to be processed beyond which bulkUpload answers 429.
    pub inbound_max_backlog: Option<u64>,
}

pub fn read_file_config(path: &std::path::Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", path.display()))
}

pub const DEFAULT_DATA_DIR: &str = "./scimitar-data";

/// Where an installation's data lives: the embedded SQLite file or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// The database URL if given (`sqlite://PATH`, `postgres://…`), else SQLite in the data
    /// directory (default `./scimitar-data`).
    pub fn resolve(
        data_dir: Option<&std::path::Path>,
        database: Option<&str>,
    ) -> anyhow::Result<Location> {
        match database {
            Some(url) => Location::parse(url),
            None => Ok(Location::Sqlite(
                data_dir
                    .unwrap_or(std::path::Path::new(DEFAULT_DATA_DIR))
                    .join("scimitar.db"),
            )),
        }
    }

    /// A database URL: `sqlite://PATH` or `postgres://USER@HOST:PORT/DATABASE`.
    pub fn parse(url: &str) -> anyhow::Result<Location> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            anyhow::ensure!(!path.is_empty(), "`{url}` names no file; use sqlite://PATH");
            Ok(Location::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_owned()))
        } else {
            anyhow::bail!(
                "unsupported database URL `{}`; use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
                store_postgres::redact(url)
            )
        }
    }

    /// Opens the store, applying pending schema migrations.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open_as::<dyn Store>(|s| Arc::new(s), |s| Arc::new(s))
            .await
    }

    /// Opens the database for copying whole tables (`scimitar store copy`), migrating it.
    pub async fn open_transfer(&self) -> anyhow::Result<Arc<dyn domain::transfer::Transfer>> {
        self.open_as::<dyn domain::transfer::Transfer>(|s| Arc::new(s), |s| Arc::new(s))
            .await
    }

    /// Opens the backend and hands it over as the port the caller needs.
    async fn open_as<T: ?Sized>(
        &self,
        sqlite: impl FnOnce(store_sqlite::SqliteStore) -> Arc<T>,
        postgres: impl FnOnce(store_postgres::PgStore) -> Arc<T>,
    ) -> anyhow::Result<Arc<T>> {
        Ok(match self {
            Location::Sqlite(path) => sqlite(
                store_sqlite::SqliteStore::open(path)
                    .with_context(|| format!("cannot open the database {}", path.display()))?,
            ),
            Location::Postgres(url) => postgres(
                store_postgres::PgStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open the database {self}"))?,
            ),
        })
    }
}

impl std::fmt::Display for Location {
    /// The location for messages (a PostgreSQL password is masked).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Location::Postgres(url) => f.write_str(&store_postgres::redact(url)),
        }
    }
}

/// Opens the configured store: SQLite in the data directory unless a database URL says otherwise.
pub async fn open_store(
    data_dir: Option<&std::path::Path>,
    database: Option<&str>,
) -> anyhow::Result<Arc<dyn Store>> {
    Location::resolve(data_dir, database)?.open().await
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCIMITAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
