//! Extension schemas from the console: registered through the admin API's checks (a bad or
//! clashing definition is refused with its message and nothing is stored), listed with their
//! attributes, used at once by SCIM, and removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use reqwest::Method;
use serde_json::json;
use support::Console;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn acme() -> String {
    json!({
        "id": ACME,
        "name": "AcmeUser",
        "description": "Badge <data>",
        "attributes": [
            {"name": "badge", "type": "integer", "multiValued": false, "required": false,
             "mutability": "readWrite", "returned": "default", "uniqueness": "server"}
        ]
    })
    .to_string()
}

#[tokio::test]
async fn extension_schemas_are_registered_listed_used_and_removed() {
    let c = Console::start().await;
    let b = c.browser().await;
    b.get("/ui/schemas")
        .await
        .expect(200)
        .has("No extension schemas yet");

    // Not JSON, and not a valid definition: the message, the text kept, nothing stored.
    b.submit("/ui/schemas", &[("schema", "{not json")])
        .await
        .expect(400)
        .has("the schema is not JSON")
        .has("{not json");
    b.submit(
        "/ui/schemas",
        &[(
            "schema",
            r#"{"id": "not-a-urn", "attributes": [{"name": "x"}]}"#,
        )],
    )
    .await
    .expect(400)
    .has("not-a-urn");
    assert!(c
        .store
        .extension_schemas(&c.tenant.id)
        .await
        .unwrap()
        .is_empty());

    b.submit("/ui/schemas", &[("schema", &acme())])
        .await
        .expect(303);
    let page = b.get("/ui/schemas").await;
    page.expect(200)
        .has(ACME)
        .has("badge")
        .has("integer")
        .has("server")
        .lacks("Badge <data>");
    // SCIM knows it at once: a user with a badge is accepted and the badge is unique.
    let (status, _) = c
        .api(
            Method::POST,
            "/scim/v2/Users",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
                        "userName": "ann@example.com", ACME: {"badge": 7}}),
            ),
        )
        .await;
    assert_eq!(status.as_u16(), 201);
    let (status, _) = c
        .api(
            Method::POST,
            "/scim/v2/Users",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
                        "userName": "bob@example.com", ACME: {"badge": 7}}),
            ),
        )
        .await;
    assert_eq!(status.as_u16(), 409);

    b.submit("/ui/schemas/remove", &[("uri", ACME)])
        .await
        .expect(303);
    assert!(c
        .store
        .extension_schemas(&c.tenant.id)
        .await
        .unwrap()
        .is_empty());
    b.get("/ui/schemas").await.expect(200).lacks(ACME);
}
