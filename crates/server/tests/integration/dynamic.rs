//! Dynamic groups over HTTP: created and changed by any SCIM client through the extension
//! `urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group`, read-only members, the rule
//! checked with its position, and the admin API's rule, preview and explain (spec §6).

use axum::http::Method;
use serde_json::{json, Value};

use crate::harness::*;

const DYN: &str = "urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group";

async fn user_in(h: &Harness, user_name: &str, department: &str, title: &str) -> String {
    h.create_user_from(json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": user_name,
        "title": title,
        ENTERPRISE_URN: { "department": department },
    }))
    .await
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn dynamic_group(h: &Harness, name: &str, rule: &str) -> Value {
    let r = h
        .post(
            "/Groups",
            json!({
                "schemas": [GROUP_URN, DYN],
                "displayName": name,
                DYN: { "membershipRule": rule },
            }),
        )
        .await;
    r.expect(201);
    r.json.clone()
}

/// The extension is advertised: in `/Schemas` and as a schema extension of Group.
#[tokio::test]
async fn the_extension_is_advertised() {
    let h = Harness::new().await;
    let r = h.get(&format!("/Schemas/{DYN}")).await;
    r.expect(200);
    assert_eq!(r.json["attributes"][0]["name"], "membershipRule");
    let r = h.get("/ResourceTypes/Group").await;
    r.expect(200);
    assert_eq!(r.json["schemaExtensions"][0]["schema"], DYN);
}

/// Spec §6 example `(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")`:
/// a group created with it has exactly the matching users, in the POST's answer already, and
/// follows user creates, updates and deletes.
#[tokio::test]
async fn a_dynamic_group_follows_its_rule() {
    let h = Harness::new().await;
    let ann = user_in(&h, "ann", "Sales", "Account Executive").await;
    let _sde = user_in(&h, "sde", "Sales", "SDE II").await;
    let _bob = user_in(&h, "bob", "Marketing", "Manager").await;
    let group = dynamic_group(
        &h,
        "Sales (no engineers)",
        r#"(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")"#,
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(member_ids(&group), vec![ann.clone()]);
    assert_eq!(group[DYN]["membershipRule"].as_str().unwrap().len(), 73);

    // Joiner: a new matching user is a member as soon as the POST returns.
    let cid = user_in(&h, "cid", "sales", "Engineer").await;
    let g = h.get(&format!("/Groups/{gid}")).await;
    assert_eq!(member_ids(&g.json), sorted(vec![ann.clone(), cid.clone()]));
    // The user shows the group.
    let u = h.get(&format!("/Users/{cid}")).await;
    assert_eq!(u.json["groups"][0]["value"], gid.as_str());

    // Mover: out of the department → out of the group.
    h.patch(
        &format!("/Users/{ann}"),
        json!([{"op": "replace", "path": format!("{ENTERPRISE_URN}:department"), "value": "Support"}]),
    )
    .await
    .expect(200);
    let g = h.get(&format!("/Groups/{gid}")).await;
    assert_eq!(member_ids(&g.json), vec![cid.clone()]);

    // Leaver.
    h.delete(&format!("/Users/{cid}")).await.expect(204);
    let g = h.get(&format!("/Groups/{gid}")).await;
    assert!(member_ids(&g.json).is_empty());
}

/// Changing the rule (here with a SCIM PATCH of the extension attribute) recomputes the members
/// over all users before the answer.
#[tokio::test]
async fn changing_the_rule_recomputes() {
    let h = Harness::new().await;
    let ann = user_in(&h, "ann", "Sales", "AE").await;
    let bob = user_in(&h, "bob", "Marketing", "PM").await;
    let group = dynamic_group(&h, "Team", r#"user.department -eq "Sales""#).await;
    let gid = group["id"].as_str().unwrap();
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "path": format!("{DYN}:membershipRule"),
                    "value": "user.department -in [\"Marketing\",\"Support\"]"}]),
        )
        .await;
    r.expect(200);
    assert_eq!(member_ids(&r.json), vec![bob.clone()]);

    // Removing the rule keeps the members, and the group is static again.
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("{DYN}:membershipRule")}]),
        )
        .await;
    r.expect(200);
    h.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
    )
    .await
    .expect(200);
    let g = h.get(&format!("/Groups/{gid}")).await;
    assert_eq!(member_ids(&g.json), sorted(vec![ann, bob]));
}

/// Members of a dynamic group are read-only (RFC 7644 §3.5.2): PATCH add/remove/replace of
/// members is a `mutability` error that changes nothing, unless it would change nothing anyway;
/// members in a POST or PUT body are ignored, as §3.5.1 says of read-only values.
#[tokio::test]
async fn members_are_read_only() {
    let h = Harness::new().await;
    let ann = user_in(&h, "ann", "Sales", "AE").await;
    let bob = user_in(&h, "bob", "Marketing", "PM").await;
    let group = dynamic_group(&h, "Sales", r#"user.department -eq "Sales""#).await;
    let gid = group["id"].as_str().unwrap();
    let uri = format!("/Groups/{gid}");
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]),
        json!([{"op": "replace", "path": "members", "value": []}]),
        json!([{"op": "remove", "path": "members"}]),
        json!([{"op": "replace", "value": {"members": [{"value": bob}]}}]),
    ] {
        h.patch(&uri, ops).await.expect_error(
            400,
            Some("mutability"),
            &["dynamic group", "membershipRule"],
        );
    }
    let g = h.get(&uri).await;
    assert_eq!(member_ids(&g.json), vec![ann.clone()]);
    assert_eq!(g.json["meta"]["version"], group["meta"]["version"]);

    // Ops that would change nothing are fine: removing a non-member, adding a member.
    h.patch(
        &uri,
        json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")},
               {"op": "add", "path": "members", "value": [{"value": ann}]}]),
    )
    .await
    .expect(200);

    // A PUT with other members: the members are ignored, the rest is written.
    let r = h
        .put(
            &uri,
            json!({"schemas": [GROUP_URN, DYN], "displayName": "Sales team",
                   "members": [{"value": bob}], DYN: {"membershipRule": "user.department -eq \"Sales\""}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["displayName"], "Sales team");
    assert_eq!(member_ids(&r.json), vec![ann.clone()]);
    // So in a POST.
    let r = h
        .post(
            "/Groups",
            json!({"schemas": [GROUP_URN, DYN], "displayName": "Marketing",
                   "members": [{"value": ann}], DYN: {"membershipRule": "user.department -eq \"Marketing\""}}),
        )
        .await;
    r.expect(201);
    assert_eq!(member_ids(&r.json), vec![bob]);
}

/// A rule that does not parse is `invalidValue` naming the attribute and the position; nothing
/// is written.
#[tokio::test]
async fn a_bad_rule_is_refused_with_its_position() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Groups",
            json!({"schemas": [GROUP_URN, DYN], "displayName": "Broken",
                   DYN: {"membershipRule": "user.department -eq"}}),
        )
        .await;
    r.expect_error(400, Some("invalidValue"), &["membershipRule", "at 19"]);
    let list = h.get("/Groups").await;
    assert_eq!(list.json["totalResults"], 0);
}

/// The admin API: create, read the rule, preview a change (counts and examples), explain a
/// user, set and remove the rule.
#[tokio::test]
async fn admin_api_preview_and_explain() {
    let h = Harness::new().await;
    let ann = user_in(&h, "ann", "Sales", "AE").await;
    let bob = user_in(&h, "bob", "Marketing", "PM").await;
    let _cid = user_in(&h, "cid", "Marketing", "Designer").await;

    let r = h
        .post(
            "/api/v1/groups",
            json!({"displayName": "Sales", "rule": "user.department -eq \"Sales\""}),
        )
        .await;
    r.expect(201);
    let gid = r.json["groupId"].as_str().unwrap().to_owned();
    assert_eq!(r.json["members"], 1);
    assert_eq!(r.json["processing"], Value::Null);

    let r = h.get(&format!("/api/v1/groups/{gid}/rule")).await;
    r.expect(200);
    assert_eq!(r.json["rule"], "user.department -eq \"Sales\"");

    // Before saving: what would `-in ["Sales","Marketing"] -and title != Designer` do?
    let rule = r#"user.department -in ["Sales","Marketing"] -and user.jobTitle -ne "Designer""#;
    let r = h
        .post(
            "/api/v1/groups/preview",
            json!({"rule": rule, "groupId": gid, "examples": 5}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        (
            &r.json["evaluated"],
            &r.json["matching"],
            &r.json["added"],
            &r.json["removed"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(0))
    );
    assert_eq!(r.json["addedExamples"][0]["id"], bob.as_str());
    assert_eq!(r.json["addedExamples"][0]["userName"], "bob");
    // Nothing was written.
    let g = h.get(&format!("/Groups/{gid}")).await;
    assert_eq!(member_ids(&g.json), vec![ann.clone()]);

    // Why is bob not a member?
    let r = h
        .post(
            "/api/v1/groups/explain",
            json!({"groupId": gid, "userId": bob}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["matches"], false);
    assert_eq!(r.json["member"], false);
    assert_eq!(
        r.json["explanation"],
        "user.department -eq \"Sales\": \"Marketing\" → false"
    );

    let r = h
        .put(&format!("/api/v1/groups/{gid}/rule"), json!({"rule": rule}))
        .await;
    r.expect(200);
    assert_eq!(r.json["members"], 2);
    let r = h
        .call(Method::DELETE, &format!("/api/v1/groups/{gid}/rule"), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["rule"], Value::Null);
    assert_eq!(r.json["members"], 2);

    // Bad input: a rule that does not parse, an unknown user, a static group.
    h.post(
        "/api/v1/groups/preview",
        json!({"rule": "department -eq 1"}),
    )
    .await
    .expect_error(400, Some("invalidValue"), &["membershipRule"]);
    h.post(
        "/api/v1/groups/explain",
        json!({"groupId": gid, "userId": "nope"}),
    )
    .await
    .expect(400);
    h.post(
        "/api/v1/groups/explain",
        json!({"rule": "user.objectId -ne null", "userId": "nope"}),
    )
    .await
    .expect(404);
}

/// A SCIM token without the admin scope cannot use the admin API.
#[tokio::test]
async fn the_admin_api_needs_the_admin_scope() {
    let h = Harness::new().await;
    let token = h
        .new_tenant_token(
            "default",
            &[domain::Scope::ScimRead, domain::Scope::ScimWrite],
        )
        .await;
    h.req(Method::POST, "/api/v1/groups/preview")
        .token(&token)
        .json(json!({"rule": "user.objectId -ne null"}))
        .send()
        .await
        .expect(403);
}
