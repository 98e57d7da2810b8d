//! Support for the console's HTTP tests: the real application (API and console, as the binary
//! serves them) on a loopback port with a fresh SQLite store, tenant `default` with an admin
//! token, and a [`Browser`] that signs in through `/ui/login` and keeps its cookies.
//!
//! A browser follows no redirects: tests see the `303` and its `Location`, and follow it with
//! [`Browser::get`] when they mean to.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::sync::{Arc, Mutex};

use domain::secret::Sealer;
use domain::target::Target;
use domain::{AppRecord, Clock, Load, ResourceKind, Scope, Store, StoredResource, Tenant};
use engine::{AppSpec, Engine, TargetFactory};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use scim_client::{ClientConfig, Credentials, ScimClient};
use serde_json::Value;
use server::auth::{generate_token, new_token_info};
use server::{AppState, ServerConfig};
use store_sqlite::SqliteStore;

/// The moment every test starts at.
pub const START: &str = "2025-03-01T08:00:00Z";

/// A clock the tests move by hand.
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

/// The application serving on `127.0.0.1:<port>`; stopped when dropped.
pub struct Console {
    _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Tenant `default`.
    pub tenant: Tenant,
    /// An admin token with every scope, of tenant `default`.
    pub token: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Bearer targets built the way the binary builds them.
struct Targets {
    sealer: Sealer,
}

impl TargetFactory for Targets {
    fn target(&self, app: &AppRecord) -> Result<Arc<dyn Target>, String> {
        let spec: AppSpec = serde_json::from_value(app.spec.clone()).map_err(|e| e.to_string())?;
        let credentials = match &app.sealed_secret {
            Some(s) => Credentials::Bearer(self.sealer.open(s).map_err(|e| e.to_string())?),
            None => Credentials::None,
        };
        let config = ClientConfig::new(spec.url, credentials);
        Ok(Arc::new(
            ScimClient::new(config).map_err(|e| e.to_string())?,
        ))
    }
}

impl Console {
    pub async fn start() -> Console {
        Console::start_with(false).await
    }

    /// With the provisioning engine running, for the apps pages. Apps provision into the
    /// tenant `target` of the same server: [`Console::target_token`] reaches it.
    pub async fn with_engine() -> Console {
        Console::start_with(true).await
    }

    async fn start_with(engine: bool) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("scimitar.db")).unwrap());
        let clock = Arc::new(TestClock(Mutex::new(START.parse().unwrap())));
        let tenant = store.create_tenant("default").await.unwrap();
        let config = ServerConfig {
            // Revocations show at once.
            token_cache_ttl: std::time::Duration::ZERO,
            ..ServerConfig::default()
        };
        let mut state = AppState::new(store.clone(), clock.clone(), config);
        if engine {
            let sealer = Sealer::new(&Sealer::generate_key());
            let engine = Engine::new(
                store.clone(),
                clock.clone(),
                Arc::new(Targets {
                    sealer: sealer.clone(),
                }),
            );
            engine.start();
            state = state.with_engine(engine, sealer);
        }
        let app = server::app_with(state.clone(), web_console::router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let mut console = Console {
            _dir: dir,
            store,
            clock,
            state,
            base,
            tenant,
            token: String::new(),
            server,
        };
        console.token = console.new_token("test admin", &Scope::ALL).await;
        console
    }

    /// A SCIM token of a new tenant `target`, the downstream app of [`Console::with_engine`]
    /// tests (`{base}/scim/v2`).
    pub async fn target_token(&self) -> String {
        let target = self.store.create_tenant("target").await.unwrap();
        let secret = generate_token();
        let info = new_token_info(
            &target.id,
            "downstream",
            &secret,
            vec![Scope::ScimRead, Scope::ScimWrite],
            self.clock.now(),
            None,
        );
        self.store.insert_token(&info).await.unwrap();
        secret
    }

    /// A new token of tenant `default`.
    pub async fn new_token(&self, name: &str, scopes: &[Scope]) -> String {
        let secret = generate_token();
        let info = new_token_info(
            &self.tenant.id,
            name,
            &secret,
            scopes.to_vec(),
            self.clock.now(),
            None,
        );
        self.store.insert_token(&info).await.unwrap();
        secret
    }

    /// A browser signed in with the admin token.
    pub async fn browser(&self) -> Browser {
        let mut b = self.anonymous();
        b.sign_in(&self.token).await;
        b
    }

    /// A browser that has not signed in.
    pub fn anonymous(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Browser {
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar,
            base: self.base.clone(),
            csrf: String::new(),
        }
    }

    /// GET `path` of the API with `token`: the status and the JSON body.
    pub async fn api_with(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A request to the API (`/scim/v2/…`, `/api/v1/…`) with the admin token.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/scim+json")
                .body(serde_json::to_vec(&body).unwrap());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Creates a resource through SCIM (`"Users"` or `"Groups"`) and returns its id.
    pub async fn create(&self, endpoint: &str, body: Value) -> String {
        let (status, json) = self
            .api(Method::POST, &format!("/scim/v2/{endpoint}"), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {endpoint}: {json}");
        json["id"].as_str().unwrap().to_owned()
    }

    /// A user with `userName` and the other attributes of `extra` (a JSON object).
    pub async fn user(&self, user_name: &str, extra: Value) -> String {
        let mut body = serde_json::json!({ "userName": user_name });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        self.create("Users", body).await
    }

    /// A resource as stored, with its members or groups.
    pub async fn stored(&self, kind: ResourceKind, id: &str) -> StoredResource {
        self.store
            .get(&self.tenant.id, kind, id, Load::ALL)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} {id} is not in the store", kind.name()))
    }

    /// The ids of a group's members, sorted.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let group = self.stored(ResourceKind::Group, group_id).await;
        let mut ids: Vec<String> = group
            .members
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.value)
            .collect();
        ids.sort();
        ids
    }
}

/// A page (or fragment) as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as sent: still HTML-escaped.
    pub html: String,
}

impl Page {
    /// Asserts the status, showing the page when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Page {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; page:\n{}",
            self.html
        );
        self
    }

    /// The `Location` of a redirect.
    #[track_caller]
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location ({}):\n{}", self.status, self.html))
    }

    /// Asserts that the page holds `text` (HTML as sent, so escape what the page escapes).
    #[track_caller]
    pub fn has(&self, text: &str) -> &Page {
        assert!(
            self.html.contains(text),
            "`{text}` is not on the page:\n{}",
            self.html
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, text: &str) -> &Page {
        assert!(
            !self.html.contains(text),
            "`{text}` should not be on the page:\n{}",
            self.html
        );
        self
    }

    /// The `value` of the first input named `name` (`<input … name="x" … value="…">`),
    /// unescaped.
    pub fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\"");
        self.html.match_indices(&needle).find_map(|(at, _)| {
            let open = self.html.get(..at)?.rfind('<')?;
            let close = at + self.html.get(at..)?.find('>')?;
            let tag = self.html.get(open..close)?;
            let value = tag.split_once("value=\"")?.1.split_once('"')?.0;
            Some(unescape(value))
        })
    }

    /// The CSRF token of the page's forms.
    #[track_caller]
    pub fn csrf(&self) -> String {
        self.field("csrf")
            .unwrap_or_else(|| panic!("no csrf field on the page:\n{}", self.html))
    }

    /// The `href` of the link with `rel="…"` (`next`, `prev`), unescaped.
    pub fn link(&self, rel: &str) -> Option<String> {
        let needle = format!("rel=\"{rel}\"");
        let at = self.html.find(&needle)?;
        let open = self.html.get(..at)?.rfind('<')?;
        let tag = self.html.get(open..at)?;
        let href = tag.split_once("href=\"")?.1.split_once('"')?.0;
        Some(unescape(href))
    }

    /// How often `text` occurs.
    pub fn count(&self, text: &str) -> usize {
        self.html.matches(text).count()
    }
}

/// Undoes askama's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The text of `s` between the first `start` and the next `end`.
#[track_caller]
pub fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .map(|i| i + start.len())
        .unwrap_or_else(|| panic!("`{start}` is not in:\n{s}"));
    let rest = s.get(from..).unwrap_or_default();
    rest.get(..rest.find(end).unwrap_or(rest.len()))
        .unwrap_or_default()
}

/// A query-string value, percent-encoded.
pub fn q(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A cookie-keeping client, like a browser without JavaScript (or with htmx: [`Browser::htmx`]).
pub struct Browser {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
    /// The session's CSRF token, once signed in.
    pub csrf: String,
}

impl Browser {
    async fn page(&self, req: reqwest::RequestBuilder) -> Page {
        let resp = req.send().await.unwrap();
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            html: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.page(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET with extra request headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.page(req).await
    }

    /// Posts exactly `fields`, with extra request headers.
    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.page(req).await
    }

    fn ui_url(&self) -> reqwest::Url {
        format!("{}/ui/", self.base).parse().unwrap()
    }

    /// Puts a cookie (`name=value`) in the jar, as a forger would.
    pub fn set_cookie(&self, cookie: &str) {
        self.jar
            .add_cookie_str(&format!("{cookie}; Path=/ui"), &self.ui_url());
    }

    /// The value of a cookie the browser would send to `/ui`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let header = self.jar.cookies(&self.ui_url())?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, v)| *k == name && !v.is_empty())
            .map(|(_, v)| v.to_owned())
    }

    /// Posts exactly `fields` (no CSRF token unless given).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.page(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields),
        )
        .await
    }

    /// Submits a form of this session: `fields` and the session's CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Posts as htmx does: `HX-Request`, the CSRF header, and the form's fields.
    pub async fn htmx(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &self.csrf)
            .form(&all);
        self.page(req).await
    }

    /// Signs in through the sign-in form, then takes the session's CSRF token from a page.
    pub async fn sign_in(&mut self, token: &str) {
        let form = self.get("/ui/login").await;
        form.expect(200);
        let nonce = form.csrf();
        let done = self
            .post(
                "/ui/login",
                &[("csrf", &nonce), ("token", token), ("next", "/ui/tokens")],
            )
            .await;
        done.expect(303);
        assert_eq!(
            done.location(),
            "/ui/tokens",
            "sign-in failed:\n{}",
            done.html
        );
        let page = self.get("/ui/tokens").await;
        page.expect(200);
        self.csrf = page.csrf();
    }
}
