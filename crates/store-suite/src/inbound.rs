//! Inbound provisioning's storage: staged requests and their records' results, one record's
//! effect in one transaction (user, schedule, result, log), and effective-dated actions.

use std::sync::Arc;

use domain::inbound::{
    log_app_id, InboundCommit, LifecycleAction, Outcome, RecordResult, Scheduled, StagedRecord,
    StagedRequest, UserWrite,
};
use domain::{Error, Load, LogEntry, LogQuery, LogStatus, ResourceKind, Store};
use serde_json::json;

use crate::support::*;

fn request(tenant: &str, id: &str, n: u64) -> StagedRequest {
    StagedRequest {
        id: id.into(),
        tenant_id: tenant.into(),
        source: "default".into(),
        received: at(0),
        records: (0..n)
            .map(|i| StagedRecord {
                index: i,
                bulk_id: Some(format!("b{i}")),
                external_id: Some(format!("e{i}")),
                data: json!({"externalId": format!("e{i}")}),
            })
            .collect(),
    }
}

fn result(index: u64, outcome: Outcome) -> RecordResult {
    RecordResult {
        index,
        bulk_id: Some(format!("b{index}")),
        external_id: Some(format!("e{index}")),
        outcome,
        user_id: None,
        error: None,
    }
}

fn log(tenant: &str, request: &str, index: u64) -> LogEntry {
    LogEntry {
        seq: 0,
        app_id: log_app_id(tenant, "default"),
        at: at(1),
        cycle_id: request.into(),
        change_id: format!("{request}:{index}"),
        kind: ResourceKind::User,
        source_id: String::new(),
        target_id: None,
        action: "create".into(),
        status: LogStatus::Success,
        reason: "created".into(),
        error_code: None,
        duration_ms: 0,
        details: json!({}),
    }
}

fn commit(tenant: &str, write: UserWrite, result: Option<(String, RecordResult)>) -> InboundCommit {
    InboundCommit {
        tenant_id: tenant.into(),
        source: "default".into(),
        write,
        schedule: Some(vec![Scheduled {
            action: LifecycleAction::Enable,
            due: at(100),
            date: "2023-11-15".into(),
        }]),
        result,
        log: Some(log(tenant, "r1", 0)),
        now: at(1),
    }
}

pub async fn staged_requests_pend_until_every_record_has_a_result(store: Arc<dyn Store>) {
    let t = tenant(&store, "t").await;
    store.stage_inbound(&request(&t, "r1", 2)).await.unwrap();
    let pending = store.pending_inbound(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].records.len(), 2);
    assert_eq!(pending[0].records[1].data, json!({"externalId": "e1"}));
    assert_eq!(store.inbound_backlog().await.unwrap(), 2);

    let created = store
        .commit_inbound(commit(
            &t,
            UserWrite::Create(user_write("a@example.com")),
            Some(("r1".into(), result(0, Outcome::Created))),
        ))
        .await
        .unwrap()
        .unwrap();
    // The rest of the request still pends, without the record that has its result.
    let pending = store.pending_inbound(10).await.unwrap();
    assert_eq!(pending[0].records.len(), 1);
    assert_eq!(pending[0].records[0].index, 1);
    assert_eq!(store.inbound_backlog().await.unwrap(), 1);
    let (summary, results) = store.inbound_request(&t, "r1").await.unwrap().unwrap();
    assert_eq!(
        (summary.total, summary.processed, summary.completed),
        (2, 1, None)
    );
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].user_id.as_deref(), Some(created.id.as_str()));

    let mut failed = result(1, Outcome::Failed);
    failed.error = Some("no".into());
    store
        .commit_inbound(InboundCommit {
            schedule: None,
            ..commit(&t, UserWrite::None, Some(("r1".into(), failed)))
        })
        .await
        .unwrap();
    assert!(store.pending_inbound(10).await.unwrap().is_empty());
    assert_eq!(store.inbound_backlog().await.unwrap(), 0);
    let (summary, results) = store.inbound_request(&t, "r1").await.unwrap().unwrap();
    assert_eq!(summary.completed, Some(at(1)));
    assert_eq!(
        results.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [Outcome::Created, Outcome::Failed]
    );
    assert_eq!(results[1].error.as_deref(), Some("no"));
    // A result is written once.
    let again = store
        .commit_inbound(commit(
            &t,
            UserWrite::None,
            Some(("r1".into(), result(1, Outcome::Unchanged))),
        ))
        .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");

    // Requests are the tenant's, newest first.
    store.stage_inbound(&request(&t, "r2", 1)).await.unwrap();
    let other = tenant(&store, "other").await;
    assert!(store.inbound_request(&other, "r1").await.unwrap().is_none());
    let list = store.inbound_requests(&t, 10).await.unwrap();
    assert_eq!(
        list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    assert!(store.inbound_requests(&other, 10).await.unwrap().is_empty());
}

pub async fn a_record_commit_is_all_or_nothing(store: Arc<dyn Store>) {
    let t = tenant(&store, "t").await;
    store.stage_inbound(&request(&t, "r1", 1)).await.unwrap();
    store
        .create(&t, user_write("taken@example.com"), at(0))
        .await
        .unwrap();
    // The user write fails (uniqueness): no result, no schedule, no log entry.
    let refused = store
        .commit_inbound(commit(
            &t,
            UserWrite::Create(user_write("TAKEN@example.com")),
            Some(("r1".into(), result(0, Outcome::Created))),
        ))
        .await;
    assert!(matches!(refused, Err(Error::Uniqueness(_))), "{refused:?}");
    let (summary, results) = store.inbound_request(&t, "r1").await.unwrap().unwrap();
    assert_eq!(summary.processed, 0);
    assert!(results.is_empty());
    let logs = store
        .logs(&LogQuery {
            app_id: log_app_id(&t, "default"),
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert!(logs.is_empty());
    assert!(store.due_lifecycle(at(1_000), 10).await.unwrap().is_empty());

    // A replace at a stale version fails the same way.
    let user = store
        .create(&t, user_write("u@example.com"), at(0))
        .await
        .unwrap();
    let stale = store
        .commit_inbound(commit(
            &t,
            UserWrite::Replace {
                id: user.id.clone(),
                write: user_write("v@example.com"),
                version: user.version + 1,
            },
            Some(("r1".into(), result(0, Outcome::Updated))),
        ))
        .await;
    assert!(
        matches!(stale, Err(Error::PreconditionFailed(_))),
        "{stale:?}"
    );
    assert_eq!(
        store
            .inbound_request(&t, "r1")
            .await
            .unwrap()
            .unwrap()
            .0
            .processed,
        0
    );

    // At the current version everything lands, the log entry naming the user.
    store
        .commit_inbound(commit(
            &t,
            UserWrite::Replace {
                id: user.id.clone(),
                write: user_write("v@example.com"),
                version: user.version,
            },
            Some(("r1".into(), result(0, Outcome::Updated))),
        ))
        .await
        .unwrap();
    let now = store
        .get(&t, ResourceKind::User, &user.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.body["userName"], "v@example.com");
    let logs = store
        .logs(&LogQuery {
            app_id: log_app_id(&t, "default"),
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].source_id, user.id);
    assert_eq!(store.lifecycle_of(&t, &user.id).await.unwrap().len(), 1);
}

pub async fn scheduled_actions_come_due_in_order(store: Arc<dyn Store>) {
    let t = tenant(&store, "t").await;
    let a = store
        .commit_inbound(commit(
            &t,
            UserWrite::Create(user_write("a@example.com")),
            None,
        ))
        .await
        .unwrap()
        .unwrap();
    let mut later = commit(&t, UserWrite::Create(user_write("b@example.com")), None);
    later.schedule = Some(vec![
        Scheduled {
            action: LifecycleAction::Disable,
            due: at(300),
            date: "2023-11-16".into(),
        },
        Scheduled {
            action: LifecycleAction::Enable,
            due: at(50),
            date: "2023-11-14".into(),
        },
    ]);
    let b = store.commit_inbound(later).await.unwrap().unwrap();
    assert!(store.due_lifecycle(at(49), 10).await.unwrap().is_empty());
    let due = store.due_lifecycle(at(100), 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.user_id.as_str(), d.scheduled.due))
            .collect::<Vec<_>>(),
        [(b.id.as_str(), at(50)), (a.id.as_str(), at(100))]
    );
    assert_eq!(due[0].tenant_id, t);
    assert_eq!(due[0].source, "default");
    assert_eq!(store.due_lifecycle(at(1_000), 10).await.unwrap().len(), 3);
    // A schedule replaces the user's previous one; an empty one clears it.
    let mut clear = commit(&t, UserWrite::None, None);
    clear.schedule = Some(Vec::new());
    clear.log = Some(LogEntry {
        source_id: b.id.clone(),
        ..log(&t, "lifecycle", 0)
    });
    store.commit_inbound(clear).await.unwrap();
    assert!(store.lifecycle_of(&t, &b.id).await.unwrap().is_empty());
    assert_eq!(store.lifecycle_of(&t, &a.id).await.unwrap().len(), 1);
}

pub async fn many_commits_stand_or_fall_each_on_its_own(store: Arc<dyn Store>) {
    let t = tenant(&store, "t").await;
    store.stage_inbound(&request(&t, "r1", 3)).await.unwrap();
    store
        .create(&t, user_write("taken@example.com"), at(0))
        .await
        .unwrap();
    let outcomes = store
        .commit_inbound_many(vec![
            commit(
                &t,
                UserWrite::Create(user_write("a@example.com")),
                Some(("r1".into(), result(0, Outcome::Created))),
            ),
            commit(
                &t,
                UserWrite::Create(user_write("taken@example.com")),
                Some(("r1".into(), result(1, Outcome::Created))),
            ),
            commit(
                &t,
                UserWrite::Create(user_write("c@example.com")),
                Some(("r1".into(), result(2, Outcome::Created))),
            ),
        ])
        .await
        .unwrap();
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(Error::Uniqueness(_))));
    assert!(outcomes[2].is_ok());
    let pending = store.pending_inbound(10).await.unwrap();
    assert_eq!(pending[0].records.len(), 1);
    assert_eq!(pending[0].records[0].index, 1);
    let (summary, _) = store.inbound_request(&t, "r1").await.unwrap().unwrap();
    assert_eq!(summary.processed, 2);
}
