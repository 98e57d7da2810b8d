//! Outbound provisioning state: apps, assignments, shadows, the provisioning log, engine commits,
//! leases and the change feed.

use std::sync::Arc;

use domain::{
    AppRecord, EngineCommit, Error, Load, LogEntry, LogQuery, LogStatus, ResourceKind, Shadow,
    ShadowCounts, ShadowState, Store,
};
use serde_json::{json, Value};

use crate::support::*;

fn app(id: &str, tenant_id: &str, name: &str) -> AppRecord {
    AppRecord {
        id: id.into(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        enabled: true,
        spec: json!({ "target": { "url": format!("https://{name}.example/scim") } }),
        sealed_secret: Some(vec![1, 2, 3, 0, 255]),
        state: Value::Null,
        created: at(0),
        updated: at(0),
    }
}

/// A tenant "acme" with one app "app1" (id `a1`); returns the tenant id.
async fn tenant_with_app(store: &Arc<dyn Store>) -> String {
    let t = tenant(store, "acme").await;
    store.put_app(&app("a1", &t, "app1")).await.unwrap();
    t
}

fn shadow(app_id: &str, kind: ResourceKind, source_id: &str) -> Shadow {
    Shadow {
        target_id: Some(format!("t-{source_id}")),
        state: ShadowState::Active,
        last_sent: json!({ "userName": source_id }),
        ..Shadow::pending(app_id, kind, source_id, at(1))
    }
}

fn log_entry(app_id: &str, source_id: &str, status: LogStatus, seconds: i64) -> LogEntry {
    LogEntry {
        seq: 0,
        app_id: app_id.into(),
        at: at(seconds),
        cycle_id: "cycle-1".into(),
        change_id: format!("{source_id}@{seconds}"),
        kind: ResourceKind::User,
        source_id: source_id.into(),
        target_id: None,
        action: "create".into(),
        status,
        reason: format!("reason {seconds}"),
        error_code: None,
        duration_ms: 7,
        details: json!({ "steps": [] }),
    }
}

async fn commit(store: &Arc<dyn Store>, app_id: &str, shadows: Vec<Shadow>, logs: Vec<LogEntry>) {
    store
        .commit_engine(
            app_id,
            EngineCommit {
                shadows,
                logs,
                state: None,
            },
        )
        .await
        .unwrap();
}

async fn one_shadow(store: &Arc<dyn Store>, app_id: &str, kind: ResourceKind, id: &str) -> Shadow {
    let mut found = store.shadows(app_id, kind, &[id.to_owned()]).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

fn source_ids(shadows: &[Shadow]) -> Vec<&str> {
    shadows.iter().map(|s| s.source_id.as_str()).collect()
}

pub async fn apps_round_trip(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "beta").await;
    let zeta = app("a1", &t, "zeta");
    let alpha = app("a2", &t, "alpha");
    let elsewhere = AppRecord {
        sealed_secret: None,
        ..app("b1", &other, "zeta")
    };
    store.put_app(&zeta).await.unwrap();
    store.put_app(&alpha).await.unwrap();
    // The name is unique per tenant only.
    store.put_app(&elsewhere).await.unwrap();

    assert_eq!(store.app(&t, "zeta").await.unwrap(), Some(zeta.clone()));
    assert_eq!(
        store.app(&other, "zeta").await.unwrap(),
        Some(elsewhere.clone())
    );
    assert_eq!(store.app(&t, "nope").await.unwrap(), None);
    assert_eq!(store.app_by_id("a2").await.unwrap(), Some(alpha.clone()));
    assert_eq!(store.app_by_id("nope").await.unwrap(), None);
    assert_eq!(
        store.list_apps(Some(&t)).await.unwrap(),
        vec![alpha.clone(), zeta.clone()]
    );
    assert_eq!(store.list_apps(Some("nope")).await.unwrap(), vec![]);
    let all: Vec<String> = store
        .list_apps(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], "a2");

    // Replacing by id changes everything but `created`.
    let renamed = AppRecord {
        name: "omega".into(),
        enabled: false,
        spec: json!({ "scope": "all" }),
        sealed_secret: None,
        state: json!({ "watermark": 42 }),
        created: at(100),
        updated: at(200),
        ..zeta.clone()
    };
    store.put_app(&renamed).await.unwrap();
    assert_eq!(store.app(&t, "zeta").await.unwrap(), None);
    assert_eq!(
        store.app(&t, "omega").await.unwrap(),
        Some(AppRecord {
            created: at(0),
            ..renamed.clone()
        })
    );

    // Taking another app's name is a conflict, and changes nothing.
    let clash = AppRecord {
        name: "omega".into(),
        ..alpha.clone()
    };
    let err = store.put_app(&clash).await.unwrap_err();
    match &err {
        Error::Conflict(msg) => {
            assert_eq!(msg, "an app named `omega` already exists in this tenant")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.app_by_id("a2").await.unwrap(), Some(alpha.clone()));
    let err = store.put_app(&app("a3", &t, "alpha")).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.app_by_id("a3").await.unwrap(), None);

    // The runtime state alone.
    store
        .put_app_state("a2", &json!({ "cycle": "c9" }))
        .await
        .unwrap();
    assert_eq!(
        store.app_by_id("a2").await.unwrap().unwrap().state,
        json!({ "cycle": "c9" })
    );
    let err = store.put_app_state("nope", &json!({})).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

pub async fn deleting_an_app_removes_its_state(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    for app_id in ["a1", "a2"] {
        store
            .set_assignment(app_id, ResourceKind::User, "u1", true, at(1))
            .await
            .unwrap();
        commit(
            &store,
            app_id,
            vec![shadow(app_id, ResourceKind::Group, "g1")],
            vec![log_entry(app_id, "u1", LogStatus::Success, 1)],
        )
        .await;
        assert!(store
            .acquire_lease(app_id, "w1", at(1), at(60))
            .await
            .unwrap());
    }

    // Only within its tenant.
    let err = store.delete_app("other-tenant", "a1").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(store.app_by_id("a1").await.unwrap().is_some());

    store.delete_app(&t, "a1").await.unwrap();
    assert_eq!(store.app_by_id("a1").await.unwrap(), None);
    assert_eq!(store.assignments("a1").await.unwrap(), vec![]);
    let ids = ["u1".to_owned(), "g1".to_owned()];
    assert!(store
        .shadows("a1", ResourceKind::User, &ids)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .shadows("a1", ResourceKind::Group, &ids)
        .await
        .unwrap()
        .is_empty());
    let logs = |app_id: &str| LogQuery {
        app_id: app_id.into(),
        ..LogQuery::default()
    };
    assert!(store.logs(&logs("a1")).await.unwrap().is_empty());
    // The lease is gone: another holder gets it at once.
    assert!(store
        .acquire_lease("a1", "w2", at(2), at(60))
        .await
        .unwrap());
    let err = store.delete_app(&t, "a1").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    // The other app keeps everything.
    assert_eq!(
        store.assignments("a2").await.unwrap(),
        vec![(ResourceKind::User, "u1".to_owned())]
    );
    assert_eq!(store.logs(&logs("a2")).await.unwrap().len(), 1);
    assert_eq!(
        store
            .shadows("a2", ResourceKind::Group, &ids)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(!store
        .acquire_lease("a2", "w2", at(2), at(60))
        .await
        .unwrap());
}

pub async fn assignments_mark_shadows_due(store: Arc<dyn Store>) {
    tenant_with_app(&store).await;
    store
        .set_assignment("a1", ResourceKind::User, "u1", true, at(5))
        .await
        .unwrap();
    store
        .set_assignment("a1", ResourceKind::User, "u1", true, at(5))
        .await
        .unwrap();
    store
        .set_assignment("a1", ResourceKind::Group, "g1", true, at(5))
        .await
        .unwrap();
    store
        .set_assignment("a1", ResourceKind::User, "u0", true, at(5))
        .await
        .unwrap();
    assert_eq!(
        store.assignments("a1").await.unwrap(),
        vec![
            (ResourceKind::Group, "g1".to_owned()),
            (ResourceKind::User, "u0".to_owned()),
            (ResourceKind::User, "u1".to_owned()),
        ]
    );
    // A new assignment leaves a pending shadow, due now.
    assert_eq!(
        one_shadow(&store, "a1", ResourceKind::User, "u1").await,
        Shadow {
            due: Some(at(5)),
            ..Shadow::pending("a1", ResourceKind::User, "u1", at(5))
        }
    );

    // The engine provisions it ...
    let provisioned = Shadow {
        attempts: 2,
        last_error: Some("timeout".into()),
        ..shadow("a1", ResourceKind::User, "u1")
    };
    commit(&store, "a1", vec![provisioned.clone()], vec![]).await;
    // ... and an unassignment marks it due again, keeping everything else.
    store
        .set_assignment("a1", ResourceKind::User, "u1", false, at(9))
        .await
        .unwrap();
    assert_eq!(
        one_shadow(&store, "a1", ResourceKind::User, "u1").await,
        Shadow {
            due: Some(at(9)),
            ..provisioned.clone()
        }
    );
    assert_eq!(
        store.assignments("a1").await.unwrap(),
        vec![
            (ResourceKind::Group, "g1".to_owned()),
            (ResourceKind::User, "u0".to_owned()),
        ]
    );
    // Unassigning what is not assigned changes no assignment.
    store
        .set_assignment("a1", ResourceKind::User, "u1", false, at(10))
        .await
        .unwrap();
    assert_eq!(store.assignments("a1").await.unwrap().len(), 2);

    let err = store
        .set_assignment("nope", ResourceKind::User, "u1", true, at(5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(store.assignments("nope").await.unwrap().is_empty());
    assert!(store
        .shadows("nope", ResourceKind::User, &["u1".to_owned()])
        .await
        .unwrap()
        .is_empty());
}

pub async fn assigned_among(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    for id in ["u1", "u3"] {
        store
            .set_assignment("a1", ResourceKind::User, id, true, at(1))
            .await
            .unwrap();
    }
    store
        .set_assignment("a1", ResourceKind::Group, "g1", true, at(1))
        .await
        .unwrap();
    store
        .set_assignment("a2", ResourceKind::User, "u2", true, at(1))
        .await
        .unwrap();

    let ask: Vec<String> = ["u1", "u2", "u3", "g1", "x"]
        .into_iter()
        .map(String::from)
        .collect();
    let mut got = store
        .assigned_among("a1", ResourceKind::User, &ask)
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, ["u1", "u3"]);
    assert_eq!(
        store
            .assigned_among("a1", ResourceKind::Group, &ask)
            .await
            .unwrap(),
        ["g1"]
    );
    assert_eq!(
        store
            .assigned_among("a2", ResourceKind::User, &ask)
            .await
            .unwrap(),
        ["u2"]
    );
    assert!(store
        .assigned_among("a1", ResourceKind::User, &[])
        .await
        .unwrap()
        .is_empty());

    // Many ids at once (more than any statement's parameter limit).
    let many: Vec<String> = (0..40_000).map(|i| format!("x{i}")).chain(ask).collect();
    let mut got = store
        .assigned_among("a1", ResourceKind::User, &many)
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, ["u1", "u3"]);
}

pub async fn shadows_round_trip(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    let full = Shadow {
        app_id: "a1".into(),
        kind: ResourceKind::User,
        source_id: "u1".into(),
        target_id: Some("T-1".into()),
        state: ShadowState::Disabled,
        last_sent: json!({ "userName": "bjensen", "emails[type eq \"work\"].value": "b@x" }),
        due: Some(at(30)),
        attempts: 3,
        last_error: Some("HTTP 503".into()),
        updated: at(20),
    };
    let group = Shadow {
        last_sent: json!({ "displayName": "G", "members": ["T-1"] }),
        ..shadow("a1", ResourceKind::Group, "u1")
    };
    let pending = Shadow::pending("a1", ResourceKind::User, "u2", at(3));
    let other_app = shadow("a2", ResourceKind::User, "u1");
    commit(
        &store,
        "a1",
        vec![full.clone(), group.clone(), pending.clone()],
        vec![],
    )
    .await;
    commit(&store, "a2", vec![other_app.clone()], vec![]).await;

    // The reverse lookup: by target id, of this app and kind only.
    let by_target = store
        .shadows_by_target(
            "a1",
            ResourceKind::User,
            &["T-1".to_owned(), "T-9".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(by_target, vec![full.clone()]);
    assert!(store
        .shadows_by_target("a2", ResourceKind::User, &["T-1".to_owned()])
        .await
        .unwrap()
        .iter()
        .all(|s| s.app_id == "a2"));

    let ids = ["u1".to_owned(), "u2".to_owned(), "u3".to_owned()];
    let mut users = store.shadows("a1", ResourceKind::User, &ids).await.unwrap();
    users.sort_by(|a, b| a.source_id.cmp(&b.source_id));
    assert_eq!(users, vec![full.clone(), pending.clone()]);
    assert_eq!(
        store
            .shadows("a1", ResourceKind::Group, &ids)
            .await
            .unwrap(),
        vec![group]
    );
    assert_eq!(
        store.shadows("a2", ResourceKind::User, &ids).await.unwrap(),
        vec![other_app]
    );
    assert!(store
        .shadows("a1", ResourceKind::User, &[])
        .await
        .unwrap()
        .is_empty());

    // Upserting replaces every column, including back to nothing.
    let cleared = Shadow {
        target_id: None,
        state: ShadowState::Deleted,
        last_sent: json!({}),
        due: None,
        attempts: 0,
        last_error: None,
        updated: at(40),
        ..full.clone()
    };
    commit(&store, "a1", vec![cleared.clone()], vec![]).await;
    assert_eq!(
        one_shadow(&store, "a1", ResourceKind::User, "u1").await,
        cleared
    );

    // 10,000 ids in one call.
    let many: Vec<Shadow> = (0..10_000)
        .map(|i| shadow("a1", ResourceKind::User, &format!("m{i:05}")))
        .collect();
    commit(&store, "a1", many.clone(), vec![]).await;
    let ids: Vec<String> = many.iter().map(|s| s.source_id.clone()).collect();
    let mut found = store.shadows("a1", ResourceKind::User, &ids).await.unwrap();
    assert_eq!(found.len(), 10_000);
    found.sort_by(|a, b| a.source_id.cmp(&b.source_id));
    assert_eq!(found, many);
}

pub async fn shadows_after_pages(store: Arc<dyn Store>) {
    tenant_with_app(&store).await;
    let users: Vec<Shadow> = (0..25)
        .map(|i| shadow("a1", ResourceKind::User, &format!("u{i:02}")))
        .collect();
    let groups = vec![shadow("a1", ResourceKind::Group, "g1")];
    commit(&store, "a1", users.clone(), vec![]).await;
    commit(&store, "a1", groups.clone(), vec![]).await;

    let mut after = String::new();
    let mut seen = Vec::new();
    loop {
        let page = store
            .shadows_after("a1", ResourceKind::User, &after, 10)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().unwrap().source_id.clone();
        seen.extend(page);
    }
    assert_eq!(seen, users);
    assert_eq!(
        store
            .shadows_after("a1", ResourceKind::User, "u20", 100)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store
            .shadows_after("a1", ResourceKind::Group, "", 100)
            .await
            .unwrap(),
        groups
    );
    assert!(store
        .shadows_after("a2", ResourceKind::User, "", 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn orphan_shadows_are_those_whose_source_is_gone(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    let other = tenant(&store, "other").await;
    let mut live = Vec::new();
    for i in 0..3 {
        live.push(user(&store, &t, &format!("live{i}@example.com")).await.id);
    }
    // A user of another tenant with a shadow's id is no source of this app's tenant.
    let elsewhere = user(&store, &other, "elsewhere@example.com").await.id;
    let mut shadows: Vec<Shadow> = live
        .iter()
        .chain([&elsewhere])
        .map(|id| shadow("a1", ResourceKind::User, id))
        .collect();
    let gone: Vec<Shadow> = (0..5)
        .map(|i| shadow("a1", ResourceKind::User, &format!("gone{i}")))
        .collect();
    shadows.extend(gone.clone());
    // Not orphans: already deleted in the target, or never created there.
    shadows.push(Shadow {
        state: ShadowState::Deleted,
        ..shadow("a1", ResourceKind::User, "gone-deleted")
    });
    shadows.push(Shadow::pending(
        "a1",
        ResourceKind::User,
        "gone-pending",
        at(1),
    ));
    shadows.push(shadow("a1", ResourceKind::Group, "gone-group"));
    commit(&store, "a1", shadows, vec![]).await;

    let mut after = String::new();
    let mut seen = Vec::new();
    loop {
        let page = store
            .orphan_shadows("a1", &t, ResourceKind::User, &after, 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|s| s.source_id.clone()));
        match page.last() {
            Some(last) if page.len() == 2 => after.clone_from(&last.source_id),
            _ => break,
        }
    }
    let mut want: Vec<String> = gone.iter().map(|s| s.source_id.clone()).collect();
    want.push(elsewhere);
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(
        store
            .orphan_shadows("a1", &t, ResourceKind::Group, "", 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // Deleting a live user makes its shadow an orphan.
    store
        .delete(&t, ResourceKind::User, &live[0], None, at(50))
        .await
        .unwrap();
    let now: Vec<String> = store
        .orphan_shadows("a1", &t, ResourceKind::User, "", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.source_id)
        .collect();
    assert!(now.contains(&live[0]), "{now:?}");
    assert_eq!(now.len(), want.len() + 1);
}

pub async fn due_shadows_in_due_order(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    let due = |id: &str, kind: ResourceKind, seconds: Option<i64>| Shadow {
        due: seconds.map(at),
        ..shadow("a1", kind, id)
    };
    commit(
        &store,
        "a1",
        vec![
            due("u5", ResourceKind::User, Some(5)),
            due("u1", ResourceKind::User, Some(1)),
            due("g3", ResourceKind::Group, Some(3)),
            due("never", ResourceKind::User, None),
            due("u10", ResourceKind::User, Some(10)),
        ],
        vec![],
    )
    .await;
    commit(
        &store,
        "a2",
        vec![Shadow {
            due: Some(at(0)),
            ..shadow("a2", ResourceKind::User, "other")
        }],
        vec![],
    )
    .await;

    let got = store.due_shadows("a1", at(5), 100).await.unwrap();
    assert_eq!(source_ids(&got), ["u1", "g3", "u5"]);
    assert_eq!(got[1].kind, ResourceKind::Group);
    let got = store.due_shadows("a1", at(5), 2).await.unwrap();
    assert_eq!(source_ids(&got), ["u1", "g3"]);
    let got = store.due_shadows("a1", at(0), 100).await.unwrap();
    assert!(got.is_empty(), "{got:?}");
    let got = store.due_shadows("a1", at(1_000), 100).await.unwrap();
    assert_eq!(source_ids(&got), ["u1", "g3", "u5", "u10"]);
    let got = store.due_shadows("a2", at(1_000), 100).await.unwrap();
    assert_eq!(source_ids(&got), ["other"]);
}

pub async fn shadow_counts(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    let with = |id: &str, kind: ResourceKind, state: ShadowState, attempts: u32| Shadow {
        state,
        attempts,
        ..shadow("a1", kind, id)
    };
    commit(
        &store,
        "a1",
        vec![
            with("u1", ResourceKind::User, ShadowState::Active, 0),
            with("u2", ResourceKind::User, ShadowState::Active, 1),
            with("u3", ResourceKind::User, ShadowState::Active, 0),
            with("u4", ResourceKind::User, ShadowState::Disabled, 0),
            with("u5", ResourceKind::User, ShadowState::Deleted, 0),
            with("u6", ResourceKind::User, ShadowState::Deleted, 0),
            with("u7", ResourceKind::User, ShadowState::Pending, 4),
            with("g1", ResourceKind::Group, ShadowState::Active, 0),
            with("g2", ResourceKind::Group, ShadowState::Deleted, 2),
        ],
        vec![],
    )
    .await;
    commit(
        &store,
        "a2",
        vec![Shadow {
            attempts: 1,
            ..shadow("a2", ResourceKind::User, "x")
        }],
        vec![],
    )
    .await;
    assert_eq!(
        store.shadow_counts("a1").await.unwrap(),
        ShadowCounts {
            users_active: 3,
            users_disabled: 1,
            users_deleted: 2,
            groups_active: 1,
            groups_deleted: 1,
            escrowed: 3,
        }
    );
    assert_eq!(
        store.shadow_counts("nope").await.unwrap(),
        ShadowCounts::default()
    );
}

pub async fn engine_commits_are_atomic(store: Arc<dyn Store>) {
    tenant_with_app(&store).await;
    // An unknown app: nothing at all is written.
    let err = store
        .commit_engine(
            "nope",
            EngineCommit {
                shadows: vec![shadow("nope", ResourceKind::User, "u1")],
                logs: vec![log_entry("nope", "u1", LogStatus::Success, 1)],
                state: Some(json!({ "watermark": 1 })),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(store
        .shadows("nope", ResourceKind::User, &["u1".to_owned()])
        .await
        .unwrap()
        .is_empty());
    let query = |app_id: &str| LogQuery {
        app_id: app_id.into(),
        ..LogQuery::default()
    };
    assert!(store.logs(&query("nope")).await.unwrap().is_empty());
    assert_eq!(store.app_by_id("nope").await.unwrap(), None);

    // A commit that fails halfway (a shadow of another app) leaves no trace either.
    let err = store
        .commit_engine(
            "a1",
            EngineCommit {
                shadows: vec![
                    shadow("a1", ResourceKind::User, "u1"),
                    shadow("a2", ResourceKind::User, "u2"),
                ],
                logs: vec![log_entry("a1", "u1", LogStatus::Success, 1)],
                state: Some(json!({ "watermark": 1 })),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue(_)), "{err:?}");
    assert!(store
        .shadows("a1", ResourceKind::User, &["u1".to_owned()])
        .await
        .unwrap()
        .is_empty());
    assert!(store.logs(&query("a1")).await.unwrap().is_empty());
    assert_eq!(
        store.app_by_id("a1").await.unwrap().unwrap().state,
        Value::Null
    );

    // A good one writes all three; the store numbers the log entries.
    let entries = vec![
        LogEntry {
            seq: 999,
            ..log_entry("a1", "u1", LogStatus::Success, 1)
        },
        LogEntry {
            target_id: Some("T-2".into()),
            error_code: Some("EntryConflict".into()),
            duration_ms: 1234,
            details: json!({ "request": { "method": "POST" } }),
            ..log_entry("a1", "u2", LogStatus::Failure, 2)
        },
    ];
    store
        .commit_engine(
            "a1",
            EngineCommit {
                shadows: vec![shadow("a1", ResourceKind::User, "u1")],
                logs: entries.clone(),
                state: Some(json!({ "watermark": 7 })),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        one_shadow(&store, "a1", ResourceKind::User, "u1").await,
        shadow("a1", ResourceKind::User, "u1")
    );
    assert_eq!(
        store.app_by_id("a1").await.unwrap().unwrap().state,
        json!({ "watermark": 7 })
    );
    let logs = store.logs(&query("a1")).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert!(logs[0].seq > logs[1].seq && logs[1].seq > 0);
    assert_ne!(logs[1].seq, 999);
    assert_eq!(
        logs[0],
        LogEntry {
            seq: logs[0].seq,
            ..entries[1].clone()
        }
    );
    assert_eq!(
        logs[1],
        LogEntry {
            seq: logs[1].seq,
            ..entries[0].clone()
        }
    );

    // Without a state, the state stays.
    commit(&store, "a1", vec![], vec![]).await;
    assert_eq!(
        store.app_by_id("a1").await.unwrap().unwrap().state,
        json!({ "watermark": 7 })
    );
}

pub async fn logs_filter_and_page(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    // 150 entries: source u{i % 3}, every fifth a failure, at second i.
    let entries: Vec<LogEntry> = (0..150)
        .map(|i| {
            let status = if i % 5 == 0 {
                LogStatus::Failure
            } else {
                LogStatus::Success
            };
            log_entry("a1", &format!("u{}", i % 3), status, i)
        })
        .collect();
    commit(&store, "a1", vec![], entries).await;
    commit(
        &store,
        "a2",
        vec![],
        vec![log_entry("a2", "u0", LogStatus::Failure, 1)],
    )
    .await;
    let base = LogQuery {
        app_id: "a1".into(),
        ..LogQuery::default()
    };
    let seconds = |logs: &[LogEntry]| -> Vec<i64> {
        logs.iter()
            .map(|l| l.at.as_second() - 1_700_000_000)
            .collect()
    };

    // No limit: the newest 100, newest first.
    let logs = store.logs(&base).await.unwrap();
    assert_eq!(seconds(&logs), (50..150).rev().collect::<Vec<_>>());
    assert!(logs.windows(2).all(|w| w[0].seq > w[1].seq));
    assert!(logs.iter().all(|l| l.app_id == "a1"));

    let query = LogQuery {
        limit: 5,
        ..base.clone()
    };
    assert_eq!(
        seconds(&store.logs(&query).await.unwrap()),
        [149, 148, 147, 146, 145]
    );

    let query = LogQuery {
        source_id: Some("u1".into()),
        limit: 3,
        ..base.clone()
    };
    let logs = store.logs(&query).await.unwrap();
    assert_eq!(seconds(&logs), [148, 145, 142]);
    assert!(logs.iter().all(|l| l.source_id == "u1"));

    let query = LogQuery {
        status: Some(LogStatus::Failure),
        limit: 1000,
        ..base.clone()
    };
    assert_eq!(
        seconds(&store.logs(&query).await.unwrap()),
        (0..150).rev().filter(|i| i % 5 == 0).collect::<Vec<_>>()
    );

    let query = LogQuery {
        since: Some(at(10)),
        until: Some(at(13)),
        ..base.clone()
    };
    assert_eq!(
        seconds(&store.logs(&query).await.unwrap()),
        [13, 12, 11, 10]
    );

    let query = LogQuery {
        source_id: Some("u0".into()),
        status: Some(LogStatus::Failure),
        since: Some(at(100)),
        ..base.clone()
    };
    assert_eq!(seconds(&store.logs(&query).await.unwrap()), [135, 120, 105]);

    // Paging backwards with `before` visits every entry once.
    let mut before = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .logs(&LogQuery {
                before,
                limit: 40,
                ..base.clone()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 40);
        before = Some(last.seq);
        seen.extend(seconds(&page));
    }
    assert_eq!(seen, (0..150).rev().collect::<Vec<_>>());

    let other = store
        .logs(&LogQuery {
            app_id: "a2".into(),
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(seconds(&other), [1]);
}

pub async fn leases(store: Arc<dyn Store>) {
    let t = tenant_with_app(&store).await;
    store.put_app(&app("a2", &t, "app2")).await.unwrap();
    assert!(store
        .acquire_lease("a1", "w1", at(0), at(30))
        .await
        .unwrap());
    // Renewed by its holder, refused to others while it lasts.
    assert!(store
        .acquire_lease("a1", "w1", at(10), at(40))
        .await
        .unwrap());
    assert!(!store
        .acquire_lease("a1", "w2", at(35), at(65))
        .await
        .unwrap());
    // Leases are per app.
    assert!(store
        .acquire_lease("a2", "w2", at(35), at(65))
        .await
        .unwrap());
    // Expired (at `until` exactly): taken over.
    assert!(store
        .acquire_lease("a1", "w2", at(40), at(70))
        .await
        .unwrap());
    assert!(!store
        .acquire_lease("a1", "w1", at(41), at(71))
        .await
        .unwrap());
    // Releasing someone else's lease does nothing; releasing one's own frees it.
    store.release_lease("a1", "w1").await.unwrap();
    assert!(!store
        .acquire_lease("a1", "w1", at(42), at(72))
        .await
        .unwrap());
    store.release_lease("a1", "w2").await.unwrap();
    assert!(store
        .acquire_lease("a1", "w1", at(43), at(73))
        .await
        .unwrap());
    // Releasing what nobody holds is fine.
    store.release_lease("nope", "w1").await.unwrap();
}

pub async fn change_feed_follows_the_change_log(store: Arc<dyn Store>) {
    let mut feed = store.change_feed();
    assert_eq!(store.head_seq().await.unwrap(), 0);
    assert_eq!(*feed.borrow_and_update(), 0);

    let t = tenant(&store, "acme").await;
    // Writes that append no change do not wake the feed.
    assert!(!feed.has_changed().unwrap());
    assert_eq!(store.head_seq().await.unwrap(), 0);

    let u = user(&store, &t, "bjensen").await;
    let changes = store.changes_after(0, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].resource_id, u.id);
    let head = store.head_seq().await.unwrap();
    assert_eq!(head, changes[0].seq);
    // Published before the write was acknowledged.
    assert!(feed.has_changed().unwrap());
    assert_eq!(*feed.borrow_and_update(), head);

    user(&store, &t, "jsmith").await;
    tokio::time::timeout(std::time::Duration::from_secs(5), feed.changed())
        .await
        .unwrap()
        .unwrap();
    let newer = *feed.borrow_and_update();
    assert!(newer > head);
    assert_eq!(store.head_seq().await.unwrap(), newer);
    // A new receiver starts at the head, with nothing unseen.
    let late = store.change_feed();
    assert_eq!(*late.borrow(), newer);
    assert!(!late.has_changed().unwrap());
}

/// `walk` pages through one tenant's resources of one kind in store order, with their
/// sequence numbers, and only those.
pub async fn walk_pages_in_store_order(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "other").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(user(&store, &t, &format!("w{i}@example.com")).await.id);
    }
    user(&store, &other, "elsewhere@example.com").await;
    group(&store, &t, "Not a user", &[]).await;

    let first = store
        .walk(&t, ResourceKind::User, 0, 2, Load::NONE)
        .await
        .unwrap();
    let got: Vec<&str> = first.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
    assert!(first[0].0 < first[1].0);
    let rest = store
        .walk(&t, ResourceKind::User, first[1].0, 10, Load::ALL)
        .await
        .unwrap();
    let got: Vec<&str> = rest.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[3].as_str(), ids[4].as_str()]);
    assert!(
        rest[0].1.groups.is_some(),
        "Load::ALL loads the user's groups"
    );
    let last = rest.last().unwrap().0;
    assert!(store
        .walk(&t, ResourceKind::User, last, 10, Load::NONE)
        .await
        .unwrap()
        .is_empty());
    let groups = store
        .walk(&t, ResourceKind::Group, 0, 10, Load::NONE)
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
}
