//! Validation and extension parsing, driven by the request bodies Entra ID and Okta send.
//! `UPDATE_EXPECT=1 cargo test -p domain` rewrites the expectations.

use expect_test::{expect, Expect};
use jiff::Timestamp;
use serde_json::{json, Value};

use super::*;
use crate::{Error, ResourceKind, StoredResource};

/// Validates `input` as a create (or a replace of `current`) and shows the body or the error.
fn outcome(
    registry: &Registry,
    kind: ResourceKind,
    input: Value,
    current: Option<&StoredResource>,
) -> String {
    let mode = match current {
        Some(c) => Mode::Replace(c),
        None => Mode::Create,
    };
    match registry.validate(kind, input, mode) {
        Ok(v) => {
            let mut out = serde_json::to_string_pretty(&v.body).unwrap();
            if let Some(members) = v.members() {
                out.push_str(&format!("\nmembers: {members:?}"));
            }
            out
        }
        Err(e) => format!("{e:?}"),
    }
}

fn check(kind: ResourceKind, input: Value, expect: Expect) {
    expect.assert_eq(&outcome(&Registry::builtin(), kind, input, None));
}

fn user(input: Value, expect: Expect) {
    check(ResourceKind::User, input, expect)
}

fn group(input: Value, expect: Expect) {
    check(ResourceKind::Group, input, expect)
}

fn stored(kind: ResourceKind, body: Value) -> StoredResource {
    StoredResource {
        id: "u1".into(),
        kind,
        body: body.as_object().unwrap().clone(),
        created: Timestamp::UNIX_EPOCH,
        last_modified: Timestamp::UNIX_EPOCH,
        version: 1,
        members: None,
        groups: None,
    }
}

const ACME: &str = r#"{
  "id": "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
  "name": "AcmeUser",
  "attributes": [
    {"name": "badge", "type": "string", "mutability": "immutable"},
    {"name": "level", "type": "integer"},
    {"name": "ratio", "type": "decimal"},
    {"name": "hired", "type": "dateTime"},
    {"name": "photo", "type": "binary"},
    {"name": "site", "type": "string", "required": true},
    {"name": "tags", "type": "string", "multiValued": true}
  ]
}"#;

fn acme() -> Registry {
    Registry::with_extensions(vec![Registry::parse_extension(ACME).unwrap()]).unwrap()
}

#[test]
fn spec_1_2_entra_create_user_verbatim() {
    user(
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
          "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
          "active": true,
          "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
          "meta": {"resourceType": "User"},
          "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
          "roles": [] }),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User"
              ],
              "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
              "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
              "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName"
              },
              "active": true,
              "emails": [
                {
                  "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
                  "type": "work",
                  "primary": true
                }
              ]
            }"#]],
    );
}

#[test]
fn spec_1_2_create_with_explicit_nulls_and_typod_schema_urn() {
    user(
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
          "externalId": "ext-1", "userName": "bjensen", "active": true,
          "addresses": null, "phoneNumbers": null, "preferredLanguage": null, "title": null,
          "department": null, "manager": null,
          "displayName": "Babs Jensen",
          "emails": [{"primary": true, "type": "work", "value": "bjensen@example.com"}],
          "meta": {"resourceType": "User"},
          "name": {"familyName": "Jensen", "givenName": "Barbara", "middleName": null} }),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User"
              ],
              "externalId": "ext-1",
              "userName": "bjensen",
              "name": {
                "familyName": "Jensen",
                "givenName": "Barbara"
              },
              "displayName": "Babs Jensen",
              "active": true,
              "emails": [
                {
                  "value": "bjensen@example.com",
                  "type": "work",
                  "primary": true
                }
              ]
            }"#]],
    );
}

#[test]
fn spec_1_3_boolean_strings_any_case() {
    // Reference Postman suite posts `"active": "True"`; Entra PATCH sends "False"; roles carry
    // `"primary": "True"`.
    user(
        json!({"userName": "a", "active": "True",
               "roles": [{"primary": "TRUE", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User"
              ],
              "userName": "a",
              "active": true,
              "roles": [
                {
                  "value": "Admin",
                  "type": "WindowsAzureActiveDirectoryRole",
                  "primary": true
                }
              ]
            }"#]],
    );
    user(
        json!({"userName": "a", "active": "false"}),
        expect![[r#"
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "userName": "a",
          "active": false
        }"#]],
    );
}

#[test]
fn canonical_casing_of_attribute_names() {
    user(
        json!({"USERNAME": "a", "Emails": [{"VALUE": "a@x.org", "Type": "work"}],
               "name": {"GIVENNAME": "A"}, "ExternalID": "e1",
               "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"DEPARTMENT": "Sales"}}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "externalId": "e1",
              "userName": "a",
              "name": {
                "givenName": "A"
              },
              "emails": [
                {
                  "value": "a@x.org",
                  "type": "work"
                }
              ],
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Sales"
              }
            }"#]],
    );
}

#[test]
fn spec_1_3_extension_attributes_as_urn_prefixed_and_dotted_keys() {
    // What a path-less replace (aadOptscim062020) leaves in the body.
    user(
        json!({"userName": "a", "name.givenName": "Kkom",
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2",
               "urn:ietf:params:scim:schemas:core:2.0:User:title": "Boss"}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "userName": "a",
              "name": {
                "givenName": "Kkom"
              },
              "title": "Boss",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "Aklq",
                "department": "Sales",
                "manager": {
                  "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
                }
              }
            }"#]],
    );
}

#[test]
fn spec_1_3_manager_as_bare_string() {
    user(
        json!({"userName": "a",
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m1"}}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "userName": "a",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {
                  "value": "m1"
                }
              }
            }"#]],
    );
}

#[test]
fn single_values_for_multi_valued_attributes_and_empty_values() {
    user(
        json!({"userName": "a", "emails": {"value": "a@x.org"}, "phoneNumbers": [], "title": "",
               "roles": [{"value": ""}], "nickName": "", "ims": [null]}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User"
              ],
              "userName": "a",
              "emails": [
                {
                  "value": "a@x.org"
                }
              ]
            }"#]],
    );
}

#[test]
fn unknown_attributes_and_read_only_values_are_dropped() {
    user(
        json!({"id": "client-id", "userName": "a", "favouriteColour": "blue",
               "name": {"givenName": "A", "nickname": "x"},
               "groups": [{"value": "g1"}],
               "meta": {"created": "2020-01-01T00:00:00Z"},
               "urn:example:unknown": {"x": 1},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                   {"manager": {"value": "m1", "displayName": "Boss"}, "shoeSize": 44}}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "userName": "a",
              "name": {
                "givenName": "A"
              },
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {
                  "value": "m1"
                }
              }
            }"#]],
    );
}

#[test]
fn duplicate_values_collapse_and_one_primary_at_most() {
    user(
        json!({"userName": "a", "emails": [{"value": "a@x.org"}, {"value": "a@x.org"}]}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User"
              ],
              "userName": "a",
              "emails": [
                {
                  "value": "a@x.org"
                }
              ]
            }"#]],
    );
    user(
        json!({"userName": "a", "emails": [{"value": "a@x.org", "primary": true},
                                          {"value": "b@x.org", "primary": "true"}]}),
        expect![[
            r#"InvalidValue("`emails` may have at most one value with `primary` true, got 2")"#
        ]],
    );
}

#[test]
fn type_errors_name_the_attribute() {
    let cases = [
        json!({"userName": "a", "emails": [{"value": 42}]}),
        json!({"userName": "a", "active": "yes"}),
        json!({"userName": "a", "name": "Barbara Jensen"}),
        json!({"userName": 7}),
        json!({"userName": "a", "emails": [{"value": "a@x.org", "primary": 1}]}),
        json!({"userName": "a", "x509Certificates": [{"value": "not base64!"}]}),
        json!({"userName": "a", "profileUrl": false}),
        json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "Sales"}),
        json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": ["m1"]}),
        json!(["not", "an", "object"]),
    ];
    let out: Vec<String> = cases
        .into_iter()
        .map(|c| outcome(&Registry::builtin(), ResourceKind::User, c, None))
        .collect();
    expect![[r#"
        InvalidValue("`emails[0].value` must be a string, got number")
        InvalidValue("`active` must be a boolean, got \"yes\"")
        InvalidValue("`name` must be an object, got \"Barbara Jensen\"")
        InvalidValue("`userName` must be a string, got number")
        InvalidValue("`emails[0].primary` must be a boolean, got number")
        InvalidValue("`x509Certificates[0].value` must be base64-encoded binary, got \"not base64!\"")
        InvalidValue("`profileUrl` must be a reference (string), got boolean")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` must be an object, got \"Sales\"")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager` must be an object, got array")
        InvalidSyntax("a User must be a JSON object")"#]].assert_eq(&out.join("\n"));
}

#[test]
fn tenant_extension_types() {
    let uri = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let cases = [
        json!({"userName": "a", uri: {"site": "HQ", "level": 3, "ratio": 0.5, "hired": "2024-05-01T09:30:00+02:00",
                                      "photo": "aGVsbG8=", "tags": "one"}}),
        json!({"userName": "a", uri: {"site": "HQ", "level": 3.0}}),
        json!({"userName": "a", uri: {"site": "HQ", "level": 3.5}}),
        json!({"userName": "a", uri: {"site": "HQ", "level": "3"}}),
        json!({"userName": "a", uri: {"site": "HQ", "ratio": "0.5"}}),
        json!({"userName": "a", uri: {"site": "HQ", "hired": "2024-05-01"}}),
        json!({"userName": "a", uri: {"site": "HQ", "photo": "a"}}),
        json!({"userName": "a", uri: {"level": 1}}),
        json!({"userName": "a", "level": 1}),
    ];
    let out: Vec<String> = cases
        .into_iter()
        .map(|c| outcome(&acme(), ResourceKind::User, c, None))
        .collect();
    expect![[r#"
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
          ],
          "userName": "a",
          "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {
            "level": 3,
            "ratio": 0.5,
            "hired": "2024-05-01T09:30:00+02:00",
            "photo": "aGVsbG8=",
            "site": "HQ",
            "tags": [
              "one"
            ]
          }
        }
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
          ],
          "userName": "a",
          "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {
            "level": 3,
            "site": "HQ"
          }
        }
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:level` must be an integer, got 3.5")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:level` must be an integer, got \"3\"")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:ratio` must be a decimal number, got \"0.5\"")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:hired` must be an RFC 3339 date-time such as \"2024-05-01T09:30:00Z\", got \"2024-05-01\"")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:photo` must be base64-encoded binary, got \"a\"")
        InvalidValue("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:site` is required")
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "userName": "a"
        }"#]].assert_eq(&out.join("\n"));
}

#[test]
fn required_attributes() {
    let out: Vec<String> = [
        (ResourceKind::User, json!({"displayName": "x"})),
        (ResourceKind::User, json!({"userName": ""})),
        (ResourceKind::User, json!({"userName": null})),
        (ResourceKind::Group, json!({"externalId": "x"})),
    ]
    .into_iter()
    .map(|(kind, c)| outcome(&Registry::builtin(), kind, c, None))
    .collect();
    expect![[r#"
        InvalidValue("`userName` is required")
        InvalidValue("`userName` is required")
        InvalidValue("`userName` is required")
        InvalidValue("`displayName` is required")"#]]
    .assert_eq(&out.join("\n"));
}

#[test]
fn okta_full_user_put() {
    let current = stored(
        ResourceKind::User,
        json!({"schemas": [scim_proto::USER_SCHEMA], "userName": "test.user@okta.local"}),
    );
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work",
                    "display": "test.user@okta.local"}],
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": false,
        "meta": {"resourceType": "User", "created": "2013-04-19T18:31:04.000Z",
                 "lastModified": "2013-04-19T18:31:04.000Z",
                 "location": "https://example.com/v1/Users/00ujl29u0le5T6Aj10h7"}
    });
    expect![[r#"
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"
          ],
          "externalId": "00ujl29u0le5T6Aj10h7",
          "userName": "test.user@okta.local",
          "name": {
            "familyName": "User",
            "givenName": "Another"
          },
          "locale": "en-US",
          "active": false,
          "emails": [
            {
              "value": "test.user@okta.local",
              "display": "test.user@okta.local",
              "type": "work",
              "primary": true
            }
          ]
        }"#]]
    .assert_eq(&outcome(
        &Registry::builtin(),
        ResourceKind::User,
        body,
        Some(&current),
    ));
}

#[test]
fn immutable_attributes_on_replace() {
    let uri = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let current = stored(
        ResourceKind::User,
        json!({"schemas": [scim_proto::USER_SCHEMA, uri], "userName": "a", uri: {"badge": "B1", "site": "HQ"}}),
    );
    let unset = stored(
        ResourceKind::User,
        json!({"schemas": [scim_proto::USER_SCHEMA], "userName": "a"}),
    );
    let out = [
        // same value: fine
        outcome(
            &acme(),
            ResourceKind::User,
            json!({"userName": "a", uri: {"badge": "B1", "site": "HQ"}}),
            Some(&current),
        ),
        // a different value: refused
        outcome(
            &acme(),
            ResourceKind::User,
            json!({"userName": "a", uri: {"badge": "B2", "site": "HQ"}}),
            Some(&current),
        ),
        // left out: the current value stays
        outcome(
            &acme(),
            ResourceKind::User,
            json!({"userName": "a", uri: {"site": "HQ"}}),
            Some(&current),
        ),
        // not set before: may be set now
        outcome(
            &acme(),
            ResourceKind::User,
            json!({"userName": "a", uri: {"badge": "B2", "site": "HQ"}}),
            Some(&unset),
        ),
    ];
    expect![[r#"
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
          ],
          "userName": "a",
          "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {
            "badge": "B1",
            "site": "HQ"
          }
        }
        Mutability("`urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge` is immutable and already set")
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
          ],
          "userName": "a",
          "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {
            "badge": "B1",
            "site": "HQ"
          }
        }
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
          ],
          "userName": "a",
          "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {
            "badge": "B2",
            "site": "HQ"
          }
        }"#]].assert_eq(&out.join("\n"));
}

#[test]
fn spec_1_4_entra_create_group_with_adscim_schema() {
    group(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                           "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
               "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
               "displayName": "displayName",
               "meta": {"resourceType": "Group"}}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group"
              ],
              "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
              "displayName": "displayName"
            }"#]],
    );
}

#[test]
fn group_members_are_taken_out_of_the_body() {
    group(
        json!({"displayName": "G", "members": [{"$ref": null, "value": "u1"}, {"value": "u2", "type": "User"},
                                                {"value": "u1"}]}),
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group"
              ],
              "displayName": "G"
            }
            members: ["u1", "u2"]"#]],
    );
    group(
        json!({"displayName": "G", "members": []}),
        expect![[r#"
        {
          "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group"
          ],
          "displayName": "G"
        }
        members: []"#]],
    );
    group(
        json!({"displayName": "G", "members": ["u1"]}),
        expect![[r#"InvalidValue("`members[0]` must be an object with a `value`, got \"u1\"")"#]],
    );
    group(
        json!({"displayName": "G", "members": [{"value": 5}]}),
        expect![[r#"InvalidValue("`members[0].value` must be a non-empty string, got number")"#]],
    );
    group(
        json!({"displayName": "G", "members": [{"display": "x"}]}),
        expect![[r#"InvalidValue("`members[0].value` is required")"#]],
    );
}

#[test]
fn tenant_extension_definitions() {
    let cases = [
        ACME,
        r#"{"id": "urn:example:badge", "resourceType": "group", "attributes": [{"name": "badge"}]}"#,
        r#"{"id": "urn:example:badge", "attributes": [{"name": "badge"}]}"#,
        r#"{"id": "acme-user", "attributes": [{"name": "badge"}]}"#,
        r#"{"id": "urn:example:User", "attributes": []}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "1badge"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge"}, {"name": "Badge"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "type": "text"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "mutability": "sometimes"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "returned": "maybe"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "uniqueness": "galactic"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "type": "complex"}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "type": "complex", "subAttributes": [{"name": "x", "type": "complex", "subAttributes": [{"name": "y"}]}]}]}"#,
        r#"{"id": "urn:example:User", "attributes": [{"name": "badge", "subAttributes": [{"name": "x"}]}]}"#,
        r#"{"id": "urn:example:User", "resourceType": "Device", "attributes": [{"name": "badge"}]}"#,
        r#"{"id": "urn:example:User"}"#,
        r#"{"attributes": [{"name": "badge"}]}"#,
        r#"not json"#,
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|c| match Registry::parse_extension(c) {
            Ok(ext) => format!("ok {} for {:?}", ext.uri(), ext.resource_type),
            Err(e) => format!("{e:?}"),
        })
        .collect();
    expect![[r#"
        ok urn:ietf:params:scim:schemas:extension:acme:2.0:User for User
        ok urn:example:badge for Group
        InvalidValue("invalid schema extension: cannot tell which resource type `urn:example:badge` extends: add \"resourceType\": \"User\" or \"Group\"")
        InvalidValue("invalid schema extension: `id` must be a URN such as urn:ietf:params:scim:schemas:extension:acme:2.0:User, got \"acme-user\"")
        InvalidValue("invalid schema extension: `urn:example:User` defines no attributes")
        InvalidValue("invalid schema extension: attribute name \"1badge\" is invalid: it must start with a letter and contain only letters, digits, `-` and `_`")
        InvalidValue("invalid schema extension: attribute `Badge` is defined twice")
        InvalidValue("invalid schema extension: unknown variant `text`, expected one of `string`, `boolean`, `decimal`, `integer`, `dateTime`, `binary`, `reference`, `complex`")
        InvalidValue("invalid schema extension: unknown variant `sometimes`, expected one of `readOnly`, `readWrite`, `immutable`, `writeOnly`")
        InvalidValue("invalid schema extension: unknown variant `maybe`, expected one of `always`, `never`, `default`, `request`")
        InvalidValue("invalid schema extension: unknown variant `galactic`, expected one of `none`, `server`, `global`")
        InvalidValue("invalid schema extension: complex attribute `badge` needs `subAttributes`")
        InvalidValue("invalid schema extension: `badge.x` is complex, but sub-attributes cannot be complex")
        InvalidValue("invalid schema extension: `badge` has `subAttributes` but is not complex")
        InvalidValue("invalid schema extension: `resourceType` must be \"User\" or \"Group\", got \"Device\"")
        InvalidValue("invalid schema extension: `urn:example:User` defines no attributes")
        InvalidValue("invalid schema extension: missing field `id`")
        InvalidValue("invalid schema extension: expected ident at line 1 column 2")"#]].assert_eq(&out.join("\n"));
}

#[test]
fn extension_urn_clash_is_a_conflict() {
    let enterprise = r#"{"id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
                         "attributes": [{"name": "x"}]}"#;
    let ext = Registry::parse_extension(enterprise).unwrap();
    assert!(matches!(
        Registry::with_extensions(vec![ext]),
        Err(Error::Conflict(_))
    ));
    let acme = Registry::parse_extension(ACME).unwrap();
    assert!(matches!(
        Registry::with_extensions(vec![acme.clone(), acme]),
        Err(Error::Conflict(_))
    ));
}

#[test]
fn registry_lookups() {
    let r = acme();
    let ids: Vec<&str> = r.schemas().iter().map(|s| s.id.as_str()).collect();
    expect![[r#"
        urn:ietf:params:scim:schemas:core:2.0:User
        urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
        urn:ietf:params:scim:schemas:extension:acme:2.0:User
        urn:ietf:params:scim:schemas:core:2.0:Group
        urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group"#]]
    .assert_eq(&ids.join("\n"));
    assert_eq!(
        r.extensions_of(ResourceKind::User),
        vec![
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                false
            ),
            (
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
                false
            )
        ]
    );
    assert_eq!(
        r.extensions_of(ResourceKind::Group),
        vec![(scim_proto::DYNAMIC_GROUP_SCHEMA, false)]
    );
    assert!(r
        .schema("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER")
        .is_some());
    let attr = |uri, name, sub| {
        r.attribute(ResourceKind::User, uri, name, sub)
            .map(|a| a.name.as_str())
    };
    assert_eq!(attr(None, "USERNAME", None), Some("userName"));
    assert_eq!(attr(None, "emails", Some("VALUE")), Some("value"));
    assert_eq!(attr(None, "externalid", None), Some("externalId"));
    assert_eq!(
        attr(None, "meta", Some("lastmodified")),
        Some("lastModified")
    );
    assert_eq!(attr(None, "department", None), None);
    assert_eq!(
        attr(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            "manager",
            Some("value")
        ),
        Some("value")
    );
    assert_eq!(
        attr(Some(scim_proto::USER_SCHEMA), "title", None),
        Some("title")
    );

    use scim_filter::{AttrType, SchemaInfo};
    let info = r.info(ResourceKind::User);
    let email = info.attr_info(None, "emails", Some("value")).unwrap();
    assert_eq!(
        (email.ty, email.case_exact, email.multi_valued),
        (AttrType::String, false, true)
    );
    let ext_id = info.attr_info(None, "externalId", None).unwrap();
    assert!(ext_id.case_exact);
    assert!(r
        .info(ResourceKind::Group)
        .attr_info(None, "userName", None)
        .is_none());
}

#[test]
fn builtin_schemas_serialise_as_entra_expects() {
    let r = Registry::builtin();
    let json = serde_json::to_value(r.schema(scim_proto::ENTERPRISE_USER_SCHEMA).unwrap()).unwrap();
    expect![[r#"
        {
          "id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
          "name": "EnterpriseUser",
          "description": "Enterprise User",
          "attributes": [
            {
              "name": "employeeNumber",
              "type": "string",
              "multiValued": false,
              "description": "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none"
            },
            {
              "name": "costCenter",
              "type": "string",
              "multiValued": false,
              "description": "Identifies the name of a cost center.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none"
            },
            {
              "name": "organization",
              "type": "string",
              "multiValued": false,
              "description": "Identifies the name of an organization.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none"
            },
            {
              "name": "division",
              "type": "string",
              "multiValued": false,
              "description": "Identifies the name of a division.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none"
            },
            {
              "name": "department",
              "type": "string",
              "multiValued": false,
              "description": "Identifies the name of a department.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none"
            },
            {
              "name": "manager",
              "type": "complex",
              "multiValued": false,
              "description": "The User's manager.",
              "required": false,
              "caseExact": false,
              "mutability": "readWrite",
              "returned": "default",
              "uniqueness": "none",
              "subAttributes": [
                {
                  "name": "value",
                  "type": "string",
                  "multiValued": false,
                  "description": "The id of the SCIM resource representing the User's manager.",
                  "required": false,
                  "caseExact": false,
                  "mutability": "readWrite",
                  "returned": "default",
                  "uniqueness": "none"
                },
                {
                  "name": "$ref",
                  "type": "reference",
                  "multiValued": false,
                  "description": "The URI of the SCIM resource representing the User's manager.",
                  "required": false,
                  "caseExact": false,
                  "mutability": "readWrite",
                  "returned": "default",
                  "uniqueness": "none",
                  "referenceTypes": [
                    "User"
                  ]
                },
                {
                  "name": "displayName",
                  "type": "string",
                  "multiValued": false,
                  "description": "The displayName of the User's manager.",
                  "required": false,
                  "caseExact": false,
                  "mutability": "readOnly",
                  "returned": "default",
                  "uniqueness": "none"
                }
              ]
            }
          ]
        }"#]].assert_eq(&serde_json::to_string_pretty(&json).unwrap());
    let all = serde_json::to_string(&r.schemas()).unwrap();
    assert!(!all.contains(":null"));
    assert!(!all.contains("\"subAttributes\":[]"));
}
