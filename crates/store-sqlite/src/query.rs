//! Listing resources: filter, sort, index and cursor paging.
//!
//! The filters clients really send (`userName eq`, `externalId eq`, `id eq`, `displayName eq`,
//! `emails[type eq "work"].value eq`, alone or and-ed with anything) are answered from an index;
//! the evaluator then still runs on those candidates, so pushdown only ever narrows the rows
//! read, never changes the answer. Other filters and sorts scan the tenant's rows of that kind in
//! `seq` order, keeping only the current page (and, to sort, one key per match) in memory.

use std::cmp::Ordering;

use domain::{Error, Load, Page, Query, ResourceKind, Result, StoredResource};
use rusqlite::{params, Connection, OptionalExtension};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, SchemaInfo};
use serde_json::{json, Map, Value};

use crate::convert::{fold, ts_from_sql, SqlResult};
use crate::resources::{groups_of, members_of, parse_body, RawRow, COLUMNS};

pub(crate) fn query(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    schema: &dyn SchemaInfo,
) -> Result<Page> {
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    if query.filter.is_none() && query.sort_by.is_none() {
        return unfiltered(conn, tenant_id, kind, query, cursor);
    }
    let plan = Plan::new(kind, query);
    match &query.sort_by {
        None => scan_unsorted(conn, tenant_id, &plan, query, schema, cursor),
        Some(path) => scan_sorted(conn, tenant_id, &plan, path, query, schema, cursor),
    }
}

/// Whether the query is answered from an index (a handful of rows), not a scan.
pub(crate) fn is_lookup(kind: ResourceKind, query: &Query) -> bool {
    query.sort_by.is_none()
        && query
            .filter
            .as_ref()
            .is_some_and(|f| pushdown(f, kind).is_some())
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Unsorted lists: the page holds matches with `seq` after this one (0: from the start).
    AfterSeq(i64),
    /// Sorted lists: the page starts at this 0-based position.
    Offset(u64),
}

impl Cursor {
    fn decode(text: &str) -> Result<Option<Cursor>> {
        if text.is_empty() {
            return Ok(None);
        }
        let invalid = || Error::InvalidValue("invalid cursor".into());
        let (tag, hex) = text.split_at_checked(1).ok_or_else(invalid)?;
        let n = u64::from_str_radix(hex, 16).map_err(|_| invalid())?;
        match tag {
            "a" => Ok(Some(Cursor::AfterSeq(
                i64::try_from(n).map_err(|_| invalid())?,
            ))),
            "o" => Ok(Some(Cursor::Offset(n))),
            _ => Err(invalid()),
        }
    }

    fn encode(self) -> String {
        match self {
            Cursor::AfterSeq(seq) => format!("a{seq:x}"),
            Cursor::Offset(offset) => format!("o{offset:x}"),
        }
    }
}

/// The cursor paging state of a query: `None` for index paging, `Some(None)` for the first page.
type CursorState = Option<Option<Cursor>>;

fn after_seq(cursor: &CursorState) -> Result<Option<i64>> {
    match cursor {
        None => Ok(None),
        Some(None) => Ok(Some(0)),
        Some(Some(Cursor::AfterSeq(seq))) => Ok(Some(*seq)),
        Some(Some(Cursor::Offset(_))) => Err(Error::InvalidValue("invalid cursor".into())),
    }
}

fn offset_of(cursor: &CursorState, start_index: u64) -> Result<u64> {
    match cursor {
        None => Ok(start_index.saturating_sub(1)),
        Some(None) => Ok(0),
        Some(Some(Cursor::Offset(offset))) => Ok(*offset),
        Some(Some(Cursor::AfterSeq(_))) => Err(Error::InvalidValue("invalid cursor".into())),
    }
}

fn sql_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_resources(
    conn: &Connection,
    kind: ResourceKind,
    rows: Vec<RawRow>,
    query: &Query,
) -> Result<Vec<StoredResource>> {
    rows.into_iter()
        .map(|row| row.into_resource(conn, kind, query.load))
        .collect()
}

/// Resources with `seq > after`, in `seq` order: the engine's walk over a whole tenant.
pub(crate) fn walk(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    after: i64,
    limit: usize,
    load: Load,
) -> Result<Vec<(i64, StoredResource)>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = ?2
             AND seq > ?3 ORDER BY seq LIMIT ?4"
        ))
        .sql()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(
            params![tenant_id, kind.name(), after, limit],
            RawRow::from_row,
        )
        .sql()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .sql()?;
    rows.into_iter()
        .map(|row| {
            let seq = row.seq;
            row.into_resource(conn, kind, load).map(|r| (seq, r))
        })
        .collect()
}

/// No filter, no sort: SQL does the paging.
fn unfiltered(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    cursor: Option<Option<Cursor>>,
) -> Result<Page> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM resources WHERE tenant_id = ?1 AND kind = ?2")
        .sql()?
        .query_row(params![tenant_id, kind.name()], |r| r.get(0))
        .sql()?;
    let total = u64::try_from(total).unwrap_or_default();
    let cursor_state = cursor;
    let mut page = Page {
        total,
        resources: Vec::new(),
        next_cursor: None,
        previous_cursor: None,
    };
    if query.count == 0 {
        return Ok(page);
    }
    let rows = match after_seq(&cursor_state)? {
        None => {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = ?2
                     ORDER BY seq LIMIT ?3 OFFSET ?4"
                ))
                .sql()?;
            let rows = stmt
                .query_map(
                    params![
                        tenant_id,
                        kind.name(),
                        sql_i64(query.count),
                        sql_i64(query.start_index.saturating_sub(1))
                    ],
                    RawRow::from_row,
                )
                .sql()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().sql()?
        }
        Some(after) => {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = ?2
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ))
                .sql()?;
            let rows = stmt
                .query_map(
                    params![
                        tenant_id,
                        kind.name(),
                        after,
                        sql_i64(query.count.saturating_add(1))
                    ],
                    RawRow::from_row,
                )
                .sql()?;
            let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>().sql()?;
            if u64::try_from(rows.len()).unwrap_or(u64::MAX) > query.count {
                rows.pop();
                page.next_cursor = rows.last().map(|r| Cursor::AfterSeq(r.seq).encode());
            }
            rows
        }
    };
    page.resources = to_resources(conn, kind, rows, query)?;
    Ok(page)
}

/// The attribute an index can answer an `eq` on, with the value as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    Id(String),
    UserName(String),
    ExternalId(String),
    DisplayName(String),
    Email(String),
    /// The enterprise extension's `employeeNumber` (inbound provisioning matches on it).
    EmployeeNumber(String),
}

/// What a scan needs beyond the filter: the candidate rows and what to render.
struct Plan<'q> {
    kind: ResourceKind,
    filter: Option<&'q Filter>,
    lookup: Option<Lookup>,
    /// Whether rendered resources need `members` (groups) or `groups` (users).
    with_members: bool,
    with_groups: bool,
}

impl<'q> Plan<'q> {
    fn new(kind: ResourceKind, query: &'q Query) -> Plan<'q> {
        let filter = query.filter.as_ref();
        let mentions = |name: &str| {
            filter.is_some_and(|f| mentions(f, name))
                || query
                    .sort_by
                    .as_ref()
                    .is_some_and(|p| p.name.eq_ignore_ascii_case(name))
        };
        Plan {
            kind,
            filter,
            lookup: filter.and_then(|f| pushdown(f, kind)),
            with_members: kind == ResourceKind::Group && mentions("members"),
            with_groups: kind == ResourceKind::User && mentions("groups"),
        }
    }

    /// The candidate rows, in `seq` order.
    fn sql(&self) -> String {
        // The kind is a literal so that SQLite can use the partial displayName indexes.
        let kind = self.kind.name();
        let predicate = match &self.lookup {
            None => "",
            Some(Lookup::Id(_)) => "AND id = ?2",
            Some(Lookup::UserName(_)) => "AND user_name_lc = ?2",
            Some(Lookup::ExternalId(_)) => "AND external_id = ?2",
            Some(Lookup::DisplayName(_)) => "AND display_name_lc = ?2",
            Some(Lookup::EmployeeNumber(_)) => "AND employee_number_lc = ?2",
            Some(Lookup::Email(_)) => {
                "AND seq IN (SELECT resource_seq FROM emails WHERE tenant_id = ?1 AND value_lc = ?2)"
            }
        };
        format!(
            "SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = '{kind}' {predicate}
             ORDER BY seq"
        )
    }

    /// Runs `visit` on each candidate row with its rendered SCIM JSON.
    fn for_each_match(
        &self,
        conn: &Connection,
        tenant_id: &str,
        schema: &dyn SchemaInfo,
        mut visit: impl FnMut(RawRow, &Value) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = conn.prepare_cached(&self.sql()).sql()?;
        let mut rows = match &self.lookup {
            None => stmt.query(params![tenant_id]).sql()?,
            Some(
                Lookup::Id(v)
                | Lookup::UserName(v)
                | Lookup::ExternalId(v)
                | Lookup::DisplayName(v)
                | Lookup::Email(v)
                | Lookup::EmployeeNumber(v),
            ) => stmt.query(params![tenant_id, v]).sql()?,
        };
        while let Some(row) = rows.next().sql()? {
            let raw = RawRow::from_row(row).sql()?;
            let rendered = self.render(conn, &raw)?;
            if self.filter.is_none_or(|f| f.matches(&rendered, schema)) {
                visit(raw, &rendered)?;
            }
        }
        Ok(())
    }

    /// The resource as a SCIM client sees it, as far as filters and sorting can look.
    fn render(&self, conn: &Connection, raw: &RawRow) -> Result<Value> {
        let mut object: Map<String, Value> = parse_body(&raw.id, &raw.body)?;
        object.insert("id".into(), Value::String(raw.id.clone()));
        object.insert(
            "meta".into(),
            json!({
                "resourceType": self.kind.name(),
                "created": ts_from_sql(raw.created)?.to_string(),
                "lastModified": ts_from_sql(raw.last_modified)?.to_string(),
                "version": format!("W/\"{}\"", raw.version),
            }),
        );
        let refs = if self.with_members {
            Some(("members", members_of(conn, raw.seq)?))
        } else if self.with_groups {
            Some(("groups", groups_of(conn, raw.seq)?))
        } else {
            None
        };
        if let Some((name, members)) = refs {
            let values = members
                .into_iter()
                .map(|m| json!({"value": m.value, "type": m.kind.name(), "display": m.display}))
                .collect();
            object.insert(name.into(), Value::Array(values));
        }
        Ok(Value::Object(object))
    }
}

fn scan_unsorted(
    conn: &Connection,
    tenant_id: &str,
    plan: &Plan<'_>,
    query: &Query,
    schema: &dyn SchemaInfo,
    cursor: CursorState,
) -> Result<Page> {
    let after = after_seq(&cursor)?;
    let skip = if after.is_some() {
        0
    } else {
        query.start_index.saturating_sub(1)
    };
    let mut total = 0_u64;
    let mut eligible = 0_u64; // matches at or after the page start
    let mut page_rows = Vec::new();
    let mut more = false;
    plan.for_each_match(conn, tenant_id, schema, |raw, _| {
        total += 1;
        if after.is_some_and(|after| raw.seq <= after) {
            return Ok(());
        }
        eligible += 1;
        if eligible > skip {
            if u64::try_from(page_rows.len()).unwrap_or(u64::MAX) < query.count {
                page_rows.push(raw);
            } else {
                more = true;
            }
        }
        Ok(())
    })?;
    let next_cursor = match after {
        Some(_) if more => page_rows.last().map(|r| Cursor::AfterSeq(r.seq).encode()),
        _ => None,
    };
    Ok(Page {
        total,
        resources: to_resources(conn, plan.kind, page_rows, query)?,
        next_cursor,
        previous_cursor: None,
    })
}

fn scan_sorted(
    conn: &Connection,
    tenant_id: &str,
    plan: &Plan<'_>,
    path: &AttrPath,
    query: &Query,
    schema: &dyn SchemaInfo,
    cursor: CursorState,
) -> Result<Page> {
    let offset = offset_of(&cursor, query.start_index)?;
    let info = schema.attr_info(path.uri.as_deref(), &path.name, path.sub.as_deref());
    let mut keys: Vec<(Option<Value>, i64)> = Vec::new();
    plan.for_each_match(conn, tenant_id, schema, |raw, rendered| {
        let key = scim_filter::values_at(rendered, path)
            .first()
            .map(|v| (*v).clone());
        keys.push((key, raw.seq));
        Ok(())
    })?;
    keys.sort_by(|(a, a_seq), (b, b_seq)| {
        let by_key = match (a, b) {
            (Some(a), Some(b)) => {
                let order = scim_filter::compare_for_sort(a, b, info);
                if query.descending {
                    order.reverse()
                } else {
                    order
                }
            }
            // Resources without the attribute come last, in either direction.
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_key.then(a_seq.cmp(b_seq))
    });
    let total = u64::try_from(keys.len()).unwrap_or(u64::MAX);
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let count = usize::try_from(query.count).unwrap_or(usize::MAX);
    let mut by_seq = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM resources WHERE seq = ?1 AND tenant_id = ?2"
        ))
        .sql()?;
    let mut rows = Vec::new();
    for (_, seq) in keys.iter().skip(start).take(count) {
        if let Some(row) = by_seq
            .query_row(params![seq, tenant_id], RawRow::from_row)
            .optional()
            .sql()?
        {
            rows.push(row);
        }
    }
    let end = offset.saturating_add(query.count);
    let (next_cursor, previous_cursor) = match cursor {
        Some(_) => (
            (query.count > 0 && end < total).then(|| Cursor::Offset(end).encode()),
            (offset > 0).then(|| Cursor::Offset(offset.saturating_sub(query.count)).encode()),
        ),
        None => (None, None),
    };
    Ok(Page {
        total,
        resources: to_resources(conn, plan.kind, rows, query)?,
        next_cursor,
        previous_cursor,
    })
}

/// Whether any top-level attribute path of `filter` names `name`.
fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::Present { attr, .. }
        | Filter::Compare { attr, .. }
        | Filter::ValuePath { attr, .. } => attr.name.eq_ignore_ascii_case(name),
        Filter::Not { filter, .. } => mentions(filter, name),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
    }
}

/// An index lookup whose rows include every match of `filter`, if there is one.
fn pushdown(filter: &Filter, kind: ResourceKind) -> Option<Lookup> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(value),
            ..
        } => lookup(attr, value, kind),
        Filter::And(a, b) => pushdown(a, kind).or_else(|| pushdown(b, kind)),
        // Entra's `emails[type eq "work"].value eq "x"` arrives as `emails[type eq "work" and
        // value eq "x"]`.
        Filter::ValuePath { attr, filter, .. }
            if kind == ResourceKind::User
                && attr.sub.is_none()
                && is_core(attr, kind, "emails") =>
        {
            value_eq(filter).map(|v| Lookup::Email(fold(v)))
        }
        _ => None,
    }
}

fn is_core(attr: &AttrPath, kind: ResourceKind, name: &str) -> bool {
    attr.name.eq_ignore_ascii_case(name)
        && attr
            .uri
            .as_deref()
            .is_none_or(|uri| uri.eq_ignore_ascii_case(kind.core_schema()))
}

fn lookup(attr: &AttrPath, value: &str, kind: ResourceKind) -> Option<Lookup> {
    let sub = attr.sub.as_deref();
    let user = kind == ResourceKind::User;
    if sub.is_none() && is_core(attr, kind, "id") {
        Some(Lookup::Id(value.to_owned()))
    } else if sub.is_none() && is_core(attr, kind, "externalId") {
        Some(Lookup::ExternalId(value.to_owned()))
    } else if user && sub.is_none() && is_core(attr, kind, "userName") {
        Some(Lookup::UserName(fold(value)))
    } else if sub.is_none() && is_core(attr, kind, "displayName") {
        Some(Lookup::DisplayName(fold(value)))
    } else if user
        && sub.is_none_or(|s| s.eq_ignore_ascii_case("value"))
        && is_core(attr, kind, "emails")
    {
        Some(Lookup::Email(fold(value)))
    } else if user
        && sub.is_none()
        && attr.name.eq_ignore_ascii_case("employeeNumber")
        && attr
            .uri
            .as_deref()
            .is_some_and(|uri| uri.eq_ignore_ascii_case(scim_proto::ENTERPRISE_USER_SCHEMA))
    {
        Some(Lookup::EmployeeNumber(fold(value)))
    } else {
        None
    }
}

/// `value eq "x"` inside a value filter, possibly and-ed with other conditions.
fn value_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(value),
            ..
        } if attr.uri.is_none()
            && attr.sub.is_none()
            && attr.name.eq_ignore_ascii_case("value") =>
        {
            Some(value)
        }
        Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let params = stmt.parameter_count();
        let args: Vec<Value> = (0..params).map(|_| Value::Null).collect();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter().map(|_| "x")), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    /// The index lookups really are lookups: no full scan of `resources`, no sort.
    #[test]
    fn pushed_down_filters_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("db")).unwrap();
        let conn = store.pool.readers.any().unwrap();
        let cases = [
            (ResourceKind::User, Lookup::Id("x".into()), "resources_id"),
            (
                ResourceKind::User,
                Lookup::UserName("x".into()),
                "resources_user_name",
            ),
            (
                ResourceKind::User,
                Lookup::ExternalId("x".into()),
                "resources_external_id",
            ),
            (
                ResourceKind::User,
                Lookup::DisplayName("x".into()),
                "resources_user_display_name",
            ),
            (
                ResourceKind::Group,
                Lookup::DisplayName("x".into()),
                "resources_group_display_name",
            ),
            (
                ResourceKind::User,
                Lookup::Email("x".into()),
                "emails_value",
            ),
            (
                ResourceKind::User,
                Lookup::EmployeeNumber("x".into()),
                "resources_employee_number",
            ),
        ];
        for (kind, lookup, index) in cases {
            let plan = Plan {
                kind,
                filter: None,
                lookup: Some(lookup),
                with_members: false,
                with_groups: false,
            };
            let explained = plan_of(&conn, &plan.sql());
            assert!(
                explained.contains(index),
                "{kind:?} {:?}: {explained}",
                plan.lookup
            );
            assert!(!explained.contains("SCAN resources"), "{explained}");
        }
        // Listing everything walks the (tenant, kind) index in seq order, without sorting.
        let plan = Plan {
            kind: ResourceKind::User,
            filter: None,
            lookup: None,
            with_members: false,
            with_groups: false,
        };
        let explained = plan_of(&conn, &plan.sql());
        assert!(
            explained.contains("resources_list") && !explained.contains("TEMP B-TREE"),
            "{explained}"
        );
        let explained = plan_of(
            &conn,
            &format!("SELECT {COLUMNS} FROM resources WHERE tenant_id = ?1 AND kind = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4"),
        );
        assert!(
            explained.contains("resources_list") && !explained.contains("TEMP B-TREE"),
            "{explained}"
        );
    }

    #[test]
    fn cursors_round_trip() {
        for cursor in [
            Cursor::AfterSeq(0),
            Cursor::AfterSeq(i64::MAX),
            Cursor::Offset(12345),
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), Some(cursor));
        }
        assert_eq!(Cursor::decode("").unwrap(), None);
        assert!(Cursor::decode("a8000000000000000").is_err());
    }
}
