//! `scimitar serve`: validated settings, first-start bootstrap, the HTTP server, graceful shutdown.

use std::sync::Arc;

use anyhow::Context as _;
use domain::{Clock, Scope, Store, SystemClock};
use server::{AppState, ServerConfig};

use crate::config::{open_store, read_file_config, ServeArgs, StorageArgs};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_TENANT: &str = "default";

/// The validated runtime configuration of `serve`: flags over environment over file over defaults.
pub struct Settings {
    pub listen: String,
    pub store: Arc<dyn Store>,
    pub server: ServerConfig,
    /// Where the installation key lives (`secret.key`) unless SCIMITAR_SECRET_KEY is set.
    pub data_dir: std::path::PathBuf,
    /// The `[[apps]]` of the configuration file, checked.
    pub apps: Vec<crate::declared::Declared>,
    pub inbound: crate::inbound_serve::InboundSettings,
    /// How long an app's lease lasts without renewal.
    pub lease: std::time::Duration,
}

impl Settings {
    pub async fn resolve(storage: &StorageArgs, args: &ServeArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None => Default::default(),
        };
        let listen = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let data_dir = storage.data_dir.clone().or(file.data_dir);
        let database = storage.database.clone().or(file.database);
        let apps = crate::declared::parse(&file.apps, &|var| std::env::var(var).ok())?;
        let store = open_store(data_dir.as_deref(), database.as_deref()).await?;
        let data_dir = data_dir.unwrap_or_else(|| crate::config::DEFAULT_DATA_DIR.into());
        let defaults = ServerConfig::default();
        let l = &file.limits;
        let server = ServerConfig {
            max_body_bytes: l.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            bulk_max_payload: l.bulk_max_payload.unwrap_or(defaults.bulk_max_payload),
            bulk_max_operations: l
                .bulk_max_operations
                .unwrap_or(defaults.bulk_max_operations),
            max_results: l.max_results.unwrap_or(defaults.max_results),
            default_count: l.default_count.unwrap_or(defaults.default_count),
            token_cache_ttl: l
                .token_cache_seconds
                .map_or(defaults.token_cache_ttl, std::time::Duration::from_secs_f64),
            public_url: args.public_url.clone().or(file.public_url),
        };
        anyhow::ensure!(
            server.max_results > 0,
            "limits.max_results must be at least 1"
        );
        anyhow::ensure!(
            server.bulk_max_operations > 0,
            "limits.bulk_max_operations must be at least 1"
        );
        let inbound = crate::inbound_serve::InboundSettings::resolve(&file.inbound, l)?;
        anyhow::ensure!(
            args.lease_seconds.is_finite() && (1.0..=3600.0).contains(&args.lease_seconds),
            "--lease-seconds must be between 1 and 3600, not {}",
            args.lease_seconds
        );
        let lease = std::time::Duration::from_secs_f64(args.lease_seconds);
        Ok(Settings {
            listen,
            store,
            server,
            data_dir,
            apps,
            inbound,
            lease,
        })
    }
}

/// Makes sure the tenant `default` exists, and that there is a way in: the bootstrap token from
/// the environment, or on a first start a generated admin token printed once.
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
    env_token: Option<&str>,
) -> anyhow::Result<()> {
    // Replicas starting together on one database race for these: the loser reads the winner's.
    let tenant = match store.tenant_by_name(DEFAULT_TENANT).await? {
        Some(t) => t,
        None => match store.create_tenant(DEFAULT_TENANT).await {
            Err(domain::Error::Conflict(_)) => store
                .tenant_by_name(DEFAULT_TENANT)
                .await?
                .context("the tenant `default` vanished while starting")?,
            created => created?,
        },
    };
    if let Some(secret) = env_token.filter(|t| !t.is_empty()) {
        let hash = server::auth::hash_token(secret);
        match store.token_by_hash(&hash).await? {
            Some(t) if t.tenant_id == tenant.id && !t.revoked => {}
            Some(_) => anyhow::bail!(
                "SCIMITAR_BOOTSTRAP_TOKEN is revoked or belongs to another tenant; choose another"
            ),
            None => {
                let info = server::auth::new_token_info(
                    &tenant.id,
                    "bootstrap",
                    secret,
                    Scope::ALL.to_vec(),
                    clock.now(),
                    None,
                );
                match store.insert_token(&info).await {
                    // Another replica registered the same token a moment ago.
                    Err(domain::Error::Conflict(_)) => {}
                    inserted => inserted?,
                }
                tracing::info!("bootstrap token from SCIMITAR_BOOTSTRAP_TOKEN registered as an admin token of tenant `default`");
            }
        }
    } else if store.list_tokens(&tenant.id).await?.is_empty() {
        let secret = server::auth::generate_token();
        let info = server::auth::new_token_info(
            &tenant.id,
            "first-start",
            &secret,
            Scope::ALL.to_vec(),
            clock.now(),
            None,
        );
        store.insert_token(&info).await?;
        eprintln!(
            "\nFirst start: an admin token for tenant `default` was created. It is shown only now:\n\n    {secret}\n\n\
             Use it as `Authorization: Bearer <token>`, or to sign in to the web console at /ui.\n\
             Create more with `scimitar token create`.\n"
        );
    }
    Ok(())
}

pub async fn run(storage: &StorageArgs, args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(storage, &args).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let env_token = std::env::var("SCIMITAR_BOOTSTRAP_TOKEN").ok();
    bootstrap(
        settings.store.as_ref(),
        clock.as_ref(),
        env_token.as_deref(),
    )
    .await?;
    let key_env = std::env::var(crate::targets::KEY_ENV).ok();
    let sealer = crate::targets::load_sealer(key_env.as_deref(), &settings.data_dir)?;
    crate::declared::apply(
        settings.store.as_ref(),
        clock.as_ref(),
        &sealer,
        settings.apps,
    )
    .await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let engine = engine::Engine::new(
        settings.store.clone(),
        clock.clone(),
        Arc::new(crate::targets::ScimTargets {
            sealer: sealer.clone(),
        }),
    )
    .with_lease(settings.lease);
    let supervisor = engine.start();
    let state = AppState::new(settings.store.clone(), clock, settings.server)
        .with_engine(engine.clone(), sealer)
        .with_metrics(metrics);
    let (state, inbound) = crate::inbound_serve::start(state, settings.inbound).await?;
    server::groups::resume_recomputations(&state);
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "scimitar listening; SCIM base URL http://{addr}/scim/v2 (web console: http://{addr}/ui)");
    axum::serve(listener, server::app_with(state, web_console::router()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    supervisor.abort();
    engine.shutdown().await;
    inbound.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM; the server then finishes the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining requests");
}
