//! What the store keeps for outbound provisioning: apps, their assignments, the engine's shadow
//! of every object it provisions, the provisioning log, the engine's per-app state and leases.
//!
//! The store treats `AppRecord::spec`, `Shadow::last_sent` and `AppRecord::state` as opaque
//! JSON: their meaning belongs to the engine (`engine::spec`, `engine::state`).

use jiff::Timestamp;
use serde_json::Value;

use crate::model::ResourceKind;

/// One downstream app of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    pub id: String,
    pub tenant_id: String,
    /// Unique within the tenant.
    pub name: String,
    pub enabled: bool,
    /// The app's settings (target URL, mappings, scope, …) as the engine's `AppSpec` JSON.
    /// Never holds a secret.
    pub spec: Value,
    /// The credentials (bearer token or OAuth client secret), sealed (`crate::secret`).
    pub sealed_secret: Option<Vec<u8>>,
    /// The engine's runtime state (watermark, cycle, quarantine, counters) as its JSON.
    /// `Value::Null` for an app that never ran.
    pub state: Value,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// How the target account of a provisioned object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowState {
    /// Not (yet) in the target: never provisioned, or only queued.
    Pending,
    Active,
    Disabled,
    Deleted,
}

impl ShadowState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShadowState::Pending => "pending",
            ShadowState::Active => "active",
            ShadowState::Disabled => "disabled",
            ShadowState::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ShadowState::Pending,
            ShadowState::Active,
            ShadowState::Disabled,
            ShadowState::Deleted,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// What the engine remembers per (app, source object).
#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    pub app_id: String,
    pub kind: ResourceKind,
    /// The object's id in the directory.
    pub source_id: String,
    /// Its id in the target, once created or matched.
    pub target_id: Option<String>,
    pub state: ShadowState,
    /// What was last sent, as the engine's JSON (target path → value; members for groups).
    pub last_sent: Value,
    /// When the worker should look at this object again (escrow retry, a queued re-evaluation
    /// after an assignment change); `None`: only when it changes.
    pub due: Option<Timestamp>,
    /// Failed attempts in a row (escrow); 0 when the last attempt succeeded.
    pub attempts: u32,
    /// The last failure, for status and logs.
    pub last_error: Option<String>,
    pub updated: Timestamp,
}

impl Shadow {
    /// A shadow for an object the engine has not provisioned yet.
    pub fn pending(app_id: &str, kind: ResourceKind, source_id: &str, now: Timestamp) -> Shadow {
        Shadow {
            app_id: app_id.to_owned(),
            kind,
            source_id: source_id.to_owned(),
            target_id: None,
            state: ShadowState::Pending,
            last_sent: Value::Object(serde_json::Map::new()),
            due: None,
            attempts: 0,
            last_error: None,
            updated: now,
        }
    }
}

/// The outcome of one provisioning action (spec §4.5 `provisioningStatusInfo.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    Success,
    Warning,
    Failure,
    Skipped,
}

impl LogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Success => "success",
            LogStatus::Warning => "warning",
            LogStatus::Failure => "failure",
            LogStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            LogStatus::Success,
            LogStatus::Warning,
            LogStatus::Failure,
            LogStatus::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(s))
    }
}

/// One provisioning log entry (spec §4.5): one object action.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Assigned by the store; 0 when writing.
    pub seq: i64,
    pub app_id: String,
    pub at: Timestamp,
    /// The cycle (initial, incremental, on-demand, retry) the action belongs to.
    pub cycle_id: String,
    /// Unique per change: the change-log sequence number, or a generated id.
    pub change_id: String,
    pub kind: ResourceKind,
    pub source_id: String,
    pub target_id: Option<String>,
    /// `create`, `update`, `delete`, `disable`, `enable`, `stagedDelete`, `other`.
    pub action: String,
    pub status: LogStatus,
    /// Why: the scope decision, the skip reason, the error.
    pub reason: String,
    /// Entra's error code for failures (`EntryConflict`, …).
    pub error_code: Option<String>,
    pub duration_ms: u64,
    /// Steps, modified properties and the redacted request/response summary, as JSON.
    pub details: Value,
}

/// Which log entries to read: newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    pub app_id: String,
    pub source_id: Option<String>,
    pub status: Option<LogStatus>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only entries with `seq < before` (paging backwards).
    pub before: Option<i64>,
    pub limit: usize,
}

/// What the engine writes after acting on objects, all in one transaction: the shadows, the log
/// entries and, optionally, the app's new runtime state (its watermark).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineCommit {
    pub shadows: Vec<Shadow>,
    pub logs: Vec<LogEntry>,
    pub state: Option<Value>,
}
