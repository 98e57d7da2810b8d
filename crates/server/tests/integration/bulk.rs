//! `/Bulk` (RFC 7644 §3.7): bulkId references (also to operations later in the request),
//! `failOnErrors`, per-operation errors, and the advertised `maxOperations`.

use serde_json::{json, Value};
use server::ServerConfig;

use crate::harness::*;

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST_URN], "Operations": ops})
}

/// The id at the end of an operation result's `location`.
#[track_caller]
fn located_id(op: &Value) -> String {
    let location = op["location"]
        .as_str()
        .unwrap_or_else(|| panic!("no location in {op}"));
    location.rsplit('/').next().unwrap().to_owned()
}

#[track_caller]
fn results(r: &Resp) -> Vec<Value> {
    r.expect(200);
    assert_eq!(r.json["schemas"], json!([BULK_RESPONSE_URN]));
    r.json["Operations"]
        .as_array()
        .unwrap_or_else(|| panic!("no Operations in {}", r.json))
        .clone()
}

#[track_caller]
fn by_bulk_id<'a>(ops: &'a [Value], bulk_id: &str) -> &'a Value {
    ops.iter()
        .find(|o| o["bulkId"] == bulk_id)
        .unwrap_or_else(|| panic!("no result for bulkId {bulk_id}: {ops:?}"))
}

#[tokio::test]
async fn bulk_id_chain_including_a_forward_reference() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "bulkId": "u1", "path": "/Users",
                 "data": {"schemas": [USER_URN], "userName": "bulk.one@example.com"}},
                {"method": "POST", "bulkId": "g1", "path": "/Groups",
                 "data": {"schemas": [GROUP_URN], "displayName": "Bulk Group", "members": [{"value": "bulkId:u1"}]}},
                // Refers to u2, which only the NEXT operation creates.
                {"method": "PATCH", "path": "/Groups/bulkId:g1",
                 "data": patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": "bulkId:u2"}]}]))},
                {"method": "POST", "bulkId": "u2", "path": "/Users",
                 "data": {"schemas": [USER_URN], "userName": "bulk.two@example.com",
                          ENTERPRISE_URN: {"manager": {"value": "bulkId:u1"}}}}
            ])),
        )
        .await;
    let ops = results(&r);
    assert_eq!(ops.len(), 4, "{}", r.json);
    let u1 = by_bulk_id(&ops, "u1");
    let g1 = by_bulk_id(&ops, "g1");
    let u2 = by_bulk_id(&ops, "u2");
    assert_eq!(u1["status"], "201", "{u1}");
    assert_eq!(g1["status"], "201", "{g1}");
    assert_eq!(u2["status"], "201", "{u2}");
    for op in [u1, g1, u2] {
        assert_eq!(op["method"], "POST");
        assert!(op["version"].as_str().unwrap().starts_with("W/\""), "{op}");
    }
    let patch = ops.iter().find(|o| o["method"] == "PATCH").unwrap();
    assert_eq!(patch["status"], "200", "{patch}");
    let (u1, g1, u2) = (located_id(u1), located_id(g1), located_id(u2));
    assert!(
        patch["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Groups/{g1}")),
        "{patch}"
    );

    let g = h.get(&format!("/Groups/{g1}")).await;
    g.expect(200);
    let mut members: Vec<&str> = g.json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = vec![u1.as_str(), u2.as_str()];
    want.sort();
    assert_eq!(members, want);
    let u = h.get(&format!("/Users/{u2}")).await;
    assert_eq!(
        u.json[ENTERPRISE_URN]["manager"]["value"],
        u1.as_str(),
        "bulkId inside nested data: {}",
        u.json
    );
}

#[tokio::test]
async fn fail_on_errors_1_stops_after_the_first_error() {
    let h = Harness::new().await;
    h.create_user("taken@example.com").await;
    let r = h
        .post(
            "/Bulk",
            json!({"schemas": [BULK_REQUEST_URN], "failOnErrors": 1, "Operations": [
                {"method": "POST", "bulkId": "a", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "first@example.com"}},
                {"method": "POST", "bulkId": "b", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "taken@example.com"}},
                {"method": "POST", "bulkId": "c", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "never@example.com"}}
            ]}),
        )
        .await;
    let ops = results(&r);
    assert_eq!(
        ops.len(),
        2,
        "processing stops at the first error: {}",
        r.json
    );
    assert_eq!(by_bulk_id(&ops, "a")["status"], "201");
    let b = by_bulk_id(&ops, "b");
    assert_eq!(b["status"], "409");
    assert_scim_error_body(
        &b["response"],
        409,
        Some("uniqueness"),
        &["taken@example.com"],
    );
    let never = h
        .get(&format!(
            "/Users?filter={}",
            form(r#"userName eq "never@example.com""#)
        ))
        .await;
    assert_eq!(
        never.json["totalResults"], 0,
        "the op after the error did not run"
    );
    let first = h
        .get(&format!(
            "/Users?filter={}",
            form(r#"userName eq "first@example.com""#)
        ))
        .await;
    assert_eq!(
        first.json["totalResults"], 1,
        "ops before the error stay done"
    );
}

#[tokio::test]
async fn failing_operation_in_the_middle_is_reported_others_succeed() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "bulkId": "ok1", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "ok1@example.com"}},
                {"method": "POST", "bulkId": "bad", "path": "/Users", "data": {"schemas": [USER_URN], "displayName": "No userName"}},
                {"method": "PATCH", "path": "/Users/missing-id", "data": patch_ops(json!([{"op": "add", "path": "nickName", "value": "x"}]))},
                {"method": "POST", "bulkId": "ok2", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "ok2@example.com"}}
            ])),
        )
        .await;
    let ops = results(&r);
    assert_eq!(ops.len(), 4, "{}", r.json);
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[0]["bulkId"], "ok1");
    assert_eq!(ops[1]["bulkId"], "bad");
    assert_eq!(ops[1]["status"], "400");
    assert_scim_error_body(
        &ops[1]["response"],
        400,
        Some("invalidValue"),
        &["userName"],
    );
    assert_eq!(ops[2]["method"], "PATCH");
    assert_eq!(ops[2]["status"], "404");
    assert_scim_error_body(&ops[2]["response"], 404, None, &["missing-id"]);
    assert_eq!(ops[3]["status"], "201");
    assert_eq!(h.get("/Users").await.json["totalResults"], 2);
}

#[tokio::test]
async fn unknown_bulk_id_reference_fails_that_operation() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "bulkId": "u1", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "u1@example.com"}},
                {"method": "POST", "bulkId": "g1", "path": "/Groups",
                 "data": {"schemas": [GROUP_URN], "displayName": "Dangling", "members": [{"value": "bulkId:nope"}]}}
            ])),
        )
        .await;
    let ops = results(&r);
    assert_eq!(ops.len(), 2, "{}", r.json);
    assert_eq!(by_bulk_id(&ops, "u1")["status"], "201");
    let g1 = by_bulk_id(&ops, "g1");
    assert_eq!(g1["status"], "400", "{g1}");
    assert_scim_error_body(&g1["response"], 400, Some("invalidValue"), &["nope"]);
    assert_eq!(h.get("/Groups").await.json["totalResults"], 0);
}

#[tokio::test]
async fn put_and_delete_operations_and_stale_version() {
    let h = Harness::new().await;
    let a = h.create_user("a@example.com").await;
    let b = h.create_user("b@example.com").await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let stale = a["meta"]["version"].as_str().unwrap().to_owned();
    h.patch(
        &format!("/Users/{a_id}"),
        json!([{"op": "add", "path": "nickName", "value": "moved on"}]),
    )
    .await
    .expect(200);
    let r = h
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "PUT", "path": format!("/Users/{b_id}"), "data": {"schemas": [USER_URN], "userName": "b@example.com", "title": "Put"}},
                {"method": "PATCH", "path": format!("/Users/{a_id}"), "version": stale,
                 "data": patch_ops(json!([{"op": "add", "path": "title", "value": "lost update"}]))},
                {"method": "DELETE", "path": format!("/Users/{b_id}")}
            ])),
        )
        .await;
    let ops = results(&r);
    assert_eq!(ops[0]["status"], "200", "{}", r.json);
    assert_eq!(ops[1]["status"], "412", "{}", r.json);
    assert_scim_error_body(&ops[1]["response"], 412, None, &[]);
    assert_eq!(ops[2]["status"], "204", "{}", r.json);
    assert!(h
        .get(&format!("/Users/{a_id}"))
        .await
        .json
        .get("title")
        .is_none());
    h.get(&format!("/Users/{b_id}")).await.expect(404);
}

#[tokio::test]
async fn over_max_operations_is_413() {
    let h = Harness::with_config(ServerConfig {
        bulk_max_operations: 3,
        ..ServerConfig::default()
    })
    .await;
    let spc = h.get("/ServiceProviderConfig").await;
    assert_eq!(spc.json["bulk"]["supported"], true);
    assert_eq!(spc.json["bulk"]["maxOperations"], 3);
    let ops: Vec<Value> = (0..4)
        .map(|i| {
            json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users",
                        "data": {"schemas": [USER_URN], "userName": format!("u{i}@example.com")}})
        })
        .collect();
    let r = h.post("/Bulk", bulk(Value::Array(ops.clone()))).await;
    r.expect(413);
    assert_scim_error_body(&r.json, 413, Some("tooMany"), &["maxOperations"]);
    assert_eq!(h.get("/Users").await.json["totalResults"], 0, "nothing ran");
    // Exactly at the limit is fine.
    let r = h.post("/Bulk", bulk(Value::Array(ops[..3].to_vec()))).await;
    assert_eq!(results(&r).len(), 3);
}

#[tokio::test]
async fn over_max_payload_size_is_413() {
    let h = Harness::with_config(ServerConfig {
        bulk_max_payload: 10_000,
        ..ServerConfig::default()
    })
    .await;
    let spc = h.get("/ServiceProviderConfig").await;
    assert_eq!(spc.json["bulk"]["maxPayloadSize"], 10_000);
    let r = h
        .post(
            "/Bulk",
            bulk(json!([{"method": "POST", "bulkId": "big", "path": "/Users",
                         "data": {"schemas": [USER_URN], "userName": "big@example.com", "title": "x".repeat(20_000)}}])),
        )
        .await;
    r.expect(413);
    assert_scim_error_body(&r.json, 413, None, &["maxPayloadSize"]);
}
