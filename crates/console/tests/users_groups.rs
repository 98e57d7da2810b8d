//! The console's users and groups pages over HTTP: the real application on a loopback port,
//! a browser that signs in through the sign-in form, and the store checked after each change.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use domain::{ResourceKind, StoredResource};
use reqwest::Method;
use serde_json::{json, Value};
use support::{q, Console, Page};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const DYNAMIC: &str = "urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group";

fn in_department(department: &str) -> Value {
    json!({ ENTERPRISE: { "department": department } })
}

async fn dynamic_group(c: &Console, name: &str, rule: &str) -> String {
    c.create(
        "Groups",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", DYNAMIC],
            "displayName": name,
            DYNAMIC: { "membershipRule": rule },
        }),
    )
    .await
}

fn text<'a>(r: &'a StoredResource, path: &[&str]) -> Option<&'a str> {
    let mut v = r.body.get(*path.first()?)?;
    for key in path.get(1..)? {
        v = v.get(key)?;
    }
    v.as_str()
}

/// The caret line under the line it marks, in a preview's error block.
fn caret_under(page: &Page) -> (String, String) {
    let block = page
        .html
        .split_once("<pre class=\"rule-error\"")
        .and_then(|(_, rest)| rest.split_once("<code>"))
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(block, _)| block.to_owned())
        .unwrap_or_else(|| panic!("no rule error block:\n{}", page.html));
    let (line, caret) = block.split_once('\n').unwrap();
    let caret = caret
        .strip_prefix("<span class=\"caret\">")
        .and_then(|c| c.strip_suffix("</span>"))
        .unwrap_or_else(|| panic!("no caret span in {block}"));
    (support::unescape(line), caret.to_owned())
}

// --- users -------------------------------------------------------------------------------

#[tokio::test]
async fn users_list_searches_with_a_scim_filter_and_shows_a_bad_filter_beside_the_box() {
    let c = Console::start().await;
    c.user(
        "alice@example.com",
        json!({"name": {"familyName": "Jensen"}}),
    )
    .await;
    c.user(
        "albert@example.com",
        json!({"name": {"familyName": "Smith"}}),
    )
    .await;
    c.user("bob@example.com", json!({"name": {"familyName": "Jensen"}}))
        .await;
    c.user("carol@example.com", json!({})).await;
    let b = c.browser().await;

    let all = b.get("/ui/users").await;
    all.expect(200).has("1–4 of 4 users");

    let page = b
        .get(&format!("/ui/users?filter={}", q(r#"userName sw "al""#)))
        .await;
    page.expect(200)
        .has(">alice@example.com</a>")
        .has(">albert@example.com</a>")
        .lacks("bob@example.com")
        .lacks("carol@example.com")
        .has("of 2 users matching the filter");
    // The filter stays in the search box.
    assert_eq!(page.field("filter").unwrap(), r#"userName sw "al""#);

    let page = b
        .get(&format!(
            "/ui/users?filter={}",
            q(r#"name.familyName eq "Jensen""#)
        ))
        .await;
    page.expect(200)
        .has(">alice@example.com</a>")
        .has(">bob@example.com</a>")
        .lacks("albert@example.com")
        .lacks("carol@example.com");

    let page = b
        .get(&format!("/ui/users?filter={}", q(r#"userName zz "a""#)))
        .await;
    page.expect(400)
        .has("id=\"filter-error\" role=\"alert\">invalid filter")
        .has("(invalidFilter)")
        // The rest of the page is there: navigation, search box, the (empty) table.
        .has("<nav aria-label=\"Sections\">")
        .has("id=\"list-filter\"")
        .has("aria-invalid=\"true\"")
        .has("<th scope=\"col\">userName</th>")
        .lacks("alice@example.com</a>");
}

#[tokio::test]
async fn users_list_pages_by_25_sorted_by_user_name() {
    let c = Console::start().await;
    // Created out of order: the list sorts.
    for i in (0..30).rev() {
        c.user(&format!("user{i:02}@example.com"), json!({})).await;
    }
    let b = c.browser().await;

    let first = b.get("/ui/users").await;
    first.expect(200).has("1–25 of 30 users");
    assert_eq!(first.count("<td><a href=\"/ui/users/"), 25);
    let at = |p: &Page, name: &str| p.html.find(&format!(">{name}</a>"));
    for i in 0..25 {
        assert!(
            at(&first, &format!("user{i:02}@example.com")).is_some(),
            "user{i:02} missing"
        );
    }
    assert!(at(&first, "user00@example.com") < at(&first, "user24@example.com"));
    first.lacks("user25@example.com");
    assert_eq!(first.link("prev"), None);

    let next = first.link("next").expect("a next-page link");
    let second = b.get(&next).await;
    second.expect(200).has("26–30 of 30 users");
    assert_eq!(second.count("<td><a href=\"/ui/users/"), 5);
    for i in 25..30 {
        assert!(at(&second, &format!("user{i:02}@example.com")).is_some());
    }
    second.lacks("user24@example.com");
    assert_eq!(second.link("next"), None);
    assert_eq!(second.link("prev").as_deref(), Some("/ui/users?start=1"));

    // Paging keeps the filter.
    let filtered = b
        .get(&format!("/ui/users?filter={}", q(r#"userName sw "user""#)))
        .await;
    let next = filtered.link("next").unwrap();
    assert!(next.contains("filter=userName%20sw%20%22user%22"), "{next}");
    b.get(&next).await.expect(200).has("26–30 of 30 users");
}

#[tokio::test]
async fn user_page_shows_the_user_its_groups_and_its_json() {
    let c = Console::start().await;
    let boss = c
        .user("boss@example.com", json!({"displayName": "The Boss"}))
        .await;
    let id = c
        .user(
            "ann@example.com",
            json!({
                "displayName": "Ann Lee",
                "active": true,
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@work.example", "type": "work", "primary": true}],
                ENTERPRISE: {"department": "Sales", "employeeNumber": "E-17", "manager": {"value": boss}},
            }),
        )
        .await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;

    let page = b.get(&format!("/ui/users/{id}")).await;
    page.expect(200)
        .has("ann@work.example")
        .has("<dd>Sales</dd>")
        .has("<dd>E-17</dd>")
        .has(&format!("<a href=\"/ui/users/{boss}\">The Boss</a>"))
        .has(&format!("<a href=\"/ui/groups/{group}\">Sellers</a>"))
        .has("<span class=\"badge ok\">active</span>")
        .has("<summary>Full SCIM JSON</summary>")
        .has("&#34;employeeNumber&#34;: &#34;E-17&#34;");
    let version = c.stored(ResourceKind::User, &id).await.version;
    page.has(&format!(
        "<dt>Version</dt><dd class=\"mono\">W/\"{version}\"</dd>"
    ));
    assert_eq!(page.field("version"), Some(version.to_string()));
    assert_eq!(page.field("workEmail").as_deref(), Some("ann@work.example"));

    b.get("/ui/users/no-such-user").await.expect(404);
}

#[tokio::test]
async fn editing_a_user_patches_it_and_a_stale_version_is_refused() {
    let c = Console::start().await;
    let id = c
        .user(
            "ann@example.com",
            json!({
                "displayName": "Ann Lee",
                "title": "Engineer",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@old.example", "type": "work"}],
                ENTERPRISE: {"department": "R&D"},
            }),
        )
        .await;
    let b = c.browser().await;
    let form = b.get(&format!("/ui/users/{id}")).await;
    let version = form.field("version").unwrap();
    let csrf = form.csrf();
    let edit = |display: &'static str, version: String| {
        let path = format!("/ui/users/{id}");
        let csrf = csrf.clone();
        let b = &b;
        async move {
            b.post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("displayName", display),
                    ("givenName", "Ann"),
                    ("familyName", "Berg"),
                    ("title", ""),
                    ("workEmail", "ann@new.example"),
                    ("department", "Sales"),
                    ("active", "true"),
                ],
            )
            .await
        }
    };

    let done = edit("Ann Berg", version.clone()).await;
    done.expect(303);
    assert_eq!(done.location(), format!("/ui/users/{id}?saved=1"));
    let stored = c.stored(ResourceKind::User, &id).await;
    assert_eq!(text(&stored, &["displayName"]), Some("Ann Berg"));
    assert_eq!(text(&stored, &["name", "familyName"]), Some("Berg"));
    assert_eq!(
        text(&stored, &["title"]),
        None,
        "an emptied field is removed"
    );
    assert_eq!(
        stored.body.get("active"),
        None,
        "an untouched field stays as it was"
    );
    assert_eq!(text(&stored, &[ENTERPRISE, "department"]), Some("Sales"));
    assert_eq!(
        stored.body["emails"],
        json!([{"value": "ann@new.example", "type": "work"}])
    );
    let after_edit = stored.version;
    assert!(after_edit > version.parse().unwrap());
    b.get(done.location()).await.expect(200).has("Saved.");

    // Submitting the form read before that change again: refused, and nothing written.
    let stale = edit("Someone Else", version).await;
    stale
        .expect(412)
        .has("changed by someone else meanwhile")
        .has("nothing was saved");
    assert_eq!(stale.field("displayName").as_deref(), Some("Someone Else"));
    let stored = c.stored(ResourceKind::User, &id).await;
    assert_eq!(stored.version, after_edit);
    assert_eq!(text(&stored, &["displayName"]), Some("Ann Berg"));
}

#[tokio::test]
async fn an_invalid_edit_is_shown_with_the_submitted_values_and_writes_nothing() {
    let c = Console::start().await;
    let id = c
        .user("ann@example.com", json!({"displayName": "Ann Lee"}))
        .await;
    let b = c.browser().await;
    let form = b.get(&format!("/ui/users/{id}")).await;
    let version = form.field("version").unwrap();

    let page = b
        .submit(
            &format!("/ui/users/{id}"),
            &[
                ("version", &version),
                ("displayName", "Ann Changed"),
                ("department", "Sales"),
                // Not a boolean: the schema refuses the whole change.
                ("active", "maybe"),
            ],
        )
        .await;
    page.expect(400)
        .has("Nothing was saved")
        .has("active")
        .has("(invalidValue)");
    assert_eq!(page.field("displayName").as_deref(), Some("Ann Changed"));
    assert_eq!(page.field("department").as_deref(), Some("Sales"));
    let stored = c.stored(ResourceKind::User, &id).await;
    assert_eq!(stored.version.to_string(), version);
    assert_eq!(text(&stored, &["displayName"]), Some("Ann Lee"));
    assert_eq!(text(&stored, &[ENTERPRISE, "department"]), None);
}

#[tokio::test]
async fn disabling_and_enabling_a_user() {
    let c = Console::start().await;
    let id = c.user("ann@example.com", json!({"active": true})).await;
    let b = c.browser().await;
    let page = b.get(&format!("/ui/users/{id}")).await;
    page.has(">Disable</button>");

    let done = b
        .submit(&format!("/ui/users/{id}/active"), &[("active", "false")])
        .await;
    done.expect(303);
    let stored = c.stored(ResourceKind::User, &id).await;
    assert_eq!(stored.body["active"], json!(false));
    let page = b.get(done.location()).await;
    page.has(">Enable</button>")
        .has("<span class=\"badge bad\">disabled</span>");

    b.submit(&format!("/ui/users/{id}/active"), &[("active", "true")])
        .await
        .expect(303);
    assert_eq!(
        c.stored(ResourceKind::User, &id).await.body["active"],
        json!(true)
    );
    let users = b.get("/ui/users").await;
    users.has("<span class=\"badge ok\">active</span>");
}

// --- groups ------------------------------------------------------------------------------

#[tokio::test]
async fn groups_list_shows_dynamic_groups_and_searches() {
    let c = Console::start().await;
    let sellers = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    c.create("Groups", json!({"displayName": "Admins"})).await;
    let b = c.browser().await;

    let page = b.get("/ui/groups").await;
    page.expect(200).has("1–2 of 2 groups");
    let admins = page.html.find(">Admins</a>").unwrap();
    let sellers_at = page
        .html
        .find(&format!("<a href=\"/ui/groups/{sellers}\">Sellers</a>"))
        .unwrap();
    assert!(admins < sellers_at, "sorted by displayName");
    assert_eq!(page.count("<span class=\"badge warn\">dynamic</span>"), 1);
    assert_eq!(page.count("<span class=\"badge\">static</span>"), 1);

    let page = b
        .get(&format!(
            "/ui/groups?filter={}",
            q(r#"displayName eq "Admins""#)
        ))
        .await;
    page.expect(200).has(">Admins</a>").lacks(">Sellers</a>");
    b.get(&format!("/ui/groups?filter={}", q("displayName eq")))
        .await
        .expect(400)
        .has("(invalidFilter)");
}

#[tokio::test]
async fn group_page_lists_members_and_the_rule() {
    let c = Console::start().await;
    let ann = c
        .user(
            "ann@example.com",
            json!({"displayName": "Ann", ENTERPRISE: {"department": "Sales"}}),
        )
        .await;
    c.user("bob@example.com", in_department("Marketing")).await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;

    let page = b.get(&format!("/ui/groups/{group}")).await;
    page.expect(200)
        .has("<span class=\"badge warn\">dynamic</span>")
        .has("Members (1)")
        .has(&format!("<a href=\"/ui/users/{ann}\">Ann</a>"))
        .lacks("bob@example.com")
        .has("The membership is up to date with the rule.")
        .has("aria-live=\"polite\"")
        .has("<label for=\"rule\">Membership rule</label>")
        .has("<label for=\"explain-user\">");
    assert_eq!(page.field("group_id").as_deref(), Some(group.as_str()));
    page.has(
        "hx-post=\"/ui/groups/preview\" hx-trigger=\"input changed delay:500ms\" \
         hx-target=\"#rule-preview\"",
    );

    let fragment = b.get(&format!("/ui/groups/{group}/progress")).await;
    fragment.expect(200).has("up to date").lacks("<nav");
}

#[tokio::test]
async fn rule_preview_points_at_a_parse_error_with_a_caret() {
    let c = Console::start().await;
    let b = c.browser().await;

    let rule = r#"user.department -eq "Sales" -and user.title -eqq "x""#;
    let page = b.htmx("/ui/groups/preview", &[("rule", rule)]).await;
    page.expect(200)
        .has("unknown operator `-eqq`")
        .lacks("<nav");
    let (line, caret) = caret_under(&page);
    assert_eq!(line, rule);
    assert_eq!(
        caret,
        format!("{}^^^^", " ".repeat(rule.find("-eqq").unwrap()))
    );

    // Columns count characters, not bytes.
    let rule = "user.displayName -eq \"Jörg Åström\" -and user.title -eqq \"x\"";
    let page = b.htmx("/ui/groups/preview", &[("rule", rule)]).await;
    let (line, caret) = caret_under(&page);
    assert_eq!(line, rule);
    let column = rule[..rule.find("-eqq").unwrap()].chars().count();
    assert_eq!((column, rule.find("-eqq").unwrap()), (51, 54));
    assert_eq!(caret, format!("{}^^^^", " ".repeat(column)));

    // A browser's CRLF ends a line: the error's line is shown, the caret under it.
    let rule = "user.displayName -eq \"Jörg\"\r\n  -and user.title -eqq \"x\"";
    let page = b.htmx("/ui/groups/preview", &[("rule", rule)]).await;
    let (line, caret) = caret_under(&page);
    assert_eq!(line, "  -and user.title -eqq \"x\"");
    assert_eq!(caret, format!("{}^^^^", " ".repeat(18)));
    page.has("Line 2, the error marked with carets");
    let rule = "user.title -eqq \"x\"\r\n  -and user.department -eq \"S\"";
    let page = b.htmx("/ui/groups/preview", &[("rule", rule)]).await;
    assert_eq!(
        caret_under(&page),
        (
            "user.title -eqq \"x\"".to_owned(),
            format!("{}^^^^", " ".repeat(11))
        )
    );

    // Without JavaScript, the Preview button answers with the whole page.
    let page = b
        .submit(
            "/ui/groups/preview",
            &[("displayName", "Sellers"), ("rule", "user.department -eq")],
        )
        .await;
    page.expect(200)
        .has("<nav aria-label=\"Sections\">")
        .has("expected a value after `-eq` at 19");
    let (line, caret) = caret_under(&page);
    assert_eq!(line, "user.department -eq");
    assert_eq!(caret, format!("{}^", " ".repeat(19)));
    assert_eq!(page.field("displayName").as_deref(), Some("Sellers"));
    page.has(">user.department -eq</textarea>");
}

#[tokio::test]
async fn rule_preview_counts_matches_additions_and_removals() {
    let c = Console::start().await;
    for i in 0..3 {
        c.user(&format!("sales{i}@example.com"), in_department("Sales"))
            .await;
    }
    for i in 0..2 {
        c.user(&format!("mkt{i}@example.com"), in_department("Marketing"))
            .await;
    }
    let group = dynamic_group(&c, "Team", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;

    // For the group: its 3 members would go, the 2 marketers come in.
    let rule = r#"user.department -eq "Marketing""#;
    let page = b
        .htmx(
            "/ui/groups/preview",
            &[("rule", rule), ("group_id", &group)],
        )
        .await;
    page.expect(200).has(
        "<strong>2</strong> of 5 users match. Saving the rule would add <strong>2</strong> \
         and remove <strong>3</strong>.",
    );
    page.has(">mkt0@example.com</a>")
        .has(">sales0@example.com</a>");

    // Overlapping: everyone in either department; only the marketers are new.
    let rule = r#"user.department -in ["Sales", "Marketing"]"#;
    let page = b
        .htmx(
            "/ui/groups/preview",
            &[("rule", rule), ("group_id", &group)],
        )
        .await;
    page.has("<strong>5</strong> of 5 users match. Saving the rule would add <strong>2</strong> and remove <strong>0</strong>.");

    // For a new group, every match is an addition.
    let page = b.htmx("/ui/groups/preview", &[("rule", rule)]).await;
    page.has("<strong>5</strong> of 5 users match. Saving the rule would add <strong>5</strong> and remove <strong>0</strong>.");

    // Without JavaScript: the group's page, the typed rule in the editor, the same counts.
    let page = b
        .submit(
            "/ui/groups/preview",
            &[("rule", rule), ("group_id", &group)],
        )
        .await;
    page.expect(200)
        .has("<nav aria-label=\"Sections\">")
        .has("Members (3)")
        .has(">user.department -in [&#34;Sales&#34;, &#34;Marketing&#34;]</textarea>")
        .has("<strong>5</strong> of 5 users match. Saving the rule would add <strong>2</strong> and remove <strong>0</strong>.");

    // The preview wrote nothing.
    assert_eq!(c.member_ids(&group).await.len(), 3);
}

#[tokio::test]
async fn group_page_shows_the_first_100_members_and_counts_them_all() {
    let c = Console::start().await;
    for i in 0..101 {
        c.user(&format!("u{i:03}@example.com"), in_department("Sales"))
            .await;
    }
    let group = dynamic_group(&c, "Everyone", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;
    let page = b.get(&format!("/ui/groups/{group}")).await;
    page.expect(200)
        .has("Members (101)")
        .has("The first 100 by name.");
    let members = page.html.split_once("<ul class=\"members\">").unwrap().1;
    assert_eq!(members.matches("<li><a href=\"/ui/users/").count(), 100);
    assert!(members.contains(">u099@example.com</a>"));
    assert!(!members.contains(">u100@example.com</a>"));
}

#[tokio::test]
async fn saving_a_rule_recomputes_the_membership_and_removing_it_keeps_the_members() {
    let c = Console::start().await;
    let mut sales = Vec::new();
    for i in 0..3 {
        sales.push(
            c.user(&format!("sales{i}@example.com"), in_department("Sales"))
                .await,
        );
    }
    sales.sort();
    let bob = c.user("bob@example.com", in_department("Marketing")).await;
    let group = c
        .create(
            "Groups",
            json!({"displayName": "Team", "members": [{"value": bob}]}),
        )
        .await;
    let b = c.browser().await;
    b.get(&format!("/ui/groups/{group}"))
        .await
        .has("<span class=\"badge\">static</span>");

    // A bad rule: refused, shown with the caret, the text kept, nothing changed.
    let bad = b
        .submit(
            &format!("/ui/groups/{group}/rule"),
            &[("rule", "user.department -eqq \"Sales\"")],
        )
        .await;
    bad.expect(400)
        .has("Nothing was saved")
        .has("unknown operator `-eqq`")
        .has(">user.department -eqq &#34;Sales&#34;</textarea>");
    let (_, caret) = caret_under(&bad);
    assert_eq!(caret, format!("{}^^^^", " ".repeat(16)));
    assert_eq!(c.member_ids(&group).await, vec![bob.clone()]);
    assert!(c
        .store
        .dynamic_rule(&c.tenant.id, &group)
        .await
        .unwrap()
        .is_none());

    let done = b
        .submit(
            &format!("/ui/groups/{group}/rule"),
            &[("rule", "user.department -eq \"Sales\"")],
        )
        .await;
    done.expect(303);
    assert_eq!(done.location(), format!("/ui/groups/{group}?saved=rule"));
    assert_eq!(c.member_ids(&group).await, sales);
    let (status, json) = c
        .api(Method::GET, &format!("/api/v1/groups/{group}/rule"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(json["rule"], "user.department -eq \"Sales\"");
    let page = b.get(done.location()).await;
    page.expect(200)
        .has("Rule saved")
        .has("Members (3)")
        .has("<span class=\"badge warn\">dynamic</span>");

    let done = b
        .submit(&format!("/ui/groups/{group}/rule/remove"), &[])
        .await;
    done.expect(303);
    assert_eq!(
        c.member_ids(&group).await,
        sales,
        "a static group keeps its members"
    );
    assert!(c
        .store
        .dynamic_rule(&c.tenant.id, &group)
        .await
        .unwrap()
        .is_none());
    b.get(done.location())
        .await
        .has("<span class=\"badge\">static</span>");
}

#[tokio::test]
async fn creating_a_dynamic_group_from_the_new_group_page() {
    let c = Console::start().await;
    let ann = c.user("ann@example.com", in_department("Sales")).await;
    c.user("bob@example.com", in_department("Marketing")).await;
    let b = c.browser().await;
    let form = b.get("/ui/groups/new").await;
    form.expect(200)
        .has("<label for=\"group-name\">displayName</label>")
        .has("<label for=\"rule\">Membership rule</label>");

    let done = b
        .post(
            "/ui/groups",
            &[
                ("csrf", &form.csrf()),
                ("displayName", "Sellers"),
                ("rule", "user.department -eq \"Sales\""),
            ],
        )
        .await;
    done.expect(303);
    let id = done
        .location()
        .strip_prefix("/ui/groups/")
        .unwrap()
        .to_owned();
    assert_eq!(c.member_ids(&id).await, vec![ann]);

    // The name is taken now: the form comes back with what was typed.
    let again = b
        .submit(
            "/ui/groups",
            &[
                ("displayName", "Sellers"),
                ("rule", "user.department -eq \"X\""),
            ],
        )
        .await;
    again.expect(409).has("(uniqueness)");
    assert_eq!(again.field("displayName").as_deref(), Some("Sellers"));
    again.has(">user.department -eq &#34;X&#34;</textarea>");
}

#[tokio::test]
async fn explain_says_whether_the_rule_matches_a_user_and_why() {
    let c = Console::start().await;
    c.user("ann@example.com", in_department("Sales")).await;
    let bob = c.user("bob@example.com", in_department("Marketing")).await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;
    let path = format!("/ui/groups/{group}/explain");

    // By userName, through htmx: a fragment.
    let yes = b.htmx(&path, &[("user", "ann@example.com")]).await;
    yes.expect(200)
        .lacks("<nav")
        .has("<dd class=\"matches\"><span class=\"badge ok\">yes</span></dd>")
        .has("<dd class=\"member\"><span class=\"badge ok\">yes</span></dd>")
        .has("user.department -eq &#34;Sales&#34;: &#34;Sales&#34; → true");

    // By id, without JavaScript: the whole page, the answer in it.
    let no = b.submit(&path, &[("user", &bob)]).await;
    no.expect(200)
        .has("<nav aria-label=\"Sections\">")
        .has("<dd class=\"matches\"><span class=\"badge bad\">no</span></dd>")
        .has("<dd class=\"member\"><span class=\"badge bad\">no</span></dd>")
        .has("user.department -eq &#34;Sales&#34;: &#34;Marketing&#34; → false")
        .has(">bob@example.com</a>");
    assert_eq!(no.field("user").as_deref(), Some(bob.as_str()));

    let unknown = b.submit(&path, &[("user", "nobody@example.com")]).await;
    unknown.expect(404).has("no user with the userName or id");
    let unknown = b.htmx(&path, &[("user", "nobody@example.com")]).await;
    unknown.expect(200).has("no user with the userName or id");
}

// --- security ------------------------------------------------------------------------------

#[tokio::test]
async fn a_script_in_a_display_name_is_escaped_everywhere() {
    let c = Console::start().await;
    let script = "<script>alert(1)</script>";
    let id = c
        .user(
            "mallory@example.com",
            json!({"displayName": script, ENTERPRISE: {"department": "Sales"}}),
        )
        .await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    assert_eq!(c.member_ids(&group).await, vec![id.clone()]);
    let b = c.browser().await;
    // askama writes `<` as `&#60;`; `&lt;` would do as well.
    let escaped = |html: &str| {
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    };

    for path in [
        "/ui/users".to_owned(),
        format!("/ui/users/{id}"),
        format!("/ui/groups/{group}"),
    ] {
        let page = b.get(&path).await;
        page.expect(200);
        assert!(
            escaped(&page.html),
            "{path}: not shown escaped:\n{}",
            page.html
        );
        assert!(!page.html.contains("<script>alert"), "{path}: shown raw");
    }
    let preview = b
        .htmx(
            "/ui/groups/preview",
            &[("rule", r#"user.department -eq "Sales""#)],
        )
        .await;
    assert!(escaped(&preview.html), "preview: not shown escaped");
    preview.lacks("<script>alert");
}

#[tokio::test]
async fn every_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let c = Console::start().await;
    let user = c
        .user(
            "ann@example.com",
            json!({"displayName": "Ann", ENTERPRISE: {"department": "Sales"}}),
        )
        .await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    let b = c.browser().await;
    let user_version = c.stored(ResourceKind::User, &user).await.version;
    let group_version = c.stored(ResourceKind::Group, &group).await.version;

    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/ui/users/{user}"),
            vec![
                ("version", "1"),
                ("displayName", "Hacked"),
                ("active", "true"),
            ],
        ),
        (
            format!("/ui/users/{user}/active"),
            vec![("active", "false")],
        ),
        (
            "/ui/groups".into(),
            vec![
                ("displayName", "Evil"),
                ("rule", "user.department -eq \"x\""),
            ],
        ),
        (
            "/ui/groups/preview".into(),
            vec![("rule", "user.department -eq \"x\"")],
        ),
        (
            format!("/ui/groups/{group}/rule"),
            vec![("rule", "user.department -eq \"x\"")],
        ),
        (format!("/ui/groups/{group}/rule/remove"), vec![]),
        (
            format!("/ui/groups/{group}/explain"),
            vec![("user", "ann@example.com")],
        ),
    ];
    for (path, fields) in &posts {
        let refused = b.post(path, fields).await;
        assert_eq!(refused.status, 403, "{path} without csrf: {}", refused.html);
        refused.has("Nothing was changed");
        // A wrong token is no better than none.
        let mut wrong = fields.clone();
        wrong.push(("csrf", "forged"));
        assert_eq!(
            b.post(path, &wrong).await.status,
            403,
            "{path} with a forged csrf"
        );
    }

    let stored = c.stored(ResourceKind::User, &user).await;
    assert_eq!(stored.version, user_version);
    assert_eq!(stored.body["displayName"], "Ann");
    assert_eq!(stored.body.get("active"), None);
    let stored = c.stored(ResourceKind::Group, &group).await;
    assert_eq!(stored.version, group_version);
    assert_eq!(
        c.store
            .dynamic_rule(&c.tenant.id, &group)
            .await
            .unwrap()
            .unwrap()
            .rule,
        r#"user.department -eq "Sales""#
    );
    let (_, groups) = c.api(Method::GET, "/scim/v2/Groups", None).await;
    assert_eq!(groups["totalResults"], 1, "no group was created");

    // The same posts with the token go through (the refusals were about the token).
    b.submit(&format!("/ui/users/{user}/active"), &[("active", "false")])
        .await
        .expect(303);
}

#[tokio::test]
async fn every_page_without_a_session_redirects_to_sign_in() {
    let c = Console::start().await;
    let user = c.user("ann@example.com", json!({})).await;
    let group = dynamic_group(&c, "Sellers", r#"user.department -eq "Sales""#).await;
    let anonymous = c.anonymous();
    for path in [
        "/ui/users".to_owned(),
        format!("/ui/users?filter={}", q(r#"userName sw "a""#)),
        format!("/ui/users/{user}"),
        "/ui/groups".to_owned(),
        "/ui/groups/new".to_owned(),
        format!("/ui/groups/{group}"),
        format!("/ui/groups/{group}/progress"),
    ] {
        let page = anonymous.get(&path).await;
        assert_eq!(page.status, 303, "{path}: {}", page.html);
        let to = page.location();
        assert!(to.starts_with("/ui/login?next="), "{path} → {to}");
        assert!(!page.html.contains("ann@example.com"), "{path} leaked data");
    }
    // A post without a session changes nothing either (sign-in required, not a redirect).
    let refused = anonymous
        .post(&format!("/ui/users/{user}/active"), &[("active", "false")])
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        c.stored(ResourceKind::User, &user).await.body.get("active"),
        None
    );
}
