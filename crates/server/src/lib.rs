//! Scimitar's HTTP face: the SCIM 2.0 service provider under `/scim/v2`, the admin API under
//! `/api/v1` (provisioning apps under `/api/v1/apps`, inbound provisioning's bulkUpload under
//! `/api/v1/inbound`), health under `/healthz`, Prometheus
//! metrics under `/metrics`. `fn app(state) -> Router` is the whole server; the binary
//! binds it to a socket.

pub mod admin;
pub mod apps;
pub mod auth;
pub mod error;
pub mod etag;
pub mod groups;
pub mod inbound;
pub mod json;
pub mod metrics;
pub mod scim;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::routing::get;
use axum::Router;
use domain::schema::Registry;
use domain::{Clock, Store};

pub use error::{ApiError, ApiResult};

/// Limits and settings of the HTTP server, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted anywhere but `/Bulk`.
    pub max_body_bytes: usize,
    /// `/Bulk`: largest body, and most operations per request (both advertised).
    pub bulk_max_payload: usize,
    pub bulk_max_operations: usize,
    /// Largest page (`filter.maxResults`), and the page size when the client gives no `count`.
    pub max_results: u64,
    pub default_count: u64,
    /// How long a token check is reused before the store is asked again. A token revoked by
    /// another process (the CLI, another replica) stops working within this time.
    pub token_cache_ttl: std::time::Duration,
    /// The externally visible base URL of the SCIM API, e.g. `https://id.example.com/scim/v2`;
    /// `None`: derived from the request's `Host`.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            bulk_max_payload: 4 * 1024 * 1024,
            bulk_max_operations: 1000,
            max_results: 1000,
            default_count: 100,
            token_cache_ttl: std::time::Duration::from_secs(2),
            public_url: None,
        }
    }
}

/// What every handler gets: the store, the clock, settings, and the tenants' schema registries.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    /// The provisioning engine and the sealer of app secrets; the apps API answers 503 without.
    pub engine: Option<engine::Engine>,
    pub sealer: Option<domain::secret::Sealer>,
    /// The Prometheus recorder's handle for `/metrics`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Inbound provisioning (`/api/v1/inbound`); 503 without.
    pub inbound: Option<inbound::InboundState>,
    registries: Arc<RwLock<HashMap<String, Arc<Registry>>>>,
    tokens: Arc<RwLock<TokenCache>>,
}

/// Token checks by token hash, with the time they were read from the store.
type TokenCache = HashMap<[u8; 32], (domain::TokenInfo, std::time::Instant)>;

/// Cached token checks beyond this many are dropped wholesale (a flood of distinct tokens).
const TOKEN_CACHE_MAX: usize = 10_000;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        AppState {
            store,
            clock,
            config: Arc::new(config),
            engine: None,
            sealer: None,
            metrics: None,
            inbound: None,
            registries: Arc::default(),
            tokens: Arc::default(),
        }
    }

    /// With the provisioning engine and the sealer of app secrets (the apps API).
    pub fn with_engine(mut self, engine: engine::Engine, sealer: domain::secret::Sealer) -> Self {
        self.engine = Some(engine);
        self.sealer = Some(sealer);
        self
    }

    /// With the Prometheus recorder's handle (`/metrics`).
    pub fn with_metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// With inbound provisioning: the processor and the bulkUpload rate limit.
    pub fn with_inbound(
        mut self,
        processor: ::inbound::Inbound,
        limit: inbound::RateLimit,
    ) -> Self {
        self.inbound = Some(inbound::InboundState {
            processor,
            limiter: Arc::new(inbound::RateLimiter::new(limit)),
        });
        self
    }

    /// The tenant's schema registry: the built-in schemas plus its registered extensions.
    pub async fn registry(&self, tenant_id: &str) -> ApiResult<Arc<Registry>> {
        if let Some(r) = self
            .registries
            .read()
            .ok()
            .and_then(|m| m.get(tenant_id).cloned())
        {
            return Ok(r);
        }
        let mut exts = Vec::new();
        for json in self.store.extension_schemas(tenant_id).await? {
            exts.push(Registry::parse_extension(&json)?);
        }
        let registry = Arc::new(Registry::with_extensions(exts)?);
        if let Ok(mut m) = self.registries.write() {
            m.insert(tenant_id.to_owned(), registry.clone());
        }
        Ok(registry)
    }

    /// The token with this hash, from the cache while it is fresh, else from the store.
    pub async fn token(&self, hash: &[u8; 32]) -> ApiResult<Option<domain::TokenInfo>> {
        let ttl = self.config.token_cache_ttl;
        if let Some((token, at)) = self.tokens.read().ok().and_then(|m| m.get(hash).cloned()) {
            if at.elapsed() < ttl {
                return Ok(Some(token));
            }
        }
        let token = self.store.token_by_hash(hash).await?;
        if let (Some(t), Ok(mut m)) = (&token, self.tokens.write()) {
            if m.len() >= TOKEN_CACHE_MAX {
                m.clear();
            }
            m.insert(*hash, (t.clone(), std::time::Instant::now()));
        }
        Ok(token)
    }

    /// Forgets a cached token check, after the token was revoked here.
    pub fn forget_token(&self, hash: &[u8; 32]) {
        if let Ok(mut m) = self.tokens.write() {
            m.remove(hash);
        }
    }

    /// Forgets a tenant's cached registry after its extension schemas changed.
    pub fn invalidate_registry(&self, tenant_id: &str) {
        if let Ok(mut m) = self.registries.write() {
            m.remove(tenant_id);
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The whole HTTP application with `extra` routes beside the API (the web console under
/// `/ui`), behind the same metrics and tracing layers.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    Router::new()
        .merge(extra)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .nest("/scim/v2", scim::routes())
        .nest(
            "/api/v1",
            admin::routes()
                .merge(apps::routes())
                .merge(groups::routes())
                .merge(inbound::routes())
                .method_not_allowed_fallback(scim::method_not_allowed),
        )
        .fallback(scim::no_route)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}
