//! `Transfer` on SQLite: whole tables as rows of cells (`scimitar store copy`). The `pos`
//! column of the tables without a natural key is the rowid.

use async_trait::async_trait;
use domain::transfer::{Cell, Table, Transfer, Ty};
use domain::Result;
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::convert::SqlResult;
use crate::SqliteStore;

/// A column as SQL: `pos` is the rowid.
fn column(name: &str) -> &str {
    if name == "pos" {
        "rowid"
    } else {
        name
    }
}

fn key_list(table: &Table) -> String {
    table
        .key
        .iter()
        .map(|k| column(k))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_value(cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(n) => Value::Integer(n),
        Cell::Text(s) => Value::Text(s),
        Cell::Bytes(b) => Value::Blob(b),
        Cell::Bool(b) => Value::Integer(i64::from(b)),
    }
}

fn read_cell(row: &rusqlite::Row<'_>, i: usize, ty: Ty) -> rusqlite::Result<Cell> {
    let cell = match ty {
        Ty::Int => row.get::<_, Option<i64>>(i)?.map(Cell::Int),
        Ty::Text => row.get::<_, Option<String>>(i)?.map(Cell::Text),
        Ty::Bytes => row.get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes),
        Ty::Bool => row.get::<_, Option<i64>>(i)?.map(|n| Cell::Bool(n != 0)),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

fn export(
    conn: &Connection,
    table: &Table,
    after: Option<Vec<Cell>>,
    limit: usize,
) -> Result<Vec<Vec<Cell>>> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|(c, _)| match column(c) {
            "rowid" => "rowid AS pos".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let keys = key_list(table);
    let mut params: Vec<Value> = Vec::new();
    let filter = match after {
        Some(after) => {
            let marks = vec!["?"; after.len()].join(", ");
            params.extend(after.into_iter().map(to_value));
            format!("WHERE ({keys}) > ({marks})")
        }
        None => String::new(),
    };
    params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {} FROM {} {filter} ORDER BY {keys} LIMIT ?",
        columns.join(", "),
        table.name
    );
    let mut stmt = conn.prepare(&sql).sql()?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| read_cell(row, i, *ty))
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })
        .sql()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().sql()
}

fn import(conn: &Connection, table: &Table, rows: Vec<Vec<Cell>>) -> Result<()> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| column(c)).collect();
    let marks = vec!["?"; columns.len()].join(", ");
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({marks})",
        table.name,
        columns.join(", ")
    );
    let mut stmt = conn.prepare(&sql).sql()?;
    for row in rows {
        stmt.execute(rusqlite::params_from_iter(row.into_iter().map(to_value)))
            .sql()?;
    }
    Ok(())
}

#[async_trait]
impl Transfer for SqliteStore {
    async fn export(
        &self,
        table: &'static Table,
        after: Option<Vec<Cell>>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        self.read(move |conn| export(conn, table, after, limit))
            .await
    }

    async fn import(&self, table: &'static Table, rows: Vec<Vec<Cell>>) -> Result<()> {
        self.write(move |conn| import(conn, table, rows)).await
    }

    async fn count(&self, table: &'static Table) -> Result<u64> {
        self.read(move |conn| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| {
                    row.get(0)
                })
                .sql()?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// SQLite's AUTOINCREMENT counters follow explicit rowids by themselves.
    async fn finish_import(&self) -> Result<()> {
        Ok(())
    }
}
