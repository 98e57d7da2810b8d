//! `Transfer` on PostgreSQL: whole tables as rows of cells (`scimitar store copy`).

use async_trait::async_trait;
use domain::transfer::{Cell, Table, Transfer, Ty};
use domain::{Error, Result};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use domain::storage::encode::limit_to_sql;

use crate::convert::PgResult;
use crate::db::Conn;
use crate::PgStore;

/// PostgreSQL takes at most 65,535 parameters per statement.
const MAX_PARAMS: usize = 60_000;

/// The counters that follow the rows: each table's BIGSERIAL column.
const SERIALS: &[(&str, &str)] = &[
    ("resources", "seq"),
    ("emails", "pos"),
    ("memberships", "pos"),
    ("provisioning_log", "seq"),
    ("inbound_requests", "seq"),
];

/// A cell as a parameter of the column's type (a NULL is typed by its column too).
fn param(cell: Cell, ty: Ty) -> Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (ty, cell) {
        (Ty::Int, Cell::Null) => Box::new(None::<i64>),
        (Ty::Text, Cell::Null) => Box::new(None::<String>),
        (Ty::Bytes, Cell::Null) => Box::new(None::<Vec<u8>>),
        (Ty::Bool, Cell::Null) => Box::new(None::<bool>),
        (Ty::Int, Cell::Int(n)) => Box::new(n),
        (Ty::Text, Cell::Text(s)) => Box::new(s),
        (Ty::Bytes, Cell::Bytes(b)) => Box::new(b),
        (Ty::Bool, Cell::Bool(b)) => Box::new(b),
        (Ty::Bool, Cell::Int(n)) => Box::new(n != 0),
        (ty, cell) => {
            return Err(Error::InvalidValue(format!(
                "cannot store {cell:?} in a column of type {ty:?}"
            )))
        }
    })
}

fn read_cell(row: &Row, i: usize, ty: Ty) -> Result<Cell> {
    let cell = match ty {
        Ty::Int => row.try_get::<_, Option<i64>>(i).pg()?.map(Cell::Int),
        Ty::Text => row.try_get::<_, Option<String>>(i).pg()?.map(Cell::Text),
        Ty::Bytes => row.try_get::<_, Option<Vec<u8>>>(i).pg()?.map(Cell::Bytes),
        Ty::Bool => row.try_get::<_, Option<bool>>(i).pg()?.map(Cell::Bool),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// The key's types, for the `after` parameters.
fn key_types(table: &Table) -> Vec<Ty> {
    table
        .key
        .iter()
        .filter_map(|k| table.columns.iter().find(|(c, _)| c == k).map(|(_, t)| *t))
        .collect()
}

#[async_trait]
impl Transfer for PgStore {
    async fn export(
        &self,
        table: &'static Table,
        after: Option<Vec<Cell>>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let keys = table.key.join(", ");
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let filter = match after {
            Some(after) => {
                for (cell, ty) in after.into_iter().zip(key_types(table)) {
                    params.push(param(cell, ty)?);
                }
                let marks: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
                format!("WHERE ({keys}) > ({})", marks.join(", "))
            }
            None => String::new(),
        };
        params.push(Box::new(limit_to_sql(limit)));
        let sql = format!(
            "SELECT {} FROM {} {filter} ORDER BY {keys} LIMIT ${}",
            columns.join(", "),
            table.name,
            params.len()
        );
        let client = self.db.client().await?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = Conn::from(&client).query(&sql, &refs).await.pg()?;
        rows.iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, ty))| read_cell(row, i, *ty))
                    .collect()
            })
            .collect()
    }

    async fn import(&self, table: &'static Table, rows: Vec<Vec<Cell>>) -> Result<()> {
        // `extension_schemas` keys on the folded URI, which only this backend stores.
        let folds_uri = table.name == "extension_schemas";
        let mut columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        if folds_uri {
            columns.push("uri_lc");
        }
        let per_row = columns.len();
        let rows_per_statement = (MAX_PARAMS / per_row.max(1)).max(1);
        let mut client = self.db.client().await?;
        let tx = self.db.begin(&mut client).await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            let mut tuples = Vec::new();
            for row in rows.by_ref().take(rows_per_statement) {
                let uri_lc = match row.get(1) {
                    Some(Cell::Text(uri)) if folds_uri => Some(uri.to_lowercase()),
                    _ => None,
                };
                for (cell, (_, ty)) in row.into_iter().zip(table.columns) {
                    params.push(param(cell, *ty)?);
                }
                if folds_uri {
                    params.push(Box::new(uri_lc));
                }
                let first = params.len() - per_row + 1;
                let marks: Vec<String> = (first..=params.len()).map(|i| format!("${i}")).collect();
                tuples.push(format!("({})", marks.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.name,
                columns.join(", "),
                tuples.join(", ")
            );
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            tx.conn().execute(&sql, &refs).await.pg()?;
        }
        self.db.commit(tx).await
    }

    async fn count(&self, table: &'static Table) -> Result<u64> {
        let client = self.db.client().await?;
        let n: i64 = Conn::from(&client)
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])
            .await
            .pg()?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn finish_import(&self) -> Result<()> {
        let client = self.db.client().await?;
        let conn = Conn::from(&client);
        for (table, column) in SERIALS {
            conn.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                   coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                ),
                &[],
            )
            .await
            .pg()?;
        }
        conn.execute(
            "UPDATE change_head SET seq = (SELECT coalesce(max(seq), 0) FROM changes)",
            &[],
        )
        .await
        .pg()?;
        // Planner statistics for the tables just filled, before the first query needs them.
        conn.execute("ANALYZE", &[]).await.pg()?;
        let head = crate::changes::head_seq(&conn).await?;
        self.db.published(head);
        Ok(())
    }
}
