//! Membership rows: a write's `MembersChange` applied in a few set-based statements, members and
//! groups read for many resources in one statement, and the version bump of groups whose
//! membership changed without a write of their own.
//!
//! Invariant: a membership change touches only the rows it adds or removes, never the whole list
//! (adding one member to a group of 100,000 costs what it costs for a group of 10).
//! Invariant: lists are read in `pos` order, which is insertion order.
//! Invariant: several groups are locked in `seq` order ([`touch_groups`]), so that two writes
//! bumping overlapping groups on different replicas wait for each other instead of deadlocking.

use std::collections::{HashMap, HashSet};

use domain::storage::encode::{kind_from_sql, ts_to_sql, version_from_sql};
use domain::storage::resources::loads_list;
use domain::{ChangeOp, Error, Load, Member, MembersChange, ResourceKind, Result};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::convert::PgResult;
use crate::db::{Conn, Tx};

/// The group whose memberships a write changes.
pub(crate) struct GroupRef<'a> {
    pub(crate) tenant_id: &'a str,
    pub(crate) seq: i64,
    pub(crate) id: &'a str,
}

/// Which side of the memberships a read follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refs {
    /// A group's direct members.
    Members,
    /// The groups a resource belongs to directly.
    Groups,
}

impl Refs {
    /// The list resources of `kind` carry: a group's members, a user's groups.
    pub(crate) fn of(kind: ResourceKind) -> Refs {
        match kind {
            ResourceKind::Group => Refs::Members,
            ResourceKind::User => Refs::Groups,
        }
    }

    /// What `load` asks for on resources of `kind`.
    pub(crate) fn wanted(kind: ResourceKind, load: Load) -> Option<Refs> {
        loads_list(kind, load).then(|| Refs::of(kind))
    }

    /// The membership columns naming (the resource whose list it is, the resource listed).
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Refs::Members => ("group_seq", "member_seq"),
            Refs::Groups => ("member_seq", "group_seq"),
        }
    }

    /// A scalar subquery: the list of the resource whose seq is `owner` (an SQL expression),
    /// as JSON text `[[id, kind, display], …]` for [`from_json`].
    pub(crate) fn json_of(self, owner: &str) -> String {
        let (mine, theirs) = self.columns();
        format!(
            "SELECT COALESCE(json_agg(json_build_array(o.id, o.kind, o.display) ORDER BY m.pos),
                             '[]')::text
             FROM memberships m JOIN resources o ON o.seq = m.{theirs}
             WHERE m.{mine} = {owner}"
        )
    }
}

/// Parses what [`Refs::json_of`] gives; `owner` names the resource in an error.
pub(crate) fn from_json(owner: &str, json: &str) -> Result<Vec<Member>> {
    let rows: Vec<(String, String, Option<String>)> = serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("members or groups of `{owner}`: {e}")))?;
    rows.into_iter()
        .map(|(value, kind, display)| {
            Ok(Member {
                value,
                kind: kind_from_sql(&kind)?,
                display,
            })
        })
        .collect()
}

/// A reference from columns `at`, `at + 1`, `at + 2`: id, kind, display.
fn member_at(row: &Row, at: usize) -> Result<Member> {
    Ok(Member {
        value: row.try_get(at).pg()?,
        kind: kind_from_sql(row.try_get(at + 1).pg()?)?,
        display: row.try_get(at + 2).pg()?,
    })
}

/// The lists of the resources `seqs`, each in insertion order; a resource with an empty list
/// has no entry.
pub(crate) async fn refs_of(
    conn: &Conn<'_>,
    tenant_id: &str,
    refs: Refs,
    seqs: &[i64],
) -> Result<HashMap<i64, Vec<Member>>> {
    let mut lists: HashMap<i64, Vec<Member>> = HashMap::new();
    if seqs.is_empty() {
        return Ok(lists);
    }
    let (mine, theirs) = refs.columns();
    let sql = format!(
        "SELECT m.{mine}, o.id, o.kind, o.display
         FROM memberships m JOIN resources o ON o.seq = m.{theirs}
         WHERE m.tenant_id = $1 AND m.{mine} = ANY($2)
         ORDER BY m.pos"
    );
    for row in conn.query(&sql, &[&tenant_id, &seqs]).await.pg()? {
        let owner: i64 = row.try_get(0).pg()?;
        lists.entry(owner).or_default().push(member_at(&row, 1)?);
    }
    Ok(lists)
}

/// A group's direct members, in the order they were added.
pub(crate) async fn members_of(
    conn: &Conn<'_>,
    tenant_id: &str,
    group_seq: i64,
) -> Result<Vec<Member>> {
    let mut lists = refs_of(conn, tenant_id, Refs::Members, &[group_seq]).await?;
    Ok(lists.remove(&group_seq).unwrap_or_default())
}

/// The members (a group) or groups (a user) of one resource, if `load` asks for them.
pub(crate) async fn loaded(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    load: Load,
    seq: i64,
) -> Result<Option<Vec<Member>>> {
    let Some(wanted) = Refs::wanted(kind, load) else {
        return Ok(None);
    };
    let mut lists = refs_of(conn, tenant_id, wanted, &[seq]).await?;
    Ok(Some(lists.remove(&seq).unwrap_or_default()))
}

/// Applies a membership change to the rows of `group`; returns how many rows it added or
/// removed. `fresh`: the group was just created, so it has no rows yet.
pub(crate) async fn apply(
    conn: &Conn<'_>,
    group: &GroupRef<'_>,
    change: &MembersChange,
    fresh: bool,
) -> Result<u64> {
    match change {
        MembersChange::Keep => Ok(0),
        MembersChange::Set(ids) => {
            check_not_self(group, ids)?;
            let seqs = resolve(conn, group, ids).await?;
            let mut changed = 0;
            if !fresh {
                // Keep the rows (and their order) of members that stay; drop the others.
                changed += conn
                    .execute(
                        "DELETE FROM memberships
                         WHERE tenant_id = $1 AND group_seq = $2 AND member_seq <> ALL($3)",
                        &[&group.tenant_id, &group.seq, &seqs],
                    )
                    .await
                    .pg()?;
            }
            Ok(changed + insert(conn, group.tenant_id, group.seq, &seqs).await?)
        }
        MembersChange::Delta { add, remove } => {
            check_not_self(group, add)?;
            let removed = remove_ids(conn, group, remove).await?;
            let seqs = resolve(conn, group, add).await?;
            Ok(removed + insert(conn, group.tenant_id, group.seq, &seqs).await?)
        }
    }
}

fn check_not_self(group: &GroupRef<'_>, ids: &[String]) -> Result<()> {
    match ids.iter().find(|id| *id == group.id) {
        Some(id) => Err(Error::InvalidValue(format!(
            "group `{id}` cannot be a member of itself"
        ))),
        None => Ok(()),
    }
}

/// The rows of the users and groups of this tenant named by `ids`, each once, in the order of
/// its first mention.
///
/// A member id that is no user or group of the tenant is skipped, not refused: SCIM clients
/// (scim-sanity's probe, Okta's group push ahead of its user push) add members this directory
/// does not hold and expect 200. The response shows the members that really are there.
async fn resolve(conn: &Conn<'_>, group: &GroupRef<'_>, ids: &[String]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = conn
        .query(
            "SELECT t.id, r.seq FROM unnest($2::text[]) WITH ORDINALITY AS t(id, ord)
             LEFT JOIN resources r
                 ON r.tenant_id = $1 AND r.kind IN ('User', 'Group') AND r.id = t.id
             ORDER BY t.ord",
            &[&group.tenant_id, &ids],
        )
        .await
        .pg()?;
    let mut seen = HashSet::new();
    let mut seqs = Vec::with_capacity(rows.len());
    for row in &rows {
        match row.try_get::<_, Option<i64>>(1).pg()? {
            Some(seq) if seen.insert(seq) => seqs.push(seq),
            Some(_) => {}
            None => tracing::warn!(
                group = group.id,
                member = row.try_get::<_, &str>(0).pg()?,
                "skipped a member that is not a user or group of this tenant"
            ),
        }
    }
    Ok(seqs)
}

/// Adds the members `seqs` to a group, in that order; present ones stay where they are.
/// Returns how many rows were added.
pub(crate) async fn insert(
    conn: &Conn<'_>,
    tenant_id: &str,
    group_seq: i64,
    seqs: &[i64],
) -> Result<u64> {
    if seqs.is_empty() {
        return Ok(0);
    }
    conn.execute(
        "INSERT INTO memberships (tenant_id, group_seq, member_seq)
         SELECT $1, $2, t.seq FROM unnest($3::bigint[]) WITH ORDINALITY AS t(seq, ord)
         ORDER BY t.ord
         ON CONFLICT DO NOTHING",
        &[&tenant_id, &group_seq, &seqs],
    )
    .await
    .pg()
}

/// Removing an absent member (or an unknown id) is a no-op.
async fn remove_ids(conn: &Conn<'_>, group: &GroupRef<'_>, ids: &[String]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    conn.execute(
        "DELETE FROM memberships WHERE tenant_id = $1 AND group_seq = $2 AND member_seq IN
             (SELECT seq FROM resources
              WHERE tenant_id = $1 AND kind IN ('User', 'Group') AND id = ANY($3))",
        &[&group.tenant_id, &group.seq, &ids],
    )
    .await
    .pg()
}

/// Groups whose membership changed outside a write of their own get a new version and a
/// change-log entry each (in `seq` order), so that apps provisioning them look again.
pub(crate) async fn touch_groups(
    tx: &Tx<'_>,
    tenant_id: &str,
    group_seqs: &[i64],
    now: Timestamp,
) -> Result<()> {
    if group_seqs.is_empty() {
        return Ok(());
    }
    let rows = tx
        .conn()
        .query(
            "UPDATE resources r SET version = r.version + 1, last_modified = $3
             FROM (SELECT seq FROM resources
                   WHERE tenant_id = $1 AND kind = 'Group' AND seq = ANY($2)
                   ORDER BY seq FOR NO KEY UPDATE) AS locked
             WHERE r.seq = locked.seq
             RETURNING r.seq, r.id, r.version",
            &[&tenant_id, &group_seqs, &ts_to_sql(now)?],
        )
        .await
        .pg()?;
    let mut touched = rows
        .iter()
        .map(|row| {
            let seq: i64 = row.try_get(0).pg()?;
            let id: String = row.try_get(1).pg()?;
            Ok((seq, id, version_from_sql(row.try_get(2).pg()?)?))
        })
        .collect::<Result<Vec<_>>>()?;
    touched.sort_unstable_by_key(|(seq, _, _)| *seq);
    for (_, id, version) in &touched {
        tx.change(
            tenant_id,
            ResourceKind::Group,
            id,
            ChangeOp::Updated,
            *version,
            now,
        )?;
    }
    Ok(())
}
