//! An app's runtime state, kept in the store beside the app (`AppRecord::state`) and written in
//! the same transaction as the shadows and log entries it accounts for.
//!
//! Invariant: `watermark` only moves forward, and only together with the shadows of the changes
//! it covers.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which kind of full cycle is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleKind {
    /// On start or restart: every object, matched against the target.
    Initial,
    /// Periodic: every object again, and drift in the target looked for.
    Reconcile,
}

/// The phase of a full cycle: users first, then groups and memberships (spec §4.1), then —
/// reconciling — the target's own list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Users,
    /// The app's user shadows whose source is gone (deleted while no change reached the app,
    /// or before a restart): their accounts are deprovisioned like any deletion.
    Orphans,
    Groups,
    /// The same for the app's group shadows.
    GroupOrphans,
    /// Reconciliation only: the target's accounts, looking for ones nobody provisioned.
    Target,
}

/// A full cycle in progress, resumable after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    pub id: String,
    pub kind: CycleKind,
    pub phase: Phase,
    /// The last source id done in this phase (objects are walked in id order).
    pub after: String,
    pub done: u64,
    pub total: u64,
    pub started: Timestamp,
    /// Whether the app had accounts in the target when the cycle started: only then can some
    /// belong to users no longer in the directory (the orphans phase). A cycle saved before
    /// this field existed sweeps.
    #[serde(default = "sweep_by_default")]
    pub sweep_orphans: bool,
}

fn sweep_by_default() -> bool {
    true
}

/// Why an app is quarantined (spec §4.3 reasons).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quarantine {
    /// `EncounteredQuarantineException` (credentials refused), `EncounteredEscrowProportionThreshold`,
    /// `EncounteredTotalEscrowThreshold`.
    pub reason: String,
    pub error: String,
    pub since: Timestamp,
    /// When the engine tries again.
    pub next_attempt: Timestamp,
    /// How many attempts failed since `since`.
    pub attempts: u32,
}

/// Deletions held by the accidental-deletion threshold (spec §4.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// Deletes and disables the cycle window would have reached.
    pub deletions: u64,
    pub threshold: u64,
    pub since: Timestamp,
}

/// Counts over the current cycle window (the reconciliation interval).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Window {
    pub started: Option<Timestamp>,
    pub successes: u64,
    pub failures: u64,
    pub deletions: u64,
    /// An admin approved this window's deletions (`approve-deletions`).
    pub deletions_approved: bool,
}

/// Everything the engine persists per app.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunState {
    /// The change-log sequence number up to which every change is applied; `None`: the app
    /// has not had its initial cycle.
    pub watermark: Option<i64>,
    pub cycle: Option<Cycle>,
    pub last_cycle_end: Option<Timestamp>,
    pub quarantine: Option<Quarantine>,
    pub held: Option<Held>,
    pub window: Window,
    pub last_error: Option<String>,
    /// The fingerprint of the settings the last initial cycle ran with: changed mappings,
    /// scope or scoping start a new one (spec §4.1), as a restart would.
    pub settings: Option<String>,
    /// Totals since the app was created or restarted.
    pub total_successes: u64,
    pub total_failures: u64,
}

impl RunState {
    /// The state in the store's JSON; a missing or unreadable state is a fresh one (the initial
    /// cycle runs again, which repeats nothing the shadows hold).
    pub fn from_json(value: &Value) -> RunState {
        if value.is_null() {
            return RunState::default();
        }
        serde_json::from_value(value.clone()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unreadable app state: starting afresh");
            RunState::default()
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Starts a new window at `now` when the current one is older than `minutes`.
    pub fn roll_window(&mut self, now: Timestamp, minutes: u64) {
        let length = jiff::SignedDuration::from_secs(
            i64::try_from(minutes.saturating_mul(60)).unwrap_or(i64::MAX),
        );
        let expired = match self.window.started {
            None => true,
            Some(start) => start.checked_add(length).is_ok_and(|end| end <= now),
        };
        if expired {
            self.window = Window {
                started: Some(now),
                ..Window::default()
            };
        }
    }
}
