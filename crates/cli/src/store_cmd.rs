//! `scimitar migrate` and `scimitar store copy`: the database itself.

use clap::Subcommand;
use domain::transfer::{Cell, Transfer, TABLES};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Location, StorageArgs};

/// Rows read and written per round trip.
const PAGE: usize = 2_000;

#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Copy every table of one installation into an empty database, with a progress bar, then
    /// compare the row counts of both. Stop the servers of the source first; start them again
    /// with `--database` set to the copy.
    Copy {
        /// The database to read: sqlite://PATH or postgres://USER@HOST:PORT/DATABASE.
        #[arg(long)]
        from: String,
        /// The database to fill: created or migrated, and it must hold no data yet.
        #[arg(long)]
        to: String,
    },
}

pub async fn migrate(storage: &StorageArgs) -> anyhow::Result<()> {
    let location = Location::resolve(storage.data_dir.as_deref(), storage.database.as_deref())?;
    location.open().await?;
    println!("{location}: the schema is up to date");
    Ok(())
}

pub async fn run(cmd: StoreCmd) -> anyhow::Result<()> {
    match cmd {
        StoreCmd::Copy { from, to } => copy(&Location::parse(&from)?, &Location::parse(&to)?).await,
    }
}

async fn copy(from: &Location, to: &Location) -> anyhow::Result<()> {
    anyhow::ensure!(from != to, "--from and --to name the same database");
    let source = from.open_transfer().await?;
    let dest = to.open_transfer().await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let held = dest.count(table).await?;
        anyhow::ensure!(
            held == 0,
            "{to} already holds data ({held} rows in `{}`); copy into a new, empty database",
            table.name
        );
        counts.push(source.count(table).await?);
    }
    let bar = ProgressBar::new(counts.iter().sum());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec} {eta} left {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for table in TABLES {
        bar.set_message(table.name);
        copy_table(source.as_ref(), dest.as_ref(), table, &bar).await?;
    }
    dest.finish_import().await?;
    bar.finish_and_clear();

    println!("{:<20} {:>10} {:>10}", "TABLE", "SOURCE", "COPY");
    let mut mismatched = Vec::new();
    for (table, expected) in TABLES.iter().zip(counts) {
        let copied = dest.count(table).await?;
        println!("{:<20} {expected:>10} {copied:>10}", table.name);
        if copied != expected {
            mismatched.push(table.name);
        }
    }
    anyhow::ensure!(
        mismatched.is_empty(),
        "the copy differs from the source in {}: was the source written to during the copy?",
        mismatched.join(", ")
    );
    eprintln!("copied {from} to {to}; every count matches. Start the servers with --database {to}");
    Ok(())
}

async fn copy_table(
    source: &dyn Transfer,
    dest: &dyn Transfer,
    table: &'static domain::transfer::Table,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let key = table.key_positions();
    let mut after: Option<Vec<Cell>> = None;
    loop {
        let rows = source.export(table, after.take(), PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(key.iter().filter_map(|i| last.get(*i).cloned()).collect());
        let n = rows.len();
        dest.import(table, rows).await?;
        bar.inc(n as u64);
        if n < PAGE {
            return Ok(());
        }
    }
}
