//! Tenant isolation and tokens: a token sees and touches only its own tenant; names are unique per
//! tenant, not across tenants; expired and revoked tokens are refused; several active tokens of a
//! tenant work side by side (rotation).

use axum::http::Method;
use domain::{Clock as _, Scope};
use serde_json::{json, Value};
use server::ServerConfig;

use crate::harness::*;

/// Tenant B with a user (in a group) and a token; returns (token, user id, group id).
async fn tenant_b(h: &Harness) -> (String, String, String) {
    let b = h.new_tenant_token("b", &Scope::ALL).await;
    let r = h
        .req(Method::POST, "/Users")
        .token(&b)
        .json(
            json!({"schemas": [USER_URN], "userName": "b.user@example.com", "externalId": "ext-b"}),
        )
        .send()
        .await;
    r.expect(201);
    let user = r.id();
    let r = h
        .req(Method::POST, "/Groups")
        .token(&b)
        .json(
            json!({"schemas": [GROUP_URN], "displayName": "B Team", "members": [{"value": user}]}),
        )
        .send()
        .await;
    r.expect(201);
    (b, user, r.id())
}

/// B's view of its own user, to check nothing changed.
async fn b_view(h: &Harness, b: &str, uri: &str) -> Value {
    let r = h.req(Method::GET, uri).token(b).send().await;
    r.expect(200);
    r.json
}

#[tokio::test]
async fn other_tenants_resources_are_not_found() {
    let h = Harness::new().await;
    let (_b, user, group) = tenant_b(&h).await;
    h.get(&format!("/Users/{user}"))
        .await
        .expect_error(404, None, &[&user]);
    h.get(&format!("/Groups/{group}"))
        .await
        .expect_error(404, None, &[&group]);
}

#[tokio::test]
async fn lists_filters_and_searches_see_only_own_tenant() {
    let h = Harness::new().await;
    let (_b, user, _group) = tenant_b(&h).await;
    let mine = h.create_user("a.user@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h.get("/Users").await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["Resources"][0]["id"], mine.as_str());
    let r = h.get("/Groups").await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 0);
    assert_eq!(r.json["Resources"], json!([]));
    for filter in [
        r#"userName eq "b.user@example.com""#.to_owned(),
        r#"externalId eq "ext-b""#.to_owned(),
        format!("id eq \"{user}\""),
        r#"userName pr"#.to_owned(),
    ] {
        let r = h.get(&format!("/Users?filter={}", form(&filter))).await;
        r.expect(200);
        let ids: Vec<&str> = r.json["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert!(!ids.contains(&user.as_str()), "{filter} leaked B's user");
    }
    let r = h
        .get(&format!(
            "/Groups?filter={}",
            form(r#"displayName eq "B Team""#)
        ))
        .await;
    assert_eq!(r.json["totalResults"], 0);
    let r = h
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH_URN], "filter": "userName sw \"b.\""}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 0);
    let r = h.post("/.search", json!({"schemas": [SEARCH_URN]})).await;
    r.expect(200);
    assert_eq!(
        r.json["totalResults"], 1,
        "root search: only A's one user: {}",
        r.json
    );
    // Cursor paging too.
    let r = h.get("/Users?cursor&count=10").await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
}

#[tokio::test]
async fn writes_to_other_tenants_resources_are_not_found() {
    let h = Harness::new().await;
    let (b, user, group) = tenant_b(&h).await;
    let user_before = b_view(&h, &b, &format!("/Users/{user}")).await;
    let group_before = b_view(&h, &b, &format!("/Groups/{group}")).await;

    h.put(
        &format!("/Users/{user}"),
        json!({"schemas": [USER_URN], "userName": "stolen@example.com"}),
    )
    .await
    .expect_error(404, None, &[&user]);
    h.patch(
        &format!("/Users/{user}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await
    .expect_error(404, None, &[&user]);
    h.patch(
        &format!("/Groups/{group}"),
        json!([{"op": "remove", "path": "members"}]),
    )
    .await
    .expect_error(404, None, &[&group]);
    h.put(
        &format!("/Groups/{group}"),
        json!({"schemas": [GROUP_URN], "displayName": "Stolen"}),
    )
    .await
    .expect_error(404, None, &[&group]);
    h.delete(&format!("/Users/{user}"))
        .await
        .expect_error(404, None, &[&user]);
    h.delete(&format!("/Groups/{group}"))
        .await
        .expect_error(404, None, &[&group]);

    assert_eq!(b_view(&h, &b, &format!("/Users/{user}")).await, user_before);
    assert_eq!(
        b_view(&h, &b, &format!("/Groups/{group}")).await,
        group_before
    );
}

#[tokio::test]
async fn other_tenants_users_cannot_become_members() {
    // A member id the tenant does not hold is skipped, not refused (clients expect 200, see
    // store-sqlite `skip_dangling`): either way it must never be linked across tenants.
    let h = Harness::new().await;
    let (b, user, group) = tenant_b(&h).await;
    let r = h
        .post(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": "A Team", "members": [{"value": user}]}),
        )
        .await;
    r.expect(201);
    assert!(
        r.json.get("members").is_none_or(|m| m == &json!([])),
        "B's user linked: {}",
        r.json
    );
    let mine = r.id();
    for foreign in [&user, &group] {
        let r = h
            .patch(
                &format!("/Groups/{mine}"),
                json!([{"op": "add", "path": "members", "value": [{"value": foreign}]}]),
            )
            .await;
        assert!(
            r.status == 200 || r.status == 204,
            "{} {}",
            r.status,
            r.json
        );
        let g = h.get(&format!("/Groups/{mine}")).await;
        assert!(
            g.json.get("members").is_none_or(|m| m == &json!([])),
            "{foreign} linked: {}",
            g.json
        );
    }
    let r = h
        .put(
            &format!("/Groups/{mine}"),
            json!({"schemas": [GROUP_URN], "displayName": "A Team", "members": [{"value": user}]}),
        )
        .await;
    r.expect(200);
    assert!(
        r.json.get("members").is_none_or(|m| m == &json!([])),
        "B's user linked by PUT: {}",
        r.json
    );
    // B's user's group list is unchanged.
    let u = b_view(&h, &b, &format!("/Users/{user}")).await;
    assert_eq!(u["groups"].as_array().unwrap().len(), 1, "{u}");
    assert_eq!(u["groups"][0]["value"], group.as_str());
}

#[tokio::test]
async fn bulk_cannot_touch_other_tenants_resources() {
    let h = Harness::new().await;
    let (b, user, group) = tenant_b(&h).await;
    let user_before = b_view(&h, &b, &format!("/Users/{user}")).await;
    let group_before = b_view(&h, &b, &format!("/Groups/{group}")).await;
    let r = h
        .post(
            "/Bulk",
            json!({"schemas": [BULK_REQUEST_URN], "Operations": [
                {"method": "PUT", "path": format!("/Users/{user}"), "data": {"schemas": [USER_URN], "userName": "stolen@example.com"}},
                {"method": "PATCH", "path": format!("/Users/{user}"), "data": patch_ops(json!([{"op": "replace", "path": "active", "value": false}]))},
                {"method": "PATCH", "path": format!("/Groups/{group}"), "data": patch_ops(json!([{"op": "remove", "path": "members"}]))},
                {"method": "DELETE", "path": format!("/Users/{user}")},
                {"method": "DELETE", "path": format!("/Groups/{group}")}
            ]}),
        )
        .await;
    r.expect(200);
    let ops = r.json["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 5, "{}", r.json);
    for op in ops {
        assert_eq!(op["status"], "404", "{op}");
        assert_scim_error_body(&op["response"], 404, None, &[]);
    }
    assert_eq!(b_view(&h, &b, &format!("/Users/{user}")).await, user_before);
    assert_eq!(
        b_view(&h, &b, &format!("/Groups/{group}")).await,
        group_before
    );
}

#[tokio::test]
async fn same_user_name_and_display_name_in_two_tenants() {
    let h = Harness::new().await;
    let b = h.new_tenant_token("b", &Scope::ALL).await;
    let body = json!({"schemas": [USER_URN], "userName": "same@example.com"});
    let a_user = h.post("/Users", body.clone()).await;
    a_user.expect(201);
    let b_user = h
        .req(Method::POST, "/Users")
        .token(&b)
        .json(body.clone())
        .send()
        .await;
    b_user.expect(201);
    assert_ne!(a_user.id(), b_user.id());
    let group = json!({"schemas": [GROUP_URN], "displayName": "Everyone"});
    h.post("/Groups", group.clone()).await.expect(201);
    h.req(Method::POST, "/Groups")
        .token(&b)
        .json(group)
        .send()
        .await
        .expect(201);
    // Still unique within each tenant.
    h.req(Method::POST, "/Users")
        .token(&b)
        .json(body)
        .send()
        .await
        .expect_error(409, Some("uniqueness"), &["same@example.com"]);
}

#[tokio::test]
async fn extension_schemas_are_per_tenant() {
    let h = Harness::new().await;
    let b = h.new_tenant_token("b", &Scope::ALL).await;
    let ext = json!({
        "id": "urn:ietf:params:scim:schemas:extension:bcorp:2.0:User",
        "name": "BCorpUser",
        "attributes": [{"name": "badge", "type": "integer"}]
    });
    h.req(Method::POST, "/api/v1/schemas")
        .token(&b)
        .json(ext)
        .send()
        .await
        .expect(201);
    let b_schemas = h.req(Method::GET, "/Schemas").token(&b).send().await;
    b_schemas.expect(200);
    assert_eq!(b_schemas.json["totalResults"], 5);
    let a_schemas = h.get("/Schemas").await;
    a_schemas.expect(200);
    assert_eq!(
        a_schemas.json["totalResults"], 4,
        "A must not see B's extension: {}",
        a_schemas.json
    );
    let r = h.get("/api/v1/schemas").await;
    r.expect(200);
    assert_eq!(r.json, json!([]));
}

#[tokio::test]
async fn expired_token_is_401() {
    let h = Harness::new().await;
    let expires = h
        .clock
        .now()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap();
    let token = h.token_for(&h.tenant.id, &Scope::ALL, Some(expires)).await;
    h.req(Method::GET, "/Users")
        .token(&token)
        .send()
        .await
        .expect(200);
    h.clock.advance(61);
    let r = h.req(Method::GET, "/Users").token(&token).send().await;
    r.expect_error(401, None, &["expired"]);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    // The tenant's other token is unaffected.
    h.get("/Users").await.expect(200);
}

#[tokio::test]
async fn revoked_token_is_401() {
    let h = Harness::new().await;
    let (token, info) = h.token_record(&h.tenant.id, &Scope::ALL, None).await;
    h.req(Method::GET, "/Users")
        .token(&token)
        .send()
        .await
        .expect(200);
    h.store.revoke_token(&h.tenant.id, &info.id).await.unwrap();
    let r = h.req(Method::GET, "/Users").token(&token).send().await;
    r.expect_error(401, None, &["revoked"]);
    let r = h
        .req(Method::POST, "/Users")
        .token(&token)
        .json(json!({"schemas": [USER_URN], "userName": "x@example.com"}))
        .send()
        .await;
    r.expect_error(401, None, &["revoked"]);
}

#[tokio::test]
async fn two_active_tokens_of_a_tenant_both_work() {
    let h = Harness::new().await;
    let (old, old_info) = h.token_record(&h.tenant.id, &Scope::ALL, None).await;
    let (new, _) = h.token_record(&h.tenant.id, &Scope::ALL, None).await;
    let r = h
        .req(Method::POST, "/Users")
        .token(&old)
        .json(json!({"schemas": [USER_URN], "userName": "rot@example.com"}))
        .send()
        .await;
    r.expect(201);
    let id = r.id();
    let r = h
        .req(Method::GET, &format!("/Users/{id}"))
        .token(&new)
        .send()
        .await;
    r.expect(200);
    assert_eq!(r.json["userName"], "rot@example.com");
    // Rotation done: the old one goes, the new one stays.
    h.store
        .revoke_token(&h.tenant.id, &old_info.id)
        .await
        .unwrap();
    h.req(Method::GET, &format!("/Users/{id}"))
        .token(&old)
        .send()
        .await
        .expect_error(401, None, &["revoked"]);
    h.req(Method::GET, &format!("/Users/{id}"))
        .token(&new)
        .send()
        .await
        .expect(200);
}

/// With a token cache, a revocation made elsewhere (the CLI, another replica) shows once the
/// cached check is older than the TTL; within it the cached check stands.
#[tokio::test]
async fn token_checks_are_cached_for_their_ttl() {
    let h = Harness::with_config(ServerConfig {
        token_cache_ttl: std::time::Duration::from_secs(3600),
        ..ServerConfig::default()
    })
    .await;
    let (token, info) = h.token_record(&h.tenant.id, &Scope::ALL, None).await;
    h.req(Method::GET, "/Users")
        .token(&token)
        .send()
        .await
        .expect(200);
    h.store.revoke_token(&h.tenant.id, &info.id).await.unwrap();
    h.req(Method::GET, "/Users")
        .token(&token)
        .send()
        .await
        .expect(200);
    // A token never seen before is looked up in the store, cache or not.
    let (fresh, fresh_info) = h.token_record(&h.tenant.id, &Scope::ALL, None).await;
    h.store
        .revoke_token(&h.tenant.id, &fresh_info.id)
        .await
        .unwrap();
    h.req(Method::GET, "/Users")
        .token(&fresh)
        .send()
        .await
        .expect_error(401, None, &["revoked"]);
}
