//! Reconciliation's look at the target (spec §4.1): during a reconciliation cycle, every account
//! the shadow says is in step is read back from the target and compared with what was last
//! sent. A difference is drift — someone changed the account by hand — and is reported; with
//! `correct_drift` it is also corrected. An account gone from the target is matched or created
//! again.

use domain::target::TargetErrorKind;
use domain::{LogEntry, LogStatus, ResourceKind, ShadowState};
use jiff::Timestamp;
use serde_json::{json, Map, Value};

use crate::target_body::{add_element_op, as_boolean, is_boolean};

use super::apply::{add, elapsed_ms, escrow_delay, same, value_at, Exchange, UserOutcome};
use super::prepare::PreparedUser;
use super::WorkerCtx;

/// Whether reconciliation should read this user back: in step according to the plan, and
/// linked to an active account.
pub fn should_check(user: &PreparedUser) -> bool {
    let in_step = matches!(
        user.plan.operations.as_slice(),
        [crate::plan::Operation::NoOp { reason }] if reason == "RedundantExport"
    );
    in_step
        && user
            .shadow
            .as_ref()
            .is_some_and(|s| s.state == ShadowState::Active && s.target_id.is_some())
}

impl WorkerCtx {
    /// Reads the account back and reports (and, with `correct_drift`, corrects) what differs
    /// from the shadow. `None` when the account is as it was left (nothing to log).
    pub(crate) async fn check_drift(
        &self,
        user: &PreparedUser,
        cycle_id: &str,
        now: Timestamp,
    ) -> Option<UserOutcome> {
        let started = self.clock.now();
        let mut shadow = user.shadow.clone()?;
        let target_id = shadow.target_id.clone()?;
        let mut exchanges = Vec::new();
        let read = self.target.get(ResourceKind::User, &target_id).await;
        exchanges.push(Exchange {
            method: "GET",
            path: format!("/Users/{target_id}"),
            request: None,
            status: match &read {
                Ok(Some(_)) => "200".to_owned(),
                Ok(None) => "404".to_owned(),
                Err(e) => e.to_string(),
            },
            response: None,
        });
        let entry = |action: &str, status: LogStatus, reason: String, details: Value| LogEntry {
            seq: 0,
            app_id: self.app_id.clone(),
            at: now,
            cycle_id: cycle_id.to_owned(),
            change_id: "reconcile".to_owned(),
            kind: ResourceKind::User,
            source_id: user.source_id.clone(),
            target_id: Some(target_id.clone()),
            action: action.to_owned(),
            status,
            reason,
            error_code: None,
            duration_ms: elapsed_ms(started, self.clock.now()),
            details,
        };
        let found = match read {
            Ok(Some(found)) => found,
            Ok(None) => {
                // Deleted by hand: link again (match or create) right away.
                shadow.target_id = None;
                shadow.state = ShadowState::Pending;
                shadow.due = Some(now);
                shadow.updated = now;
                let log = entry(
                    "other",
                    LogStatus::Warning,
                    format!("drift: target account {target_id} no longer exists; it will be matched or created again"),
                    json!({"displayName": user.display, "requests": exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>()}),
                );
                return Some(UserOutcome {
                    shadow,
                    log: Some(log),
                    newly_linked: false,
                    failed: None,
                    matching: None,
                    exchanges,
                });
            }
            Err(e) => {
                // Could not look: not drift; the next reconciliation looks again.
                tracing::debug!(app = %self.name, error = %e, "drift check skipped");
                return None;
            }
        };
        let empty = Map::new();
        let sent = shadow.last_sent.as_object().unwrap_or(&empty);
        let mut differences = Vec::new();
        let mut ops = Vec::new();
        for (path, value) in sent {
            if path.starts_with('$') || path.ends_with(":manager") {
                continue;
            }
            let current = value_at(&found.body, path);
            if same(path, value, current.as_ref()) {
                continue;
            }
            differences.push(json!({"displayName": path, "oldValue": current, "newValue": value}));
            let value = if is_boolean(path) && !self.app.dialect.booleans_as_strings {
                as_boolean(value)
            } else {
                value.clone()
            };
            ops.push(
                add_element_op(path, &value)
                    .filter(|_| current.is_none())
                    .unwrap_or_else(|| json!({"op": "Replace", "path": path, "value": value})),
            );
        }
        if differences.is_empty() {
            return None;
        }
        let names: Vec<&str> = differences
            .iter()
            .filter_map(|d| d.get("displayName").and_then(Value::as_str))
            .collect();
        let what = format!(
            "drift: {} changed in the target account {target_id} ({})",
            differences.len(),
            names.join(", ")
        );
        if !self.spec.correct_drift {
            let log = entry(
                "other",
                LogStatus::Warning,
                format!("{what}; reported only (correct_drift is off)"),
                json!({"displayName": user.display, "drift": differences,
                       "requests": exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>()}),
            );
            self.count("drift", LogStatus::Warning);
            return Some(UserOutcome {
                shadow,
                log: Some(log),
                newly_linked: false,
                failed: None,
                matching: None,
                exchanges,
            });
        }
        let result = self
            .patch(ResourceKind::User, &target_id, &ops, &mut exchanges)
            .await;
        let details = json!({"displayName": user.display, "modifiedProperties": differences,
                             "requests": exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>()});
        shadow.updated = now;
        let (log, failed) = match result {
            Ok(()) => {
                self.count("update", LogStatus::Success);
                (
                    entry(
                        "update",
                        LogStatus::Success,
                        format!("{what}; corrected"),
                        details,
                    ),
                    None,
                )
            }
            Err(e) => {
                self.count("update", LogStatus::Failure);
                shadow.attempts = shadow.attempts.saturating_add(1);
                shadow.last_error = Some(e.to_string());
                if e.kind != TargetErrorKind::NotFound {
                    shadow.due = Some(add(now, escrow_delay(shadow.attempts, &user.source_id)));
                }
                let mut log = entry(
                    "update",
                    LogStatus::Failure,
                    format!("{what}; correcting failed: {e}"),
                    details,
                );
                log.error_code = Some(e.kind.entra_code().to_owned());
                (log, Some(e))
            }
        };
        Some(UserOutcome {
            shadow,
            log: Some(log),
            newly_linked: false,
            failed,
            matching: None,
            exchanges,
        })
    }
}
