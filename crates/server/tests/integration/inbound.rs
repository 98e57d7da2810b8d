//! API-driven inbound provisioning (spec §5): `POST /api/v1/inbound/bulkUpload` → 202 with the
//! `Location` of a status resource; the processor is stepped by hand (`Inbound::step`).

use std::sync::Arc;

use axum::http::Method;
use domain::{Clock, Scope};
use inbound::{Inbound, InboundConfig, SourceSpec, Sources};
use serde_json::{json, Value};
use server::inbound::RateLimit;
use server::{app, AppState, ServerConfig};

use crate::harness::*;

const UPLOAD: &str = "/api/v1/inbound/bulkUpload";

struct World {
    h: Harness,
    processor: Inbound,
}

async fn world_with(limit: RateLimit, config: InboundConfig, named: Vec<SourceSpec>) -> World {
    let mut h = Harness::new().await;
    let sources = Sources::new(named.iter().map(|s| s.check().unwrap()).collect());
    let clock: Arc<dyn Clock> = h.clock.clone();
    let processor = Inbound::new(h.store.clone(), clock.clone(), sources, config)
        .await
        .unwrap();
    let state = AppState::new(
        h.store.clone(),
        clock,
        ServerConfig {
            token_cache_ttl: std::time::Duration::ZERO,
            ..ServerConfig::default()
        },
    )
    .with_inbound(processor.clone(), limit);
    h.router = app(state);
    World { h, processor }
}

async fn world() -> World {
    world_with(RateLimit::default(), InboundConfig::default(), vec![]).await
}

/// The request of spec §5 ("Request shape [doc BULK]"), exactly as documented.
const SPEC5: &str = r#"{ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
  "Operations": [
    { "method": "POST", "bulkId": "701984", "path": "/Users",
      "data": { "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "701984", "userName": "bjensen@example.com",
                "name": {"formatted": "...", "familyName": "Jensen", "givenName": "Barbara",
                         "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
                "displayName": "Babs Jensen", "nickName": "Babs",
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                "addresses": [{"type": "work", "streetAddress": "...", "locality": "Hollywood",
                               "region": "CA", "postalCode": "91608", "country": "USA",
                               "formatted": "...", "primary": true}],
                "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
                "userType": "Employee", "title": "Tour Guide", "preferredLanguage": "en-US",
                "locale": "en-US", "timezone": "America/Los_Angeles", "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                    "division": "Theme Park", "department": "Tour Operations",
                    "manager": {"value": "89607", "displayName": "John Smith"} } } } ],
  "failOnErrors": null }"#;

fn bulk(ops: Vec<Value>) -> Value {
    json!({"schemas": [BULK_REQUEST_URN], "Operations": ops})
}

fn op(bulk_id: &str, data: Value) -> Value {
    json!({"method": "POST", "bulkId": bulk_id, "path": "/Users", "data": data})
}

impl World {
    async fn upload(&self, body: Value) -> Resp {
        self.h.req(Method::POST, UPLOAD).json(body).send().await
    }

    async fn process(&self) {
        while self.processor.step().await.unwrap() > 0 {}
    }

    /// Nothing was staged and no user exists: a refused request left no trace.
    async fn assert_untouched(&self) {
        let list = self.h.get("/api/v1/inbound/requests").await;
        list.expect(200);
        assert_eq!(list.json["requests"], json!([]), "{}", list.json);
        let users = self.h.get("/Users").await;
        assert_eq!(users.json["totalResults"], 0);
    }
}

#[tokio::test]
async fn the_spec_section_5_payload_is_accepted_and_its_status_lists_the_outcome() {
    let w = world().await;
    // spec §5: the documented request, sent as documented (application/scim+json).
    let resp = w.h.req(Method::POST, UPLOAD).raw(SPEC5).send().await;
    resp.expect(202);
    let location = resp.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("/api/v1/inbound/requests/"),
        "{location}"
    );
    assert_eq!(resp.json["status"], "staged");
    assert_eq!(resp.json["records"], 1);

    let before = w.h.get(&location).await;
    before.expect(200);
    assert_eq!(before.json["status"], "staged");
    assert_eq!(before.json["records"], json!([]));

    w.process().await;
    let status = w.h.get(&location).await;
    status.expect(200);
    assert_eq!(status.json["status"], "completed");
    assert_eq!(status.json["total"], 1);
    assert_eq!(status.json["processed"], 1);
    let record = &status.json["records"][0];
    assert_eq!(record["bulkId"], "701984");
    assert_eq!(record["externalId"], "701984");
    assert_eq!(record["outcome"], "created");
    let id = record["userId"].as_str().unwrap();
    let user = w.h.get(&format!("/Users/{id}")).await;
    user.expect(200);
    assert_eq!(user.json["userName"], "bjensen@example.com");
    assert_eq!(user.json[ENTERPRISE_URN]["employeeNumber"], "701984");
    // The manager (externalId 89607) is not in the directory: noted, not failed.
    assert!(record["error"].as_str().unwrap().contains("89607"));

    let list = w.h.get("/api/v1/inbound/requests").await;
    assert_eq!(list.json["requests"][0]["location"], location.as_str());
}

#[tokio::test]
async fn the_status_resource_lists_each_records_outcome() {
    let w = world().await;
    w.upload(bulk(vec![op(
        "m",
        json!({"externalId": "89607", "userName": "boss@example.com"}),
    )]))
    .await
    .expect(202);
    w.process().await;
    let resp = w
        .upload(bulk(vec![
            op(
                "a",
                json!({"externalId": "1", "userName": "a@example.com",
                          ENTERPRISE_URN: {"manager": {"value": "89607"}}}),
            ),
            op("b", json!({"externalId": "2"})),
            op("c", json!({"externalId": "89607", "title": "Boss"})),
            op("d", json!({"externalId": "89607", "active": false})),
            op("e", json!({"externalId": "89607", "title": "Boss"})),
        ]))
        .await;
    resp.expect(202);
    w.process().await;
    let status = w.h.get(resp.header("location").unwrap()).await;
    let outcomes: Vec<&str> = status.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["created", "failed", "updated", "disabled", "unchanged"]
    );
    assert_eq!(status.json["records"][1]["bulkId"], "b");
    assert!(status.json["records"][1]["error"]
        .as_str()
        .unwrap()
        .contains("userName"));
    assert_eq!(status.json["outcomes"]["failed"], 1);
    // The manager was resolved from its externalId to its directory id.
    let boss = status.json["records"][2]["userId"].as_str().unwrap();
    let a = status.json["records"][0]["userId"].as_str().unwrap();
    let user = w.h.get(&format!("/Users/{a}")).await;
    assert_eq!(user.json[ENTERPRISE_URN]["manager"]["value"], boss);
}

#[tokio::test]
async fn a_wrong_or_missing_content_type_is_a_400() {
    let w = world().await;
    let body = serde_json::to_vec(&bulk(vec![op("1", json!({"externalId": "1"}))])).unwrap();
    w.h.req(Method::POST, UPLOAD)
        .header("content-type", "application/json")
        .raw(body.clone())
        .send()
        .await
        .expect_error(
            400,
            Some("invalidSyntax"),
            &["application/scim+json", "application/json"],
        );
    w.h.req(Method::POST, UPLOAD)
        .header("content-type", "text/plain")
        .raw(body)
        .send()
        .await
        .expect_error(400, Some("invalidSyntax"), &["application/scim+json"]);
    w.assert_untouched().await;
}

#[tokio::test]
async fn more_operations_than_the_limit_is_a_400() {
    let w = world().await;
    let ops = (0..51)
        .map(|i| {
            op(
                &i.to_string(),
                json!({"externalId": i.to_string(), "userName": format!("u{i}")}),
            )
        })
        .collect();
    w.upload(bulk(ops))
        .await
        .expect_error(400, Some("tooMany"), &["51 operations", "at most 50"]);
    w.assert_untouched().await;
}

#[tokio::test]
async fn invalid_json_is_a_400() {
    let w = world().await;
    w.h.req(Method::POST, UPLOAD)
        .raw(r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [}"#)
        .send()
        .await
        .expect_error(400, Some("invalidSyntax"), &["not valid JSON", "line 1"]);
    w.assert_untouched().await;
}

#[tokio::test]
async fn an_unknown_schema_is_a_400() {
    let w = world().await;
    w.upload(json!({"schemas": ["urn:example:Bulk"], "Operations": [op("1", json!({"externalId": "1"}))]}))
        .await
        .expect_error(400, Some("invalidValue"), &["unknown schema", "urn:example:Bulk"]);
    let data = json!({"schemas": ["urn:contoso:employee"], "externalId": "1", "userName": "x"});
    w.upload(bulk(vec![op("b1", data)])).await.expect_error(
        400,
        Some("invalidValue"),
        &["operation 0", "b1", "urn:contoso:employee"],
    );
    w.assert_untouched().await;
}

#[tokio::test]
async fn a_wrong_method_or_path_in_an_operation_is_a_400_and_nothing_is_applied() {
    let w = world().await;
    let good = op(
        "ok",
        json!({"externalId": "1", "userName": "one@example.com"}),
    );
    let mut patch = op("p", json!({"externalId": "2"}));
    patch["method"] = json!("PATCH");
    w.upload(bulk(vec![good.clone(), patch]))
        .await
        .expect_error(
            400,
            Some("invalidValue"),
            &["operation 1", "bulkId `p`", "method `PATCH`"],
        );
    let mut groups = op("g", json!({"externalId": "3"}));
    groups["path"] = json!("/Groups");
    w.upload(bulk(vec![good, groups])).await.expect_error(
        400,
        Some("invalidValue"),
        &["operation 1", "path `/Groups`"],
    );
    w.process().await;
    w.assert_untouched().await;
}

#[tokio::test]
async fn over_the_rate_limit_is_a_429_with_retry_after() {
    let limit = RateLimit {
        requests: 2,
        window: std::time::Duration::from_secs(60),
    };
    let w = world_with(
        limit,
        InboundConfig::default(),
        vec![SourceSpec::named("hr")],
    )
    .await;
    let body = || {
        bulk(vec![op(
            "1",
            json!({"externalId": "1", "userName": "one@example.com"}),
        )])
    };
    w.upload(body()).await.expect(202);
    w.upload(body()).await.expect(202);
    let refused = w.upload(body()).await;
    refused.expect_error(429, None, &["more than 2"]);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Per source: another source has its own window.
    w.h.req(Method::POST, "/api/v1/inbound/hr/bulkUpload")
        .json(body())
        .send()
        .await
        .expect(202);
}

#[tokio::test]
async fn too_many_waiting_records_is_a_429() {
    let config = InboundConfig {
        max_backlog: 2,
        ..InboundConfig::default()
    };
    let w = world_with(RateLimit::default(), config, vec![]).await;
    let two = bulk(vec![
        op(
            "1",
            json!({"externalId": "1", "userName": "one@example.com"}),
        ),
        op(
            "2",
            json!({"externalId": "2", "userName": "two@example.com"}),
        ),
    ]);
    w.upload(two.clone()).await.expect(202);
    let refused = w.upload(two.clone()).await;
    refused.expect_error(429, None, &["waiting"]);
    assert!(refused.header("retry-after").is_some());
    w.process().await;
    w.upload(two).await.expect(202);
}

#[tokio::test]
async fn uploads_need_scim_write_and_a_configured_source() {
    let w = world().await;
    let body = bulk(vec![op(
        "1",
        json!({"externalId": "1", "userName": "one@example.com"}),
    )]);
    let reader =
        w.h.token_for(&w.h.tenant.id, &[Scope::ScimRead], None)
            .await;
    w.h.req(Method::POST, UPLOAD)
        .token(&reader)
        .json(body.clone())
        .send()
        .await
        .expect(403);
    let writer =
        w.h.token_for(&w.h.tenant.id, &[Scope::ScimWrite], None)
            .await;
    let accepted =
        w.h.req(Method::POST, UPLOAD)
            .token(&writer)
            .json(body.clone())
            .send()
            .await;
    accepted.expect(202);
    // A write-only token reads the status of what it sent.
    w.h.req(Method::GET, accepted.header("location").unwrap())
        .token(&writer)
        .send()
        .await
        .expect(200);
    w.h.req(Method::POST, "/api/v1/inbound/nosuch/bulkUpload")
        .json(body.clone())
        .send()
        .await
        .expect_error(404, None, &["nosuch"]);
    w.h.req(Method::POST, UPLOAD)
        .no_token()
        .json(body)
        .send()
        .await
        .expect(401);
    // Another tenant does not see this tenant's requests.
    let other = w.h.new_tenant_token("other", &Scope::ALL).await;
    w.h.req(Method::GET, accepted.header("location").unwrap())
        .token(&other)
        .send()
        .await
        .expect(404);
}

#[tokio::test]
async fn every_record_is_in_the_sources_provisioning_log() {
    let w = world().await;
    let resp = w
        .upload(bulk(vec![
            op("a", json!({"externalId": "1", "userName": "a@example.com"})),
            op("b", json!({"externalId": "2"})),
        ]))
        .await;
    resp.expect(202);
    w.process().await;
    let logs = w.h.get("/api/v1/inbound/default/logs").await;
    logs.expect(200);
    let entries = logs.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", logs.json);
    let request = resp.json["id"].as_str().unwrap();
    assert!(entries.iter().all(|e| e["requestId"] == request));
    let failed = w.h.get("/api/v1/inbound/default/logs?status=failure").await;
    let failed = failed.json["entries"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["bulkId"], "b");
    assert!(failed[0]["reason"].as_str().unwrap().contains("userName"));
    let created = entries.iter().find(|e| e["bulkId"] == "a").unwrap();
    assert_eq!(created["action"], "create");
    assert_eq!(created["outcome"], "created");
    assert!(created["userId"].is_string());
    w.h.get("/api/v1/inbound/default/logs?status=nope")
        .await
        .expect_error(400, Some("invalidValue"), &["status"]);
}

#[tokio::test]
async fn the_sources_are_listed_with_their_settings() {
    let mut hr = SourceSpec::named("hr");
    hr.time_zone = "Europe/Paris".into();
    let w = world_with(RateLimit::default(), InboundConfig::default(), vec![hr]).await;
    let resp = w.h.get("/api/v1/inbound/sources").await;
    resp.expect(200);
    let sources = resp.json["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{}", resp.json);
    assert_eq!(sources[0]["name"], "default");
    assert_eq!(sources[0]["bulkUpload"], "/api/v1/inbound/bulkUpload");
    assert_eq!(
        sources[0]["matching"]["directory"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
    );
    assert_eq!(sources[0]["max_operations"], 50);
    assert_eq!(sources[1]["name"], "hr");
    assert_eq!(sources[1]["time_zone"], "Europe/Paris");
    assert_eq!(sources[1]["bulkUpload"], "/api/v1/inbound/hr/bulkUpload");
}
