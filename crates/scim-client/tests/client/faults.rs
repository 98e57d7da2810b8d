//! Fault injection: tiny axum servers that answer what a misbehaving target would. Attempts are
//! counted by the server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use axum::Router;
use domain::target::{Target, TargetErrorKind};
use domain::ResourceKind;
use scim_client::{Credentials, ScimClient};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::{client, config};

#[derive(Default)]
struct Counters {
    hits: AtomicUsize,
    tokens: AtomicUsize,
}

type Shared = Arc<Counters>;

fn hit(state: &Shared) -> usize {
    state.hits.fetch_add(1, Ordering::SeqCst) + 1
}

/// Serves `router` on 127.0.0.1:0 and returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/scim/v2")
}

fn scim(status: StatusCode, body: Value) -> axum::response::Response {
    (
        status,
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn created() -> axum::response::Response {
    scim(StatusCode::CREATED, json!({"id": "u1", "userName": "x"}))
}

fn new_user() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"})
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>| async move {
                if hit(&s) == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "slow down",
                    )
                        .into_response()
                } else {
                    created()
                }
            }),
        )
        .with_state(state.clone());
    let c = client(&serve(router).await);
    let start = Instant::now();
    let made = c.create(ResourceKind::User, &new_user()).await.unwrap();
    assert_eq!(made.id, "u1");
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn retry_after_beyond_max_delay_is_returned_not_waited() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>| async move {
                hit(&s);
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3600")], "").into_response()
            }),
        )
        .with_state(state.clone());
    let c = client(&serve(router).await);
    let err = c.create(ResourceKind::User, &new_user()).await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::TooManyRequests);
    assert_eq!(err.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(state.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            any(|State(s): State<Shared>| async move {
                if hit(&s) <= 2 {
                    scim(StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "boom"}))
                } else {
                    scim(StatusCode::OK, json!({"id": "u1"}))
                }
            }),
        )
        .with_state(state.clone());
    let c = client(&serve(router).await);
    let got = c.get(ResourceKind::User, "u1").await.unwrap().unwrap();
    assert_eq!(got.id, "u1");
    assert_eq!(state.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn server_errors_give_up_after_max_attempts() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            any(|State(s): State<Shared>| async move {
                hit(&s);
                StatusCode::BAD_GATEWAY
            }),
        )
        .with_state(state.clone());
    let c = client(&serve(router).await);
    let err = c.delete(ResourceKind::User, "u1").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::ServerError);
    assert_eq!(err.status, Some(502));
    assert_eq!(state.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn bad_request_and_conflict_are_not_retried() {
    for (status, kind) in [
        (StatusCode::BAD_REQUEST, TargetErrorKind::BadRequest),
        (StatusCode::CONFLICT, TargetErrorKind::Conflict),
        (StatusCode::FORBIDDEN, TargetErrorKind::Forbidden),
    ] {
        let state = Shared::default();
        let router = Router::new()
            .route(
                "/scim/v2/Users",
                post(move |State(s): State<Shared>| async move {
                    hit(&s);
                    scim(
                        status,
                        json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                            "status": status.as_u16().to_string(),
                            "scimType": "uniqueness",
                            "detail": "userName x is taken",
                        }),
                    )
                }),
            )
            .with_state(state.clone());
        let c = client(&serve(router).await);
        let err = c.create(ResourceKind::User, &new_user()).await.unwrap_err();
        assert_eq!(err.kind, kind);
        assert_eq!(err.status, Some(status.as_u16()));
        assert!(
            err.message.contains("userName x is taken"),
            "{}",
            err.message
        );
        assert_eq!(state.hits.load(Ordering::SeqCst), 1, "{status}");
    }
}

#[tokio::test]
async fn oauth_token_is_refreshed_once_on_401() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/token",
            post(|State(s): State<Shared>, body: String| async move {
                assert!(body.contains("grant_type=client_credentials"), "{body}");
                assert!(body.contains("client_secret=hunter2"), "{body}");
                let n = s.tokens.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(json!({"access_token": format!("tok{n}"), "token_type": "Bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>, headers: HeaderMap| async move {
                hit(&s);
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth == Some("Bearer tok2") {
                    created()
                } else {
                    scim(StatusCode::UNAUTHORIZED, json!({"detail": "token revoked"}))
                }
            }),
        )
        .with_state(state.clone());
    let base = serve(router).await;
    let token_url = base.replace("/scim/v2", "/token");
    let c = ScimClient::new(config(
        &base,
        Credentials::OAuthClientCredentials {
            token_url,
            client_id: "app".into(),
            client_secret: "hunter2".into(),
            scope: Some("scim".into()),
        },
    ))
    .unwrap();
    c.create(ResourceKind::User, &new_user()).await.unwrap();
    assert_eq!(state.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
    // The refreshed token is cached.
    c.create(ResourceKind::User, &new_user()).await.unwrap();
    assert_eq!(state.tokens.load(Ordering::SeqCst), 2);
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[tokio::test]
async fn persistent_401_is_unauthorized_after_one_refresh() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/token",
            post(|State(s): State<Shared>| async move {
                s.tokens.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"access_token": "tok", "expires_in": 3600}))
            }),
        )
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>| async move {
                hit(&s);
                StatusCode::UNAUTHORIZED
            }),
        )
        .with_state(state.clone());
    let base = serve(router).await;
    let c = ScimClient::new(config(
        &base,
        Credentials::OAuthClientCredentials {
            token_url: base.replace("/scim/v2", "/token"),
            client_id: "app".into(),
            client_secret: "hunter2".into(),
            scope: None,
        },
    ))
    .unwrap();
    let err = c.create(ResourceKind::User, &new_user()).await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Unauthorized);
    assert!(
        !err.message.contains("hunter2") && !err.message.contains("tok"),
        "{}",
        err.message
    );
    assert_eq!(state.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_target_that_never_answers_times_out() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            any(|State(s): State<Shared>| async move {
                hit(&s);
                std::future::pending::<()>().await;
            }),
        )
        .with_state(state.clone());
    let mut cfg = config(&serve(router).await, Credentials::None);
    cfg.request_timeout = Duration::from_millis(200);
    cfg.retry.max_attempts = 2;
    let c = ScimClient::new(cfg).unwrap();
    let start = Instant::now();
    let err = c.get(ResourceKind::User, "u1").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Timeout, "{err}");
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn a_dropped_connection_is_a_connection_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    let mut cfg = config(&format!("http://{addr}/scim/v2"), Credentials::None);
    cfg.retry.max_attempts = 2;
    let c = ScimClient::new(cfg).unwrap();
    let err = c.get(ResourceKind::User, "u1").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Connection, "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    // Nothing listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = client(&format!("http://{closed}/scim/v2"));
    let err = c.get(ResourceKind::User, "u1").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn unparsable_answers_are_incompatible() {
    let router = Router::new()
        .route(
            "/scim/v2/Users/text",
            any(|| async { (StatusCode::OK, "hello") }),
        )
        .route(
            "/scim/v2/Users/noid",
            any(|| async { scim(StatusCode::OK, json!({"userName": "x"})) }),
        )
        .route(
            "/scim/v2/Groups",
            any(|| async { scim(StatusCode::OK, json!({"totalResults": 1})) }),
        )
        .route(
            "/scim/v2/Users",
            any(|uri: Uri| async move {
                if uri.query().unwrap_or("").contains("paged") {
                    scim(
                        StatusCode::OK,
                        json!({"totalResults": 2, "itemsPerPage": 1, "Resources": [{"id": "a"}]}),
                    )
                } else {
                    scim(StatusCode::OK, json!({"totalResults": 0}))
                }
            }),
        );
    let c = client(&serve(router).await);
    let err = c.get(ResourceKind::User, "text").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Incompatible);
    assert!(err.message.contains("not JSON"), "{}", err.message);
    let err = c.get(ResourceKind::User, "noid").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Incompatible);
    assert!(err.message.contains("no id"), "{}", err.message);
    let err = c
        .find(ResourceKind::Group, "displayName", "g")
        .await
        .unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Incompatible);
    assert!(err.message.contains("no Resources"), "{}", err.message);
    // Two matches served one per page are still two.
    let err = c
        .find(ResourceKind::User, "userName", "paged")
        .await
        .unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::DuplicateTargetEntries, "{err}");
    // An empty ListResponse may omit Resources.
    assert!(c
        .find(ResourceKind::User, "userName", "x")
        .await
        .unwrap()
        .is_empty());
}

/// What the client puts on the wire: headers, filter encoding, the PatchOp envelope; 204 PATCH.
#[tokio::test]
async fn requests_have_the_scim_shape() {
    type Seen = Arc<Mutex<Vec<(Method, String, HeaderMap, Bytes)>>>;
    let seen = Seen::default();
    let router = Router::new()
        .fallback(
            |State(seen): State<Seen>,
             method: Method,
             uri: Uri,
             headers: HeaderMap,
             body: Bytes| async move {
                let is_patch = method == Method::PATCH;
                seen.lock()
                    .unwrap()
                    .push((method, uri.to_string(), headers, body));
                if is_patch {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    scim(
                        StatusCode::OK,
                        json!({"totalResults": 2, "Resources": [{"id": "a"}, {"id": "b"}]}),
                    )
                }
            },
        )
        .with_state(seen.clone());
    let c = client(&serve(router).await);
    let found = c
        .find(ResourceKind::User, "userName", r#"a "b""#)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "several matches are returned, not an error");
    c.find(ResourceKind::Group, "displayName", "g")
        .await
        .unwrap();
    c.patch(
        ResourceKind::User,
        "a",
        &[json!({"op": "replace", "path": "active", "value": false})],
    )
    .await
    .unwrap();

    let seen = seen.lock().unwrap();
    let (method, uri, headers, _) = &seen[0];
    assert_eq!(method, Method::GET);
    let query = uri.split_once('?').unwrap().1;
    let filter: Vec<(String, String)> = url_pairs(query);
    assert_eq!(
        filter,
        vec![("filter".to_owned(), r#"userName eq "a \"b\"""#.to_owned())]
    );
    assert_eq!(headers["accept"], "application/scim+json, application/json");

    let (_, uri, _, _) = &seen[1];
    assert!(uri.contains("excludedAttributes=members"), "{uri}");

    let (method, uri, headers, body) = &seen[2];
    assert_eq!(method, Method::PATCH);
    assert_eq!(uri, "/scim/v2/Users/a");
    assert_eq!(headers["content-type"], "application/scim+json");
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}],
        })
    );
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn refused_client_credentials_are_unauthorized_without_the_secret() {
    let router = Router::new().route(
        "/token",
        post(|| async {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_client"})),
            )
        }),
    );
    let base = serve(router).await;
    let c = ScimClient::new(config(
        &base,
        Credentials::OAuthClientCredentials {
            token_url: base.replace("/scim/v2", "/token"),
            client_id: "app".into(),
            client_secret: "hunter2".into(),
            scope: None,
        },
    ))
    .unwrap();
    let err = c.get(ResourceKind::User, "u1").await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Unauthorized);
    assert!(err.message.contains("invalid_client"), "{}", err.message);
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn concurrency_is_capped() {
    #[derive(Default)]
    struct Load {
        now: AtomicUsize,
        max: AtomicUsize,
    }
    let load = Arc::new(Load::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            any(|State(l): State<Arc<Load>>| async move {
                let now = l.now.fetch_add(1, Ordering::SeqCst) + 1;
                l.max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                l.now.fetch_sub(1, Ordering::SeqCst);
                scim(StatusCode::OK, json!({"id": "u"}))
            }),
        )
        .with_state(load.clone());
    let mut cfg = config(&serve(router).await, Credentials::None);
    cfg.max_concurrent_requests = 2;
    let c = Arc::new(ScimClient::new(cfg).unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get(ResourceKind::User, &format!("u{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(load.max.load(Ordering::SeqCst), 2);
}

/// A POST that may have been processed is not repeated (a retry could create a duplicate).
#[tokio::test]
async fn create_is_not_retried_after_a_server_error_or_timeout() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>| async move {
                hit(&s);
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .route(
            "/scim/v2/Groups",
            post(|State(s): State<Shared>| async move {
                hit(&s);
                std::future::pending::<()>().await;
            }),
        )
        .with_state(state.clone());
    let mut cfg = config(&serve(router).await, Credentials::None);
    cfg.request_timeout = Duration::from_millis(200);
    let c = ScimClient::new(cfg).unwrap();
    let err = c.create(ResourceKind::User, &new_user()).await.unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::ServerError);
    assert_eq!(state.hits.load(Ordering::SeqCst), 1);
    let err = c
        .create(ResourceKind::Group, &json!({"displayName": "g"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind, TargetErrorKind::Timeout);
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn create_is_retried_after_503() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            post(|State(s): State<Shared>| async move {
                if hit(&s) == 1 {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    created()
                }
            }),
        )
        .with_state(state.clone());
    let c = client(&serve(router).await);
    c.create(ResourceKind::User, &new_user()).await.unwrap();
    assert_eq!(state.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oauth_token_is_refreshed_before_it_expires() {
    let state = Shared::default();
    let router = Router::new()
        .route(
            "/token",
            post(|State(s): State<Shared>| async move {
                let n = s.tokens.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(json!({"access_token": format!("tok{n}"), "expires_in": 2}))
            }),
        )
        .route(
            "/scim/v2/Users/{id}",
            any(|headers: HeaderMap| async move {
                let auth = headers["authorization"].to_str().unwrap().to_owned();
                scim(StatusCode::OK, json!({"id": "u1", "seenToken": auth}))
            }),
        )
        .with_state(state.clone());
    let base = serve(router).await;
    let c: Arc<dyn Target> = Arc::new(
        ScimClient::new(config(
            &base,
            Credentials::OAuthClientCredentials {
                token_url: base.replace("/scim/v2", "/token"),
                client_id: "app".into(),
                client_secret: "hunter2".into(),
                scope: None,
            },
        ))
        .unwrap(),
    );
    let first = c.get(ResourceKind::User, "u1").await.unwrap().unwrap();
    assert_eq!(first.body["seenToken"], "Bearer tok1");
    // A 2 s token is refreshed at half its life, before the target could refuse it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = c.get(ResourceKind::User, "u1").await.unwrap().unwrap();
    assert_ne!(later.body["seenToken"], "Bearer tok1");
    assert!(state.tokens.load(Ordering::SeqCst) >= 2);
}
