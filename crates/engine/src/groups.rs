//! Group membership deltas (spec §1.4): members added and removed as `Add`/`Remove` operations
//! on `members`, split to the target's per-request limit.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// PatchOp operations adding `added` and removing `removed` (target ids), at most
/// `max_per_request` members per operation (a limit of 0 counts as 1). Adds come first.
pub fn membership_deltas(
    added: &[String],
    removed: &[String],
    max_per_request: usize,
) -> Vec<Value> {
    let size = max_per_request.max(1);
    let chunks = |op: &'static str, ids: &[String]| -> Vec<Value> {
        ids.chunks(size)
            .map(|chunk| {
                let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                json!({"op": op, "path": "members", "value": value})
            })
            .collect()
    };
    let mut ops = chunks("Add", added);
    ops.extend(chunks("Remove", removed));
    ops
}

/// Removals as one `remove` per member with a value filter in the path
/// (`members[value eq "id"]`): the RFC 7644 §3.5.2.2 form strict servers need, and what Entra
/// sends with its `aadOptscim062020` flag (spec §1.4 step 6).
pub fn removals_by_path(removed: &[String]) -> Vec<Value> {
    removed
        .iter()
        .map(|id| {
            let path = format!("members[value eq {}]", Value::String(id.clone()));
            json!({"op": "remove", "path": path})
        })
        .collect()
}

/// How a group's members in the target must change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberChanges {
    /// Target ids to add.
    pub added: Vec<String>,
    /// Target ids to remove.
    pub removed: Vec<String>,
    /// Source ids of members not in the target yet: added in a later round trip, once they
    /// are (spec §4.1 step 6: users first, then memberships).
    pub deferred: Vec<String>,
    /// The member target ids the shadow holds once the changes are applied.
    pub record: Vec<String>,
}

/// The membership changes from `last_sent` (target ids) to `source_members` (source ids), whose
/// target ids come from `target_ids`. Sorted, so plans are deterministic.
pub fn member_changes(
    source_members: &[String],
    last_sent: &[String],
    target_ids: &dyn Fn(&str) -> Option<String>,
) -> MemberChanges {
    let sent: BTreeSet<&str> = last_sent.iter().map(String::as_str).collect();
    let mut wanted = BTreeSet::new();
    let mut deferred = BTreeSet::new();
    for member in source_members {
        match target_ids(member) {
            Some(id) => {
                wanted.insert(id);
            }
            None => {
                deferred.insert(member.clone());
            }
        }
    }
    MemberChanges {
        added: wanted
            .iter()
            .filter(|id| !sent.contains(id.as_str()))
            .cloned()
            .collect(),
        removed: sent
            .iter()
            .filter(|id| !wanted.contains(**id))
            .map(|id| (*id).to_owned())
            .collect(),
        deferred: deferred.into_iter().collect(),
        record: wanted.into_iter().collect(),
    }
}

/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// One group operation for the applier (spec §1.4).
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOperation {
    /// `GET /Groups?excludedAttributes=members&filter=displayName eq "…"`, adopt a match, else
    /// `POST /Groups` `body` (never with members: they follow as deltas).
    MatchOrCreate {
        display_name: String,
        body: Value,
    },
    /// `PATCH /Groups/{target_id}` with these operations (renames).
    Update {
        target_id: String,
        operations: Vec<Value>,
    },
    /// `DELETE /Groups/{target_id}`.
    Delete {
        target_id: String,
    },
    NoOp {
        reason: String,
    },
}

/// Everything to do for one source group (membership aside), and why.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub operations: Vec<GroupOperation>,
    pub reason: String,
}

/// What the engine recorded for a group: its target id and the display name last sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShadow {
    pub target_id: String,
    pub display_name: String,
}

fn group_no_op(reason: &str, why: String) -> GroupPlan {
    GroupPlan {
        operations: vec![GroupOperation::NoOp {
            reason: reason.to_owned(),
        }],
        reason: why,
    }
}

/// Plans one source group with Entra's default group mapping (`displayName→displayName`,
/// `objectId→externalId`): `group` is the SCIM Group, `None` when deleted in the source;
/// `in_scope` whether the app provisions it (assigned, or scope all, and group mapping on).
pub fn plan_group(
    group: Option<&Value>,
    in_scope: bool,
    shadow: Option<&GroupShadow>,
) -> GroupPlan {
    let live = group.filter(|_| in_scope);
    match (live, shadow) {
        (None, Some(s)) => GroupPlan {
            operations: vec![GroupOperation::Delete {
                target_id: s.target_id.clone(),
            }],
            reason: format!(
                "{}: delete target group {}",
                if group.is_none() {
                    "deleted in the source"
                } else {
                    "out of scope"
                },
                s.target_id
            ),
        },
        (None, None) => group_no_op(
            "NotInScope",
            "out of scope or deleted; never provisioned: nothing to send".to_owned(),
        ),
        (Some(g), shadow) => {
            let Some(name) = g
                .get("displayName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return group_no_op(
                    "ImportSkipped",
                    "in scope; no displayName to match on".to_owned(),
                );
            };
            match shadow {
                Some(s) if s.display_name == name => group_no_op(
                    "RedundantExport",
                    format!("in scope; target group {} already matches", s.target_id),
                ),
                Some(s) => GroupPlan {
                    operations: vec![GroupOperation::Update {
                        target_id: s.target_id.clone(),
                        operations: vec![
                            json!({"op": "Replace", "path": "displayName", "value": name}),
                        ],
                    }],
                    reason: format!(
                        "in scope; rename target group {} from \"{}\" to \"{name}\"",
                        s.target_id, s.display_name
                    ),
                },
                None => {
                    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
                    if let (Some(id), Some(b)) = (g.get("id"), body.as_object_mut()) {
                        b.insert("externalId".to_owned(), id.clone());
                    }
                    GroupPlan {
                        operations: vec![GroupOperation::MatchOrCreate {
                            display_name: name.to_owned(),
                            body,
                        }],
                        reason: format!(
                            "in scope; match on displayName eq \"{name}\", else create the group"
                        ),
                    }
                }
            }
        }
    }
}
