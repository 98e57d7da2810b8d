//! PATCH shapes from RFC 7644 §3.5.2 and from Entra ID (spec/entra-provisioning.md §1.3, §1.4,
//! §7), one test per shape: parse, apply to a body, and snapshot the body and membership change
//! (or the error). Update snapshots with `UPDATE_EXPECT=1 cargo test -p domain --test patch`.

// Helpers outside #[test] fns are not covered by clippy.toml's allow-*-in-tests.
#![allow(clippy::unwrap_used)]

use domain::patch::{apply_patch, needs_members, parse_patch};
use domain::schema::Registry;
use domain::{Member, ResourceKind};
use expect_test::{expect, Expect};
use serde_json::{json, Map, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn check_with(
    kind: ResourceKind,
    before: Value,
    members: Option<&[Member]>,
    patch: Value,
    expect: Expect,
) {
    let registry = Registry::builtin();
    let schema = registry.info(kind);
    let before = before.as_object().cloned().unwrap();
    let mut body = before.clone();
    let result =
        parse_patch(&patch).and_then(|ops| apply_patch(kind, &mut body, members, &ops, &schema));
    let out = match result {
        Ok(change) => format!("{}{change:?}", diff(&before, &body)),
        Err(e) => format!("{e:?}"),
    };
    expect.assert_eq(&out);
}

/// The top-level attributes a PATCH changed: `-` before, `+` after, one line each.
fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (k, old) in before {
        match after.get(k) {
            Some(new) if new == old => {}
            Some(new) => out += &format!("- {k}: {old}\n+ {k}: {new}\n"),
            None => out += &format!("- {k}: {old}\n"),
        }
    }
    for (k, new) in after {
        if !before.contains_key(k) {
            out += &format!("+ {k}: {new}\n");
        }
    }
    out
}

/// A user PATCH with the given operations.
fn user(before: Value, ops: Value, expect: Expect) {
    check_with(ResourceKind::User, before, None, patch_body(ops), expect);
}

/// A group PATCH with the given operations.
fn group(before: Value, ops: Value, expect: Expect) {
    check_with(ResourceKind::Group, before, None, patch_body(ops), expect);
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn babs() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
        ],
        "active": true
    })
}

fn tour_guides() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides"})
}

fn member(id: &str, display: &str) -> Member {
    Member {
        value: id.into(),
        kind: ResourceKind::User,
        display: Some(display.into()),
    }
}

// --- Entra user shapes (spec §1.3) -------------------------------------------------------------

#[test]
fn spec_1_3_replace_work_email_value() {
    user(
        babs(),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"}]),
        expect![[r#"
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"updatedEmail@microsoft.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            Keep"#]],
    );
}

#[test]
fn spec_1_3_replace_work_email_value_adds_missing_work_email() {
    user(
        json!({"userName": "bjensen", "emails": [{"value": "babs@jensen.org", "type": "home"}]}),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"}]),
        expect![[r#"
            - emails: [{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"babs@jensen.org","type":"home"},{"type":"work","value":"updatedEmail@microsoft.com"}]
            Keep"#]],
    );
}

#[test]
fn spec_1_3_replace_complex_sub_attribute() {
    user(
        babs(),
        json!([{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]),
        expect![[r#"
        - name: {"givenName":"Barbara","familyName":"Jensen"}
        + name: {"givenName":"Barbara","familyName":"updatedFamilyName"}
        Keep"#]],
    );
}

#[test]
fn spec_1_3_replace_sub_attribute_creates_parent() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Replace", "path": "name.givenName", "value": "Kkom"}]),
        expect![[r#"
        + name: {"givenName":"Kkom"}
        Keep"#]],
    );
}

#[test]
fn spec_1_3_replace_user_name_any_case() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Replace", "path": "USERNAME", "value": "5b50@testuser.com"}]),
        expect![[r#"
            - userName: "bjensen"
            + userName: "5b50@testuser.com"
            Keep"#]],
    );
}

#[test]
fn spec_1_3_several_attributes_one_replace_each() {
    user(
        babs(),
        json!([
            {"op": "Replace", "path": "displayName", "value": "Babs J"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@contoso.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Babs"},
            {"op": "Replace", "path": "name.familyName", "value": "J"},
            {"op": "Replace", "path": "externalId", "value": "b-1"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984"}
        ]),
        expect![[r#"
            - schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
            + schemas: ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            - name: {"givenName":"Barbara","familyName":"Jensen"}
            + name: {"givenName":"Babs","familyName":"J"}
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"babs@contoso.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + displayName: "Babs J"
            + externalId: "b-1"
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"employeeNumber":"701984"}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_add_single_value_string() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
        expect![[r#"
        + nickName: "Babs"
        Keep"#]],
    );
}

#[test]
fn spec_1_3_disable_boolean_as_string() {
    user(
        babs(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        expect![[r#"
        - active: true
        + active: "False"
        Keep"#]],
    );
}

#[test]
fn spec_1_3_disable_boolean() {
    user(
        json!({"userName": "bjensen", "active": true}),
        json!([{"op": "Replace", "path": "active", "value": false}]),
        expect![[r#"
        - active: true
        + active: false
        Keep"#]],
    );
}

#[test]
fn spec_1_3_enterprise_attribute_urn_path() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tour Operations"}]),
        expect![[r#"
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tour Operations"}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_manager_bare_string() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]),
        expect![[r#"
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"manager":{"value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_manager_bare_string_drops_old_manager_details() {
    user(
        json!({"userName": "bjensen", ENTERPRISE: {"manager": {"value": "old", "displayName": "Old Boss", "$ref": "../Users/old"}}}),
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "new"}]),
        expect![[r#"
            - urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"manager":{"value":"old","displayName":"Old Boss","$ref":"../Users/old"}}
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"manager":{"value":"new"}}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_manager_legacy_unqualified_array() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "http://example.com/scim/Users/26118915", "value": "26118915"}]}]),
        expect![[r#"
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"manager":{"$ref":"http://example.com/scim/Users/26118915","value":"26118915"}}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_roles_stringified_json() {
    user(
        json!({"userName": "bjensen"}),
        json!([{"op": "Add", "path": "roles", "value": [{"value": "{\"id\":\"06b07648\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}]}]),
        expect![[r#"
            + roles: [{"value":"{\"id\":\"06b07648\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}]
            Keep"#]],
    );
}

#[test]
fn spec_1_3_roles_assertive_replace() {
    user(
        json!({"userName": "bjensen", "roles": [{"value": "Old", "primary": false}]}),
        json!([{"op": "replace", "path": "roles", "value": [
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
            {"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}
        ]}]),
        expect![[r#"
            - roles: [{"value":"Old","primary":false}]
            + roles: [{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"User","value":"User"},{"primary":"True","type":"WindowsAzureActiveDirectoryRole","display":"Admin","value":"Admin"}]
            Keep"#]],
    );
}

#[test]
fn spec_1_3_null_update_clears_with_empty_string() {
    user(
        json!({"userName": "bjensen", "nickName": "Babs", "name": {"givenName": "Barbara", "middleName": "J"}, ENTERPRISE: {"department": "Tours"}}),
        json!([
            {"op": "Replace", "path": "nickName", "value": ""},
            {"op": "Replace", "path": "name.middleName", "value": ""},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": ""},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": ""}
        ]),
        expect![[r#"
            - nickName: "Babs"
            - name: {"givenName":"Barbara","middleName":"J"}
            + name: {"givenName":"Barbara"}
            - urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tours"}
            Keep"#]],
    );
}

#[test]
fn spec_1_3_null_update_clears_with_null() {
    user(
        babs(),
        json!([
            {"op": "Replace", "path": "name", "value": null},
            {"op": "Add", "path": "emails", "value": null},
            {"op": "replace", "value": {"addresses": null, "title": null}}
        ]),
        expect![[r#"
            - name: {"givenName":"Barbara","familyName":"Jensen"}
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            - addresses: [{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
            Keep"#]],
    );
}

// --- aadOptscim062020 shapes (spec §7) ---------------------------------------------------------

#[test]
fn spec_7_pathless_replace_dotted_keys() {
    user(
        babs(),
        json!([{"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}]),
        expect![[r#"
            - schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
            + schemas: ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            - name: {"givenName":"Barbara","familyName":"Jensen"}
            + name: {"givenName":"Kkom","familyName":"Unua"}
            + displayName: "Bjfe"
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"employeeNumber":"Aklq"}
            Keep"#]],
    );
}

#[test]
fn spec_7_disable_lowercase_op() {
    user(
        json!({"userName": "bjensen", "active": true}),
        json!([{"op": "replace", "path": "active", "value": false}]),
        expect![[r#"
        - active: true
        + active: false
        Keep"#]],
    );
}

#[test]
fn spec_7_pathless_replace_okta_echoes_read_only_attributes() {
    user(
        json!({"userName": "bjensen", "active": true}),
        json!([{"op": "replace", "value": {"id": "2819c223", "meta": {"resourceType": "User"}, "schemas": ["x"], "active": false}}]),
        expect![[r#"
            - active: true
            + active: false
            Keep"#]],
    );
}

// --- Entra group shapes (spec §1.4) -------------------------------------------------------------

#[test]
fn spec_1_4_add_members() {
    group(
        tour_guides(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}, {"$ref": null, "value": "a1"}]}]),
        expect![[r#"Delta { add: ["f648f8d5ea4e4cd38e9c", "a1"], remove: [] }"#]],
    );
}

#[test]
fn spec_1_4_replace_display_name() {
    group(
        tour_guides(),
        json!([{"op": "Replace", "path": "displayName", "value": "Guides"}]),
        expect![[r#"
        - displayName: "Tour Guides"
        + displayName: "Guides"
        Keep"#]],
    );
}

#[test]
fn spec_1_4_remove_member_value_array() {
    group(
        tour_guides(),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1091"}]}]),
        expect![[r#"Delta { add: [], remove: ["u1091"] }"#]],
    );
}

#[test]
fn spec_1_4_remove_member_value_filter() {
    group(
        tour_guides(),
        json!([{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]),
        expect![[r#"Delta { add: [], remove: ["7f4bc1a3-285e-48ae-8202-5accb43efb0e"] }"#]],
    );
}

#[test]
fn spec_1_4_remove_all_members() {
    group(
        tour_guides(),
        json!([{"op": "Remove", "path": "members"}]),
        expect!["Set([])"],
    );
}

#[test]
fn spec_1_4_member_ops_compose() {
    group(
        tour_guides(),
        json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}]},
            {"op": "Add", "path": "members", "value": [{"value": "b"}, "c"]},
            {"op": "Remove", "path": "members", "value": [{"value": "a"}]},
            {"op": "Remove", "path": "members[value eq \"c\"]"}
        ]),
        expect![[r#"Delta { add: ["b"], remove: ["a", "c"] }"#]],
    );
}

#[test]
fn spec_1_4_member_without_value_is_invalid() {
    group(
        tour_guides(),
        json!([{"op": "Add", "path": "members", "value": [{"display": "x"}]}]),
        expect![[r#"InvalidValue("a member in Operations[0] needs a string `value`")"#]],
    );
}

// --- RFC 7644 §3.5.2.1 add ---------------------------------------------------------------------

#[test]
fn rfc7644_3_5_2_1_add_members() {
    group(
        tour_guides(),
        json!([{"op": "add", "path": "members", "value": [{
            "display": "Babs Jensen",
            "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "value": "2819c223-7f76-453a-919d-413861904646"
        }]}]),
        expect![[r#"Delta { add: ["2819c223-7f76-453a-919d-413861904646"], remove: [] }"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_emails_and_nickname_without_path() {
    user(
        babs(),
        json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b@example.org", "type": "other"}], "nickname": "Babs"}}]),
        expect![[r#"
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"b@example.org","type":"other"}]
            + nickname: "Babs"
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_primary_email_demotes_others() {
    user(
        babs(),
        json!([{"op": "add", "path": "emails", "value": {"value": "new@example.org", "type": "other", "primary": true}}]),
        expect![[r#"
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home"},{"value":"new@example.org","type":"other","primary":true}]
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_complex_merges() {
    user(
        babs(),
        json!([{"op": "add", "path": "name", "value": {"middleName": "Jane"}}]),
        expect![[r#"
        - name: {"givenName":"Barbara","familyName":"Jensen"}
        + name: {"givenName":"Barbara","familyName":"Jensen","middleName":"Jane"}
        Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_to_extension_without_path() {
    user(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}),
        json!([{"op": "add", "value": {
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": "26118915"}
        }}]),
        expect![[r#"
            - schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
            + schemas: ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"employeeNumber":"701984","manager":{"value":"26118915"}}
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_extension_by_urn_path() {
    user(
        json!({"userName": "bjensen", ENTERPRISE: {"department": "Tours"}}),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "4130"}}]),
        expect![[r#"
            - urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tours"}
            + urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tours","costCenter":"4130"}
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_1_add_with_filter_and_sub_creates_element() {
    user(
        babs(),
        json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
        expect![[r#"
            + phoneNumbers: [{"type":"mobile","value":"+1 555 0100"}]
            Keep"#]],
    );
}

// --- RFC 7644 §3.5.2.2 remove ------------------------------------------------------------------

#[test]
fn rfc7644_3_5_2_2_remove_member_by_filter() {
    group(
        tour_guides(),
        json!([{"op": "remove", "path": "members[value eq \"2819c223-7f76-...413861904646\"]"}]),
        expect![[r#"Delta { add: [], remove: ["2819c223-7f76-...413861904646"] }"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_all_members() {
    group(
        tour_guides(),
        json!([{"op": "remove", "path": "members"}]),
        expect!["Set([])"],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_all_then_add() {
    group(
        tour_guides(),
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}
        ]),
        expect![[r#"Set(["08e1d05d"])"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_members_by_display_uses_current_members() {
    let members = [
        member("2819c223", "Babs Jensen"),
        member("902c246b", "Mandy Pepperidge"),
    ];
    let ops = json!([{"op": "remove", "path": "members[display eq \"babs jensen\"]"}]);
    assert!(needs_members(
        &parse_patch(&patch_body(ops.clone())).unwrap()
    ));
    check_with(
        ResourceKind::Group,
        tour_guides(),
        Some(&members),
        patch_body(ops),
        expect![[r#"Delta { add: [], remove: ["2819c223"] }"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_members_by_display_without_members_loaded() {
    group(
        tour_guides(),
        json!([{"op": "remove", "path": "members[display eq \"Babs\"]"}]),
        expect![[
            r#"Internal("PATCH filter on `members` needs the group's members loaded (see needs_members)")"#
        ]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_with_complex_filter() {
    user(
        babs(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
        expect![[r#"
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"babs@jensen.org","type":"home"}]
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_sub_attribute_of_matches() {
    user(
        babs(),
        json!([{"op": "remove", "path": "addresses[type eq \"work\"].streetAddress"}]),
        expect![[r#"
        - addresses: [{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
        + addresses: [{"type":"work","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
        Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_single_attribute() {
    user(
        babs(),
        json!([{"op": "remove", "path": "name.familyName"}, {"op": "remove", "path": "active"}]),
        expect![[r#"
        - name: {"givenName":"Barbara","familyName":"Jensen"}
        + name: {"givenName":"Barbara"}
        - active: true
        Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_listed_values_of_other_attribute() {
    user(
        babs(),
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}]),
        expect![[r#"
            - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + emails: [{"value":"bjensen@example.com","type":"work","primary":true}]
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_extension_attribute_drops_empty_extension() {
    user(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "userName": "bjensen", ENTERPRISE: {"department": "Tours"}}),
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
        expect![[r#"
            - schemas: ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            + schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
            - urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tours"}
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_whole_extension() {
    user(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "userName": "bjensen", ENTERPRISE: {"department": "Tours", "costCenter": "1"}}),
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]),
        expect![[r#"
            - schemas: ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            + schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
            - urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: {"department":"Tours","costCenter":"1"}
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_filter_matching_nothing_is_no_target() {
    user(
        babs(),
        json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
        expect![[
            r#"NoTarget("no value of `emails` matches `type eq \"other\"` (Operations[0])")"#
        ]],
    );
}

// --- RFC 7644 §3.5.2.3 replace -----------------------------------------------------------------

#[test]
fn rfc7644_3_5_2_3_replace_members() {
    group(
        tour_guides(),
        json!([{"op": "replace", "path": "members", "value": [
            {"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223", "value": "2819c223"},
            {"display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d", "value": "08e1d05d"}
        ]}]),
        expect![[r#"Set(["2819c223", "08e1d05d"])"#]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_work_address() {
    user(
        babs(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
            "type": "work",
            "streetAddress": "911 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
            "primary": true
        }}]),
        expect![[r#"
            - addresses: [{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
            + addresses: [{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","formatted":"911 Universal City Plaza\nHollywood, CA 91608 US","primary":true},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_street_address_of_work_address() {
    user(
        babs(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
        expect![[r#"
            - addresses: [{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
            + addresses: [{"type":"work","streetAddress":"1010 Broadway Ave","locality":"Hollywood"},{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood"}]
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_emails_and_nickname_without_path() {
    user(
        json!({"userName": "bjensen", "emails": [{"value": "old@example.com", "type": "work"}]}),
        json!([{"op": "replace", "value": {
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
            "nickname": "Babs"
        }}]),
        expect![[r#"
            - emails: [{"value":"old@example.com","type":"work"}]
            + emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
            + nickname: "Babs"
            Keep"#]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_filter_matching_nothing_is_no_target() {
    user(
        babs(),
        json!([{"op": "replace", "path": "addresses[type eq \"other\"]", "value": {"locality": "X"}}]),
        expect![[
            r#"NoTarget("no value of `addresses` matches `type eq \"other\"` (Operations[0])")"#
        ]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_primary_sub_attribute_demotes_others() {
    user(
        babs(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
        expect![[r#"
        - emails: [{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]
        + emails: [{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]
        Keep"#]],
    );
}

// --- mutability ---------------------------------------------------------------------------------

#[test]
fn mutability_id() {
    user(
        babs(),
        json!([{"op": "replace", "path": "id", "value": "x"}]),
        expect![[r#"Mutability("`id` is readOnly")"#]],
    );
}

#[test]
fn mutability_meta_sub_attribute() {
    user(
        babs(),
        json!([{"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}]),
        expect![[r#"Mutability("`meta` is readOnly")"#]],
    );
}

#[test]
fn mutability_schemas() {
    group(
        tour_guides(),
        json!([{"op": "remove", "path": "schemas"}]),
        expect![[r#"Mutability("`schemas` is readOnly")"#]],
    );
}

#[test]
fn mutability_user_groups() {
    user(
        babs(),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
        expect![[r#"Mutability("`groups` is readOnly")"#]],
    );
}

#[test]
fn mutability_core_urn_qualified_id() {
    user(
        babs(),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:id", "value": "x"}]),
        expect![[r#"Mutability("`id` is readOnly")"#]],
    );
}

// --- invalid syntax -----------------------------------------------------------------------------

fn syntax(patch: Value, expect: Expect) {
    check_with(ResourceKind::User, babs(), None, patch, expect);
}

#[test]
fn syntax_body_not_an_object() {
    syntax(
        json!([]),
        expect![[r#"InvalidSyntax("a PATCH body must be a JSON object")"#]],
    );
}

#[test]
fn syntax_no_operations() {
    syntax(
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        expect![[r#"InvalidSyntax("a PATCH body needs an `Operations` array")"#]],
    );
}

#[test]
fn syntax_wrong_schemas() {
    syntax(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
        expect![[
            r#"InvalidSyntax("`schemas` must contain `urn:ietf:params:scim:api:messages:2.0:PatchOp`")"#
        ]],
    );
}

#[test]
fn syntax_missing_schemas_and_operations_key_in_any_case_are_tolerated() {
    syntax(
        json!({"operations": [{"op": "ADD", "path": "nickName", "value": "Babs"}]}),
        expect![[r#"
        + nickName: "Babs"
        Keep"#]],
    );
}

#[test]
fn syntax_unknown_op() {
    syntax(
        patch_body(json!([
            {"op": "add", "path": "nickName", "value": "a"},
            {"op": "remove", "path": "nickName"},
            {"op": "move", "path": "nickName"}
        ])),
        expect![[r#"InvalidSyntax("unknown PATCH op `move` in Operations[2]")"#]],
    );
}

#[test]
fn syntax_missing_op() {
    syntax(
        patch_body(json!([{"path": "nickName", "value": "a"}])),
        expect![[r#"InvalidSyntax("missing `op` in Operations[0]")"#]],
    );
}

#[test]
fn syntax_operation_not_an_object() {
    syntax(
        patch_body(json!(["add"])),
        expect![[r#"InvalidSyntax("Operations[0] must be an object")"#]],
    );
}

#[test]
fn syntax_invalid_path() {
    syntax(
        patch_body(json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])),
        expect![[
            r#"InvalidPath("invalid path `emails[type eq \"work\"` in Operations[0]: expected `]` at 21")"#
        ]],
    );
}

#[test]
fn syntax_invalid_key_in_pathless_value() {
    syntax(
        patch_body(json!([{"op": "replace", "value": {"bad key": "x"}}])),
        expect![[
            r#"InvalidPath("invalid attribute `bad key` in the value of Operations[0]: unexpected `key` at 4")"#
        ]],
    );
}

#[test]
fn syntax_add_without_value() {
    syntax(
        patch_body(json!([{"op": "add", "path": "nickName"}])),
        expect![[r#"InvalidValue("add in Operations[0] needs a `value`")"#]],
    );
}

#[test]
fn syntax_pathless_add_with_non_object_value() {
    syntax(
        patch_body(json!([{"op": "add", "value": "Babs"}])),
        expect![[r#"InvalidValue("add without a path in Operations[0] needs an object `value`")"#]],
    );
}

#[test]
fn syntax_remove_without_path_is_no_target() {
    syntax(
        patch_body(json!([{"op": "remove"}])),
        expect![[r#"NoTarget("remove needs a path (Operations[0])")"#]],
    );
}

#[test]
fn syntax_empty_path_is_no_path() {
    syntax(
        patch_body(json!([{"op": "replace", "path": "", "value": {"nickName": "Babs"}}])),
        expect![[r#"
        + nickName: "Babs"
        Keep"#]],
    );
}

// --- needs_members ------------------------------------------------------------------------------

#[test]
fn needs_members_only_for_filters_beyond_value_eq() {
    let needs = |ops: Value| needs_members(&parse_patch(&patch_body(ops)).unwrap());
    assert!(!needs(
        json!([{"op": "remove", "path": "members[value eq \"a\"]"}])
    ));
    assert!(!needs(
        json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}])
    ));
    assert!(!needs(
        json!([{"op": "remove", "path": "members", "value": [{"value": "a"}]}])
    ));
    assert!(!needs(
        json!([{"op": "replace", "path": "displayName", "value": "x"}])
    ));
    assert!(needs(
        json!([{"op": "remove", "path": "members[display eq \"x\"]"}])
    ));
    assert!(needs(
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members[type eq \"Group\"]"}])
    ));
}

#[test]
fn rfc7644_3_5_2_3_pathless_replace_group_with_members() {
    group(
        tour_guides(),
        json!([{"op": "replace", "value": {"id": "abf4dd94", "displayName": "Guides", "members": [{"value": "u1"}, {"value": "u2"}]}}]),
        expect![[r#"
            - displayName: "Tour Guides"
            + displayName: "Guides"
            Set(["u1", "u2"])"#]],
    );
}

#[test]
fn rfc7644_3_5_2_3_replace_member_by_filter() {
    group(
        tour_guides(),
        json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u3"}}]),
        expect![[r#"Delta { add: ["u3"], remove: ["u1"] }"#]],
    );
}

#[test]
fn rfc7644_3_5_2_2_remove_members_by_filter_sees_earlier_adds() {
    let members = [
        member("u1", "Babs"),
        Member {
            value: "g1".into(),
            kind: ResourceKind::Group,
            display: None,
        },
    ];
    check_with(
        ResourceKind::Group,
        tour_guides(),
        Some(&members),
        patch_body(json!([
            {"op": "add", "path": "members", "value": [{"value": "u2"}]},
            {"op": "remove", "path": "members[value sw \"u\"]"}
        ])),
        expect![[r#"Delta { add: [], remove: ["u1", "u2"] }"#]],
    );
}

#[test]
fn members_sub_attribute_is_invalid_path() {
    group(
        tour_guides(),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
        expect![[
            r#"InvalidPath("`members.display` is not patchable: member details come from the member resources (Operations[0])")"#
        ]],
    );
}
