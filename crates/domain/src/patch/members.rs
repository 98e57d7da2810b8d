//! Group membership under PATCH: member ids out of values and filters, and the composition of
//! several operations into one [`MembersChange`].

use scim_filter::{CompValue, CompareOp, Filter};
use serde_json::Value;

use super::parse::get_ci;
use super::PatchOp;
use crate::{Error, MembersChange, Result};

/// True if applying these ops to a group needs its current member list: an op whose path filters
/// `members` by anything other than `value eq "…"` (or an `or` of those), e.g.
/// `members[display eq "x"]`.
pub fn needs_members(ops: &[PatchOp]) -> bool {
    ops.iter().any(|op| {
        op.path.as_ref().is_some_and(|p| {
            p.attr.name.eq_ignore_ascii_case("members")
                && p.attr
                    .uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(scim_proto::GROUP_SCHEMA))
                && p.filter.as_ref().is_some_and(|f| value_eq_ids(f).is_none())
        })
    })
}

/// The ids a filter selects by `value eq "id"` alone (`or` allowed); `None` if it says more.
pub(super) fn value_eq_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(id),
            ..
        } if attr.uri.is_none()
            && attr.sub.is_none()
            && attr.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = value_eq_ids(a)?;
            ids.extend(value_eq_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

/// Member ids out of a PATCH value: `[{"value": id, …}]`, one such object, or bare id strings.
pub(super) fn member_ids(value: &Value, index: usize) -> Result<Vec<String>> {
    let one = |v: &Value| -> Result<String> {
        let id = match v {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
            _ => None,
        };
        match id {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(Error::InvalidValue(format!(
                "a member in Operations[{index}] needs a string `value`"
            ))),
        }
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

impl MembersChange {
    /// Adds `ids` after whatever this change already does.
    pub(super) fn then_add(&mut self, ids: Vec<String>) {
        match self {
            MembersChange::Keep => {
                *self = MembersChange::Delta {
                    add: dedup(ids),
                    remove: Vec::new(),
                }
            }
            MembersChange::Set(set) => push_absent(set, ids),
            MembersChange::Delta { add, remove } => {
                remove.retain(|r| !ids.contains(r));
                push_absent(add, ids);
            }
        }
    }

    /// Removes `ids` after whatever this change already does. A removal cancels an earlier add
    /// and is still recorded, since the id may have been a member before.
    pub(super) fn then_remove(&mut self, ids: Vec<String>) {
        match self {
            MembersChange::Keep => {
                *self = MembersChange::Delta {
                    add: Vec::new(),
                    remove: dedup(ids),
                }
            }
            MembersChange::Set(set) => set.retain(|s| !ids.contains(s)),
            MembersChange::Delta { add, remove } => {
                add.retain(|a| !ids.contains(a));
                push_absent(remove, ids);
            }
        }
    }

    /// Makes the members exactly `ids`, whatever came before.
    pub(super) fn then_set(&mut self, ids: Vec<String>) {
        *self = MembersChange::Set(dedup(ids));
    }

    /// Applies this change to a member list (ids only), to evaluate filters mid-request.
    pub(super) fn applied_to(&self, current: &[String]) -> Vec<String> {
        match self {
            MembersChange::Keep => current.to_vec(),
            MembersChange::Set(set) => set.clone(),
            MembersChange::Delta { add, remove } => {
                let mut ids: Vec<String> = current
                    .iter()
                    .filter(|id| !remove.contains(id))
                    .cloned()
                    .collect();
                push_absent(&mut ids, add.clone());
                ids
            }
        }
    }
}

fn push_absent(list: &mut Vec<String>, ids: Vec<String>) {
    for id in ids {
        if !list.contains(&id) {
            list.push(id);
        }
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(ids.len());
    push_absent(&mut out, ids);
    out
}
