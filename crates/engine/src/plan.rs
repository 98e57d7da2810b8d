//! Planning one source user for one app (spec §1.2, §1.3, §3, §4.1, §4.6): scope → map → diff
//! against the shadow → operations. Pure and deterministic.

use jiff::Timestamp;
use mapping_lang::expr::mapping::{evaluate_prepared, Apply};
use mapping_lang::expr::Context;
use serde_json::{json, Map, Value};

use crate::app::{App, Deprovisioning, Scope, ENTERPRISE};
use crate::shadow::{Shadow, ShadowState};
use crate::target_body::{add_element_op, as_boolean, is_boolean, user_body};

/// One operation for the applier to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Query the target by each `(attribute, value)` in matching precedence order and adopt
    /// the first match (then diff against it); with no match, `POST /Users` `body`.
    MatchOrCreate {
        candidates: Vec<(String, String)>,
        body: Value,
    },
    /// `PATCH /Users/{target_id}` with these PatchOp operations.
    Update {
        target_id: String,
        operations: Vec<Value>,
    },
    /// `PATCH /Users/{target_id}` setting `active` to false.
    Disable { target_id: String, operation: Value },
    /// `PATCH /Users/{target_id}` setting `active` to true.
    Enable { target_id: String, operation: Value },
    /// `DELETE /Users/{target_id}`.
    Delete { target_id: String },
    /// Nothing to send; `reason` is Entra's skip reason (`RedundantExport`, …).
    NoOp { reason: String },
}

/// Everything to do for one source user, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPlan {
    pub operations: Vec<Operation>,
    /// Human-readable: the scope decision, the matching attribute, the action.
    pub reason: String,
    /// What is left for later, e.g. a manager not yet in the target.
    pub deferred: Vec<String>,
    /// What the shadow holds once every operation has succeeded; `None`: unchanged.
    pub record: Option<Record>,
}

/// A shadow's new content (its target id aside, which only the applier learns on create).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Target path → value sent, as in [`Shadow::last_sent`].
    pub last_sent: Value,
    pub state: ShadowState,
}

impl Record {
    fn kept(shadow: &Shadow, state: ShadowState) -> Option<Record> {
        Some(Record {
            last_sent: shadow.last_sent.clone(),
            state,
        })
    }
}

/// Where the source user stands.
#[derive(Debug, Clone, Copy)]
pub enum SourceUser<'a> {
    /// The user as a SCIM resource.
    Present(&'a Value),
    /// Hard-deleted in the source.
    Deleted,
}

/// Looks up the target id of the user whose source id is given (for `manager`).
pub type TargetIds<'a> = &'a dyn Fn(&str) -> Option<String>;

fn manager_path() -> String {
    format!("{ENTERPRISE}:manager")
}

fn no_op(reason: &str, explanation: String) -> UserPlan {
    UserPlan {
        operations: vec![Operation::NoOp {
            reason: reason.to_owned(),
        }],
        reason: explanation,
        deferred: Vec::new(),
        record: None,
    }
}

/// Whether the source user is in scope, and the decision as text.
fn in_scope(app: &App, user: &Value, assigned: bool) -> (bool, String) {
    if app.scope == Scope::Assigned && !assigned {
        return (false, "out of scope: not assigned to the app".to_owned());
    }
    let decision = app.scoping.evaluate(user);
    if !decision.in_scope {
        return (false, decision.to_string());
    }
    let how = match app.scope {
        Scope::Assigned => "assigned",
        Scope::All => "scope: all users",
    };
    (true, format!("in scope ({how}; scoping: {decision})"))
}

fn source_active(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// Mapped values: target path → value, plus paths mapped to null (for `clear_nulls`) and
/// references left for later.
struct Mapped {
    values: Map<String, Value>,
    nulls: Vec<String>,
    deferred: Vec<String>,
}

fn map_user(
    app: &App,
    user: &Value,
    creating: bool,
    now: Timestamp,
    target_ids: TargetIds<'_>,
) -> Result<Mapped, String> {
    let ctx = Context::new(user, now);
    let manager = manager_path();
    let mut mapped = Mapped {
        values: Map::new(),
        nulls: Vec::new(),
        deferred: Vec::new(),
    };
    for prepared in &app.user_mappings {
        let target = &prepared.mapping.target;
        let value = evaluate_prepared(prepared, &ctx, creating)
            .map_err(|e| format!("mapping to `{target}` failed: {}", e.message))?;
        match value {
            Some(v) if target.eq_ignore_ascii_case(&manager) => {
                // A reference: written once the referenced user exists in the target, in a
                // later round trip (spec §1.2 step 4).
                let source_id = v.text_or_empty().to_owned();
                match (creating, target_ids(&source_id)) {
                    (false, Some(id)) => {
                        mapped.values.insert(target.clone(), Value::String(id));
                    }
                    (true, _) => mapped.deferred.push(format!(
                        "manager {source_id}: written by an update after the create"
                    )),
                    (false, None) => mapped.deferred.push(format!(
                        "manager {source_id}: not in the target yet; written once it is"
                    )),
                }
            }
            Some(v) => {
                mapped.values.insert(target.clone(), v.to_json());
            }
            None if prepared.mapping.apply == Apply::Always => mapped.nulls.push(target.clone()),
            None => {}
        }
    }
    Ok(mapped)
}

fn patch_value(app: &App, path: &str, value: &Value) -> Value {
    if is_boolean(path) && !app.dialect.booleans_as_strings {
        as_boolean(value)
    } else {
        value.clone()
    }
}

fn active_op(app: &App, active: bool) -> Value {
    let value = if app.dialect.booleans_as_strings {
        json!(if active { "True" } else { "False" })
    } else {
        json!(active)
    };
    json!({"op": "Replace", "path": "active", "value": value})
}

/// The PatchOp operations that bring the target from `shadow.last_sent` to `mapped`, one per
/// attribute, in Entra's shape (spec §1.3). `skip` paths are left out.
fn diff(app: &App, mapped: &Mapped, shadow: &Shadow, skip: &[&str]) -> Vec<Value> {
    let manager = manager_path();
    let mut ops = Vec::new();
    for (path, value) in &mapped.values {
        if skip.iter().any(|s| s.eq_ignore_ascii_case(path)) || shadow.sent(path) == Some(value) {
            continue;
        }
        let value = patch_value(app, path, value);
        if path.eq_ignore_ascii_case(&manager) {
            // Entra adds the manager as the plain target id (spec §1.3, observed); strict
            // targets want the RFC's complex value.
            let value = if app.dialect.manager_as_object {
                json!({"value": value})
            } else {
                value
            };
            ops.push(json!({"op": "Add", "path": path, "value": value}));
            continue;
        }
        match add_element_op(path, &value).filter(|_| shadow.sent(path).is_none()) {
            Some(add) => ops.push(add),
            None => ops.push(json!({"op": "Replace", "path": path, "value": value})),
        }
    }
    if app.clear_nulls {
        for path in &mapped.nulls {
            if shadow.sent(path).is_some() {
                ops.push(json!({"op": "Remove", "path": path}));
            }
        }
    }
    ops
}

/// `last_sent` after a disable: `active` as the default mapping writes it, `"False"`.
fn with_active_false(last_sent: &Value) -> Value {
    let mut sent = last_sent.as_object().cloned().unwrap_or_default();
    sent.insert("active".to_owned(), Value::String("False".to_owned()));
    Value::Object(sent)
}

/// `shadow.last_sent` with the mapped values written over it (and cleared nulls removed).
fn merged(app: &App, shadow: &Shadow, mapped: &Mapped) -> Value {
    let mut sent = shadow.last_sent.as_object().cloned().unwrap_or_default();
    for (path, value) in &mapped.values {
        sent.insert(path.clone(), value.clone());
    }
    if app.clear_nulls {
        for path in &mapped.nulls {
            sent.remove(path);
        }
    }
    Value::Object(sent)
}

/// Plans one source user for `app`. `assigned` says whether the user is assigned to the app
/// (directly or through an assigned group); `target_ids` finds the target id of another
/// source user (the manager); `now` is what `Now()` returns in expressions.
pub fn plan_user(
    app: &App,
    source: SourceUser<'_>,
    assigned: bool,
    shadow: Option<&Shadow>,
    now: Timestamp,
    target_ids: TargetIds<'_>,
) -> UserPlan {
    let linked = shadow.and_then(|s| s.target_id.clone().map(|id| (s, id)));
    let user = match source {
        SourceUser::Present(user) => user,
        SourceUser::Deleted => {
            return match linked {
                Some((s, id)) if s.state != ShadowState::Deleted => UserPlan {
                    operations: vec![Operation::Delete {
                        target_id: id.clone(),
                    }],
                    reason: format!("hard-deleted in the source: delete target user {id}"),
                    deferred: Vec::new(),
                    record: Record::kept(s, ShadowState::Deleted),
                },
                _ => no_op(
                    "NotInScope",
                    "hard-deleted in the source; nothing in the target to delete".to_owned(),
                ),
            };
        }
    };
    let (scoped, decision) = in_scope(app, user, assigned);
    let active = source_active(user);
    if !scoped || !active {
        let why = if scoped {
            format!("{decision}, but disabled in the source")
        } else {
            decision.clone()
        };
        let Some((s, id)) = linked.filter(|(s, _)| s.state == ShadowState::Active) else {
            let state = match shadow.map(|s| s.state) {
                Some(ShadowState::Disabled) => "already disabled in the target",
                Some(ShadowState::Deleted) => "already deleted in the target",
                _ => "never provisioned",
            };
            let label = if scoped {
                "NotActive: disabled in the source".to_owned()
            } else {
                format!("NotInScope: {why}")
            };
            return no_op(&label, format!("{why}; {state}: nothing to send"));
        };
        if !scoped && app.skip_out_of_scope_deletions {
            return no_op(
                "SkipOutOfScopeDeletions",
                format!("{why}; SkipOutOfScopeDeletions is set: target user {id} left as is"),
            );
        }
        return match app.deprovisioning {
            Deprovisioning::Disable => UserPlan {
                operations: vec![Operation::Disable {
                    target_id: id.clone(),
                    operation: active_op(app, false),
                }],
                reason: format!("{why}: disable target user {id}"),
                deferred: Vec::new(),
                record: Some(Record {
                    last_sent: with_active_false(&s.last_sent),
                    state: ShadowState::Disabled,
                }),
            },
            Deprovisioning::Delete => UserPlan {
                operations: vec![Operation::Delete {
                    target_id: id.clone(),
                }],
                reason: format!("{why}: delete target user {id} (deprovisioning: delete)"),
                deferred: Vec::new(),
                record: Record::kept(s, ShadowState::Deleted),
            },
        };
    }

    let creating = linked
        .as_ref()
        .is_none_or(|(s, _)| s.state == ShadowState::Deleted);
    let mapped = match map_user(app, user, creating, now, target_ids) {
        Ok(m) => m,
        Err(e) => return no_op("MappingError", format!("{decision}; {e}")),
    };
    match linked {
        Some((s, id)) if !creating => {
            let mut operations = Vec::new();
            let mut action = Vec::new();
            let mut skip = Vec::new();
            if s.state == ShadowState::Disabled {
                operations.push(Operation::Enable {
                    target_id: id.clone(),
                    operation: active_op(app, true),
                });
                action.push(format!("re-enable target user {id}"));
                skip.push("active");
            }
            let ops = diff(app, &mapped, s, &skip);
            if !ops.is_empty() {
                let paths: Vec<&str> = ops
                    .iter()
                    .filter_map(|o| o.get("path").and_then(Value::as_str))
                    .collect();
                action.push(format!(
                    "update target user {id}: {} changed",
                    paths.join(", ")
                ));
                operations.push(Operation::Update {
                    target_id: id.clone(),
                    operations: ops,
                });
            }
            if operations.is_empty() {
                return UserPlan {
                    operations: vec![Operation::NoOp {
                        reason: "RedundantExport".to_owned(),
                    }],
                    reason: format!("{decision}; target user {id} already matches"),
                    deferred: mapped.deferred,
                    record: None,
                };
            }
            let record = Some(Record {
                last_sent: merged(app, s, &mapped),
                state: ShadowState::Active,
            });
            UserPlan {
                operations,
                reason: format!("{decision}; {}", action.join("; ")),
                deferred: mapped.deferred,
                record,
            }
        }
        _ => {
            let candidates: Vec<(String, String)> = app
                .matching
                .iter()
                .filter_map(|attr| {
                    let value = mapped.values.get(attr)?;
                    let text = match value {
                        Value::Array(items) => items.first()?.as_str()?,
                        v => v.as_str()?,
                    };
                    (!text.is_empty()).then(|| (attr.clone(), text.to_owned()))
                })
                .collect();
            let Some((attr, value)) = candidates.first().cloned() else {
                return no_op(
                    "ImportSkipped",
                    format!(
                        "{decision}; no value for any matching attribute ({})",
                        app.matching.join(", ")
                    ),
                );
            };
            let (body, rejected) = user_body(&mapped.values);
            let record = Some(Record {
                last_sent: Value::Object(mapped.values.clone()),
                state: ShadowState::Active,
            });
            let mut deferred = mapped.deferred;
            deferred.extend(
                rejected
                    .into_iter()
                    .map(|p| format!("target path `{p}` not understood: not sent")),
            );
            UserPlan {
                operations: vec![Operation::MatchOrCreate { candidates, body }],
                reason: format!("{decision}; match on {attr} eq \"{value}\", else create the user"),
                deferred,
                record,
            }
        }
    }
}
