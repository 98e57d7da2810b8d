//! Listing resources: filter, sort, index and cursor paging; and the engine's walk in store
//! order.
//!
//! The filters clients really send (`userName eq`, `externalId eq`, `id eq`, `displayName eq`,
//! `emails[type eq "work"].value eq`, the enterprise `employeeNumber eq`, alone or and-ed with
//! anything) are answered from an index (`domain::storage::lookup` decides which); the evaluator
//! then still runs on those candidates, so pushdown only ever narrows the rows read, never
//! changes the answer. Other filters and sorts scan the tenant's rows of that kind in `seq`
//! order, [`SCAN_CHUNK`] rows per statement, keeping only the current page (and, to sort, one
//! key per match) in memory (`domain::storage::page`).
//!
//! Each statement of a scan reads its own snapshot (a list is no transaction): a resource
//! written during a long scan may be seen in its old or new state, or, if it is new, not at all.

use std::collections::HashMap;

use domain::storage::encode::{limit_to_sql, page_to_sql};
use domain::storage::lookup::{pushdown, reads_list, Lookup};
use domain::storage::page::{
    after_seq, cursor_state, trim_to_page, CursorState, SortedPage, UnsortedPage, Window,
};
use domain::storage::resources::ResourceRow;
use domain::{Load, Page, Query, ResourceKind, Result, StoredResource};
use scim_filter::{AttrPath, Filter, SchemaInfo};
use serde_json::Value;

use crate::convert::PgResult;
use crate::db::{Conn, Params};
use crate::resources::members::{self, Refs};
use crate::resources::{load_rows, raw_row, COLUMNS};

/// Rows read per statement of a scan.
const SCAN_CHUNK: usize = 1_000;

/// The filter and sort questions are answered with this schema; `Sync` so that a query's future
/// can move between threads.
type Schema<'s> = &'s (dyn SchemaInfo + Sync);

pub(crate) async fn query(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    schema: Schema<'_>,
) -> Result<Page> {
    let cursor = cursor_state(query)?;
    if query.filter.is_none() && query.sort_by.is_none() {
        return unfiltered(conn, tenant_id, kind, query, cursor).await;
    }
    let plan = Plan::new(tenant_id, kind, query);
    match &query.sort_by {
        None => scan_unsorted(conn, &plan, query, schema, cursor).await,
        Some(path) => scan_sorted(conn, &plan, path, query, schema, cursor).await,
    }
}

fn raw_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<ResourceRow>> {
    rows.iter().map(raw_row).collect()
}

/// A page of a list, its rows loaded.
async fn page_of(
    conn: &Conn<'_>,
    plan: &Plan<'_>,
    window: Window<ResourceRow>,
    query: &Query,
) -> Result<Page> {
    Ok(Page {
        total: window.total,
        resources: load_rows(conn, plan.tenant_id, plan.kind, query.load, window.rows).await?,
        next_cursor: window.next_cursor,
        previous_cursor: window.previous_cursor,
    })
}

/// The tenant's (`$1`) rows of `kind` with `seq > $2`, in `seq` order, at most `$3`.
///
/// The kind is a literal, here as in every list statement: with a parameter, the plan
/// PostgreSQL caches for a prepared statement cannot tell the few groups from the many users,
/// and may walk the whole table in `seq` order to find a tenant's groups.
fn rows_after_sql(kind: ResourceKind) -> String {
    format!(
        "SELECT {COLUMNS} FROM resources WHERE tenant_id = $1 AND kind = '{}'
         AND seq > $2 ORDER BY seq LIMIT $3",
        kind.name()
    )
}

/// Resources with `seq > after`, in `seq` order: the engine's walk over a whole tenant.
pub(crate) async fn walk(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    after: i64,
    limit: usize,
    load: Load,
) -> Result<Vec<(i64, StoredResource)>> {
    let rows = conn
        .query(
            &rows_after_sql(kind),
            &[&tenant_id, &after, &limit_to_sql(limit)],
        )
        .await
        .pg()?;
    let rows = raw_rows(&rows)?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let resources = load_rows(conn, tenant_id, kind, load, rows).await?;
    Ok(seqs.into_iter().zip(resources).collect())
}

/// No filter, no sort: SQL does the paging.
async fn unfiltered(
    conn: &Conn<'_>,
    tenant_id: &str,
    kind: ResourceKind,
    query: &Query,
    cursor: CursorState,
) -> Result<Page> {
    let count_sql = format!(
        "SELECT COUNT(*) FROM resources WHERE tenant_id = $1 AND kind = '{}'",
        kind.name()
    );
    let total: i64 = conn
        .query_one(&count_sql, &[&tenant_id])
        .await
        .pg()?
        .try_get(0)
        .pg()?;
    let mut page = Page {
        total: u64::try_from(total).unwrap_or_default(),
        resources: Vec::new(),
        next_cursor: None,
        previous_cursor: None,
    };
    if query.count == 0 {
        return Ok(page);
    }
    let rows = match after_seq(&cursor)? {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM resources WHERE tenant_id = $1 AND kind = '{}'
                 ORDER BY seq LIMIT $2 OFFSET $3",
                kind.name()
            );
            let offset = page_to_sql(query.start_index.saturating_sub(1));
            let params: Params<'_> = &[&tenant_id, &page_to_sql(query.count), &offset];
            raw_rows(&conn.query(&sql, params).await.pg()?)?
        }
        Some(after) => {
            // One more than a page tells whether there is a next one.
            let limit = page_to_sql(query.count.saturating_add(1));
            let params: Params<'_> = &[&tenant_id, &after, &limit];
            let mut rows = raw_rows(&conn.query(&rows_after_sql(kind), params).await.pg()?)?;
            page.next_cursor = trim_to_page(&mut rows, query.count);
            rows
        }
    };
    page.resources = load_rows(conn, tenant_id, kind, query.load, rows).await?;
    Ok(page)
}

/// What a scan needs beyond the filter: the candidate rows and what to render.
struct Plan<'q> {
    tenant_id: &'q str,
    kind: ResourceKind,
    filter: Option<&'q Filter>,
    lookup: Option<Lookup>,
    /// The members (groups) or groups (users) rendered resources need, if the filter or the
    /// sort looks at them.
    refs: Option<Refs>,
}

impl<'q> Plan<'q> {
    fn new(tenant_id: &'q str, kind: ResourceKind, query: &'q Query) -> Plan<'q> {
        let filter = query.filter.as_ref();
        Plan {
            tenant_id,
            kind,
            filter,
            lookup: filter.and_then(|f| pushdown(f, kind)),
            refs: reads_list(kind, query).then(|| Refs::of(kind)),
        }
    }

    /// The candidate rows with `seq > after`, in `seq` order, and whether more may follow.
    ///
    /// An index lookup reads its few rows in one statement, without `LIMIT`: with one, the
    /// planner may prefer walking the whole `(tenant, kind, seq)` index in order to sorting the
    /// lookup's rows. A scan reads [`SCAN_CHUNK`] rows at a time.
    async fn candidates(&self, conn: &Conn<'_>, after: i64) -> Result<(Vec<ResourceRow>, bool)> {
        let Some(lookup) = &self.lookup else {
            let params: Params<'_> = &[&self.tenant_id, &after, &limit_to_sql(SCAN_CHUNK)];
            let rows = raw_rows(&conn.query(&rows_after_sql(self.kind), params).await.pg()?)?;
            let more = rows.len() == SCAN_CHUNK;
            return Ok((rows, more));
        };
        let predicate = match lookup {
            Lookup::Id(_) => "id = $2",
            Lookup::UserName(_) => "user_name_lc = $2",
            Lookup::ExternalId(_) => "external_id = $2",
            Lookup::DisplayName(_) => "display_name_lc = $2",
            Lookup::EmployeeNumber(_) => "employee_number_lc = $2",
            Lookup::Email(_) => {
                "seq IN (SELECT resource_seq FROM emails WHERE tenant_id = $1 AND value_lc = $2)"
            }
        };
        // The kind is a literal so that PostgreSQL can use the partial indexes.
        let sql = format!(
            "SELECT {COLUMNS} FROM resources
             WHERE tenant_id = $1 AND kind = '{}' AND {predicate} ORDER BY seq",
            self.kind.name()
        );
        let rows = conn.query(&sql, &[&self.tenant_id, lookup.value()]).await;
        Ok((raw_rows(&rows.pg()?)?, false))
    }

    /// Runs `visit` on each matching row with its filter view, in `seq` order.
    async fn for_each_match(
        &self,
        conn: &Conn<'_>,
        schema: Schema<'_>,
        mut visit: impl FnMut(ResourceRow, &Value) + Send,
    ) -> Result<()> {
        let mut after = 0_i64;
        loop {
            let (rows, more) = self.candidates(conn, after).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(());
            };
            let mut refs = match self.refs {
                Some(refs) => {
                    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
                    Some(members::refs_of(conn, self.tenant_id, refs, &seqs).await?)
                }
                None => None,
            };
            for raw in rows {
                let listed = refs
                    .as_mut()
                    .map(|r| r.remove(&raw.seq).unwrap_or_default());
                let view = raw.view(self.kind, listed)?;
                if self.filter.is_none_or(|f| f.matches(&view, schema)) {
                    visit(raw, &view);
                }
            }
            if !more {
                return Ok(());
            }
            after = last;
        }
    }
}

async fn scan_unsorted(
    conn: &Conn<'_>,
    plan: &Plan<'_>,
    query: &Query,
    schema: Schema<'_>,
    cursor: CursorState,
) -> Result<Page> {
    let mut page = UnsortedPage::new(query, &cursor)?;
    plan.for_each_match(conn, schema, |raw, _| page.offer(raw))
        .await?;
    page_of(conn, plan, page.finish(), query).await
}

async fn scan_sorted(
    conn: &Conn<'_>,
    plan: &Plan<'_>,
    path: &AttrPath,
    query: &Query,
    schema: Schema<'_>,
    cursor: CursorState,
) -> Result<Page> {
    let mut page = SortedPage::new(query, path, schema, &cursor)?;
    plan.for_each_match(conn, schema, |raw, view| page.offer(raw.seq, view))
        .await?;
    let window = page.finish();
    let rows = page_by_seq(conn, plan.tenant_id, &window.rows).await?;
    page_of(conn, plan, window.with_rows(rows), query).await
}

/// The rows `seqs` in that order, in one statement; rows deleted since the scan are left out.
async fn page_by_seq(conn: &Conn<'_>, tenant_id: &str, seqs: &[i64]) -> Result<Vec<ResourceRow>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE tenant_id = $1 AND seq = ANY($2)");
    let mut by_seq: HashMap<i64, ResourceRow> =
        raw_rows(&conn.query(&sql, &[&tenant_id, &seqs]).await.pg()?)?
            .into_iter()
            .map(|row| (row.seq, row))
            .collect();
    Ok(seqs.iter().filter_map(|seq| by_seq.remove(seq)).collect())
}
