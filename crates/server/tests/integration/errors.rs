//! One test per SCIM error kind (RFC 7644 §3.12 `scimType`) and per HTTP failure the server
//! answers itself (401, 403, 404, 405, 413, 415, 501). Every 4xx/5xx body is a SCIM error:
//! `schemas` is the Error URN, `status` a string, and `detail` names what was wrong.

use axum::http::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn user(h: &Harness) -> String {
    h.create_user_from(json!({
        "schemas": [USER_URN], "userName": "bjensen@example.com",
        "emails": [{"type": "work", "value": "bjensen@example.com"}]
    }))
    .await
}

// --- scimType ------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_filter_unknown_operator() {
    let h = Harness::new().await;
    let r = h
        .get(&format!("/Users?filter={}", form(r#"userName eqq "x""#)))
        .await;
    r.expect_error(400, Some("invalidFilter"), &["eqq"]);
}

#[tokio::test]
async fn invalid_filter_nested_too_deep() {
    let h = Harness::new().await;
    let depth = scim_filter::MAX_DEPTH + 8;
    let filter = format!(
        "{}userName eq \"x\"{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let r = h.get(&format!("/Users?filter={}", form(&filter))).await;
    r.expect_error(400, Some("invalidFilter"), &["deep"]);
    // Through POST .search the same.
    let r = h
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH_URN], "filter": filter}),
        )
        .await;
    r.expect_error(400, Some("invalidFilter"), &["deep"]);
}

#[tokio::test]
async fn invalid_filter_unterminated_string() {
    let h = Harness::new().await;
    let r = h
        .get(&format!("/Users?filter={}", form(r#"userName eq "x"#)))
        .await;
    r.expect_error(400, Some("invalidFilter"), &["userName eq \"x"]);
}

#[tokio::test]
async fn invalid_path_in_patch() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
        )
        .await;
    r.expect_error(400, Some("invalidPath"), &["emails[type eq"]);
}

#[tokio::test]
async fn invalid_value_user_name_missing() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Users",
            json!({"schemas": [USER_URN], "displayName": "No Name"}),
        )
        .await;
    r.expect_error(400, Some("invalidValue"), &["userName"]);
}

#[tokio::test]
async fn invalid_value_active_not_boolean() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "maybe@example.com", "active": "maybe"}),
        )
        .await;
    r.expect_error(400, Some("invalidValue"), &["active", "maybe"]);
    // The same through PATCH, and nothing is written.
    let id = user(&h).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "maybe"}]),
        )
        .await;
    r.expect_error(400, Some("invalidValue"), &["active"]);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json.get("active"),
        None
    );
}

#[tokio::test]
async fn invalid_syntax_malformed_json() {
    let h = Harness::new().await;
    let r = h
        .req(Method::POST, "/Users")
        .raw(r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "#)
        .send()
        .await;
    r.expect_error(400, Some("invalidSyntax"), &["JSON"]);
    let r = h.req(Method::POST, "/Users").raw("").send().await;
    r.expect_error(400, Some("invalidSyntax"), &["empty"]);
}

#[tokio::test]
async fn invalid_syntax_patch_without_operations() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH_URN]})),
        )
        .await;
    r.expect_error(400, Some("invalidSyntax"), &["Operations"]);
}

#[tokio::test]
async fn invalid_syntax_unknown_patch_op() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "move", "path": "nickName", "value": "x"}]),
        )
        .await;
    r.expect_error(400, Some("invalidSyntax"), &["move"]);
}

#[tokio::test]
async fn patch_is_atomic_when_a_later_op_fails() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let before = h.get(&format!("/Users/{id}")).await.json;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "nickName", "value": "Babs"},
                {"op": "Replace", "path": "id", "value": "other"}
            ]),
        )
        .await;
    r.expect_error(400, Some("mutability"), &["id"]);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json,
        before,
        "RFC 7644 §3.5.2: all or nothing"
    );
}

#[tokio::test]
async fn mutability_patch_replace_id() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "id", "value": "new-id"}]),
        )
        .await;
    r.expect_error(400, Some("mutability"), &["id"]);
    h.get(&format!("/Users/{id}")).await.expect(200);
}

#[tokio::test]
async fn uniqueness_duplicate_user_name() {
    let h = Harness::new().await;
    user(&h).await;
    let r = h
        .post(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "bjensen@example.com"}),
        )
        .await;
    r.expect_error(409, Some("uniqueness"), &["bjensen@example.com"]);
    // and by renaming another user onto the taken name
    let other = h.create_user("other@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .patch(
            &format!("/Users/{other}"),
            json!([{"op": "replace", "path": "userName", "value": "BJensen@example.com"}]),
        )
        .await;
    r.expect_error(409, Some("uniqueness"), &["userName"]);
}

#[tokio::test]
async fn too_many_bulk_operations_is_413() {
    let h = Harness::new().await;
    let spc = h.get("/ServiceProviderConfig").await;
    spc.expect(200);
    let max = spc.json["bulk"]["maxOperations"]
        .as_u64()
        .expect("bulk.maxOperations advertised") as usize;
    let ops: Vec<Value> = (0..=max)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/nobody-{i}")}))
        .collect();
    let r = h
        .post(
            "/Bulk",
            json!({"schemas": [BULK_REQUEST_URN], "Operations": ops}),
        )
        .await;
    // RFC 7644 §3.7.4: over maxOperations MUST be 413; scimType tooMany names why.
    r.expect(413);
    assert_scim_error_body(
        &r.json,
        413,
        Some("tooMany"),
        &["maxOperations", &max.to_string()],
    );
}

#[tokio::test]
async fn no_target_remove_without_path() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .patch(&format!("/Users/{id}"), json!([{"op": "remove"}]))
        .await;
    r.expect_error(400, Some("noTarget"), &["path"]);
}

#[tokio::test]
async fn no_target_replace_filter_matching_nothing() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "x@home.example"}}]),
        )
        .await;
    r.expect_error(400, Some("noTarget"), &["emails", "home"]);
}

#[tokio::test]
async fn invalid_vers_garbage_if_match() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .header("If-Match", "garbage")
        .json(patch_ops(
            json!([{"op": "add", "path": "nickName", "value": "x"}]),
        ))
        .send()
        .await;
    r.expect_error(400, Some("invalidVers"), &["garbage"]);
    let r = h
        .req(Method::DELETE, &format!("/Users/{id}"))
        .header("If-Match", "garbage")
        .send()
        .await;
    r.expect_error(400, Some("invalidVers"), &["garbage"]);
    h.get(&format!("/Users/{id}")).await.expect(200);
}

// --- HTTP-level failures -------------------------------------------------------------------

#[tokio::test]
async fn unauthorized_without_token() {
    let h = Harness::new().await;
    let r = h.req(Method::GET, "/Users").no_token().send().await;
    r.expect_error(401, None, &["Authorization"]);
    let challenge = r
        .header("www-authenticate")
        .expect("WWW-Authenticate on 401");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    // A scheme other than Bearer is the same.
    let r = h
        .req(Method::GET, "/Users")
        .no_token()
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await;
    r.expect_error(401, None, &["Bearer"]);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn unauthorized_unknown_token() {
    let h = Harness::new().await;
    let r = h
        .req(Method::GET, "/Users")
        .token("scimitar_not-a-token-anyone-issued")
        .send()
        .await;
    r.expect_error(401, None, &["token"]);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn forbidden_read_only_token_writing() {
    let h = Harness::new().await;
    let id = user(&h).await;
    let reader = h
        .token_for(&h.tenant.id, &[domain::Scope::ScimRead], None)
        .await;
    h.req(Method::GET, &format!("/Users/{id}"))
        .token(&reader)
        .send()
        .await
        .expect(200);
    let r = h
        .req(Method::POST, "/Users")
        .token(&reader)
        .json(json!({"schemas": [USER_URN], "userName": "new@example.com"}))
        .send()
        .await;
    r.expect_error(403, None, &["scim:write"]);
    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .token(&reader)
        .json(patch_ops(
            json!([{"op": "add", "path": "nickName", "value": "x"}]),
        ))
        .send()
        .await;
    r.expect_error(403, None, &["scim:write"]);
    let r = h
        .req(Method::DELETE, &format!("/Users/{id}"))
        .token(&reader)
        .send()
        .await;
    r.expect_error(403, None, &["scim:write"]);
    let r = h
        .req(Method::POST, "/Bulk")
        .token(&reader)
        .json(json!({"schemas": [BULK_REQUEST_URN], "Operations": [{"method": "DELETE", "path": format!("/Users/{id}")}]}))
        .send()
        .await;
    if r.status == 200 {
        assert_eq!(r.json["Operations"][0]["status"], "403", "{}", r.json);
    } else {
        r.expect_error(403, None, &["scim:write"]);
    }
    // Nothing changed.
    let u = h.get(&format!("/Users/{id}")).await;
    u.expect(200);
    assert!(u.json.get("nickName").is_none());
    // A write-only token cannot read.
    let writer = h
        .token_for(&h.tenant.id, &[domain::Scope::ScimWrite], None)
        .await;
    let r = h.req(Method::GET, "/Users").token(&writer).send().await;
    r.expect_error(403, None, &["scim:read"]);
}

#[tokio::test]
async fn not_found_unknown_resource() {
    let h = Harness::new().await;
    h.get("/Users/does-not-exist")
        .await
        .expect_error(404, None, &["does-not-exist"]);
    h.get("/Groups/does-not-exist")
        .await
        .expect_error(404, None, &["does-not-exist"]);
    h.patch(
        "/Users/does-not-exist",
        json!([{"op": "add", "path": "nickName", "value": "x"}]),
    )
    .await
    .expect_error(404, None, &["does-not-exist"]);
    h.put(
        "/Users/does-not-exist",
        json!({"schemas": [USER_URN], "userName": "x@example.com"}),
    )
    .await
    .expect_error(404, None, &["does-not-exist"]);
    h.delete("/Groups/does-not-exist")
        .await
        .expect_error(404, None, &["does-not-exist"]);
}

#[tokio::test]
async fn not_found_unknown_endpoint() {
    let h = Harness::new().await;
    h.get("/Devices")
        .await
        .expect_error(404, None, &["Devices"]);
    h.get("/Users/some-id/extra")
        .await
        .expect_error(404, None, &["/Users/some-id/extra"]);
    h.get("/nope").await.expect_error(404, None, &["/nope"]);
    h.get("/scim/v3/Users")
        .await
        .expect_error(404, None, &["/scim/v3/Users"]);
    h.get("/api/v1/nothing")
        .await
        .expect_error(404, None, &["nothing"]);
}

#[tokio::test]
async fn method_not_allowed() {
    let h = Harness::new().await;
    let r = h
        .put(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "x@example.com"}),
        )
        .await;
    r.expect_error(405, None, &["PUT"]);
    h.delete("/Groups")
        .await
        .expect_error(405, None, &["DELETE"]);
    h.req(Method::GET, "/Bulk")
        .send()
        .await
        .expect_error(405, None, &["GET"]);
    h.post("/ServiceProviderConfig", json!({}))
        .await
        .expect_error(405, None, &["POST"]);
    // The admin and inbound APIs answer the same way (spec §5: bulkUpload is POST only).
    h.req(Method::GET, "/api/v1/inbound/bulkUpload")
        .send()
        .await
        .expect_error(405, None, &["GET", "/api/v1/inbound/bulkUpload"]);
    h.req(Method::PATCH, "/api/v1/groups/preview")
        .send()
        .await
        .expect_error(405, None, &["PATCH"]);
}

#[tokio::test]
async fn payload_too_large_over_1_mib() {
    let h = Harness::new().await;
    let big = "x".repeat(1024 * 1024 + 16);
    let body = serde_json::to_vec(
        &json!({"schemas": [USER_URN], "userName": "big@example.com", "title": big}),
    )
    .unwrap();
    let r = h.req(Method::POST, "/Users").raw(body).send().await;
    r.expect(413);
    assert_scim_error_body(&r.json, 413, None, &["limit"]);
    assert_eq!(h.get("/Users").await.json["totalResults"], 0);
}

#[tokio::test]
async fn unsupported_media_type_text_plain() {
    let h = Harness::new().await;
    let r = h
        .req(Method::POST, "/Users")
        .header("Content-Type", "text/plain")
        .raw(
            serde_json::to_vec(&json!({"schemas": [USER_URN], "userName": "x@example.com"}))
                .unwrap(),
        )
        .send()
        .await;
    r.expect(415);
    // RFC 7644 defines no scimType for this; whatever the server adds must not hide the status.
    assert_eq!(r.json["schemas"], json!([ERROR_URN]));
    assert_eq!(r.json["status"], "415");
    assert!(
        r.json["detail"].as_str().unwrap().contains("text/plain"),
        "{}",
        r.json
    );
    // plain application/json is accepted
    let r = h
        .req(Method::POST, "/Users")
        .header("Content-Type", "application/json; charset=utf-8")
        .raw(
            serde_json::to_vec(&json!({"schemas": [USER_URN], "userName": "x@example.com"}))
                .unwrap(),
        )
        .send()
        .await;
    r.expect(201);
}

#[tokio::test]
async fn me_is_501_scim_error() {
    let h = Harness::new().await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let r = h.req(method.clone(), "/Me").send().await;
        r.expect(501);
        assert_scim_error_body(&r.json, 501, None, &["/Me"]);
    }
}

#[tokio::test]
async fn invalid_value_in_list_parameters() {
    let h = Harness::new().await;
    h.get("/Users?startIndex=abc").await.expect_error(
        400,
        Some("invalidValue"),
        &["startIndex", "abc"],
    );
    h.get("/Users?count=many")
        .await
        .expect_error(400, Some("invalidValue"), &["count", "many"]);
    h.get("/Users?sortBy=userName&sortOrder=sideways")
        .await
        .expect_error(400, Some("invalidValue"), &["sideways"]);
}
