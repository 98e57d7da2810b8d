//! The test harness: a fresh SQLite database in a temp dir, tenant `default` with an admin token,
//! and the real router driven through `tower::ServiceExt::oneshot` (no socket, STYLE 14).

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use domain::schema::{Mode, Registry};
use domain::{Clock, ResourceKind, Scope, Store, StoredResource, Tenant, TokenInfo, Write};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use server::auth::{generate_token, new_token_info};
use server::{app, AppState, ServerConfig};
use store_sqlite::SqliteStore;
use tower::ServiceExt as _;

pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const DYNAMIC_URN: &str = "urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group";

/// A clock the tests move by hand, so that timestamps (and token expiry) are deterministic.
#[derive(Debug)]
pub struct TestClock(Mutex<jiff::Timestamp>);

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        let mut now = self.0.lock().unwrap();
        *now = now
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

/// The moment every harness starts at.
pub const START: &str = "2025-03-01T08:00:00Z";

pub struct Harness {
    _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<TestClock>,
    pub router: Router,
    /// Tenant `default`.
    pub tenant: Tenant,
    /// An admin token (all scopes) of tenant `default`.
    pub token: String,
}

/// A response, its body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub raw: Bytes,
}

impl Resp {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error body (RFC 7644 §3.12): the status (also as the `status` string), the
    /// `scimType`, and that `detail` mentions each of `detail_names`.
    #[track_caller]
    pub fn expect_error(
        &self,
        status: u16,
        scim_type: Option<&str>,
        detail_names: &[&str],
    ) -> &Self {
        self.expect(status);
        assert_scim_error_body(&self.json, status, scim_type, detail_names);
        if let Some(ct) = self.header("content-type") {
            assert!(
                ct.starts_with("application/scim+json"),
                "error content type {ct}"
            );
        } else {
            panic!("error response without Content-Type");
        }
        self
    }

    /// The `id` of the resource in the body.
    #[track_caller]
    pub fn id(&self) -> String {
        self.json["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.json))
            .to_owned()
    }
}

#[track_caller]
pub fn assert_scim_error_body(
    body: &Value,
    status: u16,
    scim_type: Option<&str>,
    detail_names: &[&str],
) {
    assert_eq!(
        body["schemas"],
        json!([ERROR_URN]),
        "error schemas in {body}"
    );
    assert_eq!(
        body["status"],
        json!(status.to_string()),
        "`status` must be a string in {body}"
    );
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], json!(t), "scimType in {body}"),
        None => assert!(
            body.get("scimType").is_none(),
            "unexpected scimType in {body}"
        ),
    }
    let detail = body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail in {body}"));
    for name in detail_names {
        assert!(
            detail.to_lowercase().contains(&name.to_lowercase()),
            "detail `{detail}` does not mention `{name}`"
        );
    }
}

/// No `null` anywhere in a response (spec §1.1 "omit absent values").
#[track_caller]
pub fn assert_no_nulls(v: &Value, at: &str) {
    match v {
        Value::Null => panic!("null at `{at}`"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls(x, &format!("{at}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, x)| assert_no_nulls(x, &format!("{at}.{k}"))),
        _ => {}
    }
}

/// A request being built: `h.req(Method::GET, "/Users").header("If-Match", v).send().await`.
pub struct Req<'h> {
    h: &'h Harness,
    method: Method,
    uri: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    pub fn no_token(mut self) -> Self {
        self.token = None;
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(serde_json::to_vec(&body).unwrap());
        self
    }

    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub async fn send(self) -> Resp {
        let mut builder = Request::builder().method(self.method).uri(&self.uri);
        let named = |n: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !named("host") {
            builder = builder.header(header::HOST, "localhost");
        }
        if !named("content-type") && self.body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/scim+json");
        }
        if let (Some(t), false) = (&self.token, named("authorization")) {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(self.body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.h.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            json,
            raw,
        }
    }
}

/// A PatchOp body.
pub fn patch_ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

/// Percent-encodes a query parameter value the way a form does (spaces as `+`), as Entra sends it.
pub fn form(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A random GUID, as Entra's Test Connection sends.
pub fn guid() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Harness {
    pub async fn new() -> Harness {
        // Token checks are not cached, so that a revocation through the store shows at once;
        // `tenants::token_checks_are_cached_for_their_ttl` covers the cache.
        Harness::with_config(ServerConfig {
            token_cache_ttl: std::time::Duration::ZERO,
            ..ServerConfig::default()
        })
        .await
    }

    pub async fn with_config(config: ServerConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("scimitar.db")).unwrap());
        let clock = Arc::new(TestClock(Mutex::new(START.parse().unwrap())));
        let tenant = store.create_tenant("default").await.unwrap();
        let state = AppState::new(store.clone(), clock.clone(), config);
        let router = app(state);
        let mut h = Harness {
            _dir: dir,
            store,
            clock,
            router,
            tenant,
            token: String::new(),
        };
        h.token = h.token_for(&h.tenant.id.clone(), &Scope::ALL, None).await;
        h
    }

    /// A new token of tenant `tenant_id` with `scopes`, expiring at `expires`.
    pub async fn token_for(
        &self,
        tenant_id: &str,
        scopes: &[Scope],
        expires: Option<jiff::Timestamp>,
    ) -> String {
        self.token_record(tenant_id, scopes, expires).await.0
    }

    /// A new token: its secret and the record the store keeps (for its id).
    pub async fn token_record(
        &self,
        tenant_id: &str,
        scopes: &[Scope],
        expires: Option<jiff::Timestamp>,
    ) -> (String, TokenInfo) {
        let secret = generate_token();
        let info = new_token_info(
            tenant_id,
            "test",
            &secret,
            scopes.to_vec(),
            self.clock.now(),
            expires,
        );
        self.store.insert_token(&info).await.unwrap();
        (secret, info)
    }

    /// A token of tenant `name` (created if it does not exist yet).
    pub async fn new_tenant_token(&self, name: &str, scopes: &[Scope]) -> String {
        let tenant = match self.store.tenant_by_name(name).await.unwrap() {
            Some(t) => t,
            None => self.store.create_tenant(name).await.unwrap(),
        };
        self.token_for(&tenant.id, scopes, None).await
    }

    /// A request to `uri`; a path that is not under `/scim/`, `/api/` or `/healthz` is taken
    /// relative to the SCIM base `/scim/v2`. Sends the admin token unless told otherwise.
    pub fn req(&self, method: Method, uri: &str) -> Req<'_> {
        let uri = if ["/scim/", "/api/", "/healthz"]
            .iter()
            .any(|p| uri.starts_with(p))
        {
            uri.to_owned()
        } else {
            format!("/scim/v2{uri}")
        };
        Req {
            h: self,
            method,
            uri,
            token: Some(self.token.clone()),
            headers: Vec::new(),
            body: None,
        }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        let req = self.req(method, uri);
        match body {
            Some(b) => req.json(b).send().await,
            None => req.send().await,
        }
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Resp {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn put(&self, uri: &str, body: Value) -> Resp {
        self.call(Method::PUT, uri, Some(body)).await
    }

    pub async fn patch(&self, uri: &str, ops: Value) -> Resp {
        self.call(Method::PATCH, uri, Some(patch_ops(ops))).await
    }

    pub async fn delete(&self, uri: &str) -> Resp {
        self.call(Method::DELETE, uri, None).await
    }

    /// Creates a user through `POST /Users` and returns its JSON.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = self
            .post(
                "/Users",
                json!({"schemas": [USER_URN], "userName": user_name}),
            )
            .await;
        r.expect(201);
        r.json
    }

    /// Creates a user from a full body through `POST /Users` and returns its id.
    pub async fn create_user_from(&self, body: Value) -> String {
        let r = self.post("/Users", body).await;
        r.expect(201);
        r.id()
    }

    /// Creates a group through `POST /Groups` and returns its id.
    pub async fn create_group(&self, display_name: &str, member_ids: &[&str]) -> String {
        let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
        let mut body = json!({"schemas": [GROUP_URN], "displayName": display_name});
        if !members.is_empty() {
            body["members"] = Value::Array(members);
        }
        let r = self.post("/Groups", body).await;
        r.expect(201);
        r.id()
    }

    /// Writes a user straight into the store (validated like a POST), for bulk fixtures.
    pub async fn store_user(
        &self,
        tenant_id: &str,
        body: Value,
        now: jiff::Timestamp,
    ) -> StoredResource {
        let validated = Registry::builtin()
            .validate(ResourceKind::User, body, Mode::Create)
            .unwrap();
        self.store
            .create(tenant_id, Write::whole(validated), now)
            .await
            .unwrap()
    }
}
