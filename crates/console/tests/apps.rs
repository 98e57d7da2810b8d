//! The apps pages with a real engine: apps provision into another tenant of the same server.
//! Bad input gets the API's message on the page and changes nothing; the mapping editor
//! evaluates live and points at errors; plan, on-demand provisioning, logs, scope and the
//! overview show what the engine did.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use domain::{LogQuery, ResourceKind};
use serde_json::{json, Value};
use support::{between, unescape, Browser, Console};

/// A console with the engine, Babs in the directory, and the app `peer` provisioning into the
/// tenant `target` (provisioning off, scope: assigned).
async fn with_app() -> (Console, Browser, String) {
    let c = Console::with_engine().await;
    let target = c.target_token().await;
    let babs = c
        .user(
            "babs@example.com",
            json!({"displayName": "Babs J.", "name": {"givenName": "Babs", "familyName": "Jensen"}}),
        )
        .await;
    let b = c.browser().await;
    let page = b
        .submit(
            "/ui/apps",
            &[
                ("name", "peer"),
                ("url", &format!("{}/scim/v2", c.base)),
                ("auth", "bearer"),
                ("secret", &target),
                ("scope", "assigned"),
                ("deprovisioning", "disable"),
                ("deletion_threshold", "500"),
                ("matching", "userName"),
                ("reconcile_minutes", "40"),
            ],
        )
        .await;
    page.expect(303);
    assert_eq!(page.location(), "/ui/apps/peer/connection");
    (c, b, babs)
}

async fn app_spec(c: &Console) -> Value {
    c.store
        .app(&c.tenant.id, "peer")
        .await
        .unwrap()
        .unwrap()
        .spec
}

#[tokio::test]
async fn creating_and_editing_an_app_shows_the_api_s_messages() {
    let (c, b, _) = with_app().await;
    let mut fields = vec![
        ("name", "second"),
        ("url", "ftp://example.com/scim"),
        ("auth", "bearer"),
        ("scope", "assigned"),
    ];
    let page = b.submit("/ui/apps", &fields).await;
    page.expect(400).has("is not an http(s) URL");
    // What was typed stays in the form.
    assert_eq!(page.field("name").as_deref(), Some("second"));
    fields[0] = ("name", "peer");
    fields[1] = ("url", "https://example.com/scim");
    b.submit("/ui/apps", &fields)
        .await
        .expect(409)
        .has("already exists");
    assert_eq!(c.store.list_apps(None).await.unwrap().len(), 1);

    // The settings form: a bad number is named, nothing is saved; a good save is saved.
    let before = app_spec(&c).await;
    let page = b
        .submit(
            "/ui/apps/peer/connection",
            &[
                ("url", "https://x.example/scim"),
                ("deletion_threshold", "many"),
            ],
        )
        .await;
    page.expect(400)
        .has("deletion threshold: `many` is not a whole number");
    assert_eq!(app_spec(&c).await, before);
    let page = b
        .submit(
            "/ui/apps/peer/connection",
            &[
                ("url", before["url"].as_str().unwrap()),
                ("auth", "bearer"),
                ("scope", "all"),
                ("deletion_threshold", "7"),
                ("matching", "userName"),
            ],
        )
        .await;
    page.expect(200).has("Saved.");
    let after = app_spec(&c).await;
    assert_eq!(
        (after["scope"].clone(), after["deletion_threshold"].clone()),
        (json!("all"), json!(7))
    );
    // The secret was kept (not sent again), so the connection still works.
    let page = b.submit("/ui/apps/peer/test", &[]).await;
    page.expect(200)
        .has("connection works")
        .has("was deleted again");
}

#[tokio::test]
async fn a_mapping_is_evaluated_live_and_an_error_points_at_its_position() {
    let (_c, b, _) = with_app().await;
    let row = |value: &str, kind: &str| {
        vec![
            ("eval_user", "babs@example.com".to_owned()),
            ("row", "0".to_owned()),
            ("target", "displayName".to_owned()),
            ("kind", kind.to_owned()),
            ("value", value.to_owned()),
            ("default", String::new()),
            ("apply", "always".to_owned()),
        ]
    };
    let eval = |fields: Vec<(&'static str, String)>| {
        let b = &b;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.htmx("/ui/apps/peer/mappings/eval", &f).await
        }
    };
    let page = eval(row(r#"Join(" ", [givenName], [surname])"#, "expression")).await;
    page.expect(200);
    assert_eq!(
        unescape(between(&page.html, "data-ok=\"true\">", "<")),
        r#""Babs Jensen""#
    );

    // The parse error: the caret sits under the end, where `)` is missing.
    let text = r#"Join(" ", [givenName], [surname]"#;
    let page = eval(row(text, "expression")).await;
    page.expect(200).has("data-ok=\"false\"");
    let caret = between(&page.html, "<span class=\"caret\">", "<");
    assert_eq!(caret.trim_start().len(), 1, "{caret:?}");
    assert_eq!(caret.len() - 1, text.chars().count(), "{caret:?}");

    // An unknown function is named, with its span under it.
    let page = eval(row(r#"Jion(" ", [givenName])"#, "expression")).await;
    page.has("Jion");
    assert_eq!(between(&page.html, "<span class=\"caret\">", "<"), "^^^^");

    // A source attribute and a constant evaluate too; an unknown user is said so.
    let page = eval(row("givenName", "attribute")).await;
    assert_eq!(
        unescape(between(&page.html, "data-ok=\"true\">", "<")),
        r#""Babs""#
    );
    let page = eval(row("Sales", "constant")).await;
    assert_eq!(
        unescape(between(&page.html, "data-ok=\"true\">", "<")),
        r#""Sales""#
    );
    // Without JavaScript, "Evaluate" posts the whole form and gets the page with every result.
    let fields: Vec<(&str, String)> = row(r#"Join(" ", [givenName], [surname])"#, "expression")
        .into_iter()
        .filter(|(k, _)| *k != "row")
        .chain([("action", "evaluate".to_owned())])
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = b.submit("/ui/apps/peer/mappings", &fields).await;
    page.expect(200).has("<title>peer: mappings");
    assert_eq!(
        unescape(between(&page.html, "data-ok=\"true\">", "<")),
        r#""Babs Jensen""#
    );

    let mut nobody = row("givenName", "attribute");
    nobody[0].1 = "nobody@example.com".into();
    eval(nobody).await.has("no User with id or userName");
}

#[tokio::test]
async fn saving_mappings_goes_through_the_api_s_validation() {
    let (c, b, _) = with_app().await;
    let page = b.get("/ui/apps/peer/mappings").await;
    page.expect(200)
        .has("These are Entra")
        .has("userPrincipalName");
    let bad = [
        ("action", "save"),
        ("target", "userName"),
        ("kind", "attribute"),
        ("value", "userPrincipalName"),
        ("default", ""),
        ("apply", "always"),
        ("target", "displayName"),
        ("kind", "expression"),
        ("value", "Join(\" \", [givenName]"),
        ("default", ""),
        ("apply", "always"),
    ];
    let page = b.submit("/ui/apps/peer/mappings", &bad).await;
    page.expect(400).has("mapping 2 (`displayName`)");
    assert!(
        app_spec(&c).await.get("mappings").is_none(),
        "nothing saved"
    );

    let mut good = bad.to_vec();
    good[8] = ("value", "Join(\" \", [givenName], [surname])");
    // The empty new row is dropped; a row ticked for removal too.
    good.extend([
        ("target", "title"),
        ("kind", "constant"),
        ("value", "Staff"),
        ("default", ""),
        ("apply", "create"),
        ("remove", "2"),
        ("target", ""),
        ("kind", "attribute"),
        ("value", ""),
        ("default", ""),
        ("apply", "always"),
    ]);
    b.submit("/ui/apps/peer/mappings", &good)
        .await
        .expect(200)
        .has("Mappings saved");
    assert_eq!(
        app_spec(&c).await["mappings"],
        json!([
            {"target": "userName", "source": "userPrincipalName"},
            {"target": "displayName", "expression": "Join(\" \", [givenName], [surname])"},
        ])
    );
    b.submit("/ui/apps/peer/mappings", &[("action", "defaults")])
        .await
        .expect(200);
    assert!(app_spec(&c).await.get("mappings").is_none());
}

#[tokio::test]
async fn scope_assignments_scoping_and_why() {
    let (c, b, babs) = with_app().await;
    let why = b
        .submit("/ui/apps/peer/explain", &[("user", "babs@example.com")])
        .await;
    why.expect(200).has("out of scope: not assigned to the app");

    b.submit(
        "/ui/apps/peer/assign",
        &[("kind", "User"), ("who", "nobody@example.com")],
    )
    .await
    .expect(400)
    .has("no User with id or userName `nobody@example.com`");
    b.submit(
        "/ui/apps/peer/assign",
        &[("kind", "User"), ("who", "babs@example.com")],
    )
    .await
    .expect(303);
    let record = c.store.app(&c.tenant.id, "peer").await.unwrap().unwrap();
    assert_eq!(
        c.store.assignments(&record.id).await.unwrap(),
        vec![(ResourceKind::User, babs.clone())]
    );
    let why = b.submit("/ui/apps/peer/explain", &[("user", &babs)]).await;
    why.expect(200).has("in scope (assigned").has("create");

    // Scoping: a bad clause is named and not saved; a good one excludes Babs.
    let page = b
        .submit(
            "/ui/apps/peer/scope",
            &[("scoping", "[department] SOUNDS_LIKE \"x\"")],
        )
        .await;
    page.expect(400).has("scoping");
    assert!(app_spec(&c).await.get("scoping").is_none());
    b.submit(
        "/ui/apps/peer/scope",
        &[("scoping", "[department] EQUALS \"Sales\"")],
    )
    .await
    .expect(303);
    b.submit("/ui/apps/peer/explain", &[("user", "babs@example.com")])
        .await
        .has("department");

    b.submit("/ui/apps/peer/unassign", &[("kind", "User"), ("id", &babs)])
        .await
        .expect(303);
    assert!(c.store.assignments(&record.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn plan_provision_on_demand_logs_and_overview() {
    let (c, b, babs) = with_app().await;
    b.submit("/ui/apps/peer/assign", &[("kind", "User"), ("who", &babs)])
        .await
        .expect(303);
    let plan = b.get("/ui/apps/peer/plan").await;
    plan.expect(200)
        .has("Babs J.")
        .has("&#34;userName&#34;: &#34;babs@example.com&#34;");

    b.submit("/ui/apps/peer/provision", &[("user", "nobody@example.com")])
        .await
        .expect(200)
        .has("no User with id or userName");
    let page = b
        .submit("/ui/apps/peer/provision", &[("user", "babs@example.com")])
        .await;
    page.expect(200)
        .has("id=\"provision-outcome\">Success")
        .has("POST /Users");
    let record = c.store.app(&c.tenant.id, "peer").await.unwrap().unwrap();
    let entries = c
        .store
        .logs(&LogQuery {
            app_id: record.id.clone(),
            source_id: Some(babs.clone()),
            status: None,
            since: None,
            until: None,
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let seq = entries[0].seq;
    page.has(&format!("/ui/apps/peer/logs/{seq}"));
    // Babs is in the target tenant now.
    let target = c.store.tenant_by_name("target").await.unwrap().unwrap();
    assert!(c
        .store
        .get(
            &target.id,
            ResourceKind::User,
            &entries[0].target_id.clone().unwrap(),
            domain::Load::NONE
        )
        .await
        .unwrap()
        .is_some());

    b.get(&format!("/ui/apps/peer/logs/{seq}"))
        .await
        .expect(200)
        .has("import")
        .has(&babs);
    b.get("/ui/apps/peer/logs/999999")
        .await
        .expect(404)
        .has("log entry 999999 not found");
    b.get("/ui/apps/peer/logs").await.expect(200).has("Babs J.");
    b.get("/ui/apps/peer/logs?status=failure")
        .await
        .expect(200)
        .has("No entries.");
    b.get("/ui/apps/peer/logs?status=broken")
        .await
        .expect(400)
        .has("status `broken` is not one of");
    b.get("/ui/apps/peer/logs?since=yesterday")
        .await
        .expect(400)
        .has("since `yesterday`");

    let overview = b.get("/ui/apps/peer").await;
    overview
        .expect(200)
        .has("1 successes, 0 failures")
        .has("class=\"ok\"")
        .has("id=\"progress\"");
    b.get("/ui/apps/peer/progress")
        .await
        .expect(200)
        .has("No cycle running");
    let apps = b.get("/ui/apps").await;
    apps.expect(200).has("href=\"/ui/apps/peer\"");
    b.get("/ui/apps/nope")
        .await
        .expect(404)
        .has("app `nope` not found");
}

#[tokio::test]
async fn inbound_requests_and_their_records() {
    let c = Console::start().await;
    let request = domain::inbound::StagedRequest {
        id: "r-1".into(),
        tenant_id: c.tenant.id.clone(),
        source: "workday".into(),
        received: domain::Clock::now(&*c.clock),
        records: vec![
            domain::inbound::StagedRecord {
                index: 0,
                bulk_id: Some("b0".into()),
                external_id: Some("701984".into()),
                data: json!({"userName": "x"}),
            },
            domain::inbound::StagedRecord {
                index: 1,
                bulk_id: Some("b1".into()),
                external_id: Some("701985".into()),
                data: json!({"userName": "y"}),
            },
        ],
    };
    c.store.stage_inbound(&request).await.unwrap();
    let b = c.browser().await;
    b.get("/ui/inbound")
        .await
        .expect(200)
        .has("workday")
        .has("staged")
        .has("0 of 2");
    b.get("/ui/inbound/r-1")
        .await
        .expect(200)
        .has("Request from workday")
        .has("0 of 2 processed");
    b.get("/ui/inbound/nope").await.expect(404).has("not found");
}

/// Polls the overview until it shows `text`, the test clock moving a second a poll.
async fn overview_until(c: &Console, b: &Browser, text: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        c.clock.advance(1);
        let page = b.get("/ui/apps/peer").await;
        if page.html.contains(text) {
            return page.html;
        }
        if std::time::Instant::now() >= deadline {
            let record = c.store.app(&c.tenant.id, "peer").await.unwrap().unwrap();
            panic!(
                "the overview never showed {text:?}:\n{}\nstate: {}",
                page.html, record.state
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rejected_deletions_are_not_sent_and_held_again_until_approved() {
    let (c, b, _) = with_app().await;
    for name in ["carol@example.com", "dave@example.com"] {
        c.user(name, json!({})).await;
    }
    let spec = app_spec(&c).await;
    b.submit(
        "/ui/apps/peer/connection",
        &[
            ("url", spec["url"].as_str().unwrap()),
            ("auth", "bearer"),
            ("scope", "all"),
            ("deletion_threshold", "1"),
            ("matching", "userName"),
        ],
    )
    .await
    .expect(200);
    b.submit("/ui/apps/peer/enabled", &[("enabled", "true")])
        .await
        .expect(303);
    overview_until(&c, &b, ">in sync<").await;
    let target = c.store.tenant_by_name("target").await.unwrap().unwrap();
    let in_target = || async {
        c.store
            .walk(&target.id, ResourceKind::User, 0, 1000, domain::Load::NONE)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(in_target().await, 3);

    // Three deletions against a threshold of one: held.
    for name in ["babs@example.com", "carol@example.com", "dave@example.com"] {
        let (_, list) = c
            .api(
                reqwest::Method::GET,
                &format!(
                    "/scim/v2/Users?filter={}",
                    support::q(&format!("userName eq \"{name}\""))
                ),
                None,
            )
            .await;
        let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
        c.api(
            reqwest::Method::DELETE,
            &format!("/scim/v2/Users/{id}"),
            None,
        )
        .await;
    }
    let held = overview_until(&c, &b, "id=\"reject-deletions\"").await;
    assert!(held.contains("Deletions held"), "{held}");
    let kept = in_target().await;
    assert!(kept >= 2, "the held deletions were sent: {kept} left");

    // Reject: nothing is sent; the app starts over with a full cycle, which finds the
    // accounts of the deleted users again (its orphans phase) and holds them again.
    b.submit("/ui/apps/peer/reject", &[]).await.expect(303);
    overview_until(&c, &b, "id=\"reject-deletions\"").await;
    assert_eq!(in_target().await, kept, "a rejected deletion was sent");
    // Approved, they are sent.
    b.submit("/ui/apps/peer/approve", &[]).await.expect(303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while in_target().await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the approved deletions were not sent"
        );
        c.clock.advance(1);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let logs = b.get("/ui/apps/peer/logs").await;
    logs.expect(200).has("stagedDelete");
}
