//! Applying a group's plan (spec §1.4): match or create it (never with members), rename or
//! delete it, then send membership changes as `Add`/`Remove` deltas of at most the dialect's
//! members per request, once the member users exist in the target.

use std::collections::HashMap;

use domain::target::{TargetError, TargetErrorKind};
use domain::{LogEntry, LogStatus, ResourceKind, Shadow as StoredShadow, ShadowState};
use jiff::Timestamp;
use serde_json::{json, Value};

use crate::groups::{member_changes, membership_deltas, removals_by_path, GroupOperation};

use super::apply::{add, elapsed_ms, escrow_delay, Exchange};
use super::prepare::{string_list, PreparedGroup, ASSIGNED, MEMBERS, SOURCES};
use super::WorkerCtx;

/// What applying one group did.
#[derive(Debug, Clone)]
pub struct GroupOutcome {
    pub shadow: StoredShadow,
    pub log: Option<LogEntry>,
    pub failed: Option<TargetError>,
}

impl WorkerCtx {
    /// `member_targets`: source user id → target id for every member user linked in the target.
    pub(crate) async fn apply_group(
        &self,
        group: &PreparedGroup,
        member_targets: &HashMap<String, String>,
        cycle_id: &str,
        change_id: &str,
        now: Timestamp,
        log_noop: bool,
    ) -> GroupOutcome {
        let started = self.clock.now();
        let mut shadow = group.shadow.clone().unwrap_or_else(|| {
            StoredShadow::pending(&self.app_id, ResourceKind::Group, &group.source_id, now)
        });
        shadow.updated = now;
        let mut exchanges = Vec::new();
        let mut action = "other";
        let mut target_id = shadow
            .target_id
            .clone()
            .filter(|_| shadow.state == ShadowState::Active);
        let mut story = vec![group.plan.reason.clone()];
        let mut result: Result<(), TargetError> = Ok(());
        let mut skipped = None;
        let mut deleted = false;
        let mut rename_by_put = false;
        for op in &group.plan.operations {
            let step = match op {
                GroupOperation::NoOp { reason } => {
                    skipped = Some(reason.clone());
                    Ok(())
                }
                GroupOperation::MatchOrCreate { display_name, body } => {
                    match self
                        .find(
                            ResourceKind::Group,
                            "displayName",
                            display_name,
                            &mut exchanges,
                        )
                        .await
                    {
                        Ok(found) => match found.as_slice() {
                            [one] => {
                                story.push(format!("matched target group {}", one.id));
                                action = "update";
                                target_id = Some(one.id.clone());
                                Ok(())
                            }
                            [] => {
                                match self.create(ResourceKind::Group, body, &mut exchanges).await {
                                    Ok(created) => {
                                        story.push(format!("created target group {}", created.id));
                                        action = "create";
                                        target_id = Some(created.id);
                                        Ok(())
                                    }
                                    Err(e) => Err(e),
                                }
                            }
                            many => Err(TargetError::new(
                                TargetErrorKind::DuplicateTargetEntries,
                                format!(
                                    "{} target groups have displayName eq \"{display_name}\"",
                                    many.len()
                                ),
                            )),
                        },
                        Err(e) => Err(e),
                    }
                }
                GroupOperation::Update {
                    target_id: id,
                    operations,
                } => {
                    action = "update";
                    if self.app.dialect.groups_by_put {
                        // Sent with the members in one PUT below.
                        rename_by_put = true;
                        Ok(())
                    } else {
                        self.patch(ResourceKind::Group, id, operations, &mut exchanges)
                            .await
                    }
                }
                GroupOperation::Delete { target_id: id } => {
                    action = "delete";
                    deleted = true;
                    self.delete(ResourceKind::Group, id, &mut exchanges).await
                }
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }

        // Memberships, once the group exists in the target.
        let mut members_sent = string_list(shadow.last_sent.get(MEMBERS));
        let (mut added, mut removed) = (0usize, 0usize);
        if result.is_ok() && group.provisioned && !deleted {
            if let Some(id) = &target_id {
                let lookup = |source: &str| member_targets.get(source).cloned();
                let changes = member_changes(&group.member_users, &members_sent, &lookup);
                let dialect = &self.app.dialect;
                let ops = if dialect.groups_by_put {
                    Vec::new()
                } else if dialect.remove_members_by_path {
                    let mut ops =
                        membership_deltas(&changes.added, &[], dialect.max_members_per_request);
                    ops.extend(removals_by_path(&changes.removed));
                    ops
                } else {
                    membership_deltas(
                        &changes.added,
                        &changes.removed,
                        dialect.max_members_per_request,
                    )
                };
                let mut sent_all = true;
                let changed = !changes.added.is_empty() || !changes.removed.is_empty();
                if dialect.groups_by_put && (changed || rename_by_put) {
                    let members: Vec<Value> =
                        changes.record.iter().map(|m| json!({"value": m})).collect();
                    let body = json!({
                        "schemas": [crate::groups::GROUP_SCHEMA],
                        "displayName": group.source.as_ref().and_then(|g| g.get("displayName")),
                        "externalId": group.source_id,
                        "members": members,
                    });
                    let put = self.target.replace(ResourceKind::Group, id, &body).await;
                    exchanges.push(Exchange {
                        method: "PUT",
                        path: format!("/Groups/{id}"),
                        request: Some(json!({"displayName": body.get("displayName"), "members": format!("{} members", changes.record.len())})),
                        status: match &put {
                            Ok(_) => "200".to_owned(),
                            Err(e) => e.to_string(),
                        },
                        response: None,
                    });
                    if let Err(e) = put {
                        result = Err(e);
                        sent_all = false;
                    }
                }
                for op in &ops {
                    if let Err(e) = self
                        .patch(
                            ResourceKind::Group,
                            id,
                            std::slice::from_ref(op),
                            &mut exchanges,
                        )
                        .await
                    {
                        result = Err(e);
                        sent_all = false;
                        break;
                    }
                }
                if sent_all {
                    added = changes.added.len();
                    removed = changes.removed.len();
                    if added + removed > 0 && action == "other" {
                        action = "update";
                    }
                    members_sent = changes.record;
                    if !changes.deferred.is_empty() {
                        story.push(format!(
                            "{} member(s) not in the target: added once they are",
                            changes.deferred.len()
                        ));
                    }
                }
            }
        }

        let status;
        let mut error_code = None;
        let mut failed = None;
        match result {
            Ok(()) => {
                shadow.attempts = 0;
                shadow.last_error = None;
                shadow.due = None;
                let name = group
                    .source
                    .as_ref()
                    .and_then(|g| g.get("displayName"))
                    .cloned()
                    .unwrap_or(Value::Null);
                shadow.last_sent = json!({
                    "displayName": name,
                    MEMBERS: members_sent,
                    SOURCES: if group.assigned { group.member_users.clone() } else { Vec::new() },
                    ASSIGNED: group.assigned,
                });
                if deleted {
                    shadow.state = ShadowState::Deleted;
                    shadow.target_id = None;
                } else if let Some(id) = &target_id {
                    shadow.state = ShadowState::Active;
                    shadow.target_id = Some(id.clone());
                }
                status = if action == "other" && skipped.is_some() {
                    LogStatus::Skipped
                } else {
                    LogStatus::Success
                };
            }
            Err(e) => {
                status = LogStatus::Failure;
                error_code = Some(e.kind.entra_code().to_owned());
                shadow.attempts = shadow.attempts.saturating_add(1);
                shadow.last_error = Some(e.to_string());
                shadow.due = Some(add(now, escrow_delay(shadow.attempts, &group.source_id)));
                // A group created before the failure keeps its link, so a retry does not create it twice.
                if let (Some(id), false) = (&target_id, deleted) {
                    shadow.target_id = Some(id.clone());
                    shadow.state = ShadowState::Active;
                }
                story.push(format!("failed: {e}"));
                failed = Some(e);
            }
        }
        let log = (log_noop || status != LogStatus::Skipped).then(|| LogEntry {
            seq: 0,
            app_id: self.app_id.clone(),
            at: now,
            cycle_id: cycle_id.to_owned(),
            change_id: change_id.to_owned(),
            kind: ResourceKind::Group,
            source_id: group.source_id.clone(),
            target_id: target_id.clone(),
            action: action.to_owned(),
            status,
            reason: story.join("; "),
            error_code,
            duration_ms: elapsed_ms(started, self.clock.now()),
            details: json!({
                "displayName": group.display,
                "modifiedProperties": [{"displayName": "members", "added": added, "removed": removed}],
                "requests": exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>(),
            }),
        });
        self.count(action, status);
        GroupOutcome {
            shadow,
            log,
            failed,
        }
    }
}
