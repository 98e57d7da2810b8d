//! Users and groups: create, read, replace, delete, and membership rows.
//!
//! Invariant: a membership change touches only the rows it adds or removes, never the whole list
//! (adding one member to a group of 100,000 costs what it costs for a group of 10).
//!
//! Each write runs in a savepoint: the writer thread may batch several writes into one
//! transaction, and a failed write must undo exactly its own statements.

use domain::storage::encode::{
    body_to_sql, kind_from_sql, ts_from_sql, ts_to_sql, version_from_sql, version_to_sql,
};
use domain::storage::resources::{
    check_kind, check_version, display_name_taken, loads_list, not_found, split_list,
    user_name_taken, IndexKeys, ResourceRow,
};
use domain::{
    ChangeOp, Error, Load, Member, MembersChange, ResourceKind, Result, StoredResource, Validated,
    Write,
};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::changes;
use crate::convert::{constraint, internal, Constraint, SqlResult};
use crate::dynamic::{self, RulesCache};

/// The columns [`raw_row`] reads, in order.
pub(crate) const COLUMNS: &str = "seq, id, body, created, last_modified, version";

pub(crate) fn raw_row(row: &Row<'_>) -> rusqlite::Result<ResourceRow> {
    Ok(ResourceRow {
        seq: row.get(0)?,
        id: row.get(1)?,
        body: row.get(2)?,
        created: row.get(3)?,
        last_modified: row.get(4)?,
        version: row.get(5)?,
    })
}

/// The stored resource of `raw`, with members or groups loaded as `load` asks.
pub(crate) fn into_resource(
    conn: &Connection,
    raw: ResourceRow,
    kind: ResourceKind,
    load: Load,
) -> Result<StoredResource> {
    let list = loaded(conn, kind, load, raw.seq)?;
    raw.into_resource(kind, list)
}

/// The members (a group) or groups (a user) of the resource `seq`, if `load` asks for them.
fn loaded(
    conn: &Connection,
    kind: ResourceKind,
    load: Load,
    seq: i64,
) -> Result<Option<Vec<Member>>> {
    loads_list(kind, load)
        .then(|| list_of(conn, kind, seq))
        .transpose()
}

/// A group's members or a user's groups.
pub(crate) fn list_of(conn: &Connection, kind: ResourceKind, seq: i64) -> Result<Vec<Member>> {
    match kind {
        ResourceKind::Group => members_of(conn, seq),
        ResourceKind::User => groups_of(conn, seq),
    }
}

/// Maps a violated unique index to the SCIM uniqueness error naming the value.
fn write_error(e: rusqlite::Error, tenant_id: &str, body: &Validated) -> Error {
    match constraint(&e) {
        Some(Constraint::UserName) => user_name_taken(body),
        Some(Constraint::DisplayName) => display_name_taken(body),
        Some(Constraint::ForeignKey) => Error::NotFound(format!("tenant `{tenant_id}` not found")),
        None => internal(e),
    }
}

pub(crate) fn create(
    conn: &mut Connection,
    rules: &RulesCache,
    tenant_id: &str,
    write: Write,
    now: Timestamp,
) -> Result<StoredResource> {
    let kind = write.body.kind();
    check_kind(kind, &write)?;
    let id = uuid::Uuid::new_v4().to_string();
    let body_json = body_to_sql(&write.body)?;
    let cols = IndexKeys::of(&write.body);
    let at = ts_to_sql(now)?;

    let tx = conn.savepoint().sql()?;
    tx.prepare_cached(
        "INSERT INTO resources (tenant_id, kind, id, body, user_name_lc, external_id,
             display_name_lc, display, employee_number_lc, created, last_modified, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1)",
    )
    .sql()?
    .execute(params![
        tenant_id,
        kind.name(),
        id,
        body_json,
        cols.user_name_lc,
        cols.external_id,
        cols.display_name_lc,
        cols.display,
        cols.employee_number_lc,
        at
    ])
    .map_err(|e| write_error(e, tenant_id, &write.body))?;
    let seq = tx.last_insert_rowid();
    insert_emails(&tx, tenant_id, seq, &cols.emails_lc)?;
    let group = GroupRef {
        tenant_id,
        seq,
        id: &id,
    };
    apply_members(&tx, &group, &write.members, true)?;
    changes::append(&tx, tenant_id, kind, &id, ChangeOp::Created, 1, now)?;
    match kind {
        ResourceKind::User => {
            dynamic::user_written(&tx, rules, tenant_id, (seq, &id), write.body.body(), now)?
        }
        ResourceKind::Group => dynamic::group_written(&tx, tenant_id, seq, write.body.body())?,
    }
    let (members, groups) = match kind {
        ResourceKind::Group => (Some(members_of(&tx, seq)?), None),
        ResourceKind::User => (None, Some(Vec::new())),
    };
    tx.commit().sql()?;

    Ok(StoredResource {
        id,
        kind,
        body: write.body.body().clone(),
        created: now,
        last_modified: now,
        version: 1,
        members,
        groups,
    })
}

pub(crate) fn get(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    load: Load,
) -> Result<Option<StoredResource>> {
    if kind == ResourceKind::User && load.groups {
        return get_user_with_groups(conn, tenant_id, id);
    }
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3"
        ))
        .sql()?
        .query_row(params![tenant_id, kind.name(), id], raw_row)
        .optional()
        .sql()?;
    raw.map(|raw| into_resource(conn, raw, kind, load))
        .transpose()
}

/// A user with its groups in ONE statement: GET /Users/{id} is the hottest read, and each
/// statement is a read transaction of its own.
fn get_user_with_groups(
    conn: &Connection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<StoredResource>> {
    let row = conn
        .prepare_cached(
            "SELECT r.seq, r.id, r.body, r.created, r.last_modified, r.version,
                (SELECT json_group_array(json_array(g.id, g.kind, g.display)) FROM
                    (SELECT g.id, g.kind, g.display FROM memberships m
                     JOIN resources g ON g.seq = m.group_seq
                     WHERE m.member_seq = r.seq ORDER BY m.rowid) AS g)
             FROM resources r WHERE r.tenant_id = ?1 AND r.kind = 'User' AND r.id = ?2",
        )
        .sql()?
        .query_row(params![tenant_id, id], |row| {
            Ok((raw_row(row)?, row.get::<_, String>(6)?))
        })
        .optional()
        .sql()?;
    let Some((raw, groups_json)) = row else {
        return Ok(None);
    };
    let groups = if groups_json == "[]" {
        Vec::new()
    } else {
        let rows: Vec<(String, String, Option<String>)> = serde_json::from_str(&groups_json)
            .map_err(|e| Error::Internal(format!("groups of `{id}`: {e}")))?;
        collect_members(rows.into_iter().map(Ok))?
    };
    raw.into_resource(ResourceKind::User, Some(groups))
        .map(Some)
}

/// The row of a resource about to be written, with the precondition checked.
fn current(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
) -> Result<(i64, u64, i64)> {
    let row: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT seq, version, created FROM resources
             WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3",
        )
        .sql()?
        .query_row(params![tenant_id, kind.name(), id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .sql()?;
    let (seq, version, created) = row.ok_or_else(|| not_found(kind, id))?;
    let version = version_from_sql(version)?;
    check_version(expected_version, version)?;
    Ok((seq, version, created))
}

#[allow(clippy::too_many_arguments)] // mirrors `Store::replace`
pub(crate) fn replace(
    conn: &mut Connection,
    rules: &RulesCache,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    write: Write,
    expected_version: Option<u64>,
    now: Timestamp,
    load: Load,
) -> Result<StoredResource> {
    check_kind(kind, &write)?;
    let body_json = body_to_sql(&write.body)?;
    let cols = IndexKeys::of(&write.body);

    let tx = conn.savepoint().sql()?;
    let (seq, old_version, created) = current(&tx, tenant_id, kind, id, expected_version)?;
    let members_changed =
        apply_members(&tx, &GroupRef { tenant_id, seq, id }, &write.members, false)?;
    if members_changed == 0 {
        if let Some(unchanged) = unchanged(&tx, seq, &body_json, kind, id, old_version, load)? {
            // Nothing to write: no new version, nothing in the change log for apps to follow.
            return Ok(unchanged);
        }
    }
    let version = old_version + 1;
    tx.prepare_cached(
        "UPDATE resources SET body = ?2, user_name_lc = ?3, external_id = ?4,
             display_name_lc = ?5, display = ?6, last_modified = ?7, version = ?8,
             employee_number_lc = ?9
         WHERE seq = ?1",
    )
    .sql()?
    .execute(params![
        seq,
        body_json,
        cols.user_name_lc,
        cols.external_id,
        cols.display_name_lc,
        cols.display,
        ts_to_sql(now)?,
        version_to_sql(version)?,
        cols.employee_number_lc
    ])
    .map_err(|e| write_error(e, tenant_id, &write.body))?;
    tx.prepare_cached("DELETE FROM emails WHERE resource_seq = ?1")
        .sql()?
        .execute([seq])
        .sql()?;
    insert_emails(&tx, tenant_id, seq, &cols.emails_lc)?;
    changes::append(&tx, tenant_id, kind, id, ChangeOp::Updated, version, now)?;
    match kind {
        ResourceKind::User => {
            dynamic::user_written(&tx, rules, tenant_id, (seq, id), write.body.body(), now)?
        }
        ResourceKind::Group => dynamic::group_written(&tx, tenant_id, seq, write.body.body())?,
    }
    let (members, groups) = split_list(kind, loaded(&tx, kind, load, seq)?);
    tx.commit().sql()?;

    Ok(StoredResource {
        id: id.to_owned(),
        kind,
        body: write.body.body().clone(),
        created: ts_from_sql(created)?,
        last_modified: now,
        version,
        members,
        groups,
    })
}

/// The stored resource if its body is exactly `body_json` (a write that changes nothing).
fn unchanged(
    conn: &Connection,
    seq: i64,
    body_json: &str,
    kind: ResourceKind,
    id: &str,
    version: u64,
    load: Load,
) -> Result<Option<StoredResource>> {
    let row: (String, i64, i64) = conn
        .prepare_cached("SELECT body, created, last_modified FROM resources WHERE seq = ?1")
        .sql()?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .sql()?;
    if row.0 != body_json {
        return Ok(None);
    }
    let body = serde_json::from_str(&row.0)
        .map_err(|e| Error::Internal(format!("stored body is not JSON: {e}")))?;
    let (members, groups) = split_list(kind, loaded(conn, kind, load, seq)?);
    Ok(Some(StoredResource {
        id: id.to_owned(),
        kind,
        body,
        created: ts_from_sql(row.1)?,
        last_modified: ts_from_sql(row.2)?,
        version,
        members,
        groups,
    }))
}

pub(crate) fn delete(
    conn: &mut Connection,
    tenant_id: &str,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
    now: Timestamp,
) -> Result<()> {
    let tx = conn.savepoint().sql()?;
    let (seq, version, _) = current(&tx, tenant_id, kind, id, expected_version)?;
    if kind == ResourceKind::Group {
        dynamic::group_deleted(&tx, tenant_id, seq)?;
    }
    // The groups that lose this member change too: bump them and log it, so the engine sees it.
    let mut bumped: Vec<(i64, String, i64)> = {
        let mut stmt = tx
            .prepare_cached(
                "UPDATE resources SET version = version + 1, last_modified = ?2
                 WHERE seq IN (SELECT group_seq FROM memberships WHERE member_seq = ?1)
                 RETURNING seq, id, version",
            )
            .sql()?;
        let rows = stmt
            .query_map(params![seq, ts_to_sql(now)?], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()?
    };
    bumped.sort_unstable_by_key(|(group_seq, _, _)| *group_seq);
    // Memberships (as group and as member) and emails go by ON DELETE CASCADE.
    tx.prepare_cached("DELETE FROM resources WHERE seq = ?1")
        .sql()?
        .execute([seq])
        .sql()?;
    for (_, group_id, group_version) in &bumped {
        let group_version = version_from_sql(*group_version)?;
        changes::append(
            &tx,
            tenant_id,
            ResourceKind::Group,
            group_id,
            ChangeOp::Updated,
            group_version,
            now,
        )?;
    }
    changes::append(
        &tx,
        tenant_id,
        kind,
        id,
        ChangeOp::Deleted,
        version + 1,
        now,
    )?;
    tx.commit().sql()
}

fn insert_emails(conn: &Connection, tenant_id: &str, seq: i64, emails_lc: &[String]) -> Result<()> {
    if emails_lc.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO emails (tenant_id, resource_seq, value_lc) VALUES (?1, ?2, ?3)",
        )
        .sql()?;
    for email in emails_lc {
        stmt.execute(params![tenant_id, seq, email]).sql()?;
    }
    Ok(())
}

/// The group whose memberships a write changes.
pub(crate) struct GroupRef<'a> {
    pub tenant_id: &'a str,
    pub seq: i64,
    pub id: &'a str,
}

/// A member id that is no user or group of the tenant is skipped, not refused: SCIM clients
/// (scim-sanity's probe, Okta's group push ahead of its user push) add members this directory
/// does not hold and expect 200. The response shows the members that really are there.
fn skip_dangling(group: &GroupRef<'_>, id: &str) {
    tracing::warn!(
        group = group.id,
        member = id,
        "skipped a member that is not a user or group of this tenant"
    );
}

fn check_not_self(group: &GroupRef<'_>, member_id: &str) -> Result<()> {
    if member_id == group.id {
        return Err(Error::InvalidValue(format!(
            "group `{member_id}` cannot be a member of itself"
        )));
    }
    Ok(())
}

/// The row of a user or group of this tenant, by id.
fn member_seq(conn: &Connection, tenant_id: &str, id: &str) -> Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT seq FROM resources WHERE tenant_id = ?1 AND kind IN ('User', 'Group') AND id = ?2",
    )
    .sql()?
    .query_row([tenant_id, id], |r| r.get(0))
    .optional()
    .sql()
}

/// Applies a membership change to the rows of `group`. `fresh`: the group was just created, so it
/// has no rows yet.
pub(crate) fn apply_members(
    conn: &Connection,
    group: &GroupRef<'_>,
    change: &MembersChange,
    fresh: bool,
) -> Result<usize> {
    match change {
        MembersChange::Keep => Ok(0),
        MembersChange::Set(ids) => set_members(conn, group, ids, fresh),
        MembersChange::Delta { add, remove } => {
            let mut changed = 0;
            for id in remove {
                changed += remove_member(conn, group, id)?;
            }
            for id in add {
                changed += add_member(conn, group, id)?;
            }
            Ok(changed)
        }
    }
}

fn set_members(
    conn: &Connection,
    group: &GroupRef<'_>,
    ids: &[String],
    fresh: bool,
) -> Result<usize> {
    let mut changed = 0;
    let mut seqs = Vec::with_capacity(ids.len());
    for id in ids {
        check_not_self(group, id)?;
        match member_seq(conn, group.tenant_id, id)? {
            Some(seq) => seqs.push(seq),
            None => skip_dangling(group, id),
        }
    }
    if !fresh {
        // Keep the rows (and their order) of members that stay; drop the others.
        let keep = serde_json::to_string(&seqs)
            .map_err(|e| Error::Internal(format!("cannot serialise member list: {e}")))?;
        changed += conn
            .prepare_cached(
                "DELETE FROM memberships WHERE group_seq = ?1
                 AND member_seq NOT IN (SELECT value FROM json_each(?2))",
            )
            .sql()?
            .execute(params![group.seq, keep])
            .sql()?;
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO memberships (tenant_id, group_seq, member_seq) VALUES (?1, ?2, ?3)",
        )
        .sql()?;
    for seq in seqs {
        changed += insert
            .execute(params![group.tenant_id, group.seq, seq])
            .sql()?;
    }
    Ok(changed)
}

/// One `INSERT … SELECT`: resolves the id and adds the row, or does nothing if present.
pub(crate) fn add_member(conn: &Connection, group: &GroupRef<'_>, id: &str) -> Result<usize> {
    check_not_self(group, id)?;
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO memberships (tenant_id, group_seq, member_seq)
             SELECT ?1, ?2, seq FROM resources
             WHERE tenant_id = ?1 AND kind IN ('User', 'Group') AND id = ?3",
        )
        .sql()?
        .execute(params![group.tenant_id, group.seq, id])
        .sql()?;
    if inserted == 0 && member_seq(conn, group.tenant_id, id)?.is_none() {
        skip_dangling(group, id);
    }
    Ok(inserted)
}

/// Removing an absent member (or an unknown id) is a no-op.
pub(crate) fn remove_member(conn: &Connection, group: &GroupRef<'_>, id: &str) -> Result<usize> {
    conn.prepare_cached(
        "DELETE FROM memberships WHERE group_seq = ?1 AND member_seq IN
             (SELECT seq FROM resources
              WHERE tenant_id = ?2 AND kind IN ('User', 'Group') AND id = ?3)",
    )
    .sql()?
    .execute(params![group.seq, group.tenant_id, id])
    .sql()
}

fn member_from_row(row: &Row<'_>) -> rusqlite::Result<(String, String, Option<String>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn collect_members(
    rows: impl Iterator<Item = rusqlite::Result<(String, String, Option<String>)>>,
) -> Result<Vec<Member>> {
    rows.map(|row| {
        let (value, kind, display) = row.sql()?;
        Ok(Member {
            value,
            kind: kind_from_sql(&kind)?,
            display,
        })
    })
    .collect()
}

/// A group's direct members, in the order they were added.
pub(crate) fn members_of(conn: &Connection, group_seq: i64) -> Result<Vec<Member>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.id, r.kind, r.display FROM memberships m
             JOIN resources r ON r.seq = m.member_seq
             WHERE m.group_seq = ?1 ORDER BY m.rowid",
        )
        .sql()?;
    let rows = stmt.query_map([group_seq], member_from_row).sql()?;
    collect_members(rows)
}

/// The groups a resource belongs to directly, oldest membership first.
pub(crate) fn groups_of(conn: &Connection, member_seq: i64) -> Result<Vec<Member>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT g.id, g.kind, g.display FROM memberships m
             JOIN resources g ON g.seq = m.group_seq
             WHERE m.member_seq = ?1 ORDER BY m.rowid",
        )
        .sql()?;
    let rows = stmt.query_map([member_seq], member_from_row).sql()?;
    collect_members(rows)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use domain::schema::Registry;
    use serde_json::{json, Value};

    use super::*;

    /// The VM instructions SQLite runs for `f`.
    fn vm_steps(conn: &mut Connection, f: impl FnOnce(&mut Connection)) -> u64 {
        let steps = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&steps);
        conn.progress_handler(
            1,
            Some(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                false
            }),
        );
        f(conn);
        conn.progress_handler(1, None::<fn() -> bool>);
        steps.load(Ordering::Relaxed)
    }

    fn validated(registry: &Registry, kind: ResourceKind, body: Value) -> Write {
        use domain::schema::Mode;
        Write::whole(registry.validate(kind, body, Mode::Create).unwrap())
    }

    /// Regression guard for the invariant of this module: adding one member to a group of
    /// 10,000 runs the same statements as adding one to a group of 10, not a read of the list.
    #[test]
    fn adding_a_member_does_not_read_the_member_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::connect(
            &dir.path().join("db"),
            rusqlite::OpenFlags::SQLITE_OPEN_CREATE,
        )
        .unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let conn: &mut Connection = &mut conn;
        let registry = Registry::builtin();
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        conn.execute(
            "INSERT INTO tenants (id, name, created) VALUES ('t', 't', 0)",
            [],
        )
        .unwrap();
        let ids: Vec<String> = (0..10_003)
            .map(|i| {
                let body = json!({ "userName": format!("u{i}") });
                create(
                    conn,
                    &RulesCache::default(),
                    "t",
                    validated(&registry, ResourceKind::User, body),
                    now,
                )
                .unwrap()
                .id
            })
            .collect();
        let mut group = |name: &str, members: &[String]| {
            let members: Vec<_> = members.iter().map(|id| json!({ "value": id })).collect();
            let body = json!({ "displayName": name, "members": members });
            create(
                conn,
                &RulesCache::default(),
                "t",
                validated(&registry, ResourceKind::Group, body),
                now,
            )
            .unwrap()
        };
        let small = group("small", &ids[..10]);
        let big = group("big", &ids[..10_000]);

        let mut add = |group: &StoredResource, id: &str| {
            let write = Write {
                members: MembersChange::Delta {
                    add: vec![id.to_owned()],
                    remove: vec![],
                },
                ..validated(
                    &registry,
                    ResourceKind::Group,
                    json!({ "displayName": group.body["displayName"] }),
                )
            };
            vm_steps(conn, |conn| {
                replace(
                    conn,
                    &RulesCache::default(),
                    "t",
                    ResourceKind::Group,
                    &group.id,
                    write,
                    None,
                    now,
                    Load::NONE,
                )
                .unwrap();
            })
        };
        let small_steps = add(&small, &ids[10_000]);
        let big_steps = add(&big, &ids[10_001]);
        assert!(
            big_steps <= small_steps + small_steps / 10,
            "adding to 10,000 members took {big_steps} VM steps, to 10 took {small_steps}"
        );

        let big_seq: i64 = conn
            .query_row("SELECT seq FROM resources WHERE id = ?1", [&big.id], |r| {
                r.get(0)
            })
            .unwrap();
        let direct = vm_steps(conn, |conn| {
            add_member(
                conn,
                &GroupRef {
                    tenant_id: "t",
                    seq: big_seq,
                    id: &big.id,
                },
                &ids[10_002],
            )
            .unwrap();
        });
        assert!(direct < 200, "a single INSERT … SELECT, got {direct} steps");
        assert_eq!(members_of(conn, big_seq).unwrap().len(), 10_002);
    }
}
