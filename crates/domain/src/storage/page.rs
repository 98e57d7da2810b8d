//! Listing in pages, the part every backend does the same in memory: cursors (RFC 9865), the
//! page of an unsorted scan, and the sort and window of a sorted one. Each backend reads the
//! candidate rows its own way and feeds the matches to [`UnsortedPage`] or [`SortedPage`] in
//! `seq` order; what comes out is a [`Window`] whose rows (or `seq`s) it then loads.

use std::cmp::Ordering;

use scim_filter::{AttrInfo, AttrPath, SchemaInfo};
use serde_json::Value;

use crate::model::Query;
use crate::storage::resources::ResourceRow;
use crate::{Error, Result};

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Unsorted lists: the page holds matches with `seq` after this one (0: from the start).
    AfterSeq(i64),
    /// Sorted lists: the page starts at this 0-based position.
    Offset(u64),
}

impl Cursor {
    pub fn decode(text: &str) -> Result<Option<Cursor>> {
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

    pub fn encode(self) -> String {
        match self {
            Cursor::AfterSeq(seq) => format!("a{seq:x}"),
            Cursor::Offset(offset) => format!("o{offset:x}"),
        }
    }
}

/// The cursor paging state of a query: `None` for index paging, `Some(None)` for the first page.
pub type CursorState = Option<Option<Cursor>>;

/// The query's cursor paging state; `InvalidValue` for a cursor this store did not give out.
pub fn cursor_state(query: &Query) -> Result<CursorState> {
    query.cursor.as_deref().map(Cursor::decode).transpose()
}

/// With cursor paging, the `seq` an unsorted page starts after; `None` with index paging.
pub fn after_seq(cursor: &CursorState) -> Result<Option<i64>> {
    match cursor {
        None => Ok(None),
        Some(None) => Ok(Some(0)),
        Some(Some(Cursor::AfterSeq(seq))) => Ok(Some(*seq)),
        Some(Some(Cursor::Offset(_))) => Err(Error::InvalidValue("invalid cursor".into())),
    }
}

/// The 0-based position a sorted page starts at.
pub fn offset_of(cursor: &CursorState, start_index: u64) -> Result<u64> {
    match cursor {
        None => Ok(start_index.saturating_sub(1)),
        Some(None) => Ok(0),
        Some(Some(Cursor::Offset(offset))) => Ok(*offset),
        Some(Some(Cursor::AfterSeq(_))) => Err(Error::InvalidValue("invalid cursor".into())),
    }
}

/// For rows read after a cursor with one more than a page (`count + 1`, which tells whether
/// there is a next page): drops the extra row, and gives the next page's cursor if there was one.
pub fn trim_to_page(rows: &mut Vec<ResourceRow>, count: u64) -> Option<String> {
    if u64::try_from(rows.len()).unwrap_or(u64::MAX) > count {
        rows.pop();
        rows.last().map(|r| Cursor::AfterSeq(r.seq).encode())
    } else {
        None
    }
}

/// A page's place in the list, with its rows (or their `seq`s) still to load.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<T> {
    pub total: u64,
    pub rows: Vec<T>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

impl<T> Window<T> {
    /// The same window with its rows loaded (a sorted page's rows for its `seq`s).
    pub fn with_rows<U>(self, rows: Vec<U>) -> Window<U> {
        Window {
            total: self.total,
            rows,
            next_cursor: self.next_cursor,
            previous_cursor: self.previous_cursor,
        }
    }
}

/// The page of an unsorted scan: fed every match in `seq` order, it counts them and keeps the
/// rows of the page.
#[derive(Debug)]
pub struct UnsortedPage {
    after: Option<i64>,
    skip: u64,
    count: u64,
    total: u64,
    /// Matches at or after the page start.
    eligible: u64,
    rows: Vec<ResourceRow>,
    more: bool,
}

impl UnsortedPage {
    pub fn new(query: &Query, cursor: &CursorState) -> Result<UnsortedPage> {
        let after = after_seq(cursor)?;
        let skip = if after.is_some() {
            0
        } else {
            query.start_index.saturating_sub(1)
        };
        Ok(UnsortedPage {
            after,
            skip,
            count: query.count,
            total: 0,
            eligible: 0,
            rows: Vec::new(),
            more: false,
        })
    }

    pub fn offer(&mut self, row: ResourceRow) {
        self.total += 1;
        if self.after.is_some_and(|after| row.seq <= after) {
            return;
        }
        self.eligible += 1;
        if self.eligible > self.skip {
            if u64::try_from(self.rows.len()).unwrap_or(u64::MAX) < self.count {
                self.rows.push(row);
            } else {
                self.more = true;
            }
        }
    }

    pub fn finish(self) -> Window<ResourceRow> {
        let next_cursor = match self.after {
            Some(_) if self.more => self.rows.last().map(|r| Cursor::AfterSeq(r.seq).encode()),
            _ => None,
        };
        Window {
            total: self.total,
            rows: self.rows,
            next_cursor,
            previous_cursor: None,
        }
    }
}

/// The sort keys of a sorted scan: fed every match, it sorts them and picks the page's `seq`s.
#[derive(Debug)]
pub struct SortedPage<'q> {
    path: &'q AttrPath,
    info: Option<AttrInfo>,
    descending: bool,
    offset: u64,
    count: u64,
    cursor_paging: bool,
    keys: Vec<(Option<Value>, i64)>,
}

impl<'q> SortedPage<'q> {
    /// Fails on a cursor that does not belong to a sorted list before any row is read.
    pub fn new(
        query: &Query,
        path: &'q AttrPath,
        schema: &dyn SchemaInfo,
        cursor: &CursorState,
    ) -> Result<SortedPage<'q>> {
        Ok(SortedPage {
            path,
            info: schema.attr_info(path.uri.as_deref(), &path.name, path.sub.as_deref()),
            descending: query.descending,
            offset: offset_of(cursor, query.start_index)?,
            count: query.count,
            cursor_paging: cursor.is_some(),
            keys: Vec::new(),
        })
    }

    /// Takes the sort key of the match `seq`, whose filter view is `view`.
    pub fn offer(&mut self, seq: i64, view: &Value) {
        let key = scim_filter::values_at(view, self.path)
            .first()
            .map(|v| (*v).clone());
        self.keys.push((key, seq));
    }

    /// The page's `seq`s, in order.
    pub fn finish(mut self) -> Window<i64> {
        let (info, descending) = (self.info, self.descending);
        self.keys.sort_by(|(a, a_seq), (b, b_seq)| {
            let by_key = match (a, b) {
                (Some(a), Some(b)) => {
                    let order = scim_filter::compare_for_sort(a, b, info);
                    if descending {
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
        let total = u64::try_from(self.keys.len()).unwrap_or(u64::MAX);
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let count = usize::try_from(self.count).unwrap_or(usize::MAX);
        let rows = self
            .keys
            .iter()
            .skip(start)
            .take(count)
            .map(|(_, seq)| *seq)
            .collect();
        let (offset, count) = (self.offset, self.count);
        let end = offset.saturating_add(count);
        let (next_cursor, previous_cursor) = if self.cursor_paging {
            (
                (count > 0 && end < total).then(|| Cursor::Offset(end).encode()),
                (offset > 0).then(|| Cursor::Offset(offset.saturating_sub(count)).encode()),
            )
        } else {
            (None, None)
        };
        Window {
            total,
            rows,
            next_cursor,
            previous_cursor,
        }
    }
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
