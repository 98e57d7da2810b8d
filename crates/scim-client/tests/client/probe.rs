//! The connection test (`Target::probe`): against the real peer, against a small in-memory SCIM
//! target that injects one fault at a time, and against a port nobody listens on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use domain::target::Target;
use scim_client::{Credentials, ScimClient};
use scim_proto::probe::{BulkSupport, Cleanup, FilterSupport, ProbeReport, StepName, Supports};
use serde_json::{json, Value};

use crate::config;
use crate::peer::start_peer_with;

const ALL_STEPS: [StepName; 7] = [
    StepName::ServiceProviderConfig,
    StepName::ResourceTypes,
    StepName::Schemas,
    StepName::CreateUser,
    StepName::ReadUser,
    StepName::FilterUsers,
    StepName::DeleteUser,
];

fn names(report: &ProbeReport) -> Vec<StepName> {
    report.steps.iter().map(|s| s.name).collect()
}

fn step(report: &ProbeReport, name: StepName) -> &scim_proto::probe::ProbeStep {
    report
        .steps
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#?}"))
}

fn assert_probe_user_name(report: &ProbeReport) {
    let hex = report
        .user_name
        .strip_prefix("scimitar-probe-")
        .and_then(|rest| rest.strip_suffix("@probe.invalid"))
        .unwrap_or_else(|| panic!("userName {}", report.user_name));
    assert!(
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        report.user_name
    );
}

#[tokio::test]
async fn against_scim2_server_every_step_passes_and_nothing_is_left() {
    let peer = start_peer_with(&["--bearer-token", "s3cret-token"]).await;
    let client = ScimClient::new(config(
        &peer.base,
        Credentials::Bearer("s3cret-token".into()),
    ))
    .unwrap();
    let report = client.probe().await;

    assert!(report.ok, "{report:#?}");
    assert_eq!(names(&report), ALL_STEPS);
    let statuses: Vec<Option<u16>> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 201, 200, 200, 204].map(Some),
        "{report:#?}"
    );
    assert!(report.steps.iter().all(|s| s.ok && s.message.is_none()));
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert_probe_user_name(&report);
    let id = report.user_id.clone().unwrap();
    assert_eq!(
        step(&report, StepName::ReadUser).path,
        format!("/Users/{id}")
    );
    assert_eq!(
        step(&report, StepName::FilterUsers).path,
        format!("/Users?filter=userName eq \"{}\"", report.user_name)
    );

    // What scim2-server 0.8.3 advertises when it requires a bearer token.
    assert_eq!(
        report.supports,
        Supports {
            patch: Some(true),
            bulk: Some(BulkSupport {
                supported: true,
                max_operations: Some(1000),
                max_payload_size: Some(1_048_576),
            }),
            filter: Some(FilterSupport {
                supported: true,
                max_results: Some(1000),
            }),
            sort: Some(true),
            etag: Some(true),
            change_password: Some(true),
            authentication_schemes: Some(vec!["bearer_token".into()]),
            resource_types: Some(vec!["User".into(), "Group".into()]),
            schemas: Some(vec![
                "urn:ietf:params:scim:schemas:core:2.0:User".into(),
                "urn:ietf:params:scim:schemas:core:2.0:Group".into(),
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
            ]),
        }
    );

    // The target holds no user at all afterwards (it started empty).
    let users: Value = reqwest::Client::new()
        .get(format!("{}/Users", peer.base))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["totalResults"], json!(0), "{users}");

    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("s3cret-token"), "{text}");
}

#[tokio::test]
async fn refused_credentials_fail_the_create_step_and_name_the_cause() {
    let peer = start_peer_with(&["--bearer-token", "s3cret-token"]).await;
    let client = ScimClient::new(config(
        &peer.base,
        Credentials::Bearer("wrong-token".into()),
    ))
    .unwrap();
    let report = client.probe().await;

    assert!(!report.ok);
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::CreateUser);
    assert_eq!(failed.status, Some(401));
    assert!(
        failed.message.as_deref().unwrap().contains("credentials"),
        "{failed:?}"
    );
    // ServiceProviderConfig is public (RFC 7644 §4); the other discovery endpoints need the
    // token here: warnings, and the test went on to the create.
    assert!(step(&report, StepName::ServiceProviderConfig).ok);
    let warned: Vec<(StepName, Option<u16>)> =
        report.warnings().map(|s| (s.name, s.status)).collect();
    assert_eq!(
        warned,
        [
            (StepName::ResourceTypes, Some(401)),
            (StepName::Schemas, Some(401))
        ]
    );
    assert_eq!(report.cleanup, Cleanup::NothingToDelete);
    assert_eq!(report.user_id, None);
    assert_eq!(report.supports.patch, Some(true));
    assert_eq!(report.supports.resource_types, None);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("wrong-token"), "{text}");
}

/// One fault of the fake target; everything else it answers as a small SCIM service.
#[derive(Clone, Default)]
enum Fault {
    #[default]
    None,
    /// `GET /Users?filter=…` answers this status and body.
    Filter(StatusCode, Value),
    /// No discovery endpoint at all (a plain-text 404) and a 500 to the filter.
    NoDiscoveryAndFilter500,
    /// `DELETE` always answers 500.
    Delete500,
    /// `POST /Users` stores the user, then answers 500.
    CreateThen500,
    /// `GET /Users?filter=…` ignores the filter and lists every user.
    FilterIgnored,
    /// `POST /Users` answers 400 quoting the request's `Authorization` header.
    EchoAuthorization,
}

#[derive(Default)]
struct Fake {
    fault: Fault,
    users: Mutex<HashMap<String, Value>>,
    next: Mutex<u32>,
}

type Shared = Arc<Fake>;

fn scim(status: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/scim+json")
        .body(body.to_string().into())
        .unwrap()
}

fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim(status, body)
}

fn no_discovery(fake: &Fake) -> bool {
    matches!(fake.fault, Fault::NoDiscoveryAndFilter500)
}

fn plain_404() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body("Not Found".into())
        .unwrap()
}

async fn service_provider_config(State(fake): State<Shared>) -> Response {
    if no_discovery(&fake) {
        return plain_404();
    }
    scim(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 50},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token"}],
        }),
    )
}

async fn resource_types(State(fake): State<Shared>) -> Response {
    if no_discovery(&fake) {
        return plain_404();
    }
    scim(
        StatusCode::OK,
        json!({"totalResults": 1, "Resources": [{"id": "User", "name": "User"}]}),
    )
}

async fn schemas(State(fake): State<Shared>) -> Response {
    if no_discovery(&fake) {
        return plain_404();
    }
    scim(
        StatusCode::OK,
        json!({"totalResults": 1,
               "Resources": [{"id": "urn:ietf:params:scim:schemas:core:2.0:User"}]}),
    )
}

async fn create(State(fake): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if matches!(fake.fault, Fault::EchoAuthorization) {
        let header = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            &format!("refused the request with `Authorization: {header}`"),
        );
    }
    let mut user: Value = serde_json::from_str(&body).unwrap();
    let id = {
        let mut next = fake.next.lock().unwrap();
        *next += 1;
        format!("u{next}")
    };
    user["id"] = json!(id);
    fake.users.lock().unwrap().insert(id, user.clone());
    if matches!(fake.fault, Fault::CreateThen500) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, None, "database timeout");
    }
    scim(StatusCode::CREATED, user)
}

async fn search(
    State(fake): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match &fake.fault {
        Fault::Filter(status, body) => return scim(*status, body.clone()),
        Fault::NoDiscoveryAndFilter500 => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "search backend unavailable",
            )
        }
        _ => {}
    }
    let users = fake.users.lock().unwrap();
    let wanted = params
        .get("filter")
        .and_then(|f| f.strip_prefix("userName eq "))
        .and_then(|v| serde_json::from_str::<String>(v).ok());
    let hits: Vec<Value> = users
        .values()
        .filter(|u| {
            matches!(fake.fault, Fault::FilterIgnored)
                || wanted.as_deref().is_some_and(|w| u["userName"] == json!(w))
        })
        .cloned()
        .collect();
    scim(
        StatusCode::OK,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": hits.len(), "Resources": hits}),
    )
}

async fn read(State(fake): State<Shared>, Path(id): Path<String>) -> Response {
    match fake.users.lock().unwrap().get(&id) {
        Some(u) => scim(StatusCode::OK, u.clone()),
        None => error(StatusCode::NOT_FOUND, None, "no such user"),
    }
}

async fn remove(State(fake): State<Shared>, Path(id): Path<String>) -> Response {
    if matches!(fake.fault, Fault::Delete500) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "deletes are broken",
        );
    }
    match fake.users.lock().unwrap().remove(&id) {
        Some(_) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(axum::body::Body::empty())
            .unwrap(),
        None => error(StatusCode::NOT_FOUND, None, "no such user"),
    }
}

/// Starts a fake target with `fault`; its base URL and its state.
async fn fake(fault: Fault) -> (String, Shared) {
    let state = Arc::new(Fake {
        fault,
        ..Fake::default()
    });
    let router = Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Users", get(search).post(create))
        .route("/scim/v2/Users/{id}", get(read).delete(remove))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/scim/v2"), state)
}

async fn probe(base: &str) -> ProbeReport {
    ScimClient::new(config(base, Credentials::None))
        .unwrap()
        .probe()
        .await
}

#[tokio::test]
async fn the_fake_target_without_faults_passes() {
    let (base, fake) = fake(Fault::None).await;
    let report = probe(&base).await;
    assert!(report.ok, "{report:#?}");
    assert_eq!(names(&report), ALL_STEPS);
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert!(fake.users.lock().unwrap().is_empty());
    // "Not supported" is false, not unknown.
    let s = &report.supports;
    assert_eq!(
        s.bulk,
        Some(BulkSupport {
            supported: false,
            max_operations: Some(0),
            max_payload_size: Some(0)
        })
    );
    assert_eq!(
        s.filter,
        Some(FilterSupport {
            supported: true,
            max_results: Some(50)
        })
    );
    assert_eq!(
        (s.sort, s.etag, s.change_password),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(
        s.authentication_schemes,
        Some(vec!["OAuth Bearer Token".into()])
    );
}

#[tokio::test]
async fn a_500_to_the_filter_and_no_discovery_name_the_step_and_still_delete_the_user() {
    let (base, fake) = fake(Fault::NoDiscoveryAndFilter500).await;
    let report = probe(&base).await;

    assert!(!report.ok);
    assert_eq!(
        names(&report),
        ALL_STEPS,
        "the probe goes on after each failure"
    );
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::FilterUsers);
    assert_eq!(failed.status, Some(500));
    assert_eq!(
        failed.message.as_deref(),
        Some("HTTP 500: search backend unavailable")
    );

    // Missing discovery: warnings, and capabilities unknown rather than false.
    let spc = step(&report, StepName::ServiceProviderConfig);
    assert!(!spc.ok && !spc.required);
    assert_eq!(spc.status, Some(404));
    assert!(
        spc.message
            .as_deref()
            .unwrap()
            .contains("does not implement this discovery endpoint"),
        "{spc:?}"
    );
    assert_eq!(report.warnings().count(), 3);
    assert_eq!(report.supports, Supports::default());

    assert!(step(&report, StepName::ReadUser).ok);
    assert!(step(&report, StepName::DeleteUser).ok);
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert!(
        fake.users.lock().unwrap().is_empty(),
        "the probe user is left"
    );

    // The JSON the admin API returns and the console reads.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], json!(false));
    assert_eq!(json["cleanup"], json!("deleted"));
    assert_eq!(json["userName"], json!(report.user_name));
    assert_eq!(json["supports"]["patch"], Value::Null);
    assert_eq!(json["supports"]["changePassword"], Value::Null);
    let filter = &json["steps"][5];
    assert_eq!(filter["name"], json!("filterUsers"));
    assert_eq!(filter["method"], json!("GET"));
    assert_eq!(filter["status"], json!(500));
    assert_eq!(filter["required"], json!(true));
    assert!(filter["durationMs"].is_u64(), "{filter}");
    let back: ProbeReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[tokio::test]
async fn a_scim_error_to_the_filter_is_reported_with_its_detail_and_scim_type() {
    let (base, fake) = fake(Fault::Filter(
        StatusCode::BAD_REQUEST,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
               "scimType": "invalidFilter", "detail": "userName is not filterable"}),
    ))
    .await;
    let report = probe(&base).await;
    assert!(!report.ok);
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::FilterUsers);
    assert_eq!(
        failed.message.as_deref(),
        Some("HTTP 400: userName is not filterable (scimType invalidFilter)")
    );
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert!(fake.users.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_filter_that_ignores_its_expression_fails_the_filter_step() {
    let (base, fake) = fake(Fault::FilterIgnored).await;
    // Someone else's user, which a filter that matches everything returns too.
    fake.users.lock().unwrap().insert(
        "other".into(),
        json!({"id": "other", "userName": "someone@example.com"}),
    );
    let report = probe(&base).await;
    assert!(!report.ok);
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::FilterUsers);
    assert_eq!(failed.status, Some(200));
    assert!(
        failed.message.as_deref().unwrap().contains("2 users"),
        "{failed:?}"
    );
    assert_eq!(report.cleanup, Cleanup::Deleted);
    let left: Vec<String> = fake.users.lock().unwrap().keys().cloned().collect();
    assert_eq!(left, ["other"], "only the probe's own user is deleted");
}

#[tokio::test]
async fn a_failed_delete_is_reported_as_left_behind() {
    let (base, fake) = fake(Fault::Delete500).await;
    let report = probe(&base).await;
    assert!(!report.ok);
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::DeleteUser);
    assert_eq!(
        failed.message.as_deref(),
        Some("HTTP 500: deletes are broken")
    );
    assert_eq!(report.cleanup, Cleanup::LeftBehind);
    let users = fake.users.lock().unwrap();
    let left = users.get(report.user_id.as_deref().unwrap()).unwrap();
    assert_eq!(left["userName"], json!(report.user_name));
    assert_eq!(left["active"], json!(false));
    assert!(left["displayName"]
        .as_str()
        .unwrap()
        .contains("Scimitar connection test"));
}

#[tokio::test]
async fn a_create_that_answers_500_after_storing_is_found_and_deleted() {
    let (base, fake) = fake(Fault::CreateThen500).await;
    let report = probe(&base).await;
    assert!(!report.ok);
    assert_eq!(
        names(&report)[3..],
        [
            StepName::CreateUser,
            StepName::FindLeftover,
            StepName::DeleteUser
        ]
    );
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::CreateUser);
    assert_eq!(failed.status, Some(500));
    assert_eq!(
        failed.message.as_deref(),
        Some("HTTP 500: database timeout")
    );
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert_eq!(report.user_id.as_deref(), Some("u1"));
    assert!(
        fake.users.lock().unwrap().is_empty(),
        "the probe user is left"
    );
}

#[tokio::test]
async fn an_unreachable_target_names_the_connection_error() {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let report = probe(&format!("http://127.0.0.1:{port}/scim/v2")).await;

    assert!(!report.ok);
    let first = &report.steps[0];
    assert_eq!(first.name, StepName::ServiceProviderConfig);
    assert!(!first.ok);
    assert_eq!(first.status, None);
    let message = first.message.as_deref().unwrap();
    assert!(
        message.contains("could not connect") && message.contains("refused"),
        "{message}"
    );
    // The other discovery requests would fail alike and are not sent; the create is.
    assert_eq!(
        names(&report),
        [StepName::ServiceProviderConfig, StepName::CreateUser]
    );
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::CreateUser);
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .contains("could not connect"),
        "{failed:?}"
    );
    assert_eq!(report.cleanup, Cleanup::NothingToDelete);
}

#[tokio::test]
async fn credentials_a_target_echoes_are_not_in_the_report() {
    let (base, _fake) = fake(Fault::EchoAuthorization).await;
    let report = ScimClient::new(config(
        &base,
        Credentials::Bearer("echoed-secret-token".into()),
    ))
    .unwrap()
    .probe()
    .await;
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, StepName::CreateUser);
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "HTTP 400: refused the request with `Authorization: Bearer <redacted>` \
             (scimType invalidValue)"
        )
    );
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("echoed-secret-token"), "{text}");
}
