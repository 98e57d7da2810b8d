//! The provisioning apps API (`/api/v1/apps`) with a real engine: the server runs on a socket,
//! and its apps provision into another tenant of the same server through its own SCIM API.

use std::sync::{Arc, OnceLock};

use domain::secret::Sealer;
use domain::target::Target;
use domain::{AppRecord, Clock, Scope, Store, SystemClock};
use engine::{AppSpec, Engine, TargetFactory};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqwest::Method;
use scim_client::{ClientConfig, Credentials, ScimClient};
use serde_json::{json, Value};
use server::auth::{generate_token, new_token_info};
use server::{app, AppState, ServerConfig};
use store_sqlite::SqliteStore;

use crate::harness::{Harness, USER_URN};

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
        let mut config = ClientConfig::new(spec.url, credentials);
        config.requests_per_second = spec.rate_limit;
        Ok(Arc::new(
            ScimClient::new(config).map_err(|e| e.to_string())?,
        ))
    }
}

fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

struct Live {
    _dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    /// Admin token of tenant `default` (the source directory).
    admin: String,
    /// SCIM token of tenant `target` (where the apps provision to).
    target_token: String,
}

async fn token(store: &Arc<dyn Store>, tenant: &str, scopes: &[Scope]) -> String {
    let secret = generate_token();
    let info = new_token_info(
        tenant,
        "test",
        &secret,
        scopes.to_vec(),
        SystemClock.now(),
        None,
    );
    store.insert_token(&info).await.unwrap();
    secret
}

async fn live() -> Live {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("scimitar.db")).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let source = store.create_tenant("default").await.unwrap();
    let target = store.create_tenant("target").await.unwrap();
    let admin = token(&store, &source.id, &Scope::ALL).await;
    let target_token = token(&store, &target.id, &[Scope::ScimRead, Scope::ScimWrite]).await;
    let sealer = Sealer::new(&Sealer::generate_key());
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        Arc::new(Targets {
            sealer: sealer.clone(),
        }),
    );
    engine.start();
    let config = ServerConfig {
        token_cache_ttl: std::time::Duration::ZERO,
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), clock, config)
        .with_engine(engine, sealer)
        .with_metrics(recorder());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    Live {
        _dir: dir,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        store,
        admin,
        target_token,
    }
}

impl Live {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value, String) {
        self.send(method, path, &self.admin, body).await
    }

    /// An app provisioning into tenant `target`, disabled so that only explicit requests act.
    fn app_body(&self, name: &str) -> Value {
        json!({
            "name": name,
            "enabled": false,
            "url": format!("{}/scim/v2", self.base),
            "token": self.target_token,
            "rate_limit": 1000.0,
        })
    }

    async fn user(&self, user_name: &str) -> String {
        let (status, body, text) = self
            .admin(
                Method::POST,
                "/scim/v2/Users",
                Some(
                    json!({"schemas": [USER_URN], "userName": user_name, "active": true,
                             "name": {"givenName": "Ada", "familyName": "Lovelace"},
                             "displayName": "Ada Lovelace",
                             "emails": [{"type": "work", "value": user_name, "primary": true}]}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{text}");
        body["id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_are_created_listed_shown_replaced_and_deleted_without_their_secrets() {
    let l = live().await;
    let (status, app, text) = l
        .admin(Method::POST, "/api/v1/apps", Some(l.app_body("crm")))
        .await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(app["hasSecret"], json!(true));
    assert_eq!(app["scope"], json!("assigned"));
    assert!(
        !text.contains(&l.target_token),
        "the secret is echoed: {text}"
    );
    assert!(app.get("token").is_none());

    let (status, list, text) = l.admin(Method::GET, "/api/v1/apps", None).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["name"], json!("crm"));
    assert_eq!(list[0]["status"]["state"], json!("disabled"));
    assert!(!text.contains(&l.target_token));

    let (status, shown, text) = l.admin(Method::GET, "/api/v1/apps/crm", None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(shown["status"]["state"], json!("disabled"));
    assert_eq!(shown["status"]["counts"]["usersActive"], json!(0));
    assert!(!text.contains(&l.target_token));

    // A GET's body edited and sent back: read-only keys are ignored, the secret is kept.
    let mut edited = shown.clone();
    edited["scope"] = json!("all");
    let (status, replaced, text) = l.admin(Method::PUT, "/api/v1/apps/crm", Some(edited)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(replaced["scope"], json!("all"));
    assert_eq!(replaced["hasSecret"], json!(true));
    let record = l.store.list_apps(None).await.unwrap().pop().unwrap();
    assert!(record.sealed_secret.is_some());
    assert!(!record.spec.to_string().contains(&l.target_token));

    let (status, body, _) = l
        .admin(Method::POST, "/api/v1/apps", Some(l.app_body("crm")))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("crm"));

    let (status, _, _) = l.admin(Method::DELETE, "/api/v1/apps/crm", None).await;
    assert_eq!(status, 204);
    let (status, body, _) = l.admin(Method::GET, "/api/v1/apps/crm", None).await;
    assert_eq!(status, 404);
    assert!(body["detail"].as_str().unwrap().contains("crm"));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_settings_are_refused_with_the_builders_message() {
    let l = live().await;
    let (status, body, _) = l
        .admin(
            Method::POST,
            "/api/v1/apps",
            Some(json!({"name": "bad", "url": "ftp://x"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not an http(s) URL"),
        "{body}"
    );

    let (status, body, _) = l
        .admin(
            Method::POST,
            "/api/v1/apps",
            Some(json!({"name": "bad", "url": "https://x.example/scim",
                        "mappings": [{"target": "userName", "expression": "Join(\",\""}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("mapping 1"),
        "{body}"
    );

    let (status, body, _) = l
        .admin(
            Method::POST,
            "/api/v1/apps",
            Some(json!({"name": "bad", "url": "https://x.example", "colour": 1})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    assert_eq!(l.store.list_apps(None).await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_api_needs_the_admin_scope() {
    let l = live().await;
    let tenant = l.store.tenant_by_name("default").await.unwrap().unwrap();
    let scim_only = token(&l.store, &tenant.id, &[Scope::ScimRead, Scope::ScimWrite]).await;
    let (status, body, _) = l.send(Method::GET, "/api/v1/apps", &scim_only, None).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = l
        .send(
            Method::POST,
            "/api/v1/apps",
            &scim_only,
            Some(l.app_body("x")),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = l.send(Method::GET, "/api/v1/apps", "nope", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn without_an_engine_the_apps_api_is_unavailable() {
    let h = Harness::new().await;
    h.get("/api/v1/apps")
        .await
        .expect_error(503, None, &["engine"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn assignments_plan_provisioning_on_demand_and_logs() {
    let l = live().await;
    let (status, _, text) = l
        .admin(Method::POST, "/api/v1/apps", Some(l.app_body("crm")))
        .await;
    assert_eq!(status, 201, "{text}");
    let ada = l.user("ada@example.com").await;

    let (status, body, _) = l
        .admin(
            Method::POST,
            "/api/v1/apps/crm/assignments",
            Some(json!({"type": "User", "id": "no-such-user"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _, text) = l
        .admin(
            Method::POST,
            "/api/v1/apps/crm/assignments",
            Some(json!({"type": "User", "id": ada})),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    let (_, assigned, _) = l
        .admin(Method::GET, "/api/v1/apps/crm/assignments", None)
        .await;
    assert_eq!(assigned, json!([{"type": "User", "id": ada}]));

    let (status, plan, text) = l
        .admin(Method::POST, "/api/v1/apps/crm/plan?limit=10", None)
        .await;
    assert_eq!(status, 200, "{text}");
    let ops = plan["plan"].as_array().unwrap();
    assert!(
        ops.iter()
            .any(|op| op["action"] == json!("create") && op["sourceId"] == json!(ada)),
        "{plan}"
    );

    let (status, result, text) = l
        .admin(
            Method::POST,
            "/api/v1/apps/crm/provision",
            Some(json!({"userId": ada})),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(result["result"], json!("Success"), "{result}");

    let filter = "userName%20eq%20%22ada%40example.com%22";
    let (status, found, text) = l
        .send(
            Method::GET,
            &format!("/scim/v2/Users?filter={filter}"),
            &l.target_token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(found["totalResults"], json!(1), "{found}");

    let (status, logs, text) = l
        .admin(
            Method::GET,
            &format!("/api/v1/apps/crm/logs?user={ada}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let logs = logs.as_array().unwrap();
    assert!(!logs.is_empty());
    assert!(logs.iter().all(|e| e["sourceId"] == json!(ada)));
    assert_eq!(logs[0]["status"], json!("success"));

    let (status, body, _) = l
        .admin(Method::GET, "/api/v1/apps/crm/logs?status=great", None)
        .await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("status"),
        "{body}"
    );
    let (status, body, _) = l
        .admin(Method::GET, "/api/v1/apps/crm/logs?since=yesterday", None)
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("since"), "{body}");

    let (status, body, _) = l
        .admin(Method::POST, "/api/v1/apps/crm/approve-deletions", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["held"], json!(false));
    let (status, _, _) = l
        .admin(Method::POST, "/api/v1/apps/crm/restart", None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = l
        .admin(
            Method::DELETE,
            &format!("/api/v1/apps/crm/assignments/User/{ada}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, assigned, _) = l
        .admin(Method::GET, "/api/v1/apps/crm/assignments", None)
        .await;
    assert_eq!(assigned, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_reports_each_step_and_leaves_no_probe_user() {
    let l = live().await;
    let (status, _, text) = l
        .admin(Method::POST, "/api/v1/apps", Some(l.app_body("crm")))
        .await;
    assert_eq!(status, 201, "{text}");

    let (status, report, text) = l
        .admin(Method::POST, "/api/v1/apps/crm/test-connection", None)
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(report["ok"], json!(true), "{report:#}");
    let steps: Vec<(&str, u64, bool)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["status"].as_u64().unwrap(),
                s["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("serviceProviderConfig", 200, true),
            ("resourceTypes", 200, true),
            ("schemas", 200, true),
            ("createUser", 201, true),
            ("readUser", 200, true),
            ("filterUsers", 200, true),
            ("deleteUser", 204, true),
        ]
    );
    assert_eq!(report["cleanup"], json!("deleted"));
    // What this server advertises (ServerConfig's defaults).
    let c = ServerConfig::default();
    let supports = &report["supports"];
    assert_eq!(supports["patch"], json!(true));
    assert_eq!(
        supports["bulk"],
        json!({"supported": true, "maxOperations": c.bulk_max_operations,
               "maxPayloadSize": c.bulk_max_payload})
    );
    assert_eq!(
        supports["filter"],
        json!({"supported": true, "maxResults": c.max_results})
    );
    assert_eq!(supports["changePassword"], json!(false));
    assert_eq!(supports["authenticationSchemes"], json!(["Bearer token"]));
    assert_eq!(supports["resourceTypes"], json!(["User", "Group"]));
    assert!(
        !text.contains(&l.target_token),
        "the secret is in the report"
    );

    // The target tenant holds no user: the probe user was deleted.
    let (status, users, _) = l
        .send(Method::GET, "/scim/v2/Users", &l.target_token, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(users["totalResults"], json!(0), "{users}");

    // A target nobody listens on: still a 200, and the report says what failed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut body = l.app_body("offline");
    body["url"] = json!(format!("http://127.0.0.1:{port}/scim/v2"));
    let (status, _, text) = l.admin(Method::POST, "/api/v1/apps", Some(body)).await;
    assert_eq!(status, 201, "{text}");
    let (status, report, text) = l
        .admin(Method::POST, "/api/v1/apps/offline/test-connection", None)
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(report["ok"], json!(false));
    let failed = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ok"] == json!(false) && s["required"] == json!(true))
        .unwrap();
    assert_eq!(failed["name"], json!("createUser"));
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{failed}"
    );
    assert_eq!(report["cleanup"], json!("nothingToDelete"));

    let (status, body, _) = l
        .admin(Method::POST, "/api/v1/apps/nope/test-connection", None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("nope"), "{body}");
    let tenant = l.store.tenant_by_name("default").await.unwrap().unwrap();
    let scim_only = token(&l.store, &tenant.id, &[Scope::ScimRead, Scope::ScimWrite]).await;
    let (status, _, _) = l
        .send(
            Method::POST,
            "/api/v1/apps/crm/test-connection",
            &scim_only,
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = l
        .send(
            Method::POST,
            "/api/v1/apps/crm/test-connection",
            "nope",
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_http_requests() {
    let l = live().await;
    let (status, _, _) = l.send(Method::GET, "/healthz", "", None).await;
    assert_eq!(status, 200);
    let text = reqwest::get(format!("{}/metrics", l.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("scimitar_http_requests_total"), "{text}");
    assert!(
        text.contains("scimitar_http_request_duration_seconds"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enabled_app_provisions_its_assigned_users_by_itself() {
    let l = live().await;
    let ada = l.user("ada@example.com").await;
    let mut body = l.app_body("crm");
    body["enabled"] = json!(true);
    let (status, _, text) = l.admin(Method::POST, "/api/v1/apps", Some(body)).await;
    assert_eq!(status, 201, "{text}");
    let (status, _, text) = l
        .admin(
            Method::POST,
            "/api/v1/apps/crm/assignments",
            Some(json!({"type": "User", "id": ada})),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, status, _) = l.admin(Method::GET, "/api/v1/apps/crm/status", None).await;
        if status["counts"]["usersActive"] == json!(1) {
            assert_eq!(status["running"], json!(true), "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never provisioned: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let filter = "userName%20eq%20%22ada%40example.com%22";
    let (_, found, _) = l
        .send(
            Method::GET,
            &format!("/scim/v2/Users?filter={filter}"),
            &l.target_token,
            None,
        )
        .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    let metrics = l
        .http
        .get(format!("{}/metrics", l.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scimitar_app_watermark{app=\"crm\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "scimitar_provisioning_actions_total{app=\"crm\",action=\"create\",status=\"success\"}"
        ),
        "{metrics}"
    );
}

/// A group of 10,000 members reaches another tenant with all its members (sent in chunks of
/// the dialect's limit), and one member added and one removed in the directory become one
/// small delta at the target (spec §1.4).
#[tokio::test(flavor = "multi_thread")]
async fn a_ten_thousand_member_group_is_provisioned_and_follows_member_deltas() {
    use domain::schema::{Mode, Registry};
    use domain::{ResourceKind, Write};
    const N: usize = 10_000;
    let l = live().await;
    let tenant = l.store.tenant_by_name("default").await.unwrap().unwrap().id;
    let registry = Registry::builtin();
    let now = SystemClock.now();
    let mut ids = Vec::with_capacity(N + 1);
    for i in 0..=N {
        let body = json!({"userName": format!("member{i}@example.com"), "active": true});
        let v = registry
            .validate(ResourceKind::User, body, Mode::Create)
            .unwrap();
        ids.push(
            l.store
                .create(&tenant, Write::whole(v), now)
                .await
                .unwrap()
                .id,
        );
    }
    let late = ids.pop().unwrap();
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = json!({"displayName": "Everyone", "members": members});
    let v = registry
        .validate(ResourceKind::Group, group, Mode::Create)
        .unwrap();
    let group_id = l
        .store
        .create(&tenant, Write::whole(v), now)
        .await
        .unwrap()
        .id;

    let mut body = l.app_body("all");
    body["enabled"] = json!(true);
    body["scope"] = json!("all");
    body["rate_limit"] = Value::Null;
    body["concurrency"] = json!(16);
    body["dialect"] = json!({"max_members_per_request": 2000});
    let (status, _, text) = l.admin(Method::POST, "/api/v1/apps", Some(body)).await;
    assert_eq!(status, 201, "{text}");
    let l = &l;
    let settled = |want_users: u64| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let (_, s, _) = l.admin(Method::GET, "/api/v1/apps/all/status", None).await;
            if s["state"] == json!("in sync")
                && s["counts"]["usersActive"] == json!(want_users)
                && s["pendingChanges"] == json!(0)
            {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "not in sync: {s}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    settled(N as u64 + 1).await;
    let target_members = || async {
        let filter = "displayName%20eq%20%22Everyone%22";
        let (_, found, _) = l
            .send(
                Method::GET,
                &format!("/scim/v2/Groups?filter={filter}&excludedAttributes=members"),
                &l.target_token,
                None,
            )
            .await;
        assert_eq!(found["totalResults"], json!(1), "{found}");
        let id = found["Resources"][0]["id"].as_str().unwrap().to_owned();
        let (_, g, _) = l
            .send(
                Method::GET,
                &format!("/scim/v2/Groups/{id}"),
                &l.target_token,
                None,
            )
            .await;
        g["members"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(target_members().await, N);

    // One in, one out.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": late}]},
                       {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]});
    let (status, _, text) = l
        .admin(
            Method::PATCH,
            &format!("/scim/v2/Groups/{group_id}?excludedAttributes=members"),
            Some(patch),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    settled(N as u64 + 1).await;
    assert_eq!(target_members().await, N);
    let (_, logs, _) = l
        .admin(
            Method::GET,
            &format!("/api/v1/apps/all/logs?user={group_id}&limit=1"),
            None,
        )
        .await;
    let delta = &logs[0]["details"]["modifiedProperties"][0];
    assert_eq!(
        (delta["added"].as_u64(), delta["removed"].as_u64()),
        (Some(1), Some(1)),
        "{logs}"
    );
}

impl Live {
    /// The target tenant's user with this userName: (id, active), or `None`.
    async fn target_user(&self, user_name: &str) -> Option<(String, bool)> {
        let filter = format!("userName%20eq%20%22{user_name}%22");
        let (status, found, text) = self
            .send(
                Method::GET,
                &format!("/scim/v2/Users?filter={filter}"),
                &self.target_token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{text}");
        let user = found["Resources"].get(0)?;
        Some((
            user["id"].as_str().unwrap().to_owned(),
            user["active"].as_bool().unwrap_or(true),
        ))
    }

    /// Polls until `check` holds for the target's user, returning how long that took.
    async fn until_target(
        &self,
        user_name: &str,
        check: impl Fn(Option<&(String, bool)>) -> bool,
    ) -> std::time::Duration {
        let started = std::time::Instant::now();
        loop {
            let user = self.target_user(user_name).await;
            if check(user.as_ref()) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{user_name} never reached the wanted state in the target: {user:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// Spec §6 "losing membership is a deprovision event": an app assigned a dynamic group provisions
/// a user as soon as a write makes them match the rule, and disables them when a move takes them
/// out of it. The latencies are printed (commit → the target's account).
#[tokio::test(flavor = "multi_thread")]
async fn a_dynamic_group_assigned_to_an_app_drives_joiners_and_movers() {
    let l = live().await;
    let (status, group, text) = l
        .admin(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"displayName": "Sales", "rule": "user.department -eq \"Sales\""})),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    let gid = group["groupId"].as_str().unwrap().to_owned();
    let mut body = l.app_body("crm");
    body["enabled"] = json!(true);
    let (status, _, text) = l.admin(Method::POST, "/api/v1/apps", Some(body)).await;
    assert_eq!(status, 201, "{text}");
    let (status, _, text) = l
        .admin(
            Method::POST,
            "/api/v1/apps/crm/assignments",
            Some(json!({"type": "Group", "id": gid})),
        )
        .await;
    assert!(status == 200 || status == 201 || status == 204, "{text}");

    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let joined = std::time::Instant::now();
    let (status, user, text) = l
        .admin(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "joiner@example.com", "active": true,
                        enterprise: {"department": "Sales"}})),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    let uid = user["id"].as_str().unwrap().to_owned();
    let created = l
        .until_target("joiner@example.com", |u| {
            u.is_some_and(|(_, active)| *active)
        })
        .await;
    let joiner_ms = joined.elapsed().as_millis();

    // An out-of-scope user is not provisioned.
    l.admin(
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"userName": "other@example.com", enterprise: {"department": "Legal"}})),
    )
    .await;

    let moved = std::time::Instant::now();
    let (status, _, text) = l
        .admin(
            Method::PATCH,
            &format!("/scim/v2/Users/{uid}"),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": format!("{enterprise}:department"),
                                        "value": "Legal"}]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    l.until_target("joiner@example.com", |u| {
        u.is_some_and(|(_, active)| !*active)
    })
    .await;
    let mover_ms = moved.elapsed().as_millis();
    eprintln!("dynamic group → app: joiner {joiner_ms} ms (seen after {created:?}), mover out {mover_ms} ms");
    assert!(l.target_user("other@example.com").await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_says_why_a_user_is_in_scope_and_what_would_be_sent() {
    let l = live().await;
    let (status, _, text) = l
        .admin(Method::POST, "/api/v1/apps", Some(l.app_body("crm")))
        .await;
    assert_eq!(status, 201, "{text}");
    let ada = l.user("ada@example.com").await;

    let (status, why, text) = l
        .admin(
            Method::GET,
            &format!("/api/v1/apps/crm/explain?user={ada}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(why["assigned"], json!(false));
    assert_eq!(
        why["reason"],
        json!("out of scope: not assigned to the app; never provisioned: nothing to send")
    );
    assert_eq!(why["operations"], json!([]));

    l.admin(
        Method::POST,
        "/api/v1/apps/crm/assignments",
        Some(json!({"type": "User", "id": ada})),
    )
    .await;
    let (_, why, _) = l
        .admin(
            Method::GET,
            &format!("/api/v1/apps/crm/explain?user={ada}"),
            None,
        )
        .await;
    assert_eq!(why["assigned"], json!(true));
    assert!(
        why["reason"]
            .as_str()
            .unwrap()
            .starts_with("in scope (assigned"),
        "{why}"
    );
    assert_eq!(why["operations"][0]["action"], json!("create"));
    assert_eq!(
        why["operations"][0]["operation"]["request"]["body"]["userName"],
        json!("ada@example.com")
    );
    assert_eq!(why["targetId"], Value::Null);

    // Nothing was sent: the target tenant has no user.
    let (_, list, _) = l
        .send(Method::GET, "/scim/v2/Users", &l.target_token, None)
        .await;
    assert_eq!(list["totalResults"], json!(0));

    let (status, body, _) = l.admin(Method::GET, "/api/v1/apps/crm/explain", None).await;
    assert_eq!(
        (status, body["scimType"].clone()),
        (400, json!("invalidValue"))
    );
    let (status, _, _) = l
        .admin(Method::GET, "/api/v1/apps/crm/explain?user=nobody", None)
        .await;
    assert_eq!(status, 404);
}
