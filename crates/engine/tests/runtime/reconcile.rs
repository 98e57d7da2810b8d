//! Reconciliation (spec §4.1): every `reconcile_minutes` the worker goes over every object
//! again and reads in-step accounts back from the target: drift is reported, or corrected
//! with `correct_drift`; an account deleted by hand is created again.

use domain::{LogStatus, ResourceKind};
use engine::app::Scope;
use serde_json::json;

use crate::support::{spec, World};

async fn hand_edit(w: &World, user_name: &str, title: &str) {
    let id = w.target_users(user_name).await[0].id.clone();
    w.peer_client
        .patch(
            ResourceKind::User,
            &id,
            &[json!({"op": "replace", "path": "title", "value": title})],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn drift_is_reported_at_the_next_reconciliation() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    let ivy = w.user("ivy@example.com", json!({"title": "Analyst"})).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    hand_edit(&w, "ivy@example.com", "Hacked").await;
    let stranger = w
        .peer_client
        .create(
            ResourceKind::User,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "stranger@example.com"}),
        )
        .await
        .unwrap();

    // Before the interval: nothing looks at the target.
    w.clock.advance(39 * 60);
    w.sync(&mut worker).await;
    assert!(w.logs(Some(&ivy.id)).await[0].action == "create");

    w.clock.advance(2 * 60);
    w.sync(&mut worker).await;
    let log = &w.logs(Some(&ivy.id)).await[0];
    assert_eq!(log.status, LogStatus::Warning, "{log:?}");
    assert!(log.reason.contains("drift: 1 changed"), "{}", log.reason);
    assert!(log.reason.contains("title"), "{}", log.reason);
    assert_eq!(log.details["drift"][0]["oldValue"], "Hacked");
    assert_eq!(log.details["drift"][0]["newValue"], "Analyst");
    // Reported only.
    assert_eq!(w.target_user("ivy@example.com").await["title"], "Hacked");
    // The account made by hand in the target is reported too, and left alone.
    let strangers: Vec<_> = w
        .logs(None)
        .await
        .into_iter()
        .filter(|l| l.target_id.as_deref() == Some(stranger.id.as_str()))
        .collect();
    assert_eq!(strangers.len(), 1, "{strangers:?}");
    assert_eq!(strangers[0].status, LogStatus::Warning);
    assert!(
        strangers[0].reason.contains("stranger@example.com"),
        "{}",
        strangers[0].reason
    );
    assert!(strangers[0].reason.contains("not provisioned by this app"));
    assert_eq!(w.target_users("stranger@example.com").await.len(), 1);
    assert!(
        worker.state().cycle.is_none(),
        "the reconciliation finished"
    );
}

#[tokio::test]
async fn drift_is_corrected_when_asked_and_a_deleted_account_comes_back() {
    let mut s = spec();
    s.scope = Scope::All;
    s.correct_drift = true;
    let w = World::new(s).await;
    let jo = w.user("jo@example.com", json!({"title": "Designer"})).await;
    let kim = w.user("kim@example.com", json!({})).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    hand_edit(&w, "jo@example.com", "Changed by hand").await;
    let kim_target = w.target_users("kim@example.com").await[0].id.clone();
    w.peer_client
        .delete(ResourceKind::User, &kim_target)
        .await
        .unwrap();

    w.clock.advance(41 * 60);
    w.sync(&mut worker).await;
    assert_eq!(w.target_user("jo@example.com").await["title"], "Designer");
    let log = &w.logs(Some(&jo.id)).await[0];
    assert_eq!(
        (log.action.as_str(), log.status),
        ("update", LogStatus::Success)
    );
    assert!(log.reason.contains("corrected"), "{}", log.reason);

    let again = w.target_users("kim@example.com").await;
    assert_eq!(again.len(), 1, "created again");
    assert_ne!(again[0].id, kim_target);
    let kim_logs = w.logs(Some(&kim.id)).await;
    assert_eq!(kim_logs[0].action, "create");
    assert!(
        kim_logs[1].reason.contains("no longer exists"),
        "{}",
        kim_logs[1].reason
    );
}
