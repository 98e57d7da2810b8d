//! Reads beyond one resource: paging (index and RFC 9865 cursors) and sorting over 1,000 users,
//! projection (`attributes` / `excludedAttributes`, `password` never), filters (RFC 7644 §3.4.2.2
//! operators, valuePaths, caseExact, dates), `.search`, discovery, and tenant extension schemas.

use std::collections::{BTreeMap, HashSet};

use axum::http::Method;
use serde_json::{json, Value};

use crate::harness::*;

const N: usize = 1000;

/// 1,000 users written straight to the store (a POST each would only be slower), with userNames
/// in an order unlike their creation order; returns the ids.
async fn thousand_users(h: &Harness) -> Vec<String> {
    let start: jiff::Timestamp = START.parse().unwrap();
    let mut ids = Vec::with_capacity(N);
    for i in 0..N {
        // 7919 is prime to 1000: a permutation of 0..1000.
        let n = (i * 7919) % N;
        let body = json!({"schemas": [USER_URN], "userName": format!("user{n:04}@example.com"), "displayName": format!("User {n}")});
        let at = start
            .checked_add(jiff::SignedDuration::from_secs(i as i64))
            .unwrap();
        ids.push(h.store_user(&h.tenant.id, body, at).await.id);
    }
    ids
}

#[track_caller]
fn resources(r: &Resp) -> Vec<Value> {
    r.expect(200);
    assert_eq!(r.json["schemas"], json!([LIST_URN]), "{}", r.json);
    r.json["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources in {}", r.json))
        .clone()
}

fn ids_of(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

fn user_names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
fn assert_all_once(seen: &[String], all: &[String]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a resource was returned twice");
    let mut a = seen.to_vec();
    let mut b = all.to_vec();
    a.sort();
    b.sort();
    assert_eq!(a, b, "every resource exactly once");
}

// --- paging and sorting over 1,000 users ---------------------------------------------------

#[tokio::test]
async fn index_paging_covers_1000_users_without_overlap() {
    let h = Harness::new().await;
    let all = thousand_users(&h).await;
    let mut seen = Vec::new();
    for page in 0..10 {
        let start = page * 100 + 1;
        let r = h.get(&format!("/Users?startIndex={start}&count=100")).await;
        let items = resources(&r);
        assert_eq!(r.json["totalResults"], N);
        assert_eq!(r.json["startIndex"], start);
        assert_eq!(r.json["itemsPerPage"], 100);
        assert_eq!(items.len(), 100);
        seen.extend(ids_of(&items));
    }
    assert_all_once(&seen, &all);
    // Past the end: an empty page, not an error.
    let r = h.get("/Users?startIndex=1001&count=100").await;
    assert_eq!(resources(&r), Vec::<Value>::new());
    assert_eq!(r.json["totalResults"], N);
    // startIndex < 1 is read as 1 (RFC 7644 §3.4.2.4).
    let r = h.get("/Users?startIndex=0&count=1").await;
    assert_eq!(r.json["startIndex"], 1);
    // count=0 gives only the total.
    let r = h.get("/Users?count=0").await;
    assert_eq!(resources(&r).len(), 0);
    assert_eq!(r.json["totalResults"], N);
}

#[tokio::test]
async fn index_paging_sorted_by_user_name_is_in_order_across_pages() {
    let h = Harness::new().await;
    thousand_users(&h).await;
    let mut names = Vec::new();
    for page in 0..4 {
        let r = h
            .get(&format!(
                "/Users?sortBy=userName&startIndex={}&count=250",
                page * 250 + 1
            ))
            .await;
        names.extend(user_names(&resources(&r)));
    }
    let want: Vec<String> = (0..N).map(|n| format!("user{n:04}@example.com")).collect();
    assert_eq!(names, want);
}

#[tokio::test]
async fn sort_by_user_name_descending() {
    let h = Harness::new().await;
    thousand_users(&h).await;
    let r = h
        .get("/Users?sortBy=userName&sortOrder=descending&count=50")
        .await;
    let names = user_names(&resources(&r));
    let want: Vec<String> = (0..50)
        .map(|k| format!("user{:04}@example.com", N - 1 - k))
        .collect();
    assert_eq!(names, want);
    assert_eq!(r.json["totalResults"], N);
    // The second page continues where the first stopped.
    let r = h
        .get("/Users?sortBy=userName&sortOrder=descending&startIndex=51&count=1")
        .await;
    assert_eq!(
        user_names(&resources(&r)),
        [format!("user{:04}@example.com", N - 51)]
    );
}

#[tokio::test]
async fn cursor_paging_visits_each_user_exactly_once() {
    let h = Harness::new().await;
    let all = thousand_users(&h).await;
    let mut seen = Vec::new();
    let mut uri = "/Users?cursor&count=100".to_owned();
    let mut pages = 0;
    loop {
        let r = h.get(&uri).await;
        let items = resources(&r);
        assert_eq!(r.json["totalResults"], N);
        assert_eq!(r.json["itemsPerPage"], items.len());
        seen.extend(ids_of(&items));
        pages += 1;
        assert!(pages <= 11, "cursor paging does not end");
        match r.json.get("nextCursor").and_then(Value::as_str) {
            Some(next) => uri = format!("/Users?cursor={}&count=100", form(next)),
            None => break,
        }
    }
    assert_eq!(pages, 10);
    assert_all_once(&seen, &all);
}

// --- projection ----------------------------------------------------------------------------

async fn rich_user(h: &Harness) -> String {
    h.create_user_from(json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": "rich@example.com",
        "displayName": "Rich User",
        "name": {"givenName": "Rich", "familyName": "User"},
        "emails": [{"type": "work", "value": "rich@example.com", "primary": true}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        ENTERPRISE_URN: {"department": "Sales"}
    }))
    .await
}

#[tokio::test]
async fn attributes_user_name_returns_only_it_and_the_always_ones() {
    let h = Harness::new().await;
    let id = rich_user(&h).await;
    let allowed = ["id", "schemas", "userName", "meta"];
    let check = |u: &Value| {
        let obj = u.as_object().unwrap();
        assert_eq!(obj["id"], id.as_str(), "id is returned always: {u}");
        assert_eq!(obj["userName"], "rich@example.com");
        for k in obj.keys() {
            assert!(allowed.contains(&k.as_str()), "`{k}` not asked for: {u}");
        }
    };
    let r = h.get("/Users?attributes=userName").await;
    check(&resources(&r)[0]);
    let r = h.get(&format!("/Users/{id}?attributes=userName")).await;
    r.expect(200);
    check(&r.json);
    // Sub-attribute and extension attribute selection.
    let r = h
        .get(&format!(
            "/Users/{id}?attributes=name.givenName,{ENTERPRISE_URN}:department"
        ))
        .await;
    r.expect(200);
    assert_eq!(r.json["name"], json!({"givenName": "Rich"}));
    assert_eq!(r.json[ENTERPRISE_URN], json!({"department": "Sales"}));
    assert!(r.json.get("emails").is_none());
}

#[tokio::test]
async fn excluded_attributes_emails() {
    let h = Harness::new().await;
    let id = rich_user(&h).await;
    let one = h
        .get(&format!("/Users/{id}?excludedAttributes=emails"))
        .await;
    one.expect(200);
    let list = h.get("/Users?excludedAttributes=emails").await;
    for u in [one.json.clone(), resources(&list)[0].clone()] {
        assert!(u.get("emails").is_none(), "{u}");
        assert_eq!(u["id"], id.as_str());
        assert_eq!(u["userName"], "rich@example.com");
        assert_eq!(u["name"]["givenName"], "Rich");
        assert_eq!(u["phoneNumbers"][0]["value"], "+1 555 0100");
        assert_eq!(u[ENTERPRISE_URN]["department"], "Sales");
    }
    // `id` cannot be excluded (returned "always").
    let r = h
        .get(&format!("/Users/{id}?excludedAttributes=id,userName"))
        .await;
    r.expect(200);
    assert_eq!(r.json["id"], id.as_str());
    assert!(r.json.get("userName").is_none());
}

#[tokio::test]
async fn password_is_never_returned() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "pw@example.com", "password": "t1meMa$heen"}),
        )
        .await;
    r.expect(201);
    let id = r.id();
    assert!(
        r.json.get("password").is_none(),
        "POST response: {}",
        r.json
    );
    assert!(!String::from_utf8_lossy(&r.raw).contains("t1meMa$heen"));
    for uri in [
        format!("/Users/{id}"),
        format!("/Users/{id}?attributes=password"),
        format!("/Users/{id}?attributes=userName,password"),
        "/Users".to_owned(),
        "/Users?attributes=password".to_owned(),
    ] {
        let r = h.get(&uri).await;
        r.expect(200);
        assert!(
            !String::from_utf8_lossy(&r.raw).contains("t1meMa$heen"),
            "{uri}: {}",
            r.json
        );
        assert!(
            !String::from_utf8_lossy(&r.raw).contains("\"password\""),
            "{uri}: {}",
            r.json
        );
    }
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "password", "value": "n3wSecret!"}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    assert!(!String::from_utf8_lossy(&r.raw).contains("n3wSecret!"));
    let r = h
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": [USER_URN], "userName": "pw@example.com", "password": "th1rd!"}),
        )
        .await;
    r.expect(200);
    assert!(r.json.get("password").is_none());
}

// --- filters ----------------------------------------------------------------------------------

/// Four users created a clock-step of 10 s apart (alice at START, bob +10 s, carol +20 s,
/// dave +30 s), and a group. Returns label → id.
async fn people(h: &Harness) -> BTreeMap<&'static str, String> {
    let users = [
        (
            "alice",
            json!({"schemas": [USER_URN], "userName": "alice@example.com", "externalId": "AbC-1",
            "displayName": "Alice Smith", "name": {"givenName": "Alice", "familyName": "Smith"}, "title": "Engineer",
            "active": true, "emails": [{"type": "work", "value": "alice@example.com"}]}),
        ),
        (
            "bob",
            json!({"schemas": [USER_URN], "userName": "bob@example.org",
            "displayName": "Bob Jones", "name": {"givenName": "Bob", "familyName": "Jones"}, "active": true,
            "emails": [{"type": "home", "value": "bob@home.example"}, {"type": "work", "value": "bob@example.org"}]}),
        ),
        (
            "carol",
            json!({"schemas": [USER_URN], "userName": "carol@example.com",
            "displayName": "Carol Smith", "name": {"givenName": "Carol", "familyName": "Smith"}, "title": "Manager",
            "active": false, "emails": [{"type": "work", "value": "carol@corp.example"}]}),
        ),
        (
            "dave",
            json!({"schemas": [USER_URN], "userName": "Dave@Example.net",
            "displayName": "Dave Brown", "name": {"givenName": "Dave", "familyName": "Brown"}, "active": true,
            "emails": [{"type": "home", "value": "dave@example.net"}, {"type": "work", "value": "dave@work.test"}]}),
        ),
    ];
    let mut ids = BTreeMap::new();
    for (label, body) in users {
        ids.insert(label, h.create_user_from(body).await);
        h.clock.advance(10);
    }
    ids
}

fn labels(items: &[Value], ids: &BTreeMap<&'static str, String>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = items
        .iter()
        .map(|u| {
            let id = u["id"].as_str().unwrap();
            *ids.iter()
                .find(|(_, v)| v.as_str() == id)
                .map(|(k, _)| k)
                .unwrap_or_else(|| panic!("unknown id {id}"))
        })
        .collect();
    out.sort();
    out
}

/// (filter, the users it selects). Case rules: userName and string attributes are caseExact=false,
/// externalId is caseExact (RFC 7643 §3.1), dates compare as instants.
const FILTER_CASES: &[(&str, &[&str])] = &[
    (r#"userName eq "DAVE@example.NET""#, &["dave"]),
    (r#"userName co "example.com""#, &["alice", "carol"]),
    (r#"userName sw "B""#, &["bob"]),
    (r#"userName ew ".ORG""#, &["bob"]),
    (r#"title pr"#, &["alice", "carol"]),
    (r#"not (title pr)"#, &["bob", "dave"]),
    (r#"name.familyName eq "smith""#, &["alice", "carol"]),
    (r#"active eq false"#, &["carol"]),
    (r#"displayName ew "Smith" and active eq true"#, &["alice"]),
    (r#"userName sw "a" or userName sw "d""#, &["alice", "dave"]),
    (r#"not (displayName co "Smith")"#, &["bob", "dave"]),
    (
        r#"userName sw "a" or userName sw "b" and active eq false"#,
        &["alice"],
    ),
    (
        r#"(userName sw "a" or userName sw "b") and active eq true"#,
        &["alice", "bob"],
    ),
    (
        r#"emails[type eq "work" and value co "@example"]"#,
        &["alice", "bob"],
    ),
    (r#"emails[type eq "home"]"#, &["bob", "dave"]),
    (r#"emails.value ew "example""#, &["bob", "carol"]),
    (r#"externalId eq "AbC-1""#, &["alice"]),
    (r#"externalId eq "abc-1""#, &[]),
    (
        r#"meta.lastModified gt "2025-03-01T08:00:10Z""#,
        &["carol", "dave"],
    ),
    (
        r#"meta.lastModified ge "2025-03-01T09:00:10+01:00""#,
        &["bob", "carol", "dave"],
    ),
    (r#"meta.created lt "2025-03-01T08:00:10Z""#, &["alice"]),
    (
        r#"meta.lastModified gt "2025-03-01T08:00:05.5Z" and meta.lastModified le "2025-03-01T08:00:20Z""#,
        &["bob", "carol"],
    ),
];

#[tokio::test]
async fn filters_by_operator() {
    let h = Harness::new().await;
    let ids = people(&h).await;
    h.create_group("Smith Family", &[ids["alice"].as_str()])
        .await;
    let mut failures = Vec::new();
    for (filter, want) in FILTER_CASES {
        let r = h.get(&format!("/Users?filter={}", form(filter))).await;
        if r.status != 200 {
            failures.push(format!("{filter}: {} {}", r.status, r.json));
            continue;
        }
        let got = labels(&resources(&r), &ids);
        if got != *want {
            failures.push(format!("{filter}: got {got:?}, want {want:?}"));
        }
        assert_eq!(r.json["totalResults"], want.len(), "{filter}");
    }
    assert!(
        failures.is_empty(),
        "filters that selected the wrong users:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn search_endpoint_gives_the_same_answers() {
    let h = Harness::new().await;
    let ids = people(&h).await;
    let mut failures = Vec::new();
    for (filter, want) in FILTER_CASES {
        let r = h
            .post("/Users/.search", json!({"schemas": [SEARCH_URN], "filter": filter, "sortBy": "userName", "startIndex": 1, "count": 10}))
            .await;
        if r.status != 200 {
            failures.push(format!("{filter}: {} {}", r.status, r.json));
            continue;
        }
        let got = labels(&resources(&r), &ids);
        if got != *want {
            failures.push(format!("{filter}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "POST .search disagreed:\n{}",
        failures.join("\n")
    );
    // attributes as a list, sorted descending.
    let r = h
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH_URN], "filter": "userName co \"example\"", "attributes": ["userName"],
                   "sortBy": "userName", "sortOrder": "descending"}),
        )
        .await;
    let items = resources(&r);
    assert_eq!(
        user_names(&items),
        [
            "Dave@Example.net",
            "carol@example.com",
            "bob@example.org",
            "alice@example.com"
        ]
    );
    assert!(items.iter().all(|u| u.get("emails").is_none()), "{items:?}");
}

#[tokio::test]
async fn id_is_case_exact() {
    let h = Harness::new().await;
    let ids = people(&h).await;
    let alice = &ids["alice"];
    let r = h
        .get(&format!(
            "/Users?filter={}",
            form(&format!("id eq \"{alice}\""))
        ))
        .await;
    assert_eq!(labels(&resources(&r), &ids), ["alice"]);
    let flipped: String = alice
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    assert_ne!(&flipped, alice, "ids should contain letters for this test");
    let r = h
        .get(&format!(
            "/Users?filter={}",
            form(&format!("id eq \"{flipped}\""))
        ))
        .await;
    assert_eq!(resources(&r), Vec::<Value>::new(), "id is caseExact");
}

#[tokio::test]
async fn root_search_across_users_and_groups() {
    let h = Harness::new().await;
    let ids = people(&h).await;
    let gid = h
        .create_group("Smith Family", &[ids["alice"].as_str()])
        .await;
    h.create_group("Jones Family", &[]).await;
    let r = h
        .post(
            "/.search",
            json!({"schemas": [SEARCH_URN], "filter": "displayName co \"Smith\""}),
        )
        .await;
    let items = resources(&r);
    assert_eq!(r.json["totalResults"], 3, "{}", r.json);
    let mut found: Vec<(String, String)> = items
        .iter()
        .map(|x| {
            (
                x["meta"]["resourceType"].as_str().unwrap().to_owned(),
                x["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut want = vec![
        ("Group".to_owned(), gid.clone()),
        ("User".to_owned(), ids["alice"].clone()),
        ("User".to_owned(), ids["carol"].clone()),
    ];
    want.sort();
    assert_eq!(found, want);
    // Paging over the concatenation.
    let r = h
        .post(
            "/.search",
            json!({"schemas": [SEARCH_URN], "filter": "displayName co \"Smith\"", "count": 2}),
        )
        .await;
    assert_eq!(resources(&r).len(), 2);
    assert_eq!(r.json["totalResults"], 3);
    let r = h.post("/.search", json!({"schemas": [SEARCH_URN], "filter": "displayName co \"Smith\"", "startIndex": 3, "count": 2})).await;
    assert_eq!(resources(&r).len(), 1);
    assert_eq!(r.json["startIndex"], 3);
}

// --- discovery ---------------------------------------------------------------------------------

#[tokio::test]
async fn service_provider_config() {
    let h = Harness::new().await;
    let r = h.get("/ServiceProviderConfig").await;
    r.expect(200);
    let c = &r.json;
    assert_eq!(
        c["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["bulk"]["supported"], true);
    assert!(c["bulk"]["maxOperations"].as_u64().unwrap() > 0);
    assert!(c["bulk"]["maxPayloadSize"].as_u64().unwrap() > 0);
    assert_eq!(c["filter"]["supported"], true);
    assert!(c["filter"]["maxResults"].as_u64().unwrap() > 0);
    assert_eq!(c["changePassword"]["supported"], false);
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    let schemes = c["authenticationSchemes"].as_array().unwrap();
    assert!(
        schemes.iter().any(|s| s["type"] == "oauthbearertoken"),
        "{c}"
    );
    assert_no_nulls(c, "$");
}

#[tokio::test]
async fn resource_types_user_with_enterprise_extension() {
    let h = Harness::new().await;
    let r = h.get("/ResourceTypes").await;
    let items = resources(&r);
    assert_eq!(r.json["totalResults"], 2);
    let user = items.iter().find(|t| t["name"] == "User").unwrap();
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_URN);
    assert_eq!(
        user["schemaExtensions"],
        json!([{"schema": ENTERPRISE_URN, "required": false}])
    );
    let group = items.iter().find(|t| t["name"] == "Group").unwrap();
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(group["schema"], GROUP_URN);
    let r = h.get("/ResourceTypes/User").await;
    r.expect(200);
    assert_eq!(r.json["id"], "User");
    assert_no_nulls(&r.json, "$");
    h.get("/ResourceTypes/Device")
        .await
        .expect_error(404, None, &["Device"]);
}

#[tokio::test]
async fn schemas_list_response_camel_case_without_nulls() {
    let h = Harness::new().await;
    let r = h.get("/Schemas").await;
    let items = resources(&r);
    assert_eq!(r.json["totalResults"], 4);
    let mut ids: Vec<&str> = items.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = vec![USER_URN, GROUP_URN, ENTERPRISE_URN, DYNAMIC_URN];
    want.sort();
    assert_eq!(ids, want);
    assert_no_nulls(&r.json, "$");
    let user = items.iter().find(|s| s["id"] == USER_URN).unwrap();
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["type"], "string");
    assert_eq!(user_name["multiValued"], false);
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["mutability"], "readWrite");
    assert_eq!(user_name["returned"], "default");
    assert_eq!(user_name["uniqueness"], "server");
    let password = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .unwrap();
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");
    let groups = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "groups")
        .unwrap();
    assert_eq!(groups["mutability"], "readOnly");
    // Every enum-valued property is camelCase, as Entra parses it.
    let text = r.raw.to_vec();
    let text = String::from_utf8_lossy(&text);
    for bad in [
        "\"ReadWrite\"",
        "\"read_write\"",
        "\"READ_WRITE\"",
        "\"ReadOnly\"",
        "\"Default\"",
        "\"multi_valued\"",
        "\"case_exact\"",
    ] {
        assert!(!text.contains(bad), "{bad} in /Schemas");
    }
    let r = h.get(&format!("/Schemas/{ENTERPRISE_URN}")).await;
    r.expect(200);
    assert_eq!(r.json["id"], ENTERPRISE_URN);
    assert!(r.json["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "manager"));
}

// --- tenant extension schemas ------------------------------------------------------------------

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn acme_schema() -> Value {
    json!({
        "id": ACME,
        "name": "AcmeUser",
        "description": "Acme's badge data",
        "attributes": [
            {"name": "badge", "type": "integer", "multiValued": false, "required": false,
             "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
            {"name": "team", "type": "string", "multiValued": false, "required": false, "caseExact": true,
             "mutability": "readWrite", "returned": "default", "uniqueness": "none"}
        ]
    })
}

#[tokio::test]
async fn tenant_extension_schema_is_discovered_and_validated() {
    let h = Harness::new().await;
    let r = h
        .req(Method::POST, "/api/v1/schemas")
        .json(acme_schema())
        .send()
        .await;
    r.expect(201);

    let r = h.get("/Schemas").await;
    let items = resources(&r);
    assert_eq!(r.json["totalResults"], 5);
    let acme = items
        .iter()
        .find(|s| s["id"] == ACME)
        .unwrap_or_else(|| panic!("{ACME} not in /Schemas"));
    let team = acme["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "team")
        .unwrap();
    assert_eq!(team["caseExact"], true);
    assert_no_nulls(&r.json, "$");
    let r = h.get(&format!("/Schemas/{ACME}")).await;
    r.expect(200);
    assert_eq!(r.json["name"], "AcmeUser");

    let r = h.get("/ResourceTypes/User").await;
    r.expect(200);
    let exts = r.json["schemaExtensions"].as_array().unwrap();
    assert!(
        exts.contains(&json!({"schema": ACME, "required": false})),
        "{exts:?}"
    );
    assert!(
        exts.contains(&json!({"schema": ENTERPRISE_URN, "required": false})),
        "{exts:?}"
    );

    // Validation: badge is an integer.
    let r = h
        .post("/Users", json!({"schemas": [USER_URN, ACME], "userName": "bad@example.com", ACME: {"badge": "x"}}))
        .await;
    r.expect_error(400, Some("invalidValue"), &["badge"]);
    let r = h
        .post("/Users", json!({"schemas": [USER_URN, ACME], "userName": "acme@example.com", ACME: {"badge": 42, "team": "Red"}}))
        .await;
    r.expect(201);
    let id = r.id();
    assert_eq!(r.json[ACME], json!({"badge": 42, "team": "Red"}));
    assert!(r.json["schemas"].as_array().unwrap().contains(&json!(ACME)));
    let r = h.get(&format!("/Users/{id}")).await;
    assert_eq!(r.json[ACME]["badge"], 42);
    h.create_user_from(json!({"schemas": [USER_URN, ACME], "userName": "other@example.com", ACME: {"badge": 7, "team": "Blue"}}))
        .await;

    // PATCH through the URN path validates too.
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": format!("{ACME}:badge"), "value": "not a number"}]),
        )
        .await;
    r.expect_error(400, Some("invalidValue"), &["badge"]);
    let r = h
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": format!("{ACME}:badge"), "value": 43}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.status);

    // Filterable: integers compare as numbers, `team` is caseExact.
    let cases: &[(String, &[&str])] = &[
        (format!("{ACME}:badge gt 40"), &["acme@example.com"]),
        (format!("{ACME}:badge lt 10"), &["other@example.com"]),
        (format!("{ACME}:badge eq 43"), &["acme@example.com"]),
        (format!("{ACME}:team eq \"Red\""), &["acme@example.com"]),
        (format!("{ACME}:team eq \"red\""), &[]),
        (
            format!("{ACME}:team pr"),
            &["acme@example.com", "other@example.com"],
        ),
    ];
    for (filter, want) in cases {
        let r = h
            .get(&format!("/Users?filter={}&sortBy=userName", form(filter)))
            .await;
        let got = user_names(&resources(&r));
        assert_eq!(
            got,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{filter}"
        );
    }
    // Sorting on the extension attribute.
    let r = h
        .get(&format!(
            "/Users?filter={}&sortBy={}",
            form(&format!("{ACME}:badge pr")),
            form(&format!("{ACME}:badge"))
        ))
        .await;
    assert_eq!(
        user_names(&resources(&r)),
        ["other@example.com", "acme@example.com"]
    );
}

#[tokio::test]
async fn extension_schema_registration_needs_admin_and_a_valid_definition() {
    let h = Harness::new().await;
    let writer = h
        .token_for(
            &h.tenant.id,
            &[domain::Scope::ScimRead, domain::Scope::ScimWrite],
            None,
        )
        .await;
    let r = h
        .req(Method::POST, "/api/v1/schemas")
        .token(&writer)
        .json(acme_schema())
        .send()
        .await;
    r.expect_error(403, None, &["admin"]);
    let r = h
        .req(Method::POST, "/api/v1/schemas")
        .json(json!({"id": "not-a-urn", "attributes": [{"name": "x"}]}))
        .send()
        .await;
    r.expect_error(400, Some("invalidValue"), &["not-a-urn"]);
    assert_eq!(h.get("/Schemas").await.json["totalResults"], 4);
}

/// A tenant extension attribute declared `uniqueness: server` is unique like userName: 409.
#[tokio::test]
async fn tenant_extension_uniqueness_is_enforced() {
    let h = Harness::new().await;
    let mut schema = acme_schema();
    schema["attributes"][0]["uniqueness"] = json!("server");
    h.req(Method::POST, "/api/v1/schemas")
        .json(schema)
        .send()
        .await
        .expect(201);

    let r = h
        .post(
            "/Users",
            json!({"userName": "a@example.com", ACME: {"badge": 7}}),
        )
        .await;
    r.expect(201);
    let id = r.id();
    let r = h
        .post(
            "/Users",
            json!({"userName": "b@example.com", ACME: {"badge": 7}}),
        )
        .await;
    r.expect_error(409, Some("uniqueness"), &["badge", "7"]);
    // The holder keeps its own value through PUT and PATCH.
    let r = h
        .put(
            &format!("/Users/{id}"),
            json!({"userName": "a2@example.com", ACME: {"badge": 7}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json[ACME]["badge"], 7, "{}", r.json);
    let r = h.get(&format!("/Users?filter={ACME}:badge%20eq%207")).await;
    assert_eq!(r.json["totalResults"], 1, "{}", r.json);
    let r = h
        .post(
            "/Users",
            json!({"userName": "b@example.com", ACME: {"badge": 8}}),
        )
        .await;
    r.expect(201);
    let other = r.id();
    let patch = json!([{"op": "replace", "path": format!("{ACME}:badge"), "value": 7}]);
    h.patch(&format!("/Users/{other}"), patch)
        .await
        .expect_error(409, Some("uniqueness"), &["badge"]);
}
