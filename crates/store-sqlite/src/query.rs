//! Listing resources: filter, sort, index and cursor paging.
//!
//! The filters clients really send (`userName eq`, `externalId eq`, `id eq`, `displayName eq`,
//! `emails[type eq "work"].value eq`, alone or and-ed with anything) are answered from an index
//! (`domain::storage::lookup` decides which); the evaluator then still runs on those candidates,
//! so pushdown only ever narrows the rows read, never changes the answer. Other filters and sorts
//! scan the tenant's rows of that kind in `seq` order, keeping only the current page (and, to
//! sort, one key per match) in memory (`domain::storage::page`).

use domain::storage::encode::{limit_to_sql, page_to_sql};
use domain::storage::lookup::{pushdown, reads_list, Lookup};
use domain::storage::page::{
    after_seq, cursor_state, trim_to_page, CursorState, SortedPage, UnsortedPage, Window,
};
use domain::storage::resources::ResourceRow;
use domain::{Load, Page, Query, ResourceKind, Result, StoredResource};
use rusqlite::{params, Connection, OptionalExtension};
use scim_filter::{AttrPath, Filter, SchemaInfo};
use serde_json::Value;

use crate::convert::SqlResult;
use crate::resources::{into_resource, list_of, raw_row, COLUMNS};

pub(crate) fn query(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    schema: &dyn SchemaInfo,
) -> Result<Page> {
    let cursor = cursor_state(query)?;
    if query.filter.is_none() && query.sort_by.is_none() {
        return unfiltered(conn, tenant_id, kind, query, cursor);
    }
    let plan = Plan::new(kind, query);
    match &query.sort_by {
        None => scan_unsorted(conn, tenant_id, &plan, query, schema, cursor),
        Some(path) => scan_sorted(conn, tenant_id, &plan, path, query, schema, cursor),
    }
}

fn to_resources(
    conn: &Connection,
    kind: ResourceKind,
    rows: Vec<ResourceRow>,
    query: &Query,
) -> Result<Vec<StoredResource>> {
    rows.into_iter()
        .map(|row| into_resource(conn, row, kind, query.load))
        .collect()
}

/// A page of a list, its rows loaded.
fn page_of(
    conn: &Connection,
    kind: ResourceKind,
    window: Window<ResourceRow>,
    query: &Query,
) -> Result<Page> {
    Ok(Page {
        total: window.total,
        resources: to_resources(conn, kind, window.rows, query)?,
        next_cursor: window.next_cursor,
        previous_cursor: window.previous_cursor,
    })
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
    let rows = stmt
        .query_map(
            params![tenant_id, kind.name(), after, limit_to_sql(limit)],
            raw_row,
        )
        .sql()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .sql()?;
    rows.into_iter()
        .map(|row| {
            let seq = row.seq;
            into_resource(conn, row, kind, load).map(|r| (seq, r))
        })
        .collect()
}

/// No filter, no sort: SQL does the paging.
fn unfiltered(
    conn: &Connection,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    cursor: CursorState,
) -> Result<Page> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM resources WHERE tenant_id = ?1 AND kind = ?2")
        .sql()?
        .query_row(params![tenant_id, kind.name()], |r| r.get(0))
        .sql()?;
    let total = u64::try_from(total).unwrap_or_default();
    let mut page = Page {
        total,
        resources: Vec::new(),
        next_cursor: None,
        previous_cursor: None,
    };
    if query.count == 0 {
        return Ok(page);
    }
    let rows = match after_seq(&cursor)? {
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
                        page_to_sql(query.count),
                        page_to_sql(query.start_index.saturating_sub(1))
                    ],
                    raw_row,
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
                        page_to_sql(query.count.saturating_add(1))
                    ],
                    raw_row,
                )
                .sql()?;
            let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>().sql()?;
            page.next_cursor = trim_to_page(&mut rows, query.count);
            rows
        }
    };
    page.resources = to_resources(conn, kind, rows, query)?;
    Ok(page)
}

/// What a scan needs beyond the filter: the candidate rows and what to render.
struct Plan<'q> {
    kind: ResourceKind,
    filter: Option<&'q Filter>,
    lookup: Option<Lookup>,
    /// Whether rendered resources need their `members` (groups) or `groups` (users).
    reads_list: bool,
}

impl<'q> Plan<'q> {
    fn new(kind: ResourceKind, query: &'q Query) -> Plan<'q> {
        let filter = query.filter.as_ref();
        Plan {
            kind,
            filter,
            lookup: filter.and_then(|f| pushdown(f, kind)),
            reads_list: reads_list(kind, query),
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

    /// Runs `visit` on each candidate row with its filter view.
    fn for_each_match(
        &self,
        conn: &Connection,
        tenant_id: &str,
        schema: &dyn SchemaInfo,
        mut visit: impl FnMut(ResourceRow, &Value),
    ) -> Result<()> {
        let mut stmt = conn.prepare_cached(&self.sql()).sql()?;
        let mut rows = match &self.lookup {
            None => stmt.query(params![tenant_id]).sql()?,
            Some(lookup) => stmt.query(params![tenant_id, lookup.value()]).sql()?,
        };
        while let Some(row) = rows.next().sql()? {
            let raw = raw_row(row).sql()?;
            let list = self
                .reads_list
                .then(|| list_of(conn, self.kind, raw.seq))
                .transpose()?;
            let view = raw.view(self.kind, list)?;
            if self.filter.is_none_or(|f| f.matches(&view, schema)) {
                visit(raw, &view);
            }
        }
        Ok(())
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
    let mut page = UnsortedPage::new(query, &cursor)?;
    plan.for_each_match(conn, tenant_id, schema, |raw, _| page.offer(raw))?;
    page_of(conn, plan.kind, page.finish(), query)
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
    let mut page = SortedPage::new(query, path, schema, &cursor)?;
    plan.for_each_match(conn, tenant_id, schema, |raw, view| {
        page.offer(raw.seq, view)
    })?;
    let window = page.finish();
    let mut by_seq = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM resources WHERE seq = ?1 AND tenant_id = ?2"
        ))
        .sql()?;
    let mut rows = Vec::with_capacity(window.rows.len());
    for seq in &window.rows {
        if let Some(row) = by_seq
            .query_row(params![seq, tenant_id], raw_row)
            .optional()
            .sql()?
        {
            rows.push(row);
        }
    }
    page_of(conn, plan.kind, window.with_rows(rows), query)
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
                reads_list: false,
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
            reads_list: false,
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
}
