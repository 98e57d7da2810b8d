//! What the engine shows people: an app's status, the plan of a full cycle (a dry run that sends
//! nothing), provisioning one user on demand with its steps, and log entries as JSON.

use std::collections::BTreeMap;

use domain::{EngineCommit, LogEntry, LogStatus, ResourceKind, Result, ShadowCounts};
use serde_json::{json, Value};

use crate::groups::{member_changes, GroupOperation};
use crate::plan::Operation;
use crate::state::RunState;

use super::prepare::{string_list, Batch, MEMBERS};
use super::worker::PAGE;
use super::{Worker, WorkerCtx};

/// A log entry as the API and CLI show it (spec §4.5 field names where they exist).
pub fn log_json(e: &LogEntry) -> Value {
    json!({
        "id": e.seq,
        "activityDateTime": e.at.to_string(),
        "cycleId": e.cycle_id,
        "changeId": e.change_id,
        "objectType": e.kind.name(),
        "sourceId": e.source_id,
        "targetId": e.target_id,
        "action": e.action,
        "status": e.status.as_str(),
        "reason": e.reason,
        "errorCode": e.error_code,
        "durationInMilliseconds": e.duration_ms,
        "details": e.details,
    })
}

/// The status of an app as JSON: state, cycle progress, counts, last error, quarantine.
pub fn status_json(
    name: &str,
    enabled: bool,
    running: bool,
    state: &RunState,
    counts: &ShadowCounts,
    head: i64,
) -> Value {
    let label = if !enabled {
        "disabled"
    } else if state.held.is_some() {
        "held"
    } else if state.quarantine.is_some() {
        "quarantined"
    } else if state.watermark.is_none() {
        "not started"
    } else if let Some(c) = &state.cycle {
        match c.kind {
            crate::state::CycleKind::Initial => "initial cycle",
            crate::state::CycleKind::Reconcile => "reconciling",
        }
    } else if state.watermark.is_some_and(|w| w < head) {
        "catching up"
    } else {
        "in sync"
    };
    json!({
        "name": name,
        "enabled": enabled,
        "running": running,
        "state": label,
        "cycle": state.cycle.as_ref().map(|c| json!({
            "id": c.id, "kind": c.kind, "phase": c.phase, "done": c.done, "total": c.total,
            "started": c.started.to_string(),
        })),
        "lastCycleEnd": state.last_cycle_end.map(|t| t.to_string()),
        "watermark": state.watermark,
        "pendingChanges": state.watermark.map(|w| (head - w).max(0)),
        "counts": {
            "usersActive": counts.users_active,
            "usersDisabled": counts.users_disabled,
            "usersDeleted": counts.users_deleted,
            "groupsActive": counts.groups_active,
            "groupsDeleted": counts.groups_deleted,
            "escrowed": counts.escrowed,
        },
        "window": {
            "started": state.window.started.map(|t| t.to_string()),
            "successes": state.window.successes,
            "failures": state.window.failures,
            "deletions": state.window.deletions,
            "deletionsApproved": state.window.deletions_approved,
        },
        "totals": {"successes": state.total_successes, "failures": state.total_failures},
        "lastError": state.last_error,
        "quarantine": state.quarantine.as_ref().map(|q| json!({
            "reason": q.reason, "error": q.error, "since": q.since.to_string(),
            "nextAttempt": q.next_attempt.to_string(), "attempts": q.attempts,
        })),
        "held": state.held.as_ref().map(|h| json!({
            "deletions": h.deletions, "threshold": h.threshold, "since": h.since.to_string(),
        })),
    })
}

fn user_op_json(op: &Operation) -> (&'static str, Value) {
    match op {
        Operation::MatchOrCreate { candidates, body } => (
            "create",
            json!({"match": candidates.iter().map(|(a, v)| format!("{a} eq \"{v}\"")).collect::<Vec<_>>(),
                   "request": {"method": "POST", "path": "/Users", "body": body}}),
        ),
        Operation::Update {
            target_id,
            operations,
        } => (
            "update",
            json!({"request": {"method": "PATCH", "path": format!("/Users/{target_id}"),
                               "body": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}}}),
        ),
        Operation::Enable {
            target_id,
            operation,
        } => (
            "enable",
            json!({"request": {"method": "PATCH", "path": format!("/Users/{target_id}"), "body": {"Operations": [operation]}}}),
        ),
        Operation::Disable {
            target_id,
            operation,
        } => (
            "disable",
            json!({"request": {"method": "PATCH", "path": format!("/Users/{target_id}"), "body": {"Operations": [operation]}}}),
        ),
        Operation::Delete { target_id } => (
            "delete",
            json!({"request": {"method": "DELETE", "path": format!("/Users/{target_id}")}}),
        ),
        Operation::NoOp { reason } => ("skip", json!({"reason": reason})),
    }
}

impl WorkerCtx {
    /// Every operation the next full cycle would send, with payloads and counts, computed from
    /// the directory and the shadow; nothing is sent or written. At most `limit` operations are
    /// listed (all are counted); skips are counted, not listed.
    pub async fn dry_run(&self, limit: usize) -> Result<Value> {
        let now = self.clock.now();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut listed = Vec::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let mut after = 0i64;
            loop {
                let page = self
                    .store
                    .walk(&self.tenant_id, kind, after, PAGE, domain::Load::ALL)
                    .await?;
                let full = page.len() == PAGE;
                after = page.last().map_or(after, |(seq, _)| *seq);
                let ids: Vec<String> = page.iter().map(|(_, r)| r.id.clone()).collect();
                let mut loaded = Batch::default();
                if kind == ResourceKind::User {
                    for (_, r) in page {
                        let id = r.id.clone();
                        loaded.add(kind, &id);
                        loaded
                            .loaded
                            .insert(id, Value::Object(domain::render::render(r, "")));
                    }
                }
                if kind == ResourceKind::User {
                    let (users, _) = self.prepare(&mut loaded, now).await?;
                    for user in users {
                        for op in &user.plan.operations {
                            let (action, detail) = user_op_json(op);
                            *counts.entry(action.to_owned()).or_default() += 1;
                            if action != "skip" && listed.len() < limit {
                                listed.push(json!({
                                    "objectType": "User", "sourceId": user.source_id,
                                    "displayName": user.display, "action": action,
                                    "reason": user.plan.reason, "operation": detail,
                                }));
                            }
                        }
                    }
                } else {
                    let mut batch = Batch::default();
                    for id in &ids {
                        batch.add(ResourceKind::Group, id);
                    }
                    let (_, groups) = self
                        .prepare(
                            &mut Batch {
                                users: Default::default(),
                                ..batch
                            },
                            now,
                        )
                        .await?;
                    for group in groups {
                        for op in &group.plan.operations {
                            let (action, detail) = match op {
                                GroupOperation::MatchOrCreate { display_name, body } => (
                                    "create",
                                    json!({
                                    "match": [format!("displayName eq \"{display_name}\"")],
                                    "request": {"method": "POST", "path": "/Groups", "body": body}}),
                                ),
                                GroupOperation::Update {
                                    target_id,
                                    operations,
                                } => (
                                    "update",
                                    json!({
                                    "request": {"method": "PATCH", "path": format!("/Groups/{target_id}"), "body": {"Operations": operations}}}),
                                ),
                                GroupOperation::Delete { target_id } => (
                                    "delete",
                                    json!({
                                    "request": {"method": "DELETE", "path": format!("/Groups/{target_id}")}}),
                                ),
                                GroupOperation::NoOp { reason } => {
                                    ("skip", json!({"reason": reason}))
                                }
                            };
                            *counts.entry(format!("group {action}")).or_default() += 1;
                            if action != "skip" && listed.len() < limit {
                                listed.push(json!({
                                    "objectType": "Group", "sourceId": group.source_id,
                                    "displayName": group.display, "action": action,
                                    "reason": group.plan.reason, "operation": detail,
                                }));
                            }
                        }
                        if group.provisioned {
                            let shadows = self
                                .shadow_map(ResourceKind::User, &group.member_users)
                                .await?;
                            let lookup =
                                |id: &str| shadows.get(id).and_then(|s| s.target_id.clone());
                            let sent = group
                                .shadow
                                .as_ref()
                                .map(|s| string_list(s.last_sent.get(MEMBERS)))
                                .unwrap_or_default();
                            let changes = member_changes(&group.member_users, &sent, &lookup);
                            let n = (changes.added.len() + changes.removed.len()) as u64;
                            if n > 0 || !changes.deferred.is_empty() {
                                *counts.entry("member add".to_owned()).or_default() +=
                                    changes.added.len() as u64;
                                *counts.entry("member remove".to_owned()).or_default() +=
                                    changes.removed.len() as u64;
                                if listed.len() < limit {
                                    listed.push(json!({
                                        "objectType": "Group", "sourceId": group.source_id,
                                        "displayName": group.display, "action": "members",
                                        "reason": format!("{} to add, {} to remove, {} once their users are created",
                                            changes.added.len(), changes.removed.len(), changes.deferred.len()),
                                        "operation": {"add": changes.added, "remove": changes.removed},
                                    }));
                                }
                            }
                        }
                    }
                }
                if !full {
                    break;
                }
            }
        }
        let total: u64 = counts
            .iter()
            .filter(|(k, _)| !k.ends_with("skip"))
            .map(|(_, v)| v)
            .sum();
        Ok(json!({
            "app": self.name,
            "counts": counts,
            "operations": total,
            "listed": listed.len(),
            "plan": listed,
        }))
    }
}

impl WorkerCtx {
    /// Why a user is (not) in the app's scope and what the next cycle would send for them:
    /// the assignment, the scope decision, and each planned operation with its payload.
    /// Nothing is sent or written.
    pub async fn explain_user(&self, user_id: &str) -> Result<Value> {
        let now = self.clock.now();
        let users = self.prepare_users(&[user_id.to_owned()], now).await?;
        let user = users
            .first()
            .filter(|u| u.source.is_some())
            .ok_or_else(|| {
                domain::Error::NotFound(format!(
                    "there is no user with id {user_id} in this tenant"
                ))
            })?;
        let operations: Vec<Value> = user
            .plan
            .operations
            .iter()
            .map(user_op_json)
            .filter(|(action, _)| *action != "skip")
            .map(|(action, detail)| json!({"action": action, "operation": detail}))
            .collect();
        Ok(json!({
            "userId": user.source_id,
            "displayName": user.display,
            "assigned": user.assigned,
            "targetId": user.shadow.as_ref().and_then(|s| s.target_id.clone()),
            "reason": user.plan.reason,
            "operations": operations,
            "deferred": user.plan.deferred,
        }))
    }
}

impl Worker {
    /// Provisions one user now (spec §4.4), whatever the app's schedule, hold or quarantine,
    /// and returns the result with its steps and log entry.
    pub async fn provision_one(&mut self, user_id: &str) -> Result<Value> {
        let now = self.ctx.clock.now();
        let ctx = std::sync::Arc::clone(&self.ctx);
        let users = ctx.prepare_users(&[user_id.to_owned()], now).await?;
        let Some(user) = users.first() else {
            return Err(domain::Error::NotFound(format!("no user {user_id}")));
        };
        if user.source.is_none() {
            return Err(domain::Error::NotFound(format!(
                "there is no user with id {user_id} in this tenant"
            )));
        }
        let outcome = ctx
            .apply_user(
                user,
                "on-demand",
                format!("on-demand-{}", uuid::Uuid::new_v4()),
                now,
                true,
            )
            .await;
        let result = match (&outcome.failed, outcome.log.as_ref().map(|l| l.status)) {
            (Some(_), _) => "Failure",
            (None, Some(LogStatus::Skipped)) => "Skipped",
            _ => "Success",
        };
        let log = outcome.log.clone();
        let commit = EngineCommit {
            shadows: vec![outcome.shadow],
            logs: log.clone().into_iter().collect(),
            state: None,
        };
        ctx.store.commit_engine(&ctx.app_id, commit).await?;
        Ok(json!({
            "result": result,
            "user": {"id": user.source_id, "displayName": user.display},
            "steps": log.as_ref().map(|l| l.details.get("steps").cloned()).unwrap_or_default(),
            "matching": outcome.matching,
            "requests": outcome.exchanges.iter().map(super::apply::Exchange::to_json).collect::<Vec<_>>(),
            "log": log.as_ref().map(log_json),
        }))
    }
}
