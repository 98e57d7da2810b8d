//! How domain values are stored in columns, by every backend alike: timestamps as integer
//! nanoseconds since the Unix epoch, versions and counts as signed 64-bit integers, kinds, states
//! and scopes by name, JSON as text.

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::inbound::{LifecycleAction, Outcome};
use crate::model::{ChangeOp, ResourceKind, Scope, Validated};
use crate::provisioning::{LogStatus, ShadowState};
use crate::{Error, Result};

/// Timestamps are integer nanoseconds since the Unix epoch (an exact round trip).
pub fn ts_to_sql(ts: Timestamp) -> Result<i64> {
    i64::try_from(ts.as_nanosecond())
        .map_err(|_| Error::InvalidValue(format!("timestamp {ts} is out of range")))
}

pub fn ts_from_sql(nanos: i64) -> Result<Timestamp> {
    Timestamp::from_nanosecond(i128::from(nanos))
        .map_err(|e| Error::Internal(format!("stored timestamp {nanos} is invalid: {e}")))
}

pub fn kind_from_sql(name: &str) -> Result<ResourceKind> {
    ResourceKind::from_name(name)
        .ok_or_else(|| Error::Internal(format!("stored resource kind `{name}` is unknown")))
}

pub fn version_to_sql(version: u64) -> Result<i64> {
    i64::try_from(version).map_err(|_| Error::Internal(format!("version {version} out of range")))
}

pub fn version_from_sql(version: i64) -> Result<u64> {
    u64::try_from(version)
        .map_err(|_| Error::Internal(format!("stored version {version} is negative")))
}

/// The ETag form used in precondition messages.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Case folding of caseExact=false values, as the lookup columns hold them.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// A row count or `LIMIT` as a statement parameter (saturating).
pub fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A page's size or offset (from a `Query`) as a statement parameter (saturating).
pub fn page_to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count or a record's index as a column.
pub fn count_to_sql(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::InvalidValue(format!("count {n} is out of range")))
}

pub fn count_from_sql(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::Internal(format!("stored count {n} is negative")))
}

pub fn json_to_sql(value: &Value) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot serialise JSON: {e}")))
}

/// Parses a JSON column; `owner` and `what` name it in the error.
pub fn json_from_sql(owner: &str, what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored {what} of `{owner}` is not JSON: {e}")))
}

/// A resource's body as its column holds it.
pub fn body_to_sql(body: &Validated) -> Result<String> {
    serde_json::to_string(body.body())
        .map_err(|e| Error::Internal(format!("cannot serialise body: {e}")))
}

/// A stored body as the JSON object it was written as; `id` names the resource in the error.
pub fn parse_body(id: &str, body: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(body)
        .map_err(|e| Error::Internal(format!("stored body of `{id}` is not a JSON object: {e}")))
}

pub fn op_from_sql(op: &str) -> Result<ChangeOp> {
    [ChangeOp::Created, ChangeOp::Updated, ChangeOp::Deleted]
        .into_iter()
        .find(|o| o.as_str() == op)
        .ok_or_else(|| Error::Internal(format!("stored change op `{op}` is unknown")))
}

/// A token's scopes, separated by spaces.
pub fn scopes_to_sql(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.join(" ")
}

/// The scopes of token `token_id`.
pub fn scopes_from_sql(token_id: &str, scopes: &str) -> Result<Vec<Scope>> {
    scopes
        .split_whitespace()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                Error::Internal(format!("token `{token_id}` has unknown scope `{s}`"))
            })
        })
        .collect()
}

/// The hash of token `token_id`.
pub fn hash_from_sql(token_id: &str, hash: Vec<u8>) -> Result<[u8; 32]> {
    hash.try_into()
        .map_err(|_| Error::Internal(format!("token `{token_id}` has a malformed hash")))
}

/// A shadow's state; `source_id` names the shadow in the error, when there is one.
pub fn shadow_state_from_sql(state: &str, source_id: Option<&str>) -> Result<ShadowState> {
    ShadowState::parse(state).ok_or_else(|| match source_id {
        Some(source_id) => Error::Internal(format!(
            "stored shadow state `{state}` of `{source_id}` is unknown"
        )),
        None => Error::Internal(format!("stored shadow state `{state}` is unknown")),
    })
}

/// The failed attempts of the shadow of `source_id`.
pub fn attempts_from_sql(attempts: i64, source_id: &str) -> Result<u32> {
    u32::try_from(attempts).map_err(|_| {
        Error::Internal(format!(
            "stored attempts {attempts} of `{source_id}` out of range"
        ))
    })
}

/// The status of log entry `seq`.
pub fn log_status_from_sql(status: &str, seq: i64) -> Result<LogStatus> {
    LogStatus::parse(status).ok_or_else(|| {
        Error::Internal(format!(
            "stored log status `{status}` of entry {seq} is unknown"
        ))
    })
}

/// A log entry's duration.
pub fn duration_to_sql(duration_ms: u64) -> Result<i64> {
    i64::try_from(duration_ms)
        .map_err(|_| Error::InvalidValue(format!("duration {duration_ms} ms out of range")))
}

/// The duration of log entry `seq`.
pub fn duration_from_sql(duration_ms: i64, seq: i64) -> Result<u64> {
    u64::try_from(duration_ms).map_err(|_| {
        Error::Internal(format!(
            "stored duration {duration_ms} of entry {seq} is negative"
        ))
    })
}

pub fn outcome_from_sql(outcome: &str) -> Result<Outcome> {
    Outcome::parse(outcome)
        .ok_or_else(|| Error::Internal(format!("stored outcome `{outcome}` is unknown")))
}

pub fn action_from_sql(action: &str) -> Result<LifecycleAction> {
    LifecycleAction::parse(action)
        .ok_or_else(|| Error::Internal(format!("stored action `{action}` is unknown")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let ts = Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap();
        assert_eq!(ts_from_sql(ts_to_sql(ts).unwrap()).unwrap(), ts);
        assert_eq!(version_from_sql(version_to_sql(7).unwrap()).unwrap(), 7);
        assert!(version_to_sql(u64::MAX).is_err());
        assert!(version_from_sql(-1).is_err());
        assert_eq!(count_from_sql(count_to_sql(12).unwrap()).unwrap(), 12);
        assert_eq!(limit_to_sql(usize::MAX), i64::MAX);
        assert_eq!(page_to_sql(u64::MAX), i64::MAX);
        let scopes = [Scope::ScimRead, Scope::ScimWrite];
        assert_eq!(
            scopes_from_sql("t", &scopes_to_sql(&scopes)).unwrap(),
            scopes
        );
        assert!(scopes_from_sql("t", "scim:read nonsense").is_err());
        assert!(hash_from_sql("t", vec![0; 31]).is_err());
        for op in [ChangeOp::Created, ChangeOp::Updated, ChangeOp::Deleted] {
            assert_eq!(op_from_sql(op.as_str()).unwrap(), op);
        }
        assert!(shadow_state_from_sql("gone", Some("u1")).is_err());
        assert_eq!(etag(3), "W/\"3\"");
    }
}
