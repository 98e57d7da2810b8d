//! Dynamic groups in SQLite: rules kept in `dynamic_rules` beside their group, evaluated inside
//! every user write's savepoint, and recomputed over all users in cursor steps.
//!
//! Invariant: a user write and the dynamic memberships it implies (with the groups' versions and
//! change-log entries) are one savepoint; a group's rule and the reset of its cursor likewise.
//! Invariant: the compiled rules a writer caches are the ones committed: each tenant's
//! `rules_gen` changes (to a random value) with every rule change and is checked on every use.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use domain::dynamic::{self, RecomputeStep, RuleSet, RuleState};
use domain::storage::encode::{limit_to_sql, parse_body, ts_to_sql, version_from_sql};
use domain::storage::resources::not_found;
use domain::{ChangeOp, Error, ResourceKind, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::changes;
use crate::convert::SqlResult;
use crate::resources::groups_of;

/// Each tenant's compiled rules, with the `rules_gen` they were compiled at.
#[derive(Default)]
pub(crate) struct RulesCache {
    tenants: Mutex<HashMap<String, (i64, Arc<RuleSet>)>>,
}

impl RulesCache {
    /// The tenant's rules as committed (or written earlier in this transaction).
    fn get(&self, conn: &Connection, tenant_id: &str) -> Result<Arc<RuleSet>> {
        let gen: i64 = conn
            .prepare_cached("SELECT rules_gen FROM tenants WHERE id = ?1")
            .sql()?
            .query_row([tenant_id], |r| r.get(0))
            .optional()
            .sql()?
            .unwrap_or(0);
        let mut tenants = self
            .tenants
            .lock()
            .map_err(|_| Error::Internal("the rules cache lock is poisoned".into()))?;
        if let Some((cached, rules)) = tenants.get(tenant_id) {
            if *cached == gen {
                return Ok(Arc::clone(rules));
            }
        }
        let rows = if gen == 0 {
            Vec::new()
        } else {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT d.group_seq, r.id, d.rule FROM dynamic_rules d
                     JOIN resources r ON r.seq = d.group_seq WHERE d.tenant_id = ?1",
                )
                .sql()?;
            let rows = stmt
                .query_map([tenant_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .sql()?;
            rows.collect::<rusqlite::Result<Vec<(i64, String, String)>>>()
                .sql()?
        };
        let rules = Arc::new(RuleSet::compile(rows));
        tenants.insert(tenant_id.to_owned(), (gen, Arc::clone(&rules)));
        Ok(rules)
    }
}

/// Marks the tenant's rules as changed.
fn bump_generation(conn: &Connection, tenant_id: &str) -> Result<()> {
    let (high, _) = uuid::Uuid::new_v4().as_u64_pair();
    let gen = i64::from_ne_bytes(high.to_ne_bytes());
    conn.prepare_cached("UPDATE tenants SET rules_gen = ?2 WHERE id = ?1")
        .sql()?
        .execute(params![tenant_id, gen])
        .sql()?;
    Ok(())
}

/// A group whose membership changed outside a write of its own gets a new version and a
/// change-log entry, so that apps provisioning it look again.
fn touch_group(conn: &Connection, tenant_id: &str, group_seq: i64, now: Timestamp) -> Result<()> {
    let (id, version): (String, i64) = conn
        .prepare_cached(
            "UPDATE resources SET version = version + 1, last_modified = ?2 WHERE seq = ?1
             RETURNING id, version",
        )
        .sql()?
        .query_row(params![group_seq, ts_to_sql(now)?], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .sql()?;
    changes::append(
        conn,
        tenant_id,
        ResourceKind::Group,
        &id,
        ChangeOp::Updated,
        version_from_sql(version)?,
        now,
    )
}

fn add_row(conn: &Connection, tenant_id: &str, group_seq: i64, user_seq: i64) -> Result<usize> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO memberships (tenant_id, group_seq, member_seq) VALUES (?1, ?2, ?3)",
    )
    .sql()?
    .execute(params![tenant_id, group_seq, user_seq])
    .sql()
}

fn remove_row(conn: &Connection, group_seq: i64, user_seq: i64) -> Result<usize> {
    conn.prepare_cached("DELETE FROM memberships WHERE group_seq = ?1 AND member_seq = ?2")
        .sql()?
        .execute(params![group_seq, user_seq])
        .sql()
}

/// After a user was created or replaced (in the same savepoint): puts it into the dynamic groups
/// whose rule it matches and takes it out of the others.
pub(crate) fn user_written(
    conn: &Connection,
    rules: &RulesCache,
    tenant_id: &str,
    user: (i64, &str),
    body: &Map<String, Value>,
    now: Timestamp,
) -> Result<()> {
    let set = rules.get(conn, tenant_id)?;
    if set.is_empty() {
        return Ok(());
    }
    let (user_seq, user_id) = user;
    let groups = set
        .reads_groups()
        .then(|| groups_of(conn, user_seq))
        .transpose()?;
    let view = dynamic::user_view(user_id, body, groups.as_deref());
    let wanted: HashSet<i64> = set.matching(&view, now).into_iter().collect();
    let current: HashSet<i64> = {
        let mut stmt = conn
            .prepare_cached("SELECT group_seq FROM memberships WHERE member_seq = ?1")
            .sql()?;
        let rows = stmt.query_map([user_seq], |r| r.get(0)).sql()?;
        rows.collect::<rusqlite::Result<Vec<i64>>>()
            .sql()?
            .into_iter()
            .filter(|g| set.contains(*g))
            .collect()
    };
    let mut touched: Vec<i64> = Vec::new();
    for group_seq in wanted.difference(&current) {
        if add_row(conn, tenant_id, *group_seq, user_seq)? > 0 {
            touched.push(*group_seq);
        }
    }
    for group_seq in current.difference(&wanted) {
        if remove_row(conn, *group_seq, user_seq)? > 0 {
            touched.push(*group_seq);
        }
    }
    touched.sort_unstable();
    for group_seq in touched {
        touch_group(conn, tenant_id, group_seq, now)?;
    }
    Ok(())
}

/// After a group was created or replaced (in the same savepoint): records a new, changed or
/// removed rule. A new or changed rule restarts the recomputation from the first user (see
/// [`recompute_step`]); a group that becomes dynamic loses its group members (rules match
/// users only). A removed rule leaves the members as they are, now static.
pub(crate) fn group_written(
    conn: &Connection,
    tenant_id: &str,
    group_seq: i64,
    body: &Map<String, Value>,
) -> Result<()> {
    let new = dynamic::rule_text(body);
    let old: Option<String> = conn
        .prepare_cached("SELECT rule FROM dynamic_rules WHERE group_seq = ?1")
        .sql()?
        .query_row([group_seq], |r| r.get(0))
        .optional()
        .sql()?;
    if old.as_deref() == new {
        return Ok(());
    }
    match new {
        Some(rule) => {
            conn.prepare_cached(
                "INSERT INTO dynamic_rules (group_seq, tenant_id, rule, cursor)
                 VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT (group_seq) DO UPDATE SET rule = excluded.rule, cursor = 0",
            )
            .sql()?
            .execute(params![group_seq, tenant_id, rule])
            .sql()?;
            conn.prepare_cached(
                "DELETE FROM memberships WHERE group_seq = ?1
                 AND member_seq IN (SELECT seq FROM resources WHERE kind = 'Group')",
            )
            .sql()?
            .execute([group_seq])
            .sql()?;
        }
        None => {
            conn.prepare_cached("DELETE FROM dynamic_rules WHERE group_seq = ?1")
                .sql()?
                .execute([group_seq])
                .sql()?;
        }
    }
    bump_generation(conn, tenant_id)
}

/// Before a group is deleted: forgets its rule (the row would go by cascade, but the cached
/// rules must learn of it).
pub(crate) fn group_deleted(conn: &Connection, tenant_id: &str, group_seq: i64) -> Result<()> {
    let removed = conn
        .prepare_cached("DELETE FROM dynamic_rules WHERE group_seq = ?1")
        .sql()?
        .execute([group_seq])
        .sql()?;
    if removed > 0 {
        bump_generation(conn, tenant_id)?;
    }
    Ok(())
}

/// A group's row number, and its rule and cursor if it is dynamic.
type RuleRow = (i64, Option<String>, Option<i64>);

fn rule_row(conn: &Connection, tenant_id: &str, group_id: &str) -> Result<Option<RuleRow>> {
    conn.prepare_cached(
        "SELECT r.seq, d.rule, d.cursor FROM resources r
         LEFT JOIN dynamic_rules d ON d.group_seq = r.seq
         WHERE r.tenant_id = ?1 AND r.kind = 'Group' AND r.id = ?2",
    )
    .sql()?
    .query_row([tenant_id, group_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .optional()
    .sql()
}

/// One step of a recomputation: see `Store::recompute_dynamic_group`.
pub(crate) fn recompute_step(
    conn: &Connection,
    tenant_id: &str,
    group_id: &str,
    limit: usize,
    now: Timestamp,
) -> Result<RecomputeStep> {
    let (group_seq, rule, cursor) = rule_row(conn, tenant_id, group_id)?
        .ok_or_else(|| not_found(ResourceKind::Group, group_id))?;
    let (Some(rule), Some(cursor)) = (rule, cursor) else {
        return Ok(RecomputeStep {
            done: true,
            ..RecomputeStep::default()
        });
    };
    let rule = dynamic::parse_rule(&rule)?;
    let with_groups = dynamic::reads_groups(&rule);
    let users: Vec<(i64, String, String)> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, body FROM resources WHERE tenant_id = ?1 AND kind = 'User'
                 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .sql()?;
        let rows = stmt
            .query_map(params![tenant_id, cursor, limit_to_sql(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()?
    };
    let last = users.last().map_or(cursor, |(seq, _, _)| *seq);
    let members: HashSet<i64> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT member_seq FROM memberships
                 WHERE group_seq = ?1 AND member_seq > ?2 AND member_seq <= ?3",
            )
            .sql()?;
        let rows = stmt
            .query_map(params![group_seq, cursor, last], |r| r.get(0))
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()?
    };
    let mut step = RecomputeStep {
        evaluated: u64::try_from(users.len()).unwrap_or(u64::MAX),
        done: users.len() < limit,
        ..RecomputeStep::default()
    };
    for (seq, id, body) in &users {
        let body = parse_body(id, body)?;
        let groups = with_groups.then(|| groups_of(conn, *seq)).transpose()?;
        let matches = rule.evaluate(&dynamic::user_view(id, &body, groups.as_deref()), now);
        let member = members.contains(seq);
        if matches && !member {
            step.added += u64::try_from(add_row(conn, tenant_id, group_seq, *seq)?).unwrap_or(0);
        } else if !matches && member {
            step.removed += u64::try_from(remove_row(conn, group_seq, *seq)?).unwrap_or(0);
        }
    }
    let next = (!step.done).then_some(last);
    conn.prepare_cached("UPDATE dynamic_rules SET cursor = ?2 WHERE group_seq = ?1")
        .sql()?
        .execute(params![group_seq, next])
        .sql()?;
    if step.added + step.removed > 0 {
        touch_group(conn, tenant_id, group_seq, now)?;
    }
    Ok(step)
}

pub(crate) fn pending(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT d.tenant_id, r.id FROM dynamic_rules d JOIN resources r ON r.seq = d.group_seq
             WHERE d.cursor IS NOT NULL ORDER BY d.group_seq",
        )
        .sql()?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).sql()?;
    rows.collect::<rusqlite::Result<_>>().sql()
}

pub(crate) fn state(
    conn: &Connection,
    tenant_id: &str,
    group_id: &str,
) -> Result<Option<RuleState>> {
    let Some((_, Some(rule), cursor)) = rule_row(conn, tenant_id, group_id)? else {
        return Ok(None);
    };
    let processing = match cursor {
        None => None,
        Some(cursor) => {
            let (done, total): (i64, i64) = conn
                .prepare_cached(
                    "SELECT COUNT(*) FILTER (WHERE seq <= ?2), COUNT(*) FROM resources
                     WHERE tenant_id = ?1 AND kind = 'User'",
                )
                .sql()?
                .query_row(params![tenant_id, cursor], |r| Ok((r.get(0)?, r.get(1)?)))
                .sql()?;
            Some((
                u64::try_from(done).unwrap_or(0),
                u64::try_from(total).unwrap_or(0),
            ))
        }
    };
    Ok(Some(RuleState { rule, processing }))
}
