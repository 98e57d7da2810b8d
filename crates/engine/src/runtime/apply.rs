//! Sending planned operations to the target and recording what happened: the new shadow, the
//! provisioning log entry (spec §4.5) with its steps, modified properties and a redacted
//! request/response summary.
//!
//! Invariant: a failed object keeps its previous shadow content; only its escrow fields change.

use std::time::Duration;

use domain::target::{TargetError, TargetErrorKind, TargetResource};
use domain::{LogEntry, LogStatus, ResourceKind, Shadow as StoredShadow, ShadowState};
use jiff::Timestamp;
use serde_json::{json, Map, Value};

use crate::plan::Operation;
use crate::target_body::{add_element_op, as_boolean, is_boolean, TargetPath};

use super::prepare::{PreparedUser, WAITING};
use super::WorkerCtx;

/// One request as the log shows it: method, path, and the body without secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub method: &'static str,
    pub path: String,
    pub request: Option<Value>,
    pub status: String,
    pub response: Option<Value>,
}

impl Exchange {
    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "path": self.path,
            "request": self.request.as_ref().map(redact),
            "status": self.status,
            "response": self.response.as_ref().map(redact),
        })
    }
}

/// Drops attributes that may hold secrets (passwords) from a body shown in logs.
pub fn redact(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let hidden = k.eq_ignore_ascii_case("password");
                    (
                        k.clone(),
                        if hidden { json!("[Redact]") } else { redact(v) },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// What applying one user's plan did.
#[derive(Debug, Clone)]
pub struct UserOutcome {
    pub shadow: StoredShadow,
    pub log: Option<LogEntry>,
    /// The user became linked to a target account in this action (created or adopted).
    pub newly_linked: bool,
    pub failed: Option<TargetError>,
    /// Matching as it went, for on-demand results.
    pub matching: Option<String>,
    pub exchanges: Vec<Exchange>,
}

impl UserOutcome {
    /// The outcome of leaving a user as it is.
    pub fn unchanged(user: &PreparedUser, app_id: &str, now: Timestamp) -> UserOutcome {
        let shadow = user.shadow.clone().unwrap_or_else(|| {
            StoredShadow::pending(app_id, ResourceKind::User, &user.source_id, now)
        });
        UserOutcome {
            shadow,
            log: None,
            newly_linked: false,
            failed: None,
            matching: None,
            exchanges: Vec::new(),
        }
    }
}

/// The backoff of the `attempts`-th failure in a row: 30 s doubling to at most 6 h, with a
/// deterministic jitter of up to a fifth (from the object's id) so retries of a failed batch
/// spread out.
pub fn escrow_delay(attempts: u32, source_id: &str) -> Duration {
    let base = 30u64.saturating_mul(1u64 << attempts.saturating_sub(1).min(10));
    let capped = base.min(6 * 3600);
    let hash = source_id.bytes().fold(attempts as u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    Duration::from_secs(capped + hash % (capped / 5 + 1))
}

/// Milliseconds between two readings of the injected clock.
pub fn elapsed_ms(from: Timestamp, to: Timestamp) -> u64 {
    u64::try_from(to.duration_since(from).as_millis()).unwrap_or(0)
}

pub(crate) fn add(now: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(now)
}

/// The value at a mapping's target path in a target's resource body, for comparing on adoption.
pub fn value_at(body: &Value, path: &str) -> Option<Value> {
    let target = TargetPath::parse(path)?;
    let object = match &target.schema {
        Some(urn) => body.get(urn)?,
        None => body,
    };
    let attr = object.get(&target.attribute)?;
    let value = match (&target.filter, &target.sub_attribute) {
        (None, None) => attr.clone(),
        (None, Some(sub)) => attr.get(sub)?.clone(),
        (Some((key, wanted)), sub) => {
            let element = attr.as_array()?.iter().find(|e| {
                e.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
            })?;
            element.get(sub.as_deref().unwrap_or("value"))?.clone()
        }
    };
    // The manager is an object with `value` in SCIM; mappings hold the id.
    Some(match value {
        Value::Object(m) if target.attribute == "manager" => m.get("value").cloned()?,
        v => v,
    })
}

pub(crate) fn same(path: &str, sent: &Value, found: Option<&Value>) -> bool {
    let Some(found) = found else {
        return false;
    };
    if is_boolean(path) {
        return as_boolean(sent) == as_boolean(found);
    }
    match (sent, found) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Array(a), b) if a.len() == 1 => a.first() == Some(b),
        (a, b) => a == b,
    }
}

fn path_of(kind: ResourceKind, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("/{}/{id}", kind.endpoint()),
        None => format!("/{}", kind.endpoint()),
    }
}

fn status_text(e: &TargetError) -> String {
    match e.status {
        Some(s) => format!("{s} {}", e.kind.entra_code()),
        None => e.kind.entra_code().to_owned(),
    }
}

/// Modified properties of a PatchOp list: `displayName`, `oldValue`, `newValue`.
fn modified(ops: &[Value], before: &Value) -> Vec<Value> {
    ops.iter()
        .filter_map(|op| {
            let path = op.get("path")?.as_str()?;
            Some(json!({
                "displayName": path,
                "oldValue": before.get(path).cloned().unwrap_or(Value::Null),
                "newValue": op.get("value").cloned().unwrap_or(Value::Null),
            }))
        })
        .collect()
}

impl WorkerCtx {
    /// Applies `user.plan`; never fails as a whole: a target failure becomes an escrowed shadow
    /// and a failure log entry. `log_noop` says whether a plan without operations is logged
    /// (skips in full cycles are not, or every cycle would log every user).
    pub(crate) async fn apply_user(
        &self,
        user: &PreparedUser,
        cycle_id: &str,
        change_id: String,
        now: Timestamp,
        log_noop: bool,
    ) -> UserOutcome {
        let started = self.clock.now();
        let mut shadow = user.shadow.clone().unwrap_or_else(|| {
            StoredShadow::pending(&self.app_id, ResourceKind::User, &user.source_id, now)
        });
        shadow.updated = now;
        let mut exchanges = Vec::new();
        let mut matching = None;
        let mut action = "other";
        let mut newly_linked = false;
        let mut mods = Vec::new();
        let mut result: Result<(), TargetError> = Ok(());
        let mut target_id = shadow.target_id.clone();
        let mut skip_reason = None;

        for op in &user.plan.operations {
            let step = match op {
                Operation::NoOp { reason } => {
                    skip_reason = Some(reason.clone());
                    Ok(())
                }
                Operation::MatchOrCreate { candidates, body } => {
                    match self
                        .match_or_create(candidates, body, user, &mut exchanges)
                        .await
                    {
                        Ok((id, how, m, adopted_mods)) => {
                            matching = Some(how);
                            action = if m { "update" } else { "create" };
                            mods = adopted_mods;
                            target_id = Some(id);
                            newly_linked = true;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Operation::Update {
                    target_id: id,
                    operations,
                } => {
                    if action == "other" {
                        action = "update";
                    }
                    mods.extend(modified(operations, &shadow.last_sent));
                    self.patch(ResourceKind::User, id, operations, &mut exchanges)
                        .await
                }
                Operation::Enable {
                    target_id: id,
                    operation,
                }
                | Operation::Disable {
                    target_id: id,
                    operation,
                } => {
                    let enable = matches!(op, Operation::Enable { .. });
                    action = if enable { "enable" } else { "disable" };
                    mods.push(
                        json!({"displayName": "active", "oldValue": !enable, "newValue": enable}),
                    );
                    self.patch(
                        ResourceKind::User,
                        id,
                        std::slice::from_ref(operation),
                        &mut exchanges,
                    )
                    .await
                }
                Operation::Delete { target_id: id } => {
                    action = "delete";
                    self.delete(ResourceKind::User, id, &mut exchanges).await
                }
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }

        let duration_ms = elapsed_ms(started, self.clock.now());
        let mut steps = vec![
            json!({"name": "import", "status": if user.source.is_some() { "success" } else { "skipped" },
                   "description": if user.source.is_some() { format!("read user {} from the directory", user.source_id) } else { format!("user {} is deleted in the directory", user.source_id) }}),
            json!({"name": "scoping", "status": "success", "description": user.plan.reason}),
        ];
        if let Some(m) = &matching {
            steps.push(json!({"name": "matching", "status": "success", "description": m}));
        }
        let status;
        let mut error_code = None;
        let mut reason = user.plan.reason.clone();
        let mut failed = None;
        match result {
            Ok(()) => {
                shadow.attempts = 0;
                shadow.last_error = None;
                shadow.due = None;
                if let Some(record) = &user.plan.record {
                    let waiting = shadow.last_sent.get(WAITING).cloned();
                    shadow.last_sent = record.last_sent.clone();
                    if let (Some(w), Some(map)) = (waiting, shadow.last_sent.as_object_mut()) {
                        map.insert(WAITING.to_owned(), w);
                    }
                    shadow.state = record.state;
                    shadow.target_id = target_id.clone();
                    if record.state == ShadowState::Deleted {
                        shadow.target_id = None;
                    }
                }
                if skip_reason.is_some() && user.plan.operations.len() == 1 {
                    status = LogStatus::Skipped;
                    action = "other";
                } else {
                    status = LogStatus::Success;
                }
                if !user.plan.deferred.is_empty() {
                    reason = format!("{reason}; deferred: {}", user.plan.deferred.join("; "));
                }
                steps.push(json!({"name": "export", "status": "success",
                    "description": format!("{action}: {}", skip_reason.clone().unwrap_or_else(|| "sent".to_owned()))}));
            }
            Err(e) => {
                status = LogStatus::Failure;
                error_code = Some(e.kind.entra_code().to_owned());
                shadow.attempts = shadow.attempts.saturating_add(1);
                shadow.last_error = Some(e.to_string());
                if e.kind == TargetErrorKind::NotFound && !matches!(action, "delete") {
                    // InvalidAnchor: the account is gone from the target; match or create it again.
                    shadow.target_id = None;
                    shadow.state = ShadowState::Pending;
                    shadow.due = Some(now);
                    reason = format!("{reason}; the target account no longer exists (InvalidAnchor): it will be matched or created again");
                } else {
                    shadow.due = Some(add(now, escrow_delay(shadow.attempts, &user.source_id)));
                    reason = format!(
                        "{reason}; failed: {e}; retry {} at {}",
                        shadow.attempts,
                        shadow.due.map(|d| d.to_string()).unwrap_or_default()
                    );
                }
                steps.push(
                    json!({"name": "export", "status": "failure", "description": e.to_string()}),
                );
                failed = Some(e);
            }
        }
        let log = (log_noop || status != LogStatus::Skipped).then(|| LogEntry {
            seq: 0,
            app_id: self.app_id.clone(),
            at: now,
            cycle_id: cycle_id.to_owned(),
            change_id,
            kind: ResourceKind::User,
            source_id: user.source_id.clone(),
            target_id: target_id.clone(),
            action: action.to_owned(),
            status,
            reason,
            error_code,
            duration_ms,
            details: json!({
                "displayName": user.display,
                "steps": steps,
                "modifiedProperties": mods,
                "requests": exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>(),
            }),
        });
        self.count(action, status);
        metrics::histogram!("scimitar_provisioning_action_duration_seconds", "app" => self.name.clone())
            .record(duration_ms as f64 / 1000.0);
        UserOutcome {
            shadow,
            log,
            newly_linked: newly_linked && failed.is_none(),
            failed,
            matching,
            exchanges,
        }
    }

    pub(crate) fn count(&self, action: &str, status: LogStatus) {
        metrics::counter!(
            "scimitar_provisioning_actions_total",
            "app" => self.name.clone(),
            "action" => action.to_owned(),
            "status" => status.as_str()
        )
        .increment(1);
    }

    /// Finds the account by each candidate in precedence order and adopts the first single
    /// match (sending what differs from the mapped values); creates it when none matches.
    /// Returns the target id, the matching story, whether it matched, and modified properties.
    async fn match_or_create(
        &self,
        candidates: &[(String, String)],
        body: &Value,
        user: &PreparedUser,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<(String, String, bool, Vec<Value>), TargetError> {
        let mut story = Vec::new();
        for (attr, value) in candidates {
            let found = self
                .find(ResourceKind::User, attr, value, exchanges)
                .await?;
            match found.as_slice() {
                [] => story.push(format!("no account with {attr} eq \"{value}\"")),
                [one] => {
                    story.push(format!(
                        "matched target account {} on {attr} eq \"{value}\"",
                        one.id
                    ));
                    let mods = self.adopt(one, user, exchanges).await?;
                    return Ok((one.id.clone(), story.join("; "), true, mods));
                }
                many => {
                    return Err(TargetError::new(
                        TargetErrorKind::DuplicateTargetEntries,
                        format!(
                            "{} target accounts have {attr} eq \"{value}\"; fix the duplicates or the matching attributes",
                            many.len()
                        ),
                    ))
                }
            }
        }
        let created = self.create(ResourceKind::User, body, exchanges).await?;
        story.push(format!("created target account {}", created.id));
        Ok((created.id, story.join("; "), false, Vec::new()))
    }

    /// Sends the mapped values that differ from the adopted account.
    async fn adopt(
        &self,
        found: &TargetResource,
        user: &PreparedUser,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Vec<Value>, TargetError> {
        let Some(record) = &user.plan.record else {
            return Ok(Vec::new());
        };
        let empty = Map::new();
        let wanted = record.last_sent.as_object().unwrap_or(&empty);
        let mut ops = Vec::new();
        let mut mods = Vec::new();
        for (path, value) in wanted {
            if path.starts_with('$') {
                continue;
            }
            let current = value_at(&found.body, path);
            if same(path, value, current.as_ref()) {
                continue;
            }
            let value = if is_boolean(path) && !self.app.dialect.booleans_as_strings {
                as_boolean(value)
            } else {
                value.clone()
            };
            mods.push(json!({"displayName": path, "oldValue": current, "newValue": value}));
            if path.ends_with(":manager") && self.app.dialect.manager_as_object {
                ops.push(json!({"op": "Add", "path": path, "value": {"value": value}}));
                continue;
            }
            match add_element_op(path, &value).filter(|_| current.is_none()) {
                Some(add) => ops.push(add),
                None => ops.push(json!({"op": "Replace", "path": path, "value": value})),
            }
        }
        if !ops.is_empty() {
            self.patch(ResourceKind::User, &found.id, &ops, exchanges)
                .await?;
        }
        Ok(mods)
    }

    pub(crate) async fn find(
        &self,
        kind: ResourceKind,
        attr: &str,
        value: &str,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Vec<TargetResource>, TargetError> {
        let path = format!("/{}?filter={attr} eq \"{value}\"", kind.endpoint());
        let result = self.target.find(kind, attr, value).await;
        exchanges.push(Exchange {
            method: "GET",
            path,
            request: None,
            status: match &result {
                Ok(found) => format!("200 ({} found)", found.len()),
                Err(e) => status_text(e),
            },
            response: None,
        });
        result
    }

    pub(crate) async fn create(
        &self,
        kind: ResourceKind,
        body: &Value,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<TargetResource, TargetError> {
        let result = self.target.create(kind, body).await;
        exchanges.push(Exchange {
            method: "POST",
            path: path_of(kind, None),
            request: Some(body.clone()),
            status: match &result {
                Ok(_) => "201".to_owned(),
                Err(e) => status_text(e),
            },
            response: result.as_ref().ok().map(|r| json!({"id": r.id})),
        });
        result
    }

    pub(crate) async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        operations: &[Value],
        exchanges: &mut Vec<Exchange>,
    ) -> Result<(), TargetError> {
        let result = self.target.patch(kind, id, operations).await;
        // Large member lists are summarised, not copied into the log.
        let request = if operations.len() > 20 {
            json!({"Operations": format!("{} operations", operations.len())})
        } else {
            json!({"Operations": operations})
        };
        exchanges.push(Exchange {
            method: "PATCH",
            path: path_of(kind, Some(id)),
            request: Some(request),
            status: match &result {
                Ok(()) => "200".to_owned(),
                Err(e) => status_text(e),
            },
            response: None,
        });
        result
    }

    /// Deletes; an account that is already gone counts as deleted.
    pub(crate) async fn delete(
        &self,
        kind: ResourceKind,
        id: &str,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<(), TargetError> {
        let result = match self.target.delete(kind, id).await {
            Err(e) if e.kind == TargetErrorKind::NotFound => Ok(()),
            other => other,
        };
        exchanges.push(Exchange {
            method: "DELETE",
            path: path_of(kind, Some(id)),
            request: None,
            status: match &result {
                Ok(()) => "204".to_owned(),
                Err(e) => status_text(e),
            },
            response: None,
        });
        result
    }
}
