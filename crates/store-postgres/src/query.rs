//! Listing resources: filter, sort, index and cursor paging; and the engine's walk in store
//! order.
//!
//! The filters clients really send (`userName eq`, `externalId eq`, `id eq`, `displayName eq`,
//! `emails[type eq "work"].value eq`, the enterprise `employeeNumber eq`, alone or and-ed with
//! anything) are answered from an index (`pushdown.rs`); the evaluator then still runs on those
//! candidates, so pushdown only ever narrows the rows read, never changes the answer. Other
//! filters and sorts scan the tenant's rows of that kind in `seq` order, [`SCAN_CHUNK`] rows per
//! statement, keeping only the current page (and, to sort, one key per match) in memory.
//!
//! Each statement of a scan reads its own snapshot (a list is no transaction): a resource
//! written during a long scan may be seen in its old or new state, or, if it is new, not at all.

mod pushdown;

use std::cmp::Ordering;
use std::collections::HashMap;

use domain::{Error, Load, Page, Query, ResourceKind, Result, StoredResource};
use scim_filter::{AttrPath, Filter, SchemaInfo};
use serde_json::{json, Map, Value};

use crate::convert::{limit_to_sql, ts_from_sql, PgResult};
use crate::db::{Conn, Params};
use crate::resources::members::{self, Refs};
use crate::resources::{load_rows, parse_body, RawRow, COLUMNS};
use pushdown::{mentions, pushdown, Lookup};

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
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    if query.filter.is_none() && query.sort_by.is_none() {
        return unfiltered(conn, tenant_id, kind, query, cursor).await;
    }
    let plan = Plan::new(tenant_id, kind, query);
    match &query.sort_by {
        None => scan_unsorted(conn, &plan, query, schema, cursor).await,
        Some(path) => scan_sorted(conn, &plan, path, query, schema, cursor).await,
    }
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

fn raw_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<RawRow>> {
    rows.iter().map(RawRow::from_row).collect()
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
            let offset = sql_i64(query.start_index.saturating_sub(1));
            let params: Params<'_> = &[&tenant_id, &sql_i64(query.count), &offset];
            raw_rows(&conn.query(&sql, params).await.pg()?)?
        }
        Some(after) => {
            // One more than a page tells whether there is a next one.
            let limit = sql_i64(query.count.saturating_add(1));
            let params: Params<'_> = &[&tenant_id, &after, &limit];
            let mut rows = raw_rows(&conn.query(&rows_after_sql(kind), params).await.pg()?)?;
            if u64::try_from(rows.len()).unwrap_or(u64::MAX) > query.count {
                rows.pop();
                page.next_cursor = rows.last().map(|r| Cursor::AfterSeq(r.seq).encode());
            }
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
        let mentions = |name: &str| {
            filter.is_some_and(|f| mentions(f, name))
                || query
                    .sort_by
                    .as_ref()
                    .is_some_and(|p| p.name.eq_ignore_ascii_case(name))
        };
        let refs = match kind {
            ResourceKind::Group if mentions("members") => Some(Refs::Members),
            ResourceKind::User if mentions("groups") => Some(Refs::Groups),
            _ => None,
        };
        Plan {
            tenant_id,
            kind,
            filter,
            lookup: filter.and_then(|f| pushdown(f, kind)),
            refs,
        }
    }

    /// The candidate rows with `seq > after`, in `seq` order, and whether more may follow.
    ///
    /// An index lookup reads its few rows in one statement, without `LIMIT`: with one, the
    /// planner may prefer walking the whole `(tenant, kind, seq)` index in order to sorting the
    /// lookup's rows. A scan reads [`SCAN_CHUNK`] rows at a time.
    async fn candidates(&self, conn: &Conn<'_>, after: i64) -> Result<(Vec<RawRow>, bool)> {
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

    /// Runs `visit` on each matching row with its rendered SCIM JSON, in `seq` order.
    async fn for_each_match(
        &self,
        conn: &Conn<'_>,
        schema: Schema<'_>,
        mut visit: impl FnMut(RawRow, &Value) + Send,
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
                let rendered = self.render(&raw, listed)?;
                if self.filter.is_none_or(|f| f.matches(&rendered, schema)) {
                    visit(raw, &rendered);
                }
            }
            if !more {
                return Ok(());
            }
            after = last;
        }
    }

    /// The resource as a SCIM client sees it, as far as filters and sorting can look.
    fn render(&self, raw: &RawRow, listed: Option<Vec<domain::Member>>) -> Result<Value> {
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
        if let (Some(refs), Some(listed)) = (self.refs, listed) {
            let name = match refs {
                Refs::Members => "members",
                Refs::Groups => "groups",
            };
            let values = listed
                .into_iter()
                .map(|m| json!({"value": m.value, "type": m.kind.name(), "display": m.display}))
                .collect();
            object.insert(name.into(), Value::Array(values));
        }
        Ok(Value::Object(object))
    }
}

async fn scan_unsorted(
    conn: &Conn<'_>,
    plan: &Plan<'_>,
    query: &Query,
    schema: Schema<'_>,
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
    plan.for_each_match(conn, schema, |raw, _| {
        total += 1;
        if after.is_some_and(|after| raw.seq <= after) {
            return;
        }
        eligible += 1;
        if eligible > skip {
            if u64::try_from(page_rows.len()).unwrap_or(u64::MAX) < query.count {
                page_rows.push(raw);
            } else {
                more = true;
            }
        }
    })
    .await?;
    let next_cursor = match after {
        Some(_) if more => page_rows.last().map(|r| Cursor::AfterSeq(r.seq).encode()),
        _ => None,
    };
    Ok(Page {
        total,
        resources: load_rows(conn, plan.tenant_id, plan.kind, query.load, page_rows).await?,
        next_cursor,
        previous_cursor: None,
    })
}

async fn scan_sorted(
    conn: &Conn<'_>,
    plan: &Plan<'_>,
    path: &AttrPath,
    query: &Query,
    schema: Schema<'_>,
    cursor: CursorState,
) -> Result<Page> {
    let offset = offset_of(&cursor, query.start_index)?;
    let info = schema.attr_info(path.uri.as_deref(), &path.name, path.sub.as_deref());
    let mut keys: Vec<(Option<Value>, i64)> = Vec::new();
    plan.for_each_match(conn, schema, |raw, rendered| {
        let key = scim_filter::values_at(rendered, path)
            .first()
            .map(|v| (*v).clone());
        keys.push((key, raw.seq));
    })
    .await?;
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
    let seqs: Vec<i64> = keys
        .iter()
        .skip(start)
        .take(count)
        .map(|(_, seq)| *seq)
        .collect();
    let rows = page_by_seq(conn, plan.tenant_id, &seqs).await?;
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
        resources: load_rows(conn, plan.tenant_id, plan.kind, query.load, rows).await?,
        next_cursor,
        previous_cursor,
    })
}

/// The rows `seqs` in that order, in one statement; rows deleted since the scan are left out.
async fn page_by_seq(conn: &Conn<'_>, tenant_id: &str, seqs: &[i64]) -> Result<Vec<RawRow>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE tenant_id = $1 AND seq = ANY($2)");
    let mut by_seq: HashMap<i64, RawRow> =
        raw_rows(&conn.query(&sql, &[&tenant_id, &seqs]).await.pg()?)?
            .into_iter()
            .map(|row| (row.seq, row))
            .collect();
    Ok(seqs.iter().filter_map(|seq| by_seq.remove(seq)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
