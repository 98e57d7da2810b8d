//! Dynamic groups on PostgreSQL: rules kept in `dynamic_rules` beside their group, evaluated
//! inside every user write's transaction, and recomputed over all users in cursor steps.
//!
//! Invariant: a user write and the dynamic memberships it implies (with the groups' versions and
//! change-log entries) are one transaction; a group's rule and the reset of its cursor likewise.
//! Invariant: the compiled rules a writer uses are the ones committed, whichever replica changed
//! them: each tenant's `rules_gen` changes (to a random value) with every rule change, and is
//! read on every use of the cache.
//!
//! Not serialised across replicas (SQLite's single writer rules both out): a user write that
//! commits while another replica changes a rule keeps the memberships that the rules it read
//! imply; and a recomputation step that evaluated a user just before a write of that user
//! committed may undo what the write decided. The user's next write, or the next
//! recomputation of the group, puts either right.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use domain::dynamic::{self, RecomputeStep, RuleSet, RuleState};
use domain::storage::encode::{kind_from_sql, limit_to_sql, parse_body};
use domain::storage::resources::not_found;
use domain::{Error, Member, ResourceKind, Result};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::convert::PgResult;
use crate::db::{Conn, Tx};
use crate::resources::members::{self, Refs};

/// Each tenant's compiled rules, with the `rules_gen` they were compiled at.
#[derive(Default)]
pub(crate) struct RulesCache {
    tenants: Mutex<Compiled>,
}

/// Tenant id → (`rules_gen`, its rules).
type Compiled = HashMap<String, (i64, Arc<RuleSet>)>;

impl RulesCache {
    /// The tenant's rules as committed (or written earlier in this transaction).
    async fn get(&self, conn: &Conn<'_>, tenant_id: &str) -> Result<Arc<RuleSet>> {
        let gen: i64 = match conn
            .query_opt("SELECT rules_gen FROM tenants WHERE id = $1", &[&tenant_id])
            .await
            .pg()?
        {
            Some(row) => row.try_get(0).pg()?,
            None => 0,
        };
        if let Some((cached, rules)) = self.lock()?.get(tenant_id) {
            if *cached == gen {
                return Ok(Arc::clone(rules));
            }
        }
        // 0: no rule was ever written in this tenant.
        let rows = if gen == 0 {
            Vec::new()
        } else {
            conn.query(
                "SELECT d.group_seq, r.id, d.rule FROM dynamic_rules d
                 JOIN resources r ON r.seq = d.group_seq WHERE d.tenant_id = $1",
                &[&tenant_id],
            )
            .await
            .pg()?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0).pg()?,
                    row.try_get(1).pg()?,
                    row.try_get(2).pg()?,
                ))
            })
            .collect::<Result<Vec<(i64, String, String)>>>()?
        };
        let rules = Arc::new(RuleSet::compile(rows));
        // Another call may have compiled a newer generation meanwhile; the generation is
        // checked on every use, so whichever lands here last is only ever a cache miss.
        self.lock()?
            .insert(tenant_id.to_owned(), (gen, Arc::clone(&rules)));
        Ok(rules)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Compiled>> {
        self.tenants
            .lock()
            .map_err(|_| Error::Internal("the rules cache lock is poisoned".into()))
    }
}

/// Marks the tenant's rules as changed.
async fn bump_generation(conn: &Conn<'_>, tenant_id: &str) -> Result<()> {
    let (high, _) = uuid::Uuid::new_v4().as_u64_pair();
    // Never 0, which means "no rule ever".
    let gen = i64::from_ne_bytes(high.to_ne_bytes()) | 1;
    conn.execute(
        "UPDATE tenants SET rules_gen = $2 WHERE id = $1",
        &[&tenant_id, &gen],
    )
    .await
    .pg()?;
    Ok(())
}

/// After a user was created or replaced (in the same transaction): puts it into the dynamic
/// groups whose rule it matches and takes it out of the others.
pub(crate) async fn user_written(
    tx: &Tx<'_>,
    rules: &RulesCache,
    tenant_id: &str,
    user: (i64, &str),
    body: &Map<String, Value>,
    now: Timestamp,
) -> Result<()> {
    let conn = tx.conn();
    let set = rules.get(&conn, tenant_id).await?;
    if set.is_empty() {
        return Ok(());
    }
    let (user_seq, user_id) = user;
    // The user's groups, for rules that read them, and its current dynamic memberships.
    let rows = conn
        .query(
            "SELECT m.group_seq, g.id, g.kind, g.display FROM memberships m
             JOIN resources g ON g.seq = m.group_seq
             WHERE m.tenant_id = $1 AND m.member_seq = $2 ORDER BY m.pos",
            &[&tenant_id, &user_seq],
        )
        .await
        .pg()?;
    let mut current = HashSet::new();
    let mut groups = Vec::with_capacity(rows.len());
    for row in &rows {
        let group_seq: i64 = row.try_get(0).pg()?;
        if set.contains(group_seq) {
            current.insert(group_seq);
        }
        groups.push(Member {
            value: row.try_get(1).pg()?,
            kind: kind_from_sql(row.try_get(2).pg()?)?,
            display: row.try_get(3).pg()?,
        });
    }
    let groups = set.reads_groups().then_some(groups.as_slice());
    let view = dynamic::user_view(user_id, body, groups);
    let wanted: HashSet<i64> = set.matching(&view, now).into_iter().collect();
    let mut add: Vec<i64> = wanted.difference(&current).copied().collect();
    let mut remove: Vec<i64> = current.difference(&wanted).copied().collect();
    add.sort_unstable();
    remove.sort_unstable();
    let mut touched = Vec::new();
    if !add.is_empty() {
        let rows = conn
            .query(
                "INSERT INTO memberships (tenant_id, group_seq, member_seq)
                 SELECT $1, g, $3 FROM unnest($2::bigint[]) AS g
                 ON CONFLICT DO NOTHING RETURNING group_seq",
                &[&tenant_id, &add, &user_seq],
            )
            .await
            .pg()?;
        for row in &rows {
            touched.push(row.try_get(0).pg()?);
        }
    }
    if !remove.is_empty() {
        let rows = conn
            .query(
                "DELETE FROM memberships
                 WHERE tenant_id = $1 AND member_seq = $3 AND group_seq = ANY($2)
                 RETURNING group_seq",
                &[&tenant_id, &remove, &user_seq],
            )
            .await
            .pg()?;
        for row in &rows {
            touched.push(row.try_get(0).pg()?);
        }
    }
    members::touch_groups(tx, tenant_id, &touched, now).await
}

/// After a group was created or replaced (in the same transaction): records a new, changed or
/// removed rule. A new or changed rule restarts the recomputation from the first user (see
/// [`recompute_step`]); a group that becomes dynamic loses its group members (rules match
/// users only). A removed rule leaves the members as they are, now static.
pub(crate) async fn group_written(
    tx: &Tx<'_>,
    tenant_id: &str,
    group_seq: i64,
    body: &Map<String, Value>,
) -> Result<()> {
    let conn = tx.conn();
    let changed = match dynamic::rule_text(body) {
        Some(rule) => {
            // Inserts a new rule or changes a different one; an equal one is left alone.
            let changed = conn
                .execute(
                    "INSERT INTO dynamic_rules (group_seq, tenant_id, rule, cursor)
                     VALUES ($2, $1, $3, 0)
                     ON CONFLICT (group_seq) DO UPDATE SET rule = excluded.rule, cursor = 0
                     WHERE dynamic_rules.rule <> excluded.rule",
                    &[&tenant_id, &group_seq, &rule],
                )
                .await
                .pg()?
                > 0;
            if changed {
                conn.execute(
                    "DELETE FROM memberships m USING resources r
                     WHERE m.tenant_id = $1 AND m.group_seq = $2
                     AND r.seq = m.member_seq AND r.kind = 'Group'",
                    &[&tenant_id, &group_seq],
                )
                .await
                .pg()?;
            }
            changed
        }
        None => forget_rule(&conn, tenant_id, group_seq).await?,
    };
    if changed {
        bump_generation(&conn, tenant_id).await?;
    }
    Ok(())
}

/// Deletes the group's rule, if it has one; whether it had.
async fn forget_rule(conn: &Conn<'_>, tenant_id: &str, group_seq: i64) -> Result<bool> {
    let removed = conn
        .execute(
            "DELETE FROM dynamic_rules WHERE tenant_id = $1 AND group_seq = $2",
            &[&tenant_id, &group_seq],
        )
        .await
        .pg()?;
    Ok(removed > 0)
}

/// Before a group is deleted: forgets its rule (the row would go by cascade, but the cached
/// rules must learn of it).
pub(crate) async fn group_deleted(tx: &Tx<'_>, tenant_id: &str, group_seq: i64) -> Result<()> {
    let conn = tx.conn();
    if forget_rule(&conn, tenant_id, group_seq).await? {
        bump_generation(&conn, tenant_id).await?;
    }
    Ok(())
}

/// A group's row number, and its rule and cursor if it is dynamic.
type RuleRow = (i64, Option<String>, Option<i64>);

async fn rule_row(conn: &Conn<'_>, tenant_id: &str, group_id: &str) -> Result<Option<RuleRow>> {
    let row = conn
        .query_opt(
            "SELECT r.seq, d.rule, d.cursor FROM resources r
             LEFT JOIN dynamic_rules d ON d.group_seq = r.seq
             WHERE r.tenant_id = $1 AND r.kind = 'Group' AND r.id = $2",
            &[&tenant_id, &group_id],
        )
        .await
        .pg()?;
    row.map(|row| {
        Ok((
            row.try_get(0).pg()?,
            row.try_get(1).pg()?,
            row.try_get(2).pg()?,
        ))
    })
    .transpose()
}

/// One step of a recomputation: see `Store::recompute_dynamic_group`. Reads the step's users,
/// their memberships of the group (and their groups, for a rule that reads them) in one
/// statement each, and writes the difference in one statement each way.
pub(crate) async fn recompute_step(
    tx: &Tx<'_>,
    tenant_id: &str,
    group_id: &str,
    limit: usize,
    now: Timestamp,
) -> Result<RecomputeStep> {
    let conn = tx.conn();
    let (group_seq, rule, cursor) = rule_row(&conn, tenant_id, group_id)
        .await?
        .ok_or_else(|| not_found(ResourceKind::Group, group_id))?;
    let (Some(rule), Some(cursor)) = (rule, cursor) else {
        return Ok(RecomputeStep {
            done: true,
            ..RecomputeStep::default()
        });
    };
    let rule = dynamic::parse_rule(&rule)?;
    let users = conn
        .query(
            "SELECT seq, id, body FROM resources WHERE tenant_id = $1 AND kind = 'User'
             AND seq > $2 ORDER BY seq LIMIT $3",
            &[&tenant_id, &cursor, &limit_to_sql(limit)],
        )
        .await
        .pg()?;
    let users = users
        .iter()
        .map(|row| {
            let seq: i64 = row.try_get(0).pg()?;
            let id: String = row.try_get(1).pg()?;
            let body = parse_body(&id, row.try_get(2).pg()?)?;
            Ok((seq, id, body))
        })
        .collect::<Result<Vec<_>>>()?;
    let last = users.last().map_or(cursor, |(seq, _, _)| *seq);
    let members: HashSet<i64> = conn
        .query(
            "SELECT member_seq FROM memberships
             WHERE tenant_id = $1 AND group_seq = $2 AND member_seq > $3 AND member_seq <= $4",
            &[&tenant_id, &group_seq, &cursor, &last],
        )
        .await
        .pg()?
        .iter()
        .map(|row| row.try_get(0).pg())
        .collect::<Result<_>>()?;
    let mut groups = if dynamic::reads_groups(&rule) {
        let seqs: Vec<i64> = users.iter().map(|(seq, _, _)| *seq).collect();
        Some(members::refs_of(&conn, tenant_id, Refs::Groups, &seqs).await?)
    } else {
        None
    };
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for (seq, id, body) in &users {
        let user_groups = groups
            .as_mut()
            .map(|groups| groups.remove(seq).unwrap_or_default());
        let matches = rule.evaluate(&dynamic::user_view(id, body, user_groups.as_deref()), now);
        let member = members.contains(seq);
        if matches && !member {
            add.push(*seq);
        } else if !matches && member {
            remove.push(*seq);
        }
    }
    let mut step = RecomputeStep {
        evaluated: u64::try_from(users.len()).unwrap_or(u64::MAX),
        added: members::insert(&conn, tenant_id, group_seq, &add).await?,
        removed: 0,
        done: users.len() < limit,
    };
    if !remove.is_empty() {
        step.removed = conn
            .execute(
                "DELETE FROM memberships
                 WHERE tenant_id = $1 AND group_seq = $2 AND member_seq = ANY($3)",
                &[&tenant_id, &group_seq, &remove],
            )
            .await
            .pg()?;
    }
    let next = (!step.done).then_some(last);
    conn.execute(
        "UPDATE dynamic_rules SET cursor = $3 WHERE tenant_id = $1 AND group_seq = $2",
        &[&tenant_id, &group_seq, &next],
    )
    .await
    .pg()?;
    if step.added + step.removed > 0 {
        members::touch_groups(tx, tenant_id, &[group_seq], now).await?;
    }
    Ok(step)
}

pub(crate) async fn pending(conn: &Conn<'_>) -> Result<Vec<(String, String)>> {
    conn.query(
        "SELECT d.tenant_id, r.id FROM dynamic_rules d JOIN resources r ON r.seq = d.group_seq
         WHERE d.cursor IS NOT NULL ORDER BY d.group_seq",
        &[],
    )
    .await
    .pg()?
    .iter()
    .map(|row| Ok((row.try_get(0).pg()?, row.try_get(1).pg()?)))
    .collect()
}

pub(crate) async fn state(
    conn: &Conn<'_>,
    tenant_id: &str,
    group_id: &str,
) -> Result<Option<RuleState>> {
    let Some((_, Some(rule), cursor)) = rule_row(conn, tenant_id, group_id).await? else {
        return Ok(None);
    };
    let processing = match cursor {
        None => None,
        Some(cursor) => {
            let row = conn
                .query_one(
                    "SELECT COUNT(*) FILTER (WHERE seq <= $2), COUNT(*) FROM resources
                     WHERE tenant_id = $1 AND kind = 'User'",
                    &[&tenant_id, &cursor],
                )
                .await
                .pg()?;
            let (done, total): (i64, i64) = (row.try_get(0).pg()?, row.try_get(1).pg()?);
            Some((
                u64::try_from(done).unwrap_or(0),
                u64::try_from(total).unwrap_or(0),
            ))
        }
    };
    Ok(Some(RuleState { rule, processing }))
}
