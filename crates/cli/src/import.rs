//! `scimitar import FILE.csv`: users from a CSV file into a tenant, matched, mapped and written
//! by the same code as bulkUpload (`inbound::process`), directly on the data directory (like
//! `scimitar tenant`). The header row holds SCIM attribute paths (`userName`, `name.givenName`,
//! `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:employeeNumber`); each row is one
//! user, empty cells are absent. Bad rows are named with their row number (the header is row 1)
//! and reason; the others are applied. Re-running the same file changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use domain::inbound::{Outcome, StagedRecord};
use domain::patch::{apply_patch, parse_patch};
use domain::schema::Registry;
use domain::{Clock, ResourceKind, SystemClock};
use inbound::process::{self, Ctx};
use inbound::{Source, SourceSpec};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::config::{open_store, StorageArgs};

/// Rows planned together and written in one store round trip (when none depends on another).
const CHUNK: usize = 200;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file: a header row of SCIM attribute paths, then one user per row.
    pub file: PathBuf,
    /// The tenant to import into.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// The source's settings as TOML (the keys of an `[[inbound]]` entry: matching, mappings,
    /// hire_date, leave_date, time_zone; `name`, default `import`, is what effective dates are
    /// scheduled under: `serve` checks them again with its `[[inbound]]` entry of that name, or
    /// applies them as scheduled). Default: match `externalId` to the enterprise
    /// `employeeNumber`, attributes as named by the header.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Report what each row would do; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A row that could not be turned into a record.
#[derive(Debug)]
struct BadRow {
    row: u64,
    reason: String,
}

pub async fn run(storage: &StorageArgs, args: ImportArgs) -> anyhow::Result<()> {
    let source = load_source(args.mapping.as_deref())?;
    let store = open_store(storage.data_dir.as_deref(), storage.database.as_deref()).await?;
    let tenant = store.tenant_by_name(&args.tenant).await?.with_context(|| {
        format!(
            "there is no tenant `{}`; list them with `scimitar tenant list`",
            args.tenant
        )
    })?;
    let registry = inbound::registry(store.as_ref(), &tenant.id).await?;
    let (records, bad) = read_csv(&args.file, &registry, &source)?;
    let rows = records.len() + bad.len();
    let clock = SystemClock;

    let bar = ProgressBar::new((records.len() + bad.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec} {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.inc(bad.len() as u64);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut failures: Vec<BadRow> = bad;
    for chunk in records.chunks(CHUNK) {
        let ctx = Ctx {
            store: store.as_ref(),
            registry: &registry,
            source: &source,
            tenant_id: &tenant.id,
            now: clock.now(),
        };
        let mut outcomes = Vec::with_capacity(chunk.len());
        if args.dry_run {
            for record in chunk {
                outcomes.push(match process::plan(ctx, &record.data).await {
                    Ok(planned) => (planned.outcome, None),
                    Err(e) => (Outcome::Failed, Some(e.to_string())),
                });
            }
        } else if process::independent(chunk, &source) {
            for result in process::process_together(ctx, chunk, None).await? {
                outcomes.push((result.outcome, result.error));
            }
        } else {
            for record in chunk {
                let result = process::process(ctx, record, None).await;
                outcomes.push((result.outcome, result.error));
            }
        }
        for (record, (outcome, error)) in chunk.iter().zip(outcomes) {
            if outcome == Outcome::Failed {
                failures.push(BadRow {
                    row: record.index,
                    reason: error.unwrap_or_default(),
                });
            } else {
                *counts.entry(outcome.as_str()).or_default() += 1;
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    failures.sort_by_key(|f| f.row);
    for f in &failures {
        eprintln!("row {}: {}", f.row, f.reason);
    }
    let count = |o: Outcome| counts.get(o.as_str()).copied().unwrap_or(0);
    let verb = if args.dry_run { "would be " } else { "" };
    println!(
        "{}created: {}, updated: {}, unchanged: {}, enabled: {}, disabled: {}, failed: {} ({verb}from {} rows)",
        if args.dry_run { "dry run, nothing written; " } else { "" },
        count(Outcome::Created),
        count(Outcome::Updated),
        count(Outcome::Unchanged),
        count(Outcome::Enabled),
        count(Outcome::Disabled),
        failures.len(),
        rows,
    );
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of the rows failed (listed above with their row numbers)",
            failures.len()
        );
    }
    Ok(())
}

fn load_source(path: Option<&std::path::Path>) -> anyhow::Result<Source> {
    let Some(path) = path else {
        return Ok(Source::default_source());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the mapping file {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    table
        .entry("name")
        .or_insert_with(|| toml::Value::String("import".into()));
    let spec: SourceSpec = toml::Value::Table(table)
        .try_into()
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
    spec.check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The file's rows as records (index = row number, the header being row 1), and the rows that
/// could not be read.
fn read_csv(
    path: &std::path::Path,
    registry: &Registry,
    source: &Source,
) -> anyhow::Result<(Vec<StagedRecord>, Vec<BadRow>)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(std::io::BufReader::new(file));
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header row", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect();
    for (i, h) in headers.iter().enumerate() {
        scim_filter::parse_path(h).map_err(|e| {
            anyhow::anyhow!(
                "{}: column {} of the header, `{h}`, is not a SCIM attribute path: {e}",
                path.display(),
                i + 1
            )
        })?;
    }
    let info = registry.info(ResourceKind::User);
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let number = i as u64 + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                bad.push(BadRow {
                    row: number,
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        if row.len() != headers.len() {
            bad.push(BadRow {
                row: number,
                reason: format!("has {} fields; the header has {}", row.len(), headers.len()),
            });
            continue;
        }
        let ops: Vec<Value> = headers
            .iter()
            .zip(row.iter())
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(path, cell)| json!({"op": "add", "path": path, "value": cell}))
            .collect();
        let mut data = Map::new();
        let applied = parse_patch(&json!({"schemas": [scim_proto::PATCH_OP], "Operations": ops}))
            .and_then(|ops| apply_patch(ResourceKind::User, &mut data, None, &ops, &info));
        if let Err(e) = applied {
            bad.push(BadRow {
                row: number,
                reason: e.to_string(),
            });
            continue;
        }
        let data = Value::Object(data);
        let Some(key) = process::match_key(&data, source) else {
            bad.push(BadRow {
                row: number,
                reason: format!(
                    "no `{}`, which matches the row to a directory user",
                    source.spec.matching.incoming
                ),
            });
            continue;
        };
        records.push(StagedRecord {
            index: number,
            bulk_id: None,
            external_id: Some(key),
            data,
        });
    }
    Ok((records, bad))
}
