//! One incoming record → match → create, update, enable, disable or nothing, validated against
//! the tenant's schemas and written in one `Store::commit_inbound` transaction with its result,
//! its schedule and its log entry (never half-applied).
//!
//! A record carries only what it changes: it is applied to the matched user as a path-less
//! PATCH `replace` (complex attributes and extensions merge sub-attribute by sub-attribute,
//! RFC 7644 §3.5.2.3), or, with mappings, as one `replace` per mapped attribute.

use domain::inbound::{
    log_app_id, InboundCommit, Outcome, RecordResult, Scheduled, StagedRecord, UserWrite,
};
use domain::patch::{apply_patch, PatchOp, PatchOpKind};
use domain::schema::{Mode, Registry};
use domain::{
    Error, Load, LogEntry, LogStatus, Query, ResourceKind, Result, Store, StoredResource, Write,
};
use jiff::Timestamp;
use mapping_lang::expr::mapping::evaluate_prepared;
use mapping_lang::expr::{Context, Value as ExprValue};
use serde_json::{json, Map, Value};

use crate::lifecycle;
use crate::spec::Source;

/// Attempts of a record when another writer changed the user between the read and the write.
const ATTEMPTS: usize = 5;

/// What processing a record needs.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub registry: &'a Registry,
    pub source: &'a Source,
    pub tenant_id: &'a str,
    pub now: Timestamp,
}

/// What a record would do, before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub outcome: Outcome,
    pub user_id: Option<String>,
    pub write: UserWrite,
    /// The user's schedule, when the source decides effective dates.
    pub schedule: Option<Vec<Scheduled>>,
    /// Something worth knowing that did not stop the record (an unknown manager).
    pub note: Option<String>,
}

/// The value of the source's matching attribute in an incoming record, as text.
pub fn match_key(data: &Value, source: &Source) -> Option<String> {
    let path = mapping_lang::source::resolve(&source.spec.matching.incoming, None).ok()?;
    let first = mapping_lang::source::values(data, &path)
        .into_iter()
        .next()?;
    match first {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The directory user whose matching attribute is `key`; `InvalidValue` if several are.
pub async fn find(ctx: Ctx<'_>, key: &str) -> Result<Option<StoredResource>> {
    let literal = serde_json::to_string(key)
        .map_err(|e| Error::Internal(format!("cannot quote a matching value: {e}")))?;
    let text = format!("{} eq {literal}", ctx.source.spec.matching.directory);
    let filter = scim_filter::parse_filter(&text)
        .map_err(|e| Error::InvalidValue(format!("matching filter `{text}`: {e}")))?;
    let query = Query {
        filter: Some(filter),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 2,
        cursor: None,
        load: Load::NONE,
    };
    let info = ctx.registry.info(ResourceKind::User);
    let page = ctx
        .store
        .query(ctx.tenant_id, ResourceKind::User, &query, &info)
        .await?;
    let mut found = page.resources.into_iter();
    match (found.next(), found.next()) {
        (Some(_), Some(_)) => Err(Error::InvalidValue(format!(
            "several directory users have {} `{key}`",
            ctx.source.spec.matching.directory
        ))),
        (user, _) => Ok(user),
    }
}

/// Decides what `data` does, reading the directory but writing nothing.
pub async fn plan(ctx: Ctx<'_>, data: &Value) -> Result<Planned> {
    let key = match_key(data, ctx.source).ok_or_else(|| {
        Error::InvalidValue(format!(
            "the record has no `{}`, which matches it to a directory user",
            ctx.source.spec.matching.incoming
        ))
    })?;
    let current = find(ctx, &key).await?;
    let creating = current.is_none();
    let ops = operations(ctx, data, &key, creating)?;
    let mut body = current.as_ref().map_or_else(Map::new, |c| c.body.clone());
    let info = ctx.registry.info(ResourceKind::User);
    apply_patch(ResourceKind::User, &mut body, None, &ops, &info)?;
    if creating && !body.contains_key("active") {
        body.insert("active".into(), Value::Bool(true));
    }
    let note = resolve_manager(ctx, &mut body, current.as_ref()).await?;
    let schedule = if ctx.source.has_dates() {
        let wants_active = match data.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => match &current {
                None => true,
                Some(c) => {
                    !matches!(c.body.get("active"), Some(Value::Bool(false)))
                        || waiting_for_hire(ctx, &c.id).await?
                }
            },
        };
        let decision = lifecycle::decide(&body, ctx.source, ctx.now, wants_active)?;
        if decision.disable_now {
            body.insert("active".into(), Value::Bool(false));
        }
        Some(decision.schedule)
    } else {
        None
    };
    let mode = match &current {
        Some(c) => Mode::Replace(c),
        None => Mode::Create,
    };
    let validated = ctx
        .registry
        .validate(ResourceKind::User, Value::Object(body), mode)?;
    let active = |b: &Map<String, Value>| !matches!(b.get("active"), Some(Value::Bool(false)));
    let (outcome, write, user_id) = match current {
        None => (
            Outcome::Created,
            UserWrite::Create(Write::whole(validated)),
            None,
        ),
        Some(c) if validated.body() == &c.body => (Outcome::Unchanged, UserWrite::None, Some(c.id)),
        Some(c) => {
            let outcome = match (active(&c.body), active(validated.body())) {
                (false, true) => Outcome::Enabled,
                (true, false) => Outcome::Disabled,
                _ => Outcome::Updated,
            };
            let write = UserWrite::Replace {
                id: c.id.clone(),
                write: Write::whole(validated),
                version: c.version,
            };
            (outcome, write, Some(c.id))
        }
    };
    Ok(Planned {
        outcome,
        user_id,
        write,
        schedule,
        note,
    })
}

/// Whether the user is disabled only until its hire date.
async fn waiting_for_hire(ctx: Ctx<'_>, user_id: &str) -> Result<bool> {
    let schedule = ctx.store.lifecycle_of(ctx.tenant_id, user_id).await?;
    Ok(schedule
        .iter()
        .any(|s| s.action == domain::inbound::LifecycleAction::Enable))
}

/// The PATCH operations that carry the record into the directory user.
fn operations(ctx: Ctx<'_>, data: &Value, key: &str, creating: bool) -> Result<Vec<PatchOp>> {
    let directory = &ctx.source.spec.matching.directory;
    let mut ops = Vec::new();
    let mut sets_key = false;
    match &ctx.source.mappings {
        None => {
            let mut incoming = data.as_object().cloned().unwrap_or_default();
            for drop in ["schemas", "id", "meta", "groups"] {
                incoming.remove(drop);
            }
            if let Ok(path) = mapping_lang::source::resolve(directory, None) {
                sets_key = !mapping_lang::source::values(data, &path).is_empty();
            }
            if !incoming.is_empty() {
                ops.push(PatchOp {
                    op: PatchOpKind::Replace,
                    path: None,
                    value: Some(Value::Object(incoming)),
                });
            }
        }
        Some(mappings) => {
            let expr_ctx = Context::new(data, ctx.now);
            for prepared in mappings {
                let target = &prepared.mapping.target;
                let value = evaluate_prepared(prepared, &expr_ctx, creating)
                    .map_err(|e| Error::InvalidValue(format!("mapping `{target}`: {e}")))?;
                let value = match value {
                    None | Some(ExprValue::Null) => continue,
                    Some(ExprValue::Str(s)) => Value::String(s),
                    Some(ExprValue::List(l)) => {
                        Value::Array(l.into_iter().map(Value::String).collect())
                    }
                };
                sets_key |= target.eq_ignore_ascii_case(directory);
                ops.push(path_op(target, value)?);
            }
        }
    }
    if !sets_key {
        ops.push(path_op(directory, Value::String(key.to_owned()))?);
    }
    Ok(ops)
}

/// An operation that sets the attribute at `path`.
fn path_op(path: &str, value: Value) -> Result<PatchOp> {
    let parsed = scim_filter::parse_path(path)
        .map_err(|e| Error::InvalidPath(format!("`{path}` is not an attribute path: {e}")))?;
    Ok(PatchOp {
        op: op_for(path),
        path: Some(parsed),
        value: Some(value),
    })
}

/// A filtered path may match nothing yet: `add` creates the element, `replace` would not.
fn op_for(path: &str) -> PatchOpKind {
    if path.contains('[') {
        PatchOpKind::Add
    } else {
        PatchOpKind::Replace
    }
}

/// The manager the record names by its matching key, replaced by the manager's directory id.
/// An unknown manager is left out (the rest of the record still applies), with a note.
async fn resolve_manager(
    ctx: Ctx<'_>,
    body: &mut Map<String, Value>,
    current: Option<&StoredResource>,
) -> Result<Option<String>> {
    let urn = scim_proto::ENTERPRISE_USER_SCHEMA;
    let reference = |b: &Map<String, Value>| -> Option<String> {
        match b.get(urn)?.get("manager")? {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.get("value").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    };
    let Some(key) = reference(body) else {
        return Ok(None);
    };
    if current.and_then(|c| reference(&c.body)).as_deref() == Some(key.as_str()) {
        return Ok(None); // unchanged: already a directory id
    }
    let manager = find(ctx, &key).await?;
    let Some(Value::Object(ext)) = body.get_mut(urn) else {
        return Ok(None);
    };
    match manager {
        Some(m) => {
            ext.insert("manager".into(), json!({"value": m.id}));
            Ok(None)
        }
        None => {
            match current.and_then(|c| c.body.get(urn)?.get("manager").cloned()) {
                Some(old) => ext.insert("manager".into(), old),
                None => ext.remove("manager"),
            };
            Ok(Some(format!(
                "manager `{key}` is not in the directory yet; the manager was left as it was"
            )))
        }
    }
}

/// Plans one record and returns what committing it writes, with its result.
pub async fn prepare(
    ctx: Ctx<'_>,
    record: &StagedRecord,
    request: Option<&str>,
) -> Result<(InboundCommit, RecordResult)> {
    let planned = plan(ctx, &record.data).await?;
    let result = RecordResult {
        index: record.index,
        bulk_id: record.bulk_id.clone(),
        external_id: record.external_id.clone(),
        outcome: planned.outcome,
        user_id: planned.user_id.clone(),
        error: planned.note.clone(),
    };
    Ok((commit_of(ctx, planned, &result, request), result))
}

/// What a failed record writes: its result and log entry only.
pub fn failure(
    ctx: Ctx<'_>,
    record: &StagedRecord,
    request: Option<&str>,
    error: Option<Error>,
) -> (InboundCommit, RecordResult) {
    let error = match error {
        Some(Error::Internal(cause)) => {
            tracing::error!(%cause, "inbound record failed");
            "internal error; the server log has the details".to_owned()
        }
        Some(e) => e.to_string(),
        None => "the user kept changing while this record was applied; send it again".to_owned(),
    };
    let failed = RecordResult {
        index: record.index,
        bulk_id: record.bulk_id.clone(),
        external_id: record.external_id.clone(),
        outcome: Outcome::Failed,
        user_id: None,
        error: Some(error),
    };
    let commit = InboundCommit {
        tenant_id: ctx.tenant_id.to_owned(),
        source: ctx.source.name().to_owned(),
        write: UserWrite::None,
        schedule: None,
        result: request.map(|r| (r.to_owned(), failed.clone())),
        log: Some(log_entry(ctx, &failed, request)),
        now: ctx.now,
    };
    (commit, failed)
}

/// Processes one record of a request (or of a CSV import with `request` `None`) and writes its
/// effect; returns its result, also for a failure (which writes only the result and log entry).
pub async fn process(ctx: Ctx<'_>, record: &StagedRecord, request: Option<&str>) -> RecordResult {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let (commit, result) = match prepare(ctx, record, request).await {
            Ok(prepared) => prepared,
            Err(e) => {
                last = Some(e);
                break;
            }
        };
        match ctx.store.commit_inbound(commit).await {
            Ok(stored) => {
                let user_id = stored.map(|s| s.id).or(result.user_id.clone());
                count(ctx, result.outcome);
                return RecordResult { user_id, ..result };
            }
            // Another writer changed the user between the read and the write: read again.
            Err(Error::PreconditionFailed(_)) => continue,
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let (commit, failed) = failure(ctx, record, request, last);
    if let Err(e) = ctx.store.commit_inbound(commit).await {
        tracing::error!(error = %e, "cannot record a failed inbound record");
    }
    count(ctx, Outcome::Failed);
    failed
}

/// `scimitar_inbound_records_total{source, outcome}`.
fn count(ctx: Ctx<'_>, outcome: Outcome) {
    metrics::counter!(
        "scimitar_inbound_records_total",
        "source" => ctx.source.name().to_owned(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
}

/// Whether records can be planned together and written in one round trip: no matching key
/// twice, and no record naming another of them as its manager (each would have to see the
/// other's write).
pub fn independent(records: &[StagedRecord], source: &Source) -> bool {
    let keys: Vec<String> = records
        .iter()
        .map(|r| match_key(&r.data, source).unwrap_or_default())
        .collect();
    let distinct: std::collections::HashSet<&String> = keys.iter().collect();
    distinct.len() == keys.len()
        && records
            .iter()
            .filter_map(|r| manager_key(&r.data))
            .all(|m| !distinct.contains(&m))
}

/// The manager a record names (by the manager's matching key).
fn manager_key(data: &Value) -> Option<String> {
    match data
        .get(scim_proto::ENTERPRISE_USER_SCHEMA)?
        .get("manager")?
    {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("value").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Plans [`independent`] records, then writes them all in one round trip; a record whose write
/// fails (its user changed meanwhile, a uniqueness clash) is processed again on its own.
pub async fn process_together(
    ctx: Ctx<'_>,
    records: &[StagedRecord],
    request: Option<&str>,
) -> Result<Vec<RecordResult>> {
    let mut commits = Vec::with_capacity(records.len());
    let mut results = Vec::with_capacity(records.len());
    for record in records {
        let (commit, result) = match prepare(ctx, record, request).await {
            Ok(prepared) => prepared,
            Err(e) => failure(ctx, record, request, Some(e)),
        };
        commits.push(commit);
        results.push(result);
    }
    let outcomes = ctx.store.commit_inbound_many(commits).await?;
    let mut out = Vec::with_capacity(records.len());
    for ((record, outcome), result) in records.iter().zip(outcomes).zip(results) {
        out.push(match outcome {
            Ok(stored) => {
                count(ctx, result.outcome);
                RecordResult {
                    user_id: stored.map(|s| s.id).or(result.user_id.clone()),
                    ..result
                }
            }
            Err(_) => process(ctx, record, request).await,
        });
    }
    Ok(out)
}

fn commit_of(
    ctx: Ctx<'_>,
    planned: Planned,
    result: &RecordResult,
    request: Option<&str>,
) -> InboundCommit {
    InboundCommit {
        tenant_id: ctx.tenant_id.to_owned(),
        source: ctx.source.name().to_owned(),
        write: planned.write,
        schedule: planned.schedule,
        result: request.map(|r| (r.to_owned(), result.clone())),
        log: Some(log_entry(ctx, result, request)),
        now: ctx.now,
    }
}

/// The provisioning log entry of a record (spec §4.5's shape, under the source's app id).
pub fn log_entry(ctx: Ctx<'_>, result: &RecordResult, request: Option<&str>) -> LogEntry {
    let (action, status) = match result.outcome {
        Outcome::Created => ("create", LogStatus::Success),
        Outcome::Updated => ("update", LogStatus::Success),
        Outcome::Enabled => ("enable", LogStatus::Success),
        Outcome::Disabled => ("disable", LogStatus::Success),
        Outcome::Unchanged => ("other", LogStatus::Skipped),
        Outcome::Failed => ("other", LogStatus::Failure),
    };
    let request = request.unwrap_or("import");
    LogEntry {
        seq: 0,
        app_id: log_app_id(ctx.tenant_id, ctx.source.name()),
        at: ctx.now,
        cycle_id: request.to_owned(),
        change_id: format!("{request}:{}", result.index),
        kind: ResourceKind::User,
        source_id: result.user_id.clone().unwrap_or_default(),
        target_id: result.user_id.clone(),
        action: action.to_owned(),
        status,
        reason: result
            .error
            .clone()
            .unwrap_or_else(|| result.outcome.as_str().to_owned()),
        error_code: None,
        duration_ms: 0,
        details: json!({
            "bulkId": result.bulk_id,
            "externalId": result.external_id,
            "outcome": result.outcome.as_str(),
        }),
    }
}
