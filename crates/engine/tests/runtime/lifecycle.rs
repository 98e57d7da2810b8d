//! Joiner, mover, leaver, rehire, adoption and manager references (spec §1.2, §1.3, §3, §4.1,
//! §4.6) against scim2-server.

use domain::{LogStatus, ResourceKind};
use engine::app::{Deprovisioning, Scope};
use engine::Step;
use serde_json::{json, Value};

use crate::support::{spec, World};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn active(body: &Value) -> Option<bool> {
    body.get("active").and_then(Value::as_bool)
}

#[tokio::test]
async fn joiner_is_created_with_the_default_mapping_and_logged() {
    let w = World::new(spec()).await;
    let mut worker = w.worker().await;
    let alice = w
        .user("alice@example.com", json!({"title": "Engineer"}))
        .await;
    w.user("bob@example.com", json!({})).await; // not assigned: not provisioned
    w.assign(ResourceKind::User, &alice.id).await;
    let step = w.sync(&mut worker).await;
    assert!(matches!(step, Step::Idle { .. }), "{step:?}");

    let target = w.target_user("alice@example.com").await;
    assert_eq!(target["title"], "Engineer");
    assert_eq!(target["displayName"], "User alice@example.com");
    assert_eq!(target["name"]["familyName"], "alice@example.com");
    assert_eq!(target["emails"][0]["value"], "alice@example.com");
    assert_eq!(active(&target), Some(true));
    assert!(w.target_users("bob@example.com").await.is_empty());

    let logs = w.logs(Some(&alice.id)).await;
    let create = logs
        .iter()
        .find(|l| l.action == "create")
        .expect("a create entry");
    assert_eq!(create.status, LogStatus::Success);
    assert_eq!(create.target_id.as_deref(), target["id"].as_str());
    assert!(create.reason.contains("in scope"), "{}", create.reason);
    assert!(worker.state().watermark.is_some());
    assert!(
        worker.state().last_cycle_end.is_some(),
        "the initial cycle finished"
    );
}

#[tokio::test]
async fn mover_gets_a_minimal_patch_and_leaving_scope_disables() {
    let mut s = spec();
    s.scope = Scope::All;
    s.scoping = Some(r#"[department] EQUALS "Sales""#.into());
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let carol = w
        .user(
            "carol@example.com",
            json!({"title": "Rep", ENTERPRISE: {"department": "Sales"}}),
        )
        .await;
    w.sync(&mut worker).await;
    assert_eq!(w.target_user("carol@example.com").await["title"], "Rep");
    let patches_before = w.faults.patches.load(std::sync::atomic::Ordering::SeqCst);

    // Mover: one attribute changes → one PATCH with exactly that attribute.
    w.update(
        ResourceKind::User,
        &carol.id,
        json!({"title": "Senior Rep"}),
    )
    .await;
    w.sync(&mut worker).await;
    assert_eq!(
        w.target_user("carol@example.com").await["title"],
        "Senior Rep"
    );
    assert_eq!(
        w.faults.patches.load(std::sync::atomic::Ordering::SeqCst),
        patches_before + 1
    );
    let update = w
        .logs(Some(&carol.id))
        .await
        .into_iter()
        .find(|l| l.action == "update")
        .expect("an update entry");
    let modified = update.details["modifiedProperties"].as_array().unwrap();
    assert_eq!(modified.len(), 1, "{modified:?}");
    assert_eq!(modified[0]["displayName"], "title");
    assert_eq!(modified[0]["oldValue"], "Rep");
    assert_eq!(modified[0]["newValue"], "Senior Rep");

    // Leaving the scoping filter → disabled, not deleted.
    w.update(
        ResourceKind::User,
        &carol.id,
        json!({ENTERPRISE: {"department": "Marketing"}}),
    )
    .await;
    w.sync(&mut worker).await;
    assert_eq!(
        active(&w.target_user("carol@example.com").await),
        Some(false)
    );
    let disable = w.logs(Some(&carol.id)).await;
    assert_eq!(disable[0].action, "disable");
    assert!(
        disable[0].reason.contains("department"),
        "{}",
        disable[0].reason
    );
}

#[tokio::test]
async fn leaver_is_disabled_then_deleted_and_a_rehire_is_enabled() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let dave = w.user("dave@example.com", json!({})).await;
    w.sync(&mut worker).await;
    assert_eq!(active(&w.target_user("dave@example.com").await), Some(true));

    w.update(ResourceKind::User, &dave.id, json!({"active": false}))
        .await;
    w.sync(&mut worker).await;
    assert_eq!(
        active(&w.target_user("dave@example.com").await),
        Some(false)
    );

    // Rehire: enabled again, same account.
    w.update(ResourceKind::User, &dave.id, json!({"active": true}))
        .await;
    w.sync(&mut worker).await;
    assert_eq!(active(&w.target_user("dave@example.com").await), Some(true));
    assert_eq!(w.logs(Some(&dave.id)).await[0].action, "enable");

    // Hard delete in the directory → DELETE in the target.
    w.delete(ResourceKind::User, &dave.id).await;
    w.sync(&mut worker).await;
    assert!(w.target_users("dave@example.com").await.is_empty());
    assert_eq!(w.logs(Some(&dave.id)).await[0].action, "delete");
    assert_eq!(
        w.faults.creates.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one account for the whole story"
    );
}

#[tokio::test]
async fn deprovisioning_delete_deletes_on_unassignment() {
    let mut s = spec();
    s.deprovisioning = Deprovisioning::Delete;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let erin = w.user("erin@example.com", json!({})).await;
    w.assign(ResourceKind::User, &erin.id).await;
    w.sync(&mut worker).await;
    assert_eq!(w.target_users("erin@example.com").await.len(), 1);
    w.unassign(ResourceKind::User, &erin.id).await;
    w.sync(&mut worker).await;
    assert!(w.target_users("erin@example.com").await.is_empty());
}

#[tokio::test]
async fn out_of_scope_deletions_are_skipped_when_asked() {
    let mut s = spec();
    s.skip_out_of_scope_deletions = true;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let fay = w.user("fay@example.com", json!({})).await;
    w.assign(ResourceKind::User, &fay.id).await;
    w.sync(&mut worker).await;
    w.unassign(ResourceKind::User, &fay.id).await;
    w.sync(&mut worker).await;
    assert_eq!(active(&w.target_user("fay@example.com").await), Some(true));
    let last = &w.logs(Some(&fay.id)).await[0];
    assert_eq!(last.status, LogStatus::Skipped);
    assert!(
        last.reason.contains("SkipOutOfScopeDeletions"),
        "{}",
        last.reason
    );
}

#[tokio::test]
async fn an_existing_account_is_adopted_not_duplicated() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    // Created in the target by hand, with an outdated title.
    w.peer_client
        .create(
            ResourceKind::User,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "gus@example.com", "title": "Old"}),
        )
        .await
        .unwrap();
    let gus = w.user("gus@example.com", json!({"title": "New"})).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    let found = w.target_users("gus@example.com").await;
    assert_eq!(found.len(), 1, "adopted, not duplicated");
    assert_eq!(
        found[0].body["title"],
        "New",
        "{:#?}",
        w.logs(Some(&gus.id)).await
    );
    assert_eq!(
        w.faults.creates.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    let log = &w.logs(Some(&gus.id)).await[0];
    assert_eq!(log.action, "update");
    assert!(
        log.details["steps"]
            .to_string()
            .contains("matched target account"),
        "{}",
        log.details
    );
}

#[tokio::test]
async fn the_manager_reference_is_sent_once_the_manager_exists() {
    let mut s = spec();
    s.scope = Scope::Assigned;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let boss = w.user("boss@example.com", json!({})).await;
    let report = w
        .user(
            "report@example.com",
            json!({ENTERPRISE: {"manager": {"value": boss.id}}}),
        )
        .await;
    // Only the report is assigned: the manager is not in the target, so no reference yet.
    w.assign(ResourceKind::User, &report.id).await;
    w.sync(&mut worker).await;
    let t = w.target_user("report@example.com").await;
    assert!(
        t.get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(),
        "{t}"
    );

    // The manager is assigned and created: the report's reference follows.
    w.assign(ResourceKind::User, &boss.id).await;
    w.sync(&mut worker).await;
    let boss_target = w.target_user("boss@example.com").await;
    let t = w.target_user("report@example.com").await;
    assert_eq!(
        t[ENTERPRISE]["manager"]["value"],
        boss_target["id"],
        "{t} {:#?}",
        w.logs(Some(&report.id)).await
    );
}

#[tokio::test]
async fn changed_mappings_start_a_new_initial_cycle() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s.clone()).await;
    w.user("lee@example.com", json!({"title": "Clerk"})).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    assert_eq!(w.target_user("lee@example.com").await["title"], "Clerk");

    // An admin maps a constant to `title` (the app's settings change; the scheduler restarts
    // the worker with them).
    let mut mappings = engine::app::default_user_mappings().unwrap();
    mappings.retain(|m| m.target != "title");
    let mut specs: Vec<engine::spec::MappingSpec> = Vec::new();
    for m in &mappings {
        if let mapping_lang::expr::mapping::MappingKind::Direct { source } = &m.kind {
            specs.push(engine::spec::MappingSpec {
                target: m.target.clone(),
                source: Some(source.clone()),
                expression: None,
                constant: None,
                default: None,
                apply: engine::spec::ApplySpec::Always,
            });
        }
    }
    specs.push(engine::spec::MappingSpec {
        target: "title".into(),
        source: None,
        expression: None,
        constant: Some("Staff".into()),
        default: None,
        apply: engine::spec::ApplySpec::Always,
    });
    s.mappings = Some(specs);
    let mut record = w.store.app_by_id(&w.app.id).await.unwrap().unwrap();
    s.url = w.peer.base.clone();
    record.spec = serde_json::to_value(&s).unwrap();
    w.store.put_app(&record).await.unwrap();

    let mut restarted = w.worker().await;
    w.sync(&mut restarted).await;
    assert_eq!(w.target_user("lee@example.com").await["title"], "Staff");
    // And only once: the next look finds nothing to do.
    let patches = w.faults.patches.load(std::sync::atomic::Ordering::SeqCst);
    w.sync(&mut restarted).await;
    assert_eq!(
        w.faults.patches.load(std::sync::atomic::Ordering::SeqCst),
        patches
    );
}
