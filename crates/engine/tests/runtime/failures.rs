//! Failures (spec §4.2, §4.3, §4.6): escrow and retry, quarantine entered and left, the
//! accidental-deletion threshold and its approval, and a worker lost mid-cycle.

use std::sync::atomic::Ordering;

use domain::{LogStatus, ResourceKind};
use engine::app::Scope;
use engine::Step;
use serde_json::json;

use crate::support::{spec, World};

#[tokio::test]
async fn a_failed_create_is_escrowed_and_retried_when_due() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await; // initial cycle over an empty directory
    w.faults.status.store(500, Ordering::SeqCst);
    let hal = w.user("hal@example.com", json!({})).await;
    let step = w.sync(&mut worker).await;
    let Step::Idle {
        until: Some(retry_at),
    } = step
    else {
        panic!("idle until the retry: {step:?}");
    };
    let log = &w.logs(Some(&hal.id)).await[0];
    assert_eq!(log.status, LogStatus::Failure);
    assert_eq!(log.error_code.as_deref(), Some("InternalServerError"));
    assert!(log.reason.contains("retry 1 at"), "{}", log.reason);
    let counts = w.store.shadow_counts(&w.app.id).await.unwrap();
    assert_eq!(counts.escrowed, 1);

    // The target heals; nothing happens before the retry time, then the user is created.
    w.faults.status.store(0, Ordering::SeqCst);
    w.sync(&mut worker).await;
    assert!(w.target_users("hal@example.com").await.is_empty());
    let wait = retry_at.duration_since(w.clock.now_ts()).as_secs();
    w.clock.advance(wait);
    w.sync(&mut worker).await;
    assert_eq!(w.target_users("hal@example.com").await.len(), 1);
    assert_eq!(w.store.shadow_counts(&w.app.id).await.unwrap().escrowed, 0);
}

#[tokio::test]
async fn refused_credentials_quarantine_the_app_until_a_retry_succeeds() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    w.faults.status.store(401, Ordering::SeqCst);
    w.user("ida@example.com", json!({})).await;
    let step = w.sync(&mut worker).await;
    let Step::Quarantined { until } = step else {
        panic!("quarantined: {step:?}");
    };
    let q = worker
        .state()
        .quarantine
        .clone()
        .expect("quarantine recorded");
    assert_eq!(q.reason, "EncounteredQuarantineException");
    assert!(q.error.contains("401"), "{}", q.error);

    // Still refused at the next attempt: quarantined longer.
    w.clock
        .advance(until.duration_since(w.clock.now_ts()).as_secs());
    let step = w.sync(&mut worker).await;
    let Step::Quarantined { until: later } = step else {
        panic!("still quarantined: {step:?}");
    };
    assert!(later > until);
    assert_eq!(worker.state().quarantine.as_ref().unwrap().attempts, 1);

    // Credentials fixed: the next attempt succeeds and lifts the quarantine.
    w.faults.status.store(0, Ordering::SeqCst);
    w.clock
        .advance(later.duration_since(w.clock.now_ts()).as_secs());
    w.sync(&mut worker).await;
    assert!(worker.state().quarantine.is_none(), "{:?}", worker.state());
    assert_eq!(w.target_users("ida@example.com").await.len(), 1);
}

#[tokio::test]
async fn the_escrow_proportion_threshold_quarantines() {
    let mut s = spec();
    s.scope = Scope::All;
    s.quarantine.min_failures = 5;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    w.faults.status.store(503, Ordering::SeqCst);
    for i in 0..6 {
        w.user(&format!("u{i}@example.com"), json!({})).await;
    }
    let step = w.sync(&mut worker).await;
    assert!(matches!(step, Step::Quarantined { .. }), "{step:?}");
    assert_eq!(
        worker.state().quarantine.as_ref().unwrap().reason,
        "EncounteredEscrowProportionThreshold"
    );
}

#[tokio::test]
async fn too_many_deletions_are_held_until_approved() {
    let mut s = spec();
    s.scope = Scope::All;
    s.deletion_threshold = 2;
    let w = World::new(s).await;
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(w.user(&format!("d{i}@example.com"), json!({})).await);
    }
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    for u in &users {
        w.delete(ResourceKind::User, &u.id).await;
    }
    assert_eq!(w.sync(&mut worker).await, Step::Held);
    // Nothing was deleted; the deletions are logged as staged.
    for i in 0..3 {
        assert_eq!(w.target_users(&format!("d{i}@example.com")).await.len(), 1);
    }
    let staged: Vec<_> = w
        .logs(None)
        .await
        .into_iter()
        .filter(|l| l.action == "stagedDelete")
        .collect();
    assert_eq!(staged.len(), 3);
    assert_eq!(staged[0].error_code.as_deref(), Some("TooManyDeletes"));
    assert_eq!(w.faults.deletes.load(Ordering::SeqCst), 0);
    // A new worker (a restarted process) stays held.
    let mut again = w.worker().await;
    assert_eq!(again.step().await.unwrap(), Step::Held);

    assert!(again.approve_deletions().await.unwrap());
    w.sync(&mut again).await;
    for i in 0..3 {
        assert!(w
            .target_users(&format!("d{i}@example.com"))
            .await
            .is_empty());
    }
    assert_eq!(w.faults.deletes.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_worker_lost_mid_cycle_converges_without_duplicates() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    for i in 0..450 {
        w.user(&format!("k{i:03}@example.com"), json!({})).await;
    }
    let mut first = w.worker().await;
    // Start the cycle and do one page (200 users), then "crash": the worker is dropped.
    first.step().await.unwrap();
    first.step().await.unwrap();
    assert_eq!(first.state().cycle.as_ref().unwrap().done, 200);
    drop(first);
    // A user changed while the process was down.
    let changed = w
        .store
        .query(&w.tenant, ResourceKind::User, &list_first(), &info())
        .await
        .unwrap()
        .resources
        .remove(0);
    w.update(ResourceKind::User, &changed.id, json!({"title": "Changed"}))
        .await;

    let mut second = w.worker().await;
    w.sync(&mut second).await;
    assert_eq!(
        w.faults.creates.load(Ordering::SeqCst),
        450,
        "each user created once"
    );
    assert_eq!(
        w.store.shadow_counts(&w.app.id).await.unwrap().users_active,
        450
    );
    let user_name = changed.body["userName"].as_str().unwrap();
    assert_eq!(w.target_user(user_name).await["title"], "Changed");
    assert!(second.state().cycle.is_none());
}

fn list_first() -> domain::Query {
    domain::Query {
        filter: None,
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 1,
        cursor: None,
        load: domain::Load::NONE,
    }
}

fn info() -> domain::schema::ResourceSchema<'static> {
    let registry: &'static domain::schema::Registry =
        Box::leak(Box::new(domain::schema::Registry::builtin()));
    registry.info(ResourceKind::User)
}

#[tokio::test]
async fn a_restart_deprovisions_accounts_whose_user_is_gone_and_holds_them_past_the_threshold() {
    let mut s = spec();
    s.scope = Scope::All;
    s.deletion_threshold = 2;
    let w = World::new(s).await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(w.user(&format!("o{i}@example.com"), json!({})).await);
    }
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    assert_eq!(w.target_users("o0@example.com").await.len(), 1);

    // Three users are deleted, and the held deletions are rejected: a restart. The new full
    // cycle reads the directory, where they are gone, and still finds their accounts through
    // the shadows: held again, nothing sent.
    for u in users.iter().take(3) {
        w.delete(ResourceKind::User, &u.id).await;
    }
    assert_eq!(w.sync(&mut worker).await, Step::Held);
    worker.restart().await.unwrap();
    assert_eq!(w.sync(&mut worker).await, Step::Held);
    assert_eq!(w.faults.deletes.load(Ordering::SeqCst), 0);
    for i in 0..3 {
        assert_eq!(w.target_users(&format!("o{i}@example.com")).await.len(), 1);
    }

    // Approved: the orphans are deleted, the user still in the directory stays.
    assert!(worker.approve_deletions().await.unwrap());
    w.sync(&mut worker).await;
    for i in 0..3 {
        assert!(w
            .target_users(&format!("o{i}@example.com"))
            .await
            .is_empty());
    }
    assert_eq!(w.target_users("o3@example.com").await.len(), 1);
    assert_eq!(w.faults.deletes.load(Ordering::SeqCst), 3);
    assert!(worker.state().cycle.is_none(), "the cycle finished");

    // Within the threshold, a restart deletes a lost user's account without holding.
    w.delete(ResourceKind::User, &users[3].id).await;
    worker.restart().await.unwrap();
    w.sync(&mut worker).await;
    assert!(w.target_users("o3@example.com").await.is_empty());
    assert!(worker.state().held.is_none());
}
