//! Versions and preconditions (RFC 7644 §3.14): the `ETag` header is `meta.version` on every
//! response that carries a resource, every write raises it (a no-op PATCH does not), and
//! `If-Match` / `If-None-Match` are honoured.

use axum::http::Method;
use serde_json::json;

use crate::harness::*;

/// The ETag header, checked to equal the body's `meta.version`.
#[track_caller]
fn etag_of(r: &Resp) -> String {
    let tag = r
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag header; body {}", r.json))
        .to_owned();
    assert_eq!(
        r.json["meta"]["version"],
        tag.as_str(),
        "ETag header = meta.version"
    );
    tag
}

/// The number inside `W/"<n>"`, to compare versions.
#[track_caller]
fn number(tag: &str) -> u64 {
    tag.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("not a numbered tag: {tag}"))
}

fn user_body(nick: &str) -> serde_json::Value {
    json!({"schemas": [USER_URN], "userName": "etag@example.com", "nickName": nick})
}

#[tokio::test]
async fn etag_on_post_get_put_patch_and_it_increases() {
    let h = Harness::new().await;
    let r = h.post("/Users", user_body("one")).await;
    r.expect(201);
    let id = r.id();
    let created = etag_of(&r);
    assert!(created.starts_with("W/\""), "{created}");

    let r = h.get(&format!("/Users/{id}")).await;
    r.expect(200);
    assert_eq!(etag_of(&r), created, "a read does not change the version");

    let r = h.put(&format!("/Users/{id}"), user_body("two")).await;
    r.expect(200);
    let put = etag_of(&r);
    assert!(number(&put) > number(&created), "{put} after {created}");

    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "nickName", "value": "three"}]),
        )
        .await;
    r.expect(200);
    let patched = etag_of(&r);
    assert!(number(&patched) > number(&put), "{patched} after {put}");

    let r = h.get(&format!("/Users/{id}")).await;
    assert_eq!(etag_of(&r), patched);
    assert_eq!(r.json["nickName"], "three");
}

#[tokio::test]
async fn group_membership_change_raises_the_version() {
    let h = Harness::new().await;
    let u = h.create_user("m@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .post(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": "G"}),
        )
        .await;
    r.expect(201);
    let gid = r.id();
    let before = etag_of(&r);
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    let after = etag_of(&h.get(&format!("/Groups/{gid}")).await);
    assert!(number(&after) > number(&before), "{after} after {before}");
}

#[tokio::test]
async fn if_none_match_current_is_304() {
    let h = Harness::new().await;
    let r = h.post("/Users", user_body("one")).await;
    let id = r.id();
    let tag = etag_of(&r);
    let r = h
        .req(Method::GET, &format!("/Users/{id}"))
        .header("If-None-Match", &tag)
        .send()
        .await;
    r.expect(304);
    assert!(r.raw.is_empty(), "304 has no body");
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    // A stale tag gets the resource.
    h.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "nickName", "value": "two"}]),
    )
    .await
    .expect(200);
    let r = h
        .req(Method::GET, &format!("/Users/{id}"))
        .header("If-None-Match", &tag)
        .send()
        .await;
    r.expect(200);
    assert_eq!(r.json["nickName"], "two");
    assert_ne!(etag_of(&r), tag);
}

#[tokio::test]
async fn stale_if_match_on_put_patch_delete_is_412() {
    let h = Harness::new().await;
    let r = h.post("/Users", user_body("one")).await;
    let id = r.id();
    let stale = etag_of(&r);
    h.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "nickName", "value": "two"}]),
    )
    .await
    .expect(200);
    let current = h.get(&format!("/Users/{id}")).await;
    let current_tag = etag_of(&current);

    let r = h
        .req(Method::PUT, &format!("/Users/{id}"))
        .header("If-Match", &stale)
        .json(user_body("put"))
        .send()
        .await;
    r.expect_error(412, None, &[&current_tag]);
    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .header("If-Match", &stale)
        .json(patch_ops(
            json!([{"op": "replace", "path": "nickName", "value": "patch"}]),
        ))
        .send()
        .await;
    r.expect_error(412, None, &[&current_tag]);
    let r = h
        .req(Method::DELETE, &format!("/Users/{id}"))
        .header("If-Match", &stale)
        .send()
        .await;
    r.expect_error(412, None, &[&current_tag]);

    let after = h.get(&format!("/Users/{id}")).await;
    after.expect(200);
    assert_eq!(after.json, current.json, "nothing changed");
}

#[tokio::test]
async fn current_if_match_succeeds() {
    let h = Harness::new().await;
    let r = h.post("/Users", user_body("one")).await;
    let id = r.id();
    let tag = etag_of(&r);

    let r = h
        .req(Method::PUT, &format!("/Users/{id}"))
        .header("If-Match", &tag)
        .json(user_body("put"))
        .send()
        .await;
    r.expect(200);
    assert_eq!(r.json["nickName"], "put");
    let tag = etag_of(&r);

    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .header("If-Match", &tag)
        .json(patch_ops(
            json!([{"op": "replace", "path": "nickName", "value": "patch"}]),
        ))
        .send()
        .await;
    r.expect(200);
    assert_eq!(r.json["nickName"], "patch");
    let tag = etag_of(&r);

    // `*` matches any version; a list matches if one of them is current.
    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .header("If-Match", "*")
        .json(patch_ops(
            json!([{"op": "replace", "path": "nickName", "value": "star"}]),
        ))
        .send()
        .await;
    r.expect(200);
    let star = etag_of(&r);
    let r = h
        .req(Method::PATCH, &format!("/Users/{id}"))
        .header("If-Match", &format!("{tag}, {star}"))
        .json(patch_ops(
            json!([{"op": "replace", "path": "nickName", "value": "list"}]),
        ))
        .send()
        .await;
    r.expect(200);
    let tag = etag_of(&r);

    let r = h
        .req(Method::DELETE, &format!("/Users/{id}"))
        .header("If-Match", &tag)
        .send()
        .await;
    r.expect(204);
    h.get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None, &[&id]);
}

#[tokio::test]
async fn noop_patch_keeps_the_version() {
    let h = Harness::new().await;
    let r = h.post("/Users", json!({"schemas": [USER_URN], "userName": "noop@example.com", "nickName": "same", "active": true})).await;
    let id = r.id();
    let tag = etag_of(&r);
    let last_modified = r.json["meta"]["lastModified"].clone();
    h.clock.advance(60);
    // Entra's "RedundantExport" case, and a re-sent boolean as a string.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "nickName", "value": "same"},
                {"op": "Replace", "path": "active", "value": "True"}
            ]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    let r = h.get(&format!("/Users/{id}")).await;
    assert_eq!(etag_of(&r), tag, "no change, no new version");
    assert_eq!(r.json["meta"]["lastModified"], last_modified);
}

#[tokio::test]
async fn re_adding_a_present_member_keeps_the_group_version() {
    // Entra re-sends `Add members` for members the group already has; that changes nothing, so
    // it must not raise the version (nor give apps a change to follow).
    let h = Harness::new().await;
    let id = h.create_user("member@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let g = h.create_group("G", &[&id]).await;
    h.clock.advance(60);
    let before = etag_of(&h.get(&format!("/Groups/{g}")).await);
    let r = h
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    let after = h.get(&format!("/Groups/{g}")).await;
    assert_eq!(after.json["members"][0]["value"], id.as_str());
    assert_eq!(
        etag_of(&after),
        before,
        "re-adding a present member is a no-op"
    );
    // Likewise removing a member the group does not have.
    let r = h
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "remove", "path": "members", "value": [{"value": "not-a-member"}]}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    assert_eq!(
        etag_of(&h.get(&format!("/Groups/{g}")).await),
        before,
        "removing an absent member is a no-op"
    );
}

#[tokio::test]
async fn last_modified_follows_the_clock() {
    let h = Harness::new().await;
    let r = h.post("/Users", user_body("one")).await;
    let id = r.id();
    assert_eq!(r.json["meta"]["created"], r.json["meta"]["lastModified"]);
    let created: jiff::Timestamp = r.json["meta"]["created"].as_str().unwrap().parse().unwrap();
    assert_eq!(created, START.parse::<jiff::Timestamp>().unwrap());
    h.clock.advance(3600);
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "nickName", "value": "two"}]),
        )
        .await;
    r.expect(200);
    let modified: jiff::Timestamp = r.json["meta"]["lastModified"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(modified.duration_since(created).as_secs(), 3600);
    assert_eq!(
        r.json["meta"]["created"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        created
    );
}
