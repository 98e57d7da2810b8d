//! Effective dates with a stepped clock: a future hire is created disabled and enabled at local
//! midnight of the hire date; a leaver is disabled at the end of the leave date.

use domain::inbound::{LifecycleAction, Outcome};
use domain::{Load, ResourceKind};
use inbound::SourceSpec;
use serde_json::json;

use crate::support::*;

/// Dates in a tenant extension would need a schema; the enterprise `division` and `costCenter`
/// strings stand in for the HR system's hire and leave dates here.
fn dated() -> SourceSpec {
    let mut spec = SourceSpec::named("hr");
    spec.hire_date = Some(format!("{ENTERPRISE}:division"));
    spec.leave_date = Some(format!("{ENTERPRISE}:costCenter"));
    spec.time_zone = "Europe/Paris".into();
    spec
}

#[tokio::test]
async fn a_future_hire_is_created_disabled_and_enabled_at_local_midnight_of_the_hire_date() {
    let w = world(vec![dated()]).await;
    // 2025-03-01T08:00Z; hire date 2025-03-10 in Paris (UTC+1 in March): 2025-03-09T23:00Z.
    let data = json!({"externalId": "42", "userName": "new@example.com", "active": true,
                      ENTERPRISE: {"division": "2025-03-10"}});
    let results = w.upload("hr", bulk(vec![op("1", data.clone())])).await;
    assert_eq!(outcomes(&results), [Outcome::Created]);
    let id = results[0].user_id.clone().unwrap();
    let get = || async {
        w.store
            .get(&w.tenant, ResourceKind::User, &id, Load::NONE)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(get().await.body["active"], false);
    let schedule = w.store.lifecycle_of(&w.tenant, &id).await.unwrap();
    assert_eq!(schedule.len(), 1);
    assert_eq!(schedule[0].action, LifecycleAction::Enable);
    assert_eq!(schedule[0].due.to_string(), "2025-03-09T23:00:00Z");

    // Re-sent before the hire date: unchanged, still disabled.
    let again = w.upload("hr", bulk(vec![op("1", data)])).await;
    assert_eq!(outcomes(&again), [Outcome::Unchanged]);

    let runner = w.inbound.lifecycle();
    w.clock.set("2025-03-09T22:59:59Z");
    assert_eq!(runner.step().await.unwrap(), 0);
    assert_eq!(get().await.body["active"], false);
    w.clock.set("2025-03-09T23:00:00Z");
    assert_eq!(runner.step().await.unwrap(), 1);
    assert_eq!(get().await.body["active"], true);
    assert!(w
        .store
        .lifecycle_of(&w.tenant, &id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(runner.step().await.unwrap(), 0);
}

#[tokio::test]
async fn a_leaver_is_disabled_at_the_end_of_the_leave_date() {
    let w = world(vec![dated()]).await;
    let data = json!({"externalId": "7", "userName": "leaver@example.com", "active": true,
                      ENTERPRISE: {"costCenter": "2025-03-05"}});
    let results = w.upload("hr", bulk(vec![op("1", data)])).await;
    let id = results[0].user_id.clone().unwrap();
    let active = || async {
        w.store
            .get(&w.tenant, ResourceKind::User, &id, Load::NONE)
            .await
            .unwrap()
            .unwrap()
            .body["active"]
            .clone()
    };
    assert_eq!(active().await, true);
    let runner = w.inbound.lifecycle();
    // The end of 2025-03-05 in Paris is 2025-03-05T23:00Z.
    w.clock.set("2025-03-05T22:59:00Z");
    assert_eq!(runner.step().await.unwrap(), 0);
    assert_eq!(active().await, true);
    w.clock.set("2025-03-05T23:00:00Z");
    assert_eq!(runner.step().await.unwrap(), 1);
    assert_eq!(active().await, false);
}

#[tokio::test]
async fn a_moved_date_is_checked_again_before_the_action() {
    let w = world(vec![dated()]).await;
    let hire = |date: &str| json!({"externalId": "9", "userName": "m@example.com", ENTERPRISE: {"division": date}});
    let results = w
        .upload("hr", bulk(vec![op("1", hire("2025-03-10"))]))
        .await;
    let id = results[0].user_id.clone().unwrap();
    // The HR system moves the hire date to later; the schedule follows.
    w.upload("hr", bulk(vec![op("1", hire("2025-04-01"))]))
        .await;
    let schedule = w.store.lifecycle_of(&w.tenant, &id).await.unwrap();
    assert_eq!(schedule.len(), 1);
    assert_eq!(schedule[0].date, "2025-04-01");
    w.clock.set("2025-03-12T00:00:00Z");
    assert_eq!(w.inbound.lifecycle().step().await.unwrap(), 0);
    let user = w
        .store
        .get(&w.tenant, ResourceKind::User, &id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.body["active"], false);
}

#[tokio::test]
async fn an_action_of_a_source_this_process_does_not_know_stands_as_scheduled() {
    // Scheduled by `hr` (as a CSV import with its own settings would), applied by a runner
    // whose process has no `hr` source.
    let w = world(vec![dated()]).await;
    let data = json!({"externalId": "5", "userName": "csv@example.com",
                      ENTERPRISE: {"division": "2025-03-10", "costCenter": "2025-06-30"}});
    let results = w.upload("hr", bulk(vec![op("1", data)])).await;
    let id = results[0].user_id.clone().unwrap();
    let runner = inbound::lifecycle::Runner::new(
        w.store.clone(),
        w.clock.clone(),
        std::sync::Arc::new(inbound::Sources::new(vec![])),
    );
    let active = || async {
        w.store
            .get(&w.tenant, ResourceKind::User, &id, Load::NONE)
            .await
            .unwrap()
            .unwrap()
            .body["active"]
            .clone()
    };
    w.clock.set("2025-03-09T23:00:00Z");
    assert_eq!(runner.step().await.unwrap(), 1);
    assert_eq!(active().await, true);
    // The leave action is still there, still `hr`'s.
    let left = w.store.lifecycle_of(&w.tenant, &id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].action, LifecycleAction::Disable);
    w.clock.set("2025-06-30T22:00:00Z");
    assert_eq!(runner.step().await.unwrap(), 1);
    assert_eq!(active().await, false);
    assert!(w
        .store
        .lifecycle_of(&w.tenant, &id)
        .await
        .unwrap()
        .is_empty());
    let due = w
        .store
        .due_lifecycle("2100-01-01T00:00:00Z".parse().unwrap(), 10)
        .await
        .unwrap();
    assert!(due.is_empty());
}
