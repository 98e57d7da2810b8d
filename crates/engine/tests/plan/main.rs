//! Planner tests, named after the spec section each proves. Plans are snapshots
//! (`UPDATE_EXPECT=1 cargo test -p engine` rewrites them).

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use engine::app::{App, Deprovisioning, Dialect, Scope};
use engine::deletions::{DeletionGuard, Verdict};
use engine::groups::{member_changes, membership_deltas, plan_group, GroupShadow};
use engine::plan::{plan_user, Operation, Record, SourceUser, UserPlan};
use engine::shadow::{Shadow, ShadowState};
use engine::target_body::TargetPath;
use expect_test::{expect, Expect};
use jiff::Timestamp;
use mapping_lang::scoping::{Clause, Scoping};
use serde_json::{json, Value};

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn app() -> App {
    App::with_default_mappings().unwrap()
}

/// A source user like the one in spec §1.2's create example.
fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "src-1",
        "userName": "Test_User_00aa00aa@testuser.com",
        "active": true,
        "displayName": "givenName familyName",
        "title": "Engineer",
        "name": {"givenName": "givenName", "familyName": "familyName"},
        "emails": [{"type": "work", "value": "Test_User_11bb@testuser.com", "primary": true}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Sales",
            "employeeNumber": "42",
            "manager": {"value": "src-mgr"}
        }
    })
}

fn no_managers(_: &str) -> Option<String> {
    None
}

fn known_managers(id: &str) -> Option<String> {
    (id == "src-mgr").then(|| "tgt-mgr".to_owned())
}

fn plan(app: &App, user: &Value, assigned: bool, shadow: Option<&Shadow>) -> UserPlan {
    plan_user(
        app,
        SourceUser::Present(user),
        assigned,
        shadow,
        now(),
        &no_managers,
    )
}

/// What the engine recorded after provisioning `user()` with the default mapping.
fn shadow_of(_app: &App, _user: &Value, state: ShadowState) -> Shadow {
    // Flattened like the engine records it: target path → value sent.
    let mut sent = serde_json::Map::new();
    for (path, value) in [
        ("userName", json!("Test_User_00aa00aa@testuser.com")),
        ("externalId", json!("Test_User_00aa00aa")),
        (
            "active",
            json!(if state == ShadowState::Disabled {
                "False"
            } else {
                "True"
            }),
        ),
        ("displayName", json!("givenName familyName")),
        ("title", json!("Engineer")),
        (
            "emails[type eq \"work\"].value",
            json!("Test_User_11bb@testuser.com"),
        ),
        ("name.givenName", json!("givenName")),
        ("name.familyName", json!("familyName")),
        ("phoneNumbers[type eq \"work\"].value", json!("+1 555 0100")),
        (
            "emails[type eq \"other\"].value",
            json!("Test_User_11bb@testuser.com"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            json!("Sales"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            json!("42"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            json!("tgt-mgr"),
        ),
    ] {
        sent.insert(path.to_owned(), value);
    }
    Shadow {
        target_id: Some("tgt-1".to_owned()),
        last_sent: Value::Object(sent),
        state,
    }
}

fn render(plan: &UserPlan) -> String {
    let mut out = format!("reason: {}\n", plan.reason);
    for d in &plan.deferred {
        out.push_str(&format!("deferred: {d}\n"));
    }
    for op in &plan.operations {
        let line = match op {
            Operation::MatchOrCreate { candidates, body } => format!(
                "MatchOrCreate {candidates:?}\n{}",
                serde_json::to_string_pretty(body).unwrap()
            ),
            Operation::Update {
                target_id,
                operations,
            } => {
                let ops: Vec<String> = operations.iter().map(Value::to_string).collect();
                format!("Update {target_id}\n  {}", ops.join("\n  "))
            }
            Operation::Disable {
                target_id,
                operation,
            } => format!("Disable {target_id} {operation}"),
            Operation::Enable {
                target_id,
                operation,
            } => format!("Enable {target_id} {operation}"),
            Operation::Delete { target_id } => format!("Delete {target_id}"),
            Operation::NoOp { reason } => format!("NoOp {reason}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn check(plan: &UserPlan, expect: Expect) {
    expect.assert_eq(&render(plan));
}

#[test]
fn s1_2_joiner_create_body_of_the_default_mapping() {
    let app = app();
    check(
        &plan(&app, &user(), true, None),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); match on userName eq "Test_User_00aa00aa@testuser.com", else create the user
            deferred: manager src-mgr: written by an update after the create
            MatchOrCreate [("userName", "Test_User_00aa00aa@testuser.com")]
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "userName": "Test_User_00aa00aa@testuser.com",
              "externalId": "Test_User_00aa00aa",
              "active": true,
              "displayName": "givenName familyName",
              "title": "Engineer",
              "emails": [
                {
                  "primary": true,
                  "type": "work",
                  "value": "Test_User_11bb@testuser.com"
                },
                {
                  "type": "other",
                  "value": "Test_User_11bb@testuser.com"
                }
              ],
              "name": {
                "givenName": "givenName",
                "familyName": "familyName"
              },
              "phoneNumbers": [
                {
                  "type": "work",
                  "value": "+1 555 0100"
                }
              ],
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Sales",
                "employeeNumber": "42"
              }
            }
        "#]],
    );
}

#[test]
fn s1_2_matching_precedence_order() {
    let mut app = app();
    app.matching = vec![
        "externalId".to_owned(),
        "emails[type eq \"work\"].value".to_owned(),
        "userName".to_owned(),
        "nickName".to_owned(),
    ];
    let p = plan(&app, &user(), true, None);
    let Some(Operation::MatchOrCreate { candidates, .. }) = p.operations.first() else {
        panic!("{p:?}");
    };
    expect![[r#"
        [
            (
                "externalId",
                "Test_User_00aa00aa",
            ),
            (
                "emails[type eq \"work\"].value",
                "Test_User_11bb@testuser.com",
            ),
            (
                "userName",
                "Test_User_00aa00aa@testuser.com",
            ),
        ]
    "#]]
    .assert_debug_eq(candidates);
}

#[test]
fn s1_2_no_matching_value_is_import_skipped() {
    let mut app = app();
    app.matching = vec!["nickName".to_owned()];
    check(
        &plan(&app, &user(), true, None),
        expect![[r#"
        reason: in scope (assigned; scoping: in scope); no value for any matching attribute (nickName)
        NoOp ImportSkipped
    "#]],
    );
}

#[test]
fn s1_3_mover_one_attribute_changed_is_one_replace() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut moved = user();
    moved["name"]["familyName"] = json!("Married");
    check(
        &plan_user(
            &app,
            SourceUser::Present(&moved),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); update target user tgt-1: name.familyName changed
            Update tgt-1
              {"op":"Replace","path":"name.familyName","value":"Married"}
        "#]],
    );
    let mut moved = user();
    moved["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] =
        json!("Marketing");
    check(
        &plan_user(
            &app,
            SourceUser::Present(&moved),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); update target user tgt-1: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department changed
            Update tgt-1
              {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"}
        "#]],
    );
}

#[test]
fn s1_2_unchanged_is_redundant_export() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    check(
        &plan_user(
            &app,
            SourceUser::Present(&user()),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); target user tgt-1 already matches
            NoOp RedundantExport
        "#]],
    );
}

#[test]
fn s1_3_disable_as_false_string_by_default() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut leaver = user();
    leaver["active"] = json!(false);
    check(
        &plan(&app, &leaver, true, Some(&shadow)),
        expect![[r#"
        reason: in scope (assigned; scoping: in scope), but disabled in the source: disable target user tgt-1
        Disable tgt-1 {"op":"Replace","path":"active","value":"False"}
    "#]],
    );
}

#[test]
fn s1_3_disable_as_boolean_with_the_rfc_dialect() {
    let mut app = app();
    app.dialect = Dialect {
        booleans_as_strings: false,
        ..Dialect::default()
    };
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut leaver = user();
    leaver["active"] = json!(false);
    check(
        &plan(&app, &leaver, true, Some(&shadow)),
        expect![[r#"
        reason: in scope (assigned; scoping: in scope), but disabled in the source: disable target user tgt-1
        Disable tgt-1 {"op":"Replace","path":"active","value":false}
    "#]],
    );
}

#[test]
fn s4_6_leaver_with_delete_deprovisioning_is_deleted() {
    let mut app = app();
    app.deprovisioning = Deprovisioning::Delete;
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut leaver = user();
    leaver["active"] = json!(false);
    check(
        &plan(&app, &leaver, true, Some(&shadow)),
        expect![[r#"
        reason: in scope (assigned; scoping: in scope), but disabled in the source: delete target user tgt-1 (deprovisioning: delete)
        Delete tgt-1
    "#]],
    );
}

#[test]
fn s4_1_hard_delete_in_source_is_deleted_even_with_skip_out_of_scope_deletions() {
    let mut app = app();
    app.skip_out_of_scope_deletions = true;
    let shadow = shadow_of(&app, &user(), ShadowState::Disabled);
    check(
        &plan_user(
            &app,
            SourceUser::Deleted,
            false,
            Some(&shadow),
            now(),
            &no_managers,
        ),
        expect![[r#"
            reason: hard-deleted in the source: delete target user tgt-1
            Delete tgt-1
        "#]],
    );
}

#[test]
fn s4_6_rehire_enables_and_updates() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Disabled);
    let mut rehire = user();
    rehire["title"] = json!("Principal Engineer");
    check(
        &plan_user(
            &app,
            SourceUser::Present(&rehire),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); re-enable target user tgt-1; update target user tgt-1: title changed
            Enable tgt-1 {"op":"Replace","path":"active","value":"True"}
            Update tgt-1
              {"op":"Replace","path":"title","value":"Principal Engineer"}
        "#]],
    );
}

#[test]
fn s3_1_unassigned_is_disabled() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    check(
        &plan(&app, &user(), false, Some(&shadow)),
        expect![[r#"
        reason: out of scope: not assigned to the app: disable target user tgt-1
        Disable tgt-1 {"op":"Replace","path":"active","value":"False"}
    "#]],
    );
}

#[test]
fn s3_2_scoping_exit_is_disabled() {
    let mut app = app();
    app.scoping = Scoping::new(&[vec![Clause {
        attribute: "department".to_owned(),
        operator: "EQUALS".to_owned(),
        value: "Engineering".to_owned(),
    }]])
    .unwrap();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    check(
        &plan(&app, &user(), true, Some(&shadow)),
        expect![[r#"
        reason: out of scope; filter 1 clause 1 `department EQUALS Engineering` failed ("Sales"): disable target user tgt-1
        Disable tgt-1 {"op":"Replace","path":"active","value":"False"}
    "#]],
    );
}

#[test]
fn s4_6_scoping_exit_with_skip_out_of_scope_deletions_is_left_alone() {
    let mut app = app();
    app.skip_out_of_scope_deletions = true;
    app.scoping = Scoping::new(&[vec![Clause {
        attribute: "department".to_owned(),
        operator: "EQUALS".to_owned(),
        value: "Engineering".to_owned(),
    }]])
    .unwrap();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    check(
        &plan(&app, &user(), true, Some(&shadow)),
        expect![[r#"
        reason: out of scope; filter 1 clause 1 `department EQUALS Engineering` failed ("Sales"); SkipOutOfScopeDeletions is set: target user tgt-1 left as is
        NoOp SkipOutOfScopeDeletions
    "#]],
    );
}

#[test]
fn s3_2_out_of_scope_without_shadow_says_why() {
    let mut app = app();
    app.scope = Scope::All;
    app.scoping = Scoping::new(&[vec![Clause {
        attribute: "department".to_owned(),
        operator: "EQUALS".to_owned(),
        value: "Engineering".to_owned(),
    }]])
    .unwrap();
    check(
        &plan(&app, &user(), false, None),
        expect![[r#"
        reason: out of scope; filter 1 clause 1 `department EQUALS Engineering` failed ("Sales"); never provisioned: nothing to send
        NoOp NotInScope: out of scope; filter 1 clause 1 `department EQUALS Engineering` failed ("Sales")
    "#]],
    );
}

#[test]
fn s1_2_manager_known_is_added_unknown_is_deferred() {
    let app = app();
    let mut shadow = shadow_of(&app, &user(), ShadowState::Active);
    shadow
        .last_sent
        .as_object_mut()
        .unwrap()
        .remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
    check(
        &plan_user(
            &app,
            SourceUser::Present(&user()),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); update target user tgt-1: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager changed
            Update tgt-1
              {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"tgt-mgr"}
        "#]],
    );
    check(
        &plan_user(
            &app,
            SourceUser::Present(&user()),
            true,
            Some(&shadow),
            now(),
            &no_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); target user tgt-1 already matches
            deferred: manager src-mgr: not in the target yet; written once it is
            NoOp RedundantExport
        "#]],
    );
}

#[test]
fn s2_1_nulls_are_not_provisioned_unless_clear_nulls() {
    let mut app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut u = user();
    u.as_object_mut().unwrap().remove("title");
    check(
        &plan_user(
            &app,
            SourceUser::Present(&u),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); target user tgt-1 already matches
            NoOp RedundantExport
        "#]],
    );
    app.clear_nulls = true;
    check(
        &plan_user(
            &app,
            SourceUser::Present(&u),
            true,
            Some(&shadow),
            now(),
            &known_managers,
        ),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope); update target user tgt-1: title changed
            Update tgt-1
              {"op":"Remove","path":"title"}
        "#]],
    );
}

#[test]
fn s1_4_membership_chunks_of_a_thousand() {
    let added: Vec<String> = (0..10_000).map(|i| format!("u{i}")).collect();
    let removed = vec!["gone-1".to_owned(), "gone-2".to_owned()];
    let ops = membership_deltas(&added, &[], Dialect::default().max_members_per_request);
    assert_eq!(ops.len(), 10);
    assert!(ops
        .iter()
        .all(|op| op["value"].as_array().unwrap().len() == 1_000));
    assert_eq!(ops[9]["value"][999], json!({"value": "u9999"}));
    let small = membership_deltas(&added[..2], &removed, 1_000);
    expect![[r#"
        {"op":"Add","path":"members","value":[{"value":"u0"},{"value":"u1"}]}
        {"op":"Remove","path":"members","value":[{"value":"gone-1"},{"value":"gone-2"}]}"#]]
    .assert_eq(
        &small
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

#[test]
fn s4_6_deletion_threshold_holds_past_the_limit() {
    let mut app = app();
    app.deprovisioning = Deprovisioning::Delete;
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut guard = DeletionGuard::new(Some(2));
    for _ in 0..2 {
        guard.count_user(&plan(&app, &user(), false, Some(&shadow)));
    }
    assert_eq!(guard.verdict(), Verdict::Proceed { deletions: 2 });
    guard.count_user(&plan(&app, &user(), true, Some(&shadow)));
    assert_eq!(guard.verdict(), Verdict::Proceed { deletions: 2 });
    guard.count_user(&plan(&app, &user(), false, Some(&shadow)));
    assert_eq!(
        guard.verdict(),
        Verdict::Hold {
            deletions: 3,
            threshold: 2
        }
    );
    guard.reset();
    assert_eq!(guard.verdict(), Verdict::Proceed { deletions: 0 });
    // Group deletes count with user deletes and disables.
    let g = GroupShadow {
        target_id: "tgt-g1".to_owned(),
        display_name: "Sales".to_owned(),
    };
    guard.count_group(&plan_group(None, true, Some(&g)));
    guard.count_user(&plan(&app, &user(), false, Some(&shadow)));
    guard.count_group(&plan_group(None, true, Some(&g)));
    assert_eq!(
        guard.verdict(),
        Verdict::Hold {
            deletions: 3,
            threshold: 2
        }
    );
}

/// Applies a plan's record to a shadow, as the applier does once the target accepted it.
fn applied(plan: &UserPlan, target_id: &str) -> Shadow {
    let Some(Record { last_sent, state }) = plan.record.clone() else {
        panic!("no record: {plan:?}");
    };
    Shadow {
        target_id: Some(target_id.to_owned()),
        last_sent,
        state,
    }
}

#[test]
fn design_shadow_round_trip_repeats_nothing() {
    let app = app();
    let u = user();
    let created = plan(&app, &u, true, None);
    let shadow = applied(&created, "tgt-1");
    // The manager is not in the target yet: nothing to send, and the plan says so.
    let again = plan(&app, &u, true, Some(&shadow));
    check(
        &again,
        expect![[r#"
        reason: in scope (assigned; scoping: in scope); target user tgt-1 already matches
        deferred: manager src-mgr: not in the target yet; written once it is
        NoOp RedundantExport
    "#]],
    );
    // Once it is, the reference goes in its own round trip (spec §1.2 step 4)...
    let with_manager = plan_user(
        &app,
        SourceUser::Present(&u),
        true,
        Some(&shadow),
        now(),
        &known_managers,
    );
    check(
        &with_manager,
        expect![[r#"
        reason: in scope (assigned; scoping: in scope); update target user tgt-1: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager changed
        Update tgt-1
          {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"tgt-mgr"}
    "#]],
    );
    // ...and after that nothing is repeated.
    let shadow = applied(&with_manager, "tgt-1");
    let last = plan_user(
        &app,
        SourceUser::Present(&u),
        true,
        Some(&shadow),
        now(),
        &known_managers,
    );
    check(
        &last,
        expect![[r#"
        reason: in scope (assigned; scoping: in scope); target user tgt-1 already matches
        NoOp RedundantExport
    "#]],
    );
    // A disable is recorded, so the next plan of the still-disabled user sends nothing.
    let mut leaver = u.clone();
    leaver["active"] = json!(false);
    let disabled = applied(&plan(&app, &leaver, true, Some(&shadow)), "tgt-1");
    assert_eq!(disabled.state, ShadowState::Disabled);
    check(
        &plan(&app, &leaver, true, Some(&disabled)),
        expect![[r#"
            reason: in scope (assigned; scoping: in scope), but disabled in the source; already disabled in the target: nothing to send
            NoOp NotActive: disabled in the source
        "#]],
    );
}

#[test]
fn s1_4_group_create_rename_delete() {
    let group = json!({"id": "grp-1", "displayName": "Sales", "members": [{"value": "src-1"}]});
    let created = plan_group(Some(&group), true, None);
    expect![[r#"
        GroupPlan {
            operations: [
                MatchOrCreate {
                    display_name: "Sales",
                    body: Object {
                        "schemas": Array [
                            String("urn:ietf:params:scim:schemas:core:2.0:Group"),
                        ],
                        "displayName": String("Sales"),
                        "externalId": String("grp-1"),
                    },
                },
            ],
            reason: "in scope; match on displayName eq \"Sales\", else create the group",
        }
    "#]]
    .assert_debug_eq(&created);
    let shadow = GroupShadow {
        target_id: "tgt-g1".to_owned(),
        display_name: "Sales".to_owned(),
    };
    expect![[r#"
        GroupPlan {
            operations: [
                NoOp {
                    reason: "RedundantExport",
                },
            ],
            reason: "in scope; target group tgt-g1 already matches",
        }
    "#]]
    .assert_debug_eq(&plan_group(Some(&group), true, Some(&shadow)));
    let renamed = json!({"id": "grp-1", "displayName": "Sales EMEA"});
    expect![[r#"
        GroupPlan {
            operations: [
                Update {
                    target_id: "tgt-g1",
                    operations: [
                        Object {
                            "op": String("Replace"),
                            "path": String("displayName"),
                            "value": String("Sales EMEA"),
                        },
                    ],
                },
            ],
            reason: "in scope; rename target group tgt-g1 from \"Sales\" to \"Sales EMEA\"",
        }
    "#]]
    .assert_debug_eq(&plan_group(Some(&renamed), true, Some(&shadow)));
    expect![[r#"
        GroupPlan {
            operations: [
                Delete {
                    target_id: "tgt-g1",
                },
            ],
            reason: "deleted in the source: delete target group tgt-g1",
        }
    "#]]
    .assert_debug_eq(&plan_group(None, true, Some(&shadow)));
    expect![[r#"
        GroupPlan {
            operations: [
                Delete {
                    target_id: "tgt-g1",
                },
            ],
            reason: "out of scope: delete target group tgt-g1",
        }
    "#]]
    .assert_debug_eq(&plan_group(Some(&group), false, Some(&shadow)));
}

#[test]
fn s2_1_target_paths() {
    let parse = |p: &str| format!("{:?}", TargetPath::parse(p));
    expect![[r#"
        Some(TargetPath { schema: None, attribute: "userName", filter: None, sub_attribute: None })
        Some(TargetPath { schema: None, attribute: "name", filter: None, sub_attribute: Some("givenName") })
        Some(TargetPath { schema: None, attribute: "emails", filter: Some(("type", "work")), sub_attribute: Some("value") })
        Some(TargetPath { schema: None, attribute: "addresses", filter: Some(("type", "other")), sub_attribute: Some("formatted") })
        Some(TargetPath { schema: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), attribute: "department", filter: None, sub_attribute: None })
        None
        None"#]].assert_eq(
        &[
            "userName",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "addresses[type eq \"other\"].formatted",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "emails[type",
            "[x]",
        ]
        .map(parse)
        .join("\n"),
    );
}

#[test]
fn s4_1_membership_changes_wait_for_members_in_the_target() {
    let source: Vec<String> = ["src-1", "src-2", "src-3"].map(String::from).to_vec();
    let sent: Vec<String> = ["tgt-1", "tgt-9"].map(String::from).to_vec();
    let ids = |id: &str| (id != "src-3").then(|| id.replace("src", "tgt"));
    let changes = member_changes(&source, &sent, &ids);
    expect![[r#"
        MemberChanges {
            added: [
                "tgt-2",
            ],
            removed: [
                "tgt-9",
            ],
            deferred: [
                "src-3",
            ],
            record: [
                "tgt-1",
                "tgt-2",
            ],
        }
    "#]]
    .assert_debug_eq(&changes);
    let ops = membership_deltas(&changes.added, &changes.removed, 1_000);
    expect![[r#"
        {"op":"Add","path":"members","value":[{"value":"tgt-2"}]}
        {"op":"Remove","path":"members","value":[{"value":"tgt-9"}]}"#]]
    .assert_eq(
        &ops.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    // Applied and recorded: nothing left to send.
    let again = member_changes(&source, &changes.record, &ids);
    assert!(again.added.is_empty() && again.removed.is_empty());
    assert_eq!(again.deferred, ["src-3"]);
}

#[test]
fn s4_6_disabled_in_source_is_disabled_even_with_skip_out_of_scope_deletions() {
    let mut app = app();
    app.skip_out_of_scope_deletions = true;
    let shadow = shadow_of(&app, &user(), ShadowState::Active);
    let mut leaver = user();
    leaver["active"] = json!(false);
    let p = plan(&app, &leaver, true, Some(&shadow));
    check(
        &p,
        expect![[r#"
        reason: in scope (assigned; scoping: in scope), but disabled in the source: disable target user tgt-1
        Disable tgt-1 {"op":"Replace","path":"active","value":"False"}
    "#]],
    );
    assert_eq!(
        p.record.unwrap().last_sent["active"],
        json!("False"),
        "the shadow records what the target now holds"
    );
}

#[test]
fn s4_6_deleted_in_the_target_and_back_in_scope_is_matched_or_created_again() {
    let app = app();
    let shadow = shadow_of(&app, &user(), ShadowState::Deleted);
    let p = plan(&app, &user(), true, Some(&shadow));
    assert!(
        matches!(p.operations.as_slice(), [Operation::MatchOrCreate { .. }]),
        "{p:?}"
    );
    assert_eq!(p.reason, "in scope (assigned; scoping: in scope); match on userName eq \"Test_User_00aa00aa@testuser.com\", else create the user");
}
