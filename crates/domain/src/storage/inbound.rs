//! Inbound provisioning as every backend stores it: a staged request's records as one JSON
//! array, and whom the parts of a commit are about once its user write is done.

use std::collections::HashSet;

use serde_json::Value;

use crate::inbound::{RecordResult, StagedRecord};
use crate::model::StoredResource;
use crate::provisioning::LogEntry;
use crate::storage::encode::count_to_sql;
use crate::{Error, Result};

/// The records as one JSON array, written by hand to serialise each record's data without
/// copying it.
pub fn records_to_sql(records: &[StagedRecord]) -> Result<String> {
    let json = |v: &Value| {
        serde_json::to_string(v)
            .map_err(|e| Error::Internal(format!("cannot serialise a staged record: {e}")))
    };
    let text = |s: &Option<String>| json(&s.clone().map_or(Value::Null, Value::String));
    let mut out = String::from("[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"index\":{},\"bulkId\":{},\"externalId\":{},\"data\":{}}}",
            r.index,
            text(&r.bulk_id)?,
            text(&r.external_id)?,
            json(&r.data)?
        ));
    }
    out.push(']');
    Ok(out)
}

/// The records of [`records_to_sql`]'s array that have no result yet: `done` holds the indexes
/// of those that have one.
pub fn pending_records(records: &str, done: &HashSet<i64>) -> Result<Vec<StagedRecord>> {
    let records: Vec<Value> = serde_json::from_str(records)
        .map_err(|e| Error::Internal(format!("staged records are not JSON: {e}")))?;
    let mut staged = Vec::with_capacity(records.len());
    for record in &records {
        let record = staged_record(record)?;
        if !done.contains(&count_to_sql(record.index)?) {
            staged.push(record);
        }
    }
    Ok(staged)
}

/// A staged record from its JSON form.
fn staged_record(v: &Value) -> Result<StagedRecord> {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(StagedRecord {
        index: v
            .get("index")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Internal("staged record without index".into()))?,
        bulk_id: text("bulkId"),
        external_id: text("externalId"),
        data: v.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// The user the rest of an inbound commit is about: the one `written`, else the one its result
/// or log entry names. Fills in the result's missing user id, and makes the log entry about
/// that user.
pub fn attribute(
    written: Option<&StoredResource>,
    result: &mut Option<(String, RecordResult)>,
    log: &mut Option<LogEntry>,
) -> Option<String> {
    let user_id = written
        .map(|s| s.id.clone())
        .or_else(|| result.as_ref().and_then(|(_, r)| r.user_id.clone()))
        .or_else(|| {
            log.as_ref()
                .filter(|l| !l.source_id.is_empty())
                .map(|l| l.source_id.clone())
        });
    if let Some((_, record)) = result {
        if record.user_id.is_none() {
            record.user_id.clone_from(&user_id);
        }
    }
    if let (Some(entry), Some(id)) = (log, &user_id) {
        entry.source_id.clone_from(id);
        entry.target_id = Some(id.clone());
    }
    user_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let records = vec![
            StagedRecord {
                index: 0,
                bulk_id: Some("b\"0".into()),
                external_id: None,
                data: serde_json::json!({"userName": "a"}),
            },
            StagedRecord {
                index: 1,
                bulk_id: None,
                external_id: Some("e1".into()),
                data: Value::Null,
            },
        ];
        let json = records_to_sql(&records).unwrap();
        assert_eq!(pending_records(&json, &HashSet::new()).unwrap(), records);
        let done = HashSet::from([0]);
        assert_eq!(pending_records(&json, &done).unwrap(), records[1..]);
    }
}
