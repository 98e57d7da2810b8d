//! What the store keeps for inbound provisioning (HR → directory, spec §5): staged bulkUpload
//! requests, the outcome of each of their records, and the effective-dated enable/disable
//! actions scheduled for users.
//!
//! The records of a staged request are opaque JSON to the store: their meaning belongs to the
//! `inbound` crate.

use jiff::Timestamp;
use serde_json::Value;

use crate::model::{StoredResource, Write};
use crate::provisioning::LogEntry;

/// A bulkUpload request accepted (202) and waiting for, or done with, processing.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRequest {
    pub id: String,
    pub tenant_id: String,
    /// The source's name (`default` for `/api/v1/inbound/bulkUpload`).
    pub source: String,
    pub received: Timestamp,
    /// The checked records, in request order; `pending_inbound` returns only those without a
    /// result yet.
    pub records: Vec<StagedRecord>,
}

/// One operation of a bulkUpload request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRecord {
    /// The record's position in the request, from 0.
    pub index: u64,
    pub bulk_id: Option<String>,
    pub external_id: Option<String>,
    /// The operation's `data` (the incoming user).
    pub data: Value,
}

/// A request's progress, as the status resource shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSummary {
    pub id: String,
    pub tenant_id: String,
    pub source: String,
    pub received: Timestamp,
    pub total: u64,
    pub processed: u64,
    /// When the last record was processed.
    pub completed: Option<Timestamp>,
}

/// What processing one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Enabled,
    Disabled,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Enabled,
        Outcome::Disabled,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Enabled => "enabled",
            Outcome::Disabled => "disabled",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The outcome of one record of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordResult {
    /// The record's position in the request, from 0.
    pub index: u64,
    pub bulk_id: Option<String>,
    pub external_id: Option<String>,
    pub outcome: Outcome,
    pub user_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// An effective-dated action on a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    Enable,
    Disable,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Enable => "enable",
            LifecycleAction::Disable => "disable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LifecycleAction::Enable, LifecycleAction::Disable]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One action scheduled for a user, by the source whose dates decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub action: LifecycleAction,
    pub due: Timestamp,
    /// The date (`YYYY-MM-DD`) the action comes from, checked again before it is applied.
    pub date: String,
}

/// A scheduled action that is due, with whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DueAction {
    pub tenant_id: String,
    pub user_id: String,
    pub source: String,
    pub scheduled: Scheduled,
}

/// What processing one record (or one lifecycle action) writes.
#[derive(Debug, Clone, PartialEq)]
pub enum UserWrite {
    /// Nothing: the record changed nothing, or failed.
    None,
    Create(Write),
    /// Replaces the user if it is still at `version`.
    Replace {
        id: String,
        write: Write,
        version: u64,
    },
}

/// One record's (or lifecycle action's) effect, written in ONE transaction: the user, its
/// schedule, the record's result in its request, and the provisioning log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundCommit {
    pub tenant_id: String,
    pub source: String,
    pub write: UserWrite,
    /// The user's scheduled actions after this write; `None` leaves them as they are. For a
    /// create, they belong to the new user.
    pub schedule: Option<Vec<Scheduled>>,
    /// The request and the record's result in it (not for lifecycle actions or CSV imports).
    pub result: Option<(String, RecordResult)>,
    /// Written with the user's id filled in as `source_id` (for a create, the new id).
    pub log: Option<LogEntry>,
    pub now: Timestamp,
}

/// What an `InboundCommit` wrote: the user as stored (absent for `UserWrite::None`).
pub type InboundCommitted = Option<StoredResource>;

/// The provisioning log's `app_id` of an inbound source.
pub fn log_app_id(tenant_id: &str, source: &str) -> String {
    format!("inbound:{tenant_id}:{source}")
}
