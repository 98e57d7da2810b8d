//! Every request shape Microsoft Entra ID (and Okta) sends to a SCIM app, as documented in
//! `spec/entra-provisioning.md` §1 (outbound provisioning) and §7 (compliance issues and the
//! `aadOptscim062020` flag). Test names start with the section they prove.

use axum::http::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// Entra accepts 200 (with the resource) or 204 for a PATCH (spec §1.1 "PATCH response").
#[track_caller]
fn patched(r: &Resp) {
    assert!(
        r.status.as_u16() == 200 || r.status.as_u16() == 204,
        "PATCH answered {}: {}",
        r.status,
        String::from_utf8_lossy(&r.raw)
    );
}

fn user_filter(attr: &str, value: &str) -> String {
    format!("/Users?filter={}", form(&format!("{attr} eq \"{value}\"")))
}

/// The create body of SCIM-TUT "Create User", verbatim (spec §1.2).
fn tutorial_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

// --- §1.2 user lifecycle -------------------------------------------------------------------------

#[tokio::test]
async fn s1_2_create_user_verbatim_with_client_meta_and_empty_roles() {
    let h = Harness::new().await;
    let r = h.post("/Users", tutorial_user()).await;
    r.expect(201);
    let u = &r.json;
    let id = r.id();
    assert!(!id.is_empty());
    assert_eq!(
        u["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    assert_eq!(u["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(u["active"], true);
    assert_eq!(
        u["emails"][0]["value"],
        "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    );
    assert_eq!(u["emails"][0]["type"], "work");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(u["name"]["familyName"], "familyName");
    assert_eq!(u["name"]["givenName"], "givenName");
    assert_eq!(u["name"]["formatted"], "givenName familyName");
    // The server's meta, not the client's.
    assert_eq!(u["meta"]["resourceType"], "User");
    assert!(u["meta"]["created"].is_string(), "meta.created in {u}");
    assert!(
        u["meta"]["lastModified"].is_string(),
        "meta.lastModified in {u}"
    );
    let location = u["meta"]["location"].as_str().unwrap();
    assert!(
        location.ends_with(&format!("/Users/{id}")),
        "meta.location {location}"
    );
    assert_eq!(r.header("location"), Some(location));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/scim+json"));
    assert!(u["schemas"].as_array().unwrap().contains(&json!(USER_URN)));
    assert_no_nulls(u, "$");
}

#[tokio::test]
async fn s1_2_create_user_older_example_with_nulls_and_typo_schema_urn() {
    let h = Harness::new().await;
    // SCIM-TUT "Example 2": explicit nulls, top-level department/manager, `…enterprise:2.0User`.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "addresses": null,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "familyName", "givenName": "givenName"},
        "phoneNumbers": null,
        "preferredLanguage": null,
        "title": null,
        "department": null,
        "manager": null
    });
    let r = h.post("/Users", body).await;
    r.expect(201);
    assert_eq!(
        r.json["userName"],
        "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    );
    assert_eq!(r.json["displayName"], "Test User");
    assert_no_nulls(&r.json, "$");
    let got = h.get(&format!("/Users/{}", r.id())).await;
    got.expect(200);
    assert_eq!(
        got.json["emails"][0]["value"],
        "Test_User_fd0ea19b@testuser.com"
    );
    for absent in ["addresses", "phoneNumbers", "preferredLanguage", "title"] {
        assert!(
            got.json.get(absent).is_none(),
            "`{absent}` should be absent: {}",
            got.json
        );
    }
    assert_no_nulls(&got.json, "$");
}

#[tokio::test]
async fn s1_2_duplicate_user_name_is_409_uniqueness() {
    let h = Harness::new().await;
    h.post("/Users", tutorial_user()).await.expect(201);
    let r = h.post("/Users", tutorial_user()).await;
    r.expect_error(
        409,
        Some("uniqueness"),
        &["Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"],
    );
    // userName is caseExact=false (RFC 7643 §4.1.1): another case is the same name.
    let r = h
        .post("/Users", json!({"schemas": [USER_URN], "userName": "TEST_USER_00AA00AA-BB11-CC22-DD33-44EE44EE44EE"}))
        .await;
    r.expect_error(409, Some("uniqueness"), &["userName"]);
}

#[tokio::test]
async fn s1_2_get_by_id_and_missing_id_is_404_scim_error() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h.get(&format!("/Users/{id}")).await;
    r.expect(200);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(
        r.json["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    let missing = guid();
    h.get(&format!("/Users/{missing}"))
        .await
        .expect_error(404, None, &[&missing]);
}

#[tokio::test]
async fn s1_2_filter_user_name_form_encoded_hit_is_list_response() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    h.create_user("someone.else@example.com").await;
    // Exactly as Entra sends it: `+` for spaces, `%22` for quotes (MicrosoftDocs/azure-docs#11784).
    let r = h
        .get("/Users?filter=userName+eq+%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22")
        .await;
    r.expect(200);
    assert_eq!(r.json["schemas"], json!([LIST_URN]));
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["startIndex"], 1);
    assert_eq!(r.json["itemsPerPage"], 1);
    assert_eq!(r.json["Resources"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["Resources"][0]["id"], id.as_str());
    assert_eq!(
        r.json["Resources"][0]["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
}

#[tokio::test]
async fn s1_2_filter_without_hit_is_200_empty_list_never_404() {
    let h = Harness::new().await;
    h.create_user("present@example.com").await;
    let r = h
        .get("/Users?filter=userName+eq+%22absent%40example.com%22")
        .await;
    r.expect(200);
    assert_eq!(r.json["schemas"], json!([LIST_URN]));
    assert_eq!(r.json["totalResults"], 0);
    assert_eq!(r.json["Resources"], json!([]));
    assert_eq!(r.json["startIndex"], 1);
    assert_eq!(r.json["itemsPerPage"], 0);
}

#[tokio::test]
async fn s1_1_filter_external_id_eq() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .get(&user_filter(
            "externalId",
            "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        ))
        .await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["Resources"][0]["id"], id.as_str());
    let r = h.get(&user_filter("externalId", "not-this-one")).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 0);
    assert_eq!(r.json["Resources"], json!([]));
}

#[tokio::test]
async fn s1_1_filter_work_email_value_as_matching_attribute() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let filter = form(
        r#"emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com""#,
    );
    let r = h.get(&format!("/Users?filter={filter}")).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn s1_1_test_connection_random_guid_is_200_empty_list() {
    let h = Harness::new().await;
    h.create_user_from(tutorial_user()).await;
    for attr in ["userName", "externalId"] {
        let r = h.get(&user_filter(attr, &guid())).await;
        r.expect(200);
        assert_eq!(r.json["totalResults"], 0, "{attr}");
        assert_eq!(r.json["Resources"], json!([]), "{attr}");
    }
    // "periodically fetches a random user and group"
    h.get("/Users?count=1").await.expect(200);
    h.get("/Groups?count=1&excludedAttributes=members")
        .await
        .expect(200);
}

#[tokio::test]
async fn s1_2_paging_count_5_echoes_start_index() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(
            h.create_user(&format!("page.user.{i:02}@example.com"))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    for page in 0..3 {
        let start = page * 5 + 1;
        let r = h.get(&format!("/Users?startIndex={start}&count=5")).await;
        r.expect(200);
        assert_eq!(
            r.json["startIndex"], start,
            "SCIM validator checks startIndex = page*5+1"
        );
        assert_eq!(r.json["totalResults"], 12);
        let items = r.json["Resources"].as_array().unwrap();
        assert_eq!(r.json["itemsPerPage"], items.len());
        assert_eq!(items.len(), if page < 2 { 5 } else { 2 });
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "pages cover every user exactly once");
}

#[tokio::test]
async fn s1_2_delete_user_is_204() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h.delete(&format!("/Users/{id}")).await;
    r.expect(204);
    assert!(r.raw.is_empty());
    h.get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None, &[&id]);
}

// --- §1.3 user PATCH shapes ----------------------------------------------------------------------

#[tokio::test]
async fn s1_3_replace_work_email_value() {
    let h = Harness::new().await;
    let id = h
        .create_user_from(json!({
            "schemas": [USER_URN], "userName": "emails@example.com",
            "emails": [{"type": "work", "value": "old@work.example", "primary": true},
                       {"type": "home", "value": "me@home.example"}]
        }))
        .await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    let emails = u["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{u}");
    let work = emails.iter().find(|e| e["type"] == "work").unwrap();
    assert_eq!(work["value"], "updatedEmail@microsoft.com");
    assert_eq!(work["primary"], true);
    let home = emails.iter().find(|e| e["type"] == "home").unwrap();
    assert_eq!(home["value"], "me@home.example");
}

#[tokio::test]
async fn s1_3_replace_work_email_value_adds_one_when_none_exists() {
    let h = Harness::new().await;
    let id = h
        .create_user_from(json!({
            "schemas": [USER_URN], "userName": "noemail@example.com",
            "emails": [{"type": "home", "value": "me@home.example"}]
        }))
        .await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    let emails = u["emails"].as_array().unwrap();
    assert!(
        emails
            .iter()
            .any(|e| e["type"] == "work" && e["value"] == "new@work.example"),
        "a work email should have been added: {u}"
    );
    assert!(emails
        .iter()
        .any(|e| e["type"] == "home" && e["value"] == "me@home.example"));

    // And on a user with no emails at all.
    let bare = h.create_user("bare@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .patch(
            &format!("/Users/{bare}"),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bare@work.example"}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{bare}")).await.json;
    assert_eq!(
        u["emails"],
        json!([{"type": "work", "value": "bare@work.example"}])
    );
}

#[tokio::test]
async fn s1_3_replace_name_family_name() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    assert_eq!(
        u["name"]["givenName"], "givenName",
        "other sub-attributes stay"
    );
}

#[tokio::test]
async fn s1_3_replace_user_name() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "userName", "value": new_name}]),
        )
        .await;
    patched(&r);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json["userName"],
        new_name
    );
    let hit = h.get(&user_filter("userName", new_name)).await;
    assert_eq!(hit.json["totalResults"], 1);
    assert_eq!(hit.json["Resources"][0]["id"], id.as_str());
    let old = h
        .get(&user_filter(
            "userName",
            "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        ))
        .await;
    assert_eq!(old.json["totalResults"], 0);
}

#[tokio::test]
async fn s1_3_several_replace_ops_incl_enterprise_employee_number() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "displayName", "value": "Babs Jensen"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@work.example"},
                {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
                {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
                {"op": "Replace", "path": "externalId", "value": "701984"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "E-17"}
            ]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u["displayName"], "Babs Jensen");
    assert_eq!(u["emails"][0]["value"], "babs@work.example");
    assert_eq!(u["name"]["givenName"], "Barbara");
    assert_eq!(u["name"]["familyName"], "Jensen");
    assert_eq!(u["externalId"], "701984");
    assert_eq!(u[ENTERPRISE_URN]["employeeNumber"], "E-17");
    assert!(
        u["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE_URN)),
        "{u}"
    );
}

#[tokio::test]
async fn s1_3_enterprise_department_by_urn_path() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tour Operations"}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u[ENTERPRISE_URN]["department"], "Tour Operations");
    // and it is filterable the same way
    let f = form(&format!(
        "{ENTERPRISE_URN}:department eq \"Tour Operations\""
    ));
    let r = h.get(&format!("/Users?filter={f}")).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
}

#[tokio::test]
async fn s1_3_add_nick_name() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
        )
        .await;
    patched(&r);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json["nickName"],
        "Babs"
    );
}

#[tokio::test]
async fn s1_3_disable_with_string_false_keeps_user_visible() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    patched(&r);
    if r.status == 200 {
        assert_eq!(r.json["active"], false);
    }
    let u = h.get(&format!("/Users/{id}")).await;
    u.expect(200);
    assert_eq!(
        u.json["active"],
        json!(false),
        "a boolean, not the string: {}",
        u.json
    );
    // Soft delete: still found by filter (spec §1.1).
    let f = h
        .get(&user_filter(
            "userName",
            "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        ))
        .await;
    assert_eq!(f.json["totalResults"], 1);
    assert_eq!(f.json["Resources"][0]["active"], false);
    // And `"True"` restores.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    patched(&r);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json["active"],
        json!(true)
    );
}

#[tokio::test]
async fn s1_3_disable_with_boolean_false() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": false}]),
        )
        .await;
    patched(&r);
    assert_eq!(
        h.get(&format!("/Users/{id}")).await.json["active"],
        json!(false)
    );
}

#[tokio::test]
async fn s7_flag_lower_case_ops() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "add", "path": "nickName", "value": "Babs"}
            ]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u["active"], json!(false));
    assert_eq!(u["nickName"], "Babs");
}

#[tokio::test]
async fn s7_flag_pathless_replace_with_dotted_and_urn_keys() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    // The §1.3 / §7 flag body, verbatim, after its filtered-path replace.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "flag@work.example"},
                {"op": "replace", "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
                }}
            ]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u["displayName"], "Bjfe");
    assert_eq!(u["name"]["givenName"], "Kkom");
    assert_eq!(u["name"]["familyName"], "Unua");
    assert_eq!(
        u["name"]["formatted"], "givenName familyName",
        "untouched sub-attribute stays"
    );
    assert_eq!(u[ENTERPRISE_URN]["employeeNumber"], "Aklq");
    assert_eq!(u["emails"][0]["value"], "flag@work.example");
    for dotted in [
        "name.givenName",
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ] {
        assert!(
            u.get(dotted).is_none(),
            "`{dotted}` must not become a key: {u}"
        );
    }
}

#[tokio::test]
async fn s1_3_manager_as_bare_id_string_is_returned_complex() {
    let h = Harness::new().await;
    let manager = h.create_user("manager@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = h.create_user_from(tutorial_user()).await;
    // Observed traffic (SCIM-SDK#686, scimple#1242): the value is the manager's id as a string.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    let m = &u[ENTERPRISE_URN]["manager"];
    assert!(
        m.is_object(),
        "Entra rejects a bare-string manager (budibase#15369): {u}"
    );
    assert_eq!(m["value"], manager.as_str());
    assert!(
        m["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{manager}")),
        "{m}"
    );
}

#[tokio::test]
async fn s1_3_legacy_manager_add_with_ref_array() {
    let h = Harness::new().await;
    let manager = h.create_user("manager@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "manager", "value": [
                {"$ref": format!("http://localhost/scim/Users/{manager}"), "value": manager}
            ]}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(
        u[ENTERPRISE_URN]["manager"]["value"],
        manager.as_str(),
        "{u}"
    );
}

#[tokio::test]
async fn s1_3_legacy_manager_check_filter() {
    let h = Harness::new().await;
    let manager = h.create_user("manager@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager}]),
        )
        .await;
    patched(&r);
    // "answer a ListResponse with just the id if true, empty otherwise"
    let f = form(&format!("id eq \"{id}\" and manager eq \"{manager}\""));
    let r = h.get(&format!("/Users?filter={f}&attributes=id")).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 1);
    let found = r.json["Resources"][0].as_object().unwrap();
    assert_eq!(found["id"], id.as_str());
    assert!(
        found.keys().all(|k| k == "id" || k == "schemas"),
        "only the id: {found:?}"
    );
    let f = form(&format!("id eq \"{id}\" and manager eq \"{}\"", guid()));
    let r = h.get(&format!("/Users?filter={f}&attributes=id")).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 0);
}

#[tokio::test]
async fn s1_3_roles_post_form_and_stringified_json_patch() {
    let h = Harness::new().await;
    let mut body = tutorial_user();
    body["roles"] =
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]);
    let r = h.post("/Users", body).await;
    r.expect(201);
    let id = r.id();
    assert_eq!(
        r.json["roles"],
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    );
    // SingleAppRoleAssignment PATCH: the role object JSON-encoded inside a string (MAP).
    let encoded =
        r#"{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}"#;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "roles", "value": [{"value": encoded}]}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    let roles = u["roles"].as_array().unwrap();
    assert!(
        roles.iter().any(|x| x["value"] == "Admin"),
        "add keeps the existing role: {u}"
    );
    assert!(
        roles.iter().any(|x| x["value"] == encoded),
        "stored as sent: {u}"
    );
    // AssertiveAppRoleAssignmentsComplex: replace removes roles not assigned in Entra.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "roles", "value": [
                {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
                {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Reader", "value": "Reader"}
            ]}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    let values: Vec<&str> = u["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["User", "Reader"]);
}

#[tokio::test]
async fn s1_3_roles_primary_as_string_true() {
    let h = Harness::new().await;
    let mut body = tutorial_user();
    body["roles"] =
        json!([{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]);
    let r = h.post("/Users", body).await;
    r.expect(201);
    assert_eq!(r.json["roles"][0]["primary"], json!(true), "{}", r.json);
}

#[tokio::test]
async fn s1_3_scim_null_update_test_clears_optional_attributes() {
    let h = Harness::new().await;
    let id = h
        .create_user_from(json!({
            "schemas": [USER_URN, ENTERPRISE_URN], "userName": "nulls@example.com",
            "title": "Tour Guide", "nickName": "Babs", "preferredLanguage": "en-US",
            ENTERPRISE_URN: {"department": "Tour Operations", "costCenter": "4130"}
        }))
        .await;
    // First with "" ...
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "title", "value": ""},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": ""}
            ]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert!(u.get("title").is_none(), "title cleared by \"\": {u}");
    assert!(
        u[ENTERPRISE_URN].get("department").is_none(),
        "department cleared by \"\": {u}"
    );
    assert_eq!(u[ENTERPRISE_URN]["costCenter"], "4130");
    assert_eq!(u["nickName"], "Babs");
    // ... then with null.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "nickName", "value": null},
                {"op": "Replace", "path": "preferredLanguage", "value": null},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "value": null}
            ]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert!(u.get("nickName").is_none(), "nickName cleared by null: {u}");
    assert!(
        u.get("preferredLanguage").is_none(),
        "preferredLanguage cleared by null: {u}"
    );
    assert!(
        u.get(ENTERPRISE_URN).is_none(),
        "an emptied extension disappears: {u}"
    );
    assert_eq!(u["userName"], "nulls@example.com");
    assert_no_nulls(&u, "$");
}

#[tokio::test]
async fn s1_3_post_active_string_true_returns_boolean() {
    let h = Harness::new().await;
    let mut body = tutorial_user();
    body["active"] = json!("True");
    let r = h.post("/Users", body).await;
    r.expect(201);
    assert_eq!(r.json["active"], json!(true));
    assert_eq!(
        h.get(&format!("/Users/{}", r.id())).await.json["active"],
        json!(true)
    );
}

// --- §1.4 groups -----------------------------------------------------------------------------

fn group_filter(display_name: &str) -> String {
    format!(
        "/Groups?excludedAttributes=members&filter={}",
        form(&format!("displayName eq \"{display_name}\""))
    )
}

/// The tutorial's group create body (with the ADSCIM schema URI).
fn tutorial_group(display_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

async fn member_ids(h: &Harness, group: &str) -> Vec<String> {
    let r = h.get(&format!("/Groups/{group}")).await;
    r.expect(200);
    let mut ids: Vec<String> = match r.json.get("members") {
        None => Vec::new(),
        Some(Value::Array(ms)) => ms
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect(),
        Some(other) => panic!("members is not an array: {other}"),
    };
    ids.sort();
    ids
}

async fn users(h: &Harness, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            h.create_user(&format!("member{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn s1_4_post_group_with_adscim_schema_uri() {
    let h = Harness::new().await;
    let r = h.post("/Groups", tutorial_group("displayName")).await;
    r.expect(201);
    assert!(!r.id().is_empty());
    assert_eq!(r.json["displayName"], "displayName");
    assert_eq!(r.json["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(r.json["meta"]["resourceType"], "Group");
    assert!(r.json["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(GROUP_URN)));
    assert!(r
        .header("location")
        .unwrap()
        .ends_with(&format!("/Groups/{}", r.id())));
}

#[tokio::test]
async fn s1_4_get_groups_excluded_members_with_display_name_filter() {
    let h = Harness::new().await;
    let u = users(&h, 2).await;
    let gid = h.create_group("Sales", &[&u[0], &u[1]]).await;
    h.create_group("Marketing", &[]).await;
    let r = h.get(&group_filter("Sales")).await;
    r.expect(200);
    assert_eq!(r.json["schemas"], json!([LIST_URN]));
    assert_eq!(r.json["totalResults"], 1);
    let g = &r.json["Resources"][0];
    assert_eq!(g["id"], gid.as_str());
    assert_eq!(g["displayName"], "Sales");
    assert!(
        g.get("members").is_none(),
        "excludedAttributes=members: {g}"
    );
    let r = h.get(&group_filter(&guid())).await;
    r.expect(200);
    assert_eq!(r.json["totalResults"], 0);
    assert_eq!(r.json["Resources"], json!([]));
}

#[tokio::test]
async fn s1_4_add_members_with_null_ref() {
    let h = Harness::new().await;
    let u = users(&h, 3).await;
    let gid = h.post("/Groups", tutorial_group("Sales")).await.id();
    // Many members in ONE PATCH (gallery checklist).
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": u[0]}, {"$ref": null, "value": u[1]}, {"$ref": null, "value": u[2]}
            ]}]),
        )
        .await;
    patched(&r);
    assert_eq!(member_ids(&h, &gid).await, sorted(&[&u[0], &u[1], &u[2]]));
    let g = h.get(&format!("/Groups/{gid}")).await.json;
    let m = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == u[0].as_str())
        .unwrap()
        .clone();
    assert_eq!(m["type"], "User");
    assert!(
        m["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{}", u[0])),
        "{m}"
    );
    // The user sees the group.
    let user = h.get(&format!("/Users/{}", u[0])).await.json;
    assert_eq!(user["groups"][0]["value"], gid.as_str(), "{user}");
}

#[tokio::test]
async fn s1_4_get_group_by_id_excluding_members() {
    let h = Harness::new().await;
    let u = users(&h, 2).await;
    let gid = h.create_group("Sales", &[&u[0], &u[1]]).await;
    let r = h
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    r.expect(200);
    assert_eq!(r.json["id"], gid.as_str());
    assert_eq!(r.json["displayName"], "Sales");
    assert!(r.json.get("members").is_none(), "{}", r.json);
}

#[tokio::test]
async fn s1_4_replace_display_name() {
    let h = Harness::new().await;
    let gid = h.post("/Groups", tutorial_group("Sales")).await.id();
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
        )
        .await;
    patched(&r);
    assert_eq!(
        h.get(&format!("/Groups/{gid}")).await.json["displayName"],
        "Sales EMEA"
    );
    let r = h.get(&group_filter("Sales EMEA")).await;
    assert_eq!(r.json["totalResults"], 1);
}

#[tokio::test]
async fn s1_4_remove_members_by_value_array_removes_only_those() {
    // AzureAD/SCIMReferenceCode#10: the reference implementation removed everyone.
    let h = Harness::new().await;
    let u = users(&h, 4).await;
    let gid = h.create_group("Sales", &[&u[0], &u[1], &u[2], &u[3]]).await;
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u[0]}]}]),
        )
        .await;
    patched(&r);
    assert_eq!(member_ids(&h, &gid).await, sorted(&[&u[1], &u[2], &u[3]]));
    // The §7 default form without `$ref`, two at once.
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": u[1]}, {"value": u[3]}]}]),
        )
        .await;
    patched(&r);
    assert_eq!(member_ids(&h, &gid).await, sorted(&[&u[2]]));
}

#[tokio::test]
async fn s1_4_remove_member_by_value_filter_path() {
    let h = Harness::new().await;
    let u = users(&h, 3).await;
    let gid = h.create_group("Sales", &[&u[0], &u[1], &u[2]]).await;
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[1])}]),
        )
        .await;
    patched(&r);
    assert_eq!(member_ids(&h, &gid).await, sorted(&[&u[0], &u[2]]));
}

#[tokio::test]
async fn s1_4_remove_members_without_value_removes_all() {
    let h = Harness::new().await;
    let u = users(&h, 3).await;
    let gid = h.create_group("Sales", &[&u[0], &u[1], &u[2]]).await;
    let r = h
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members"}]),
        )
        .await;
    patched(&r);
    assert_eq!(member_ids(&h, &gid).await, Vec::<String>::new());
    // The users themselves stay.
    h.get(&format!("/Users/{}", u[0])).await.expect(200);
}

#[tokio::test]
async fn s1_4_delete_group_is_204() {
    let h = Harness::new().await;
    let u = users(&h, 1).await;
    let gid = h.create_group("Sales", &[&u[0]]).await;
    let r = h.delete(&format!("/Groups/{gid}")).await;
    r.expect(204);
    h.get(&format!("/Groups/{gid}"))
        .await
        .expect_error(404, None, &[&gid]);
    let user = h.get(&format!("/Users/{}", u[0])).await;
    user.expect(200);
    assert!(
        user.json.get("groups").is_none(),
        "membership went with the group: {}",
        user.json
    );
}

#[tokio::test]
async fn s1_4_duplicate_display_name_is_409_uniqueness() {
    let h = Harness::new().await;
    h.post("/Groups", tutorial_group("Sales")).await.expect(201);
    h.post("/Groups", tutorial_group("Sales"))
        .await
        .expect_error(409, Some("uniqueness"), &["Sales"]);
}

// --- Okta ----------------------------------------------------------------------------------------

#[tokio::test]
async fn okta_put_full_user_with_active_false_deactivates() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let mut full = h.get(&format!("/Users/{id}")).await.json;
    full["active"] = json!(false);
    full["name"]["givenName"] = json!("Changed");
    let r = h.put(&format!("/Users/{id}"), full).await;
    r.expect(200);
    assert_eq!(r.json["active"], json!(false));
    assert_eq!(r.json["name"]["givenName"], "Changed");
    let u = h.get(&format!("/Users/{id}")).await;
    u.expect(200);
    assert_eq!(u.json["active"], json!(false));
}

#[tokio::test]
async fn okta_pathless_replace_active_false() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    patched(&r);
    let u = h.get(&format!("/Users/{id}")).await.json;
    assert_eq!(u["active"], json!(false));
    assert_eq!(
        u["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
}

#[tokio::test]
async fn s1_1_responses_are_scim_json() {
    let h = Harness::new().await;
    let id = h.create_user_from(tutorial_user()).await;
    for uri in [
        format!("/Users/{id}"),
        "/Users".to_owned(),
        "/Schemas".to_owned(),
    ] {
        let r = h.req(Method::GET, &uri).send().await;
        r.expect(200);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/scim+json"),
            "{uri}"
        );
    }
}
