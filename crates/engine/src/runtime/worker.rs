//! One app's worker: what it does next, one bounded step at a time. The scheduler
//! ([`super::Engine`]) calls [`Worker::step`] in a loop and sleeps when it is idle; tests call it
//! directly with a stepped clock (STYLE 12), so every cycle, retry and quarantine is
//! deterministic.
//!
//! Order of work in a step: nothing while deletions are held or before a quarantine's next
//! attempt; start the initial cycle if there is no watermark; else new changes (lowest latency
//! first), then objects due (escrow retries, assignment changes), then the next page of a full
//! cycle, then a reconciliation when its interval has passed.

use std::collections::{BTreeMap, HashMap};

use domain::target::TargetErrorKind;
use domain::{
    Change, ChangeOp, EngineCommit, LogEntry, LogStatus, Query, ResourceKind, Result,
    Shadow as StoredShadow, ShadowState,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use crate::deletions::is_deletion;
use crate::groups::GroupOperation;
use crate::state::{Cycle, CycleKind, Held, Phase, Quarantine, RunState};

use super::apply::{add, UserOutcome};
use super::drift::should_check;
use super::group_apply::GroupOutcome;
use super::prepare::{string_list, Batch, PreparedGroup, PreparedUser, WAITING};
use super::WorkerCtx;

/// Changes read per step.
pub const CHANGES_PER_STEP: usize = 500;
/// Objects per page of a full cycle, and due objects per step.
pub const PAGE: usize = 200;

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Did some work; step again.
    Worked(String),
    /// Nothing to do until `until` (or a new change).
    Idle { until: Option<Timestamp> },
    /// Deletions are held until an admin approves them.
    Held,
    /// Quarantined until `until`.
    Quarantined { until: Timestamp },
}

/// A batch's outcomes, counted for the window and quarantine.
#[derive(Debug, Default)]
struct Tally {
    failures: u64,
    successes: u64,
    /// The last 401/403: the credentials were refused.
    credentials_refused: Option<String>,
}

impl Tally {
    fn add(&mut self, failed: Option<&domain::target::TargetError>, log: Option<&LogEntry>) {
        match failed {
            Some(e) => {
                self.failures += 1;
                if matches!(
                    e.kind,
                    TargetErrorKind::Unauthorized | TargetErrorKind::Forbidden
                ) {
                    self.credentials_refused = Some(e.to_string());
                }
            }
            None if log.is_some_and(|l| l.status == LogStatus::Success) => self.successes += 1,
            None => {}
        }
    }
}

/// The summary of one processed batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSummary {
    pub users: usize,
    pub groups: usize,
    pub failures: usize,
    pub held: bool,
}

pub struct Worker {
    pub(crate) ctx: std::sync::Arc<WorkerCtx>,
    pub(crate) state: RunState,
    /// Set while a reconciliation page is processed: in-step accounts are read back.
    reconciling: bool,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("app", &self.ctx.name)
            .field("state", &self.state)
            .finish()
    }
}

fn minutes(n: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(n.saturating_mul(60)).unwrap_or(i64::MAX))
}

/// 5 minutes doubling per failed attempt, at most a day (spec §4.3: quarantined jobs run less
/// often, down to once a day).
fn quarantine_delay(attempts: u32) -> std::time::Duration {
    let secs = 300u64.saturating_mul(1u64 << attempts.min(9));
    std::time::Duration::from_secs(secs.min(86_400))
}

impl Worker {
    /// A worker for the app, with its persisted state.
    pub async fn load(ctx: std::sync::Arc<WorkerCtx>) -> Result<Worker> {
        let record = ctx.store.app_by_id(&ctx.app_id).await?;
        let state = record
            .map(|r| RunState::from_json(&r.state))
            .unwrap_or_default();
        Ok(Worker {
            ctx,
            state,
            reconciling: false,
        })
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn ctx(&self) -> &WorkerCtx {
        &self.ctx
    }

    /// Steps until the worker is idle, held or quarantined, at most `max_steps` times.
    pub async fn run_until_idle(&mut self, max_steps: usize) -> Result<Step> {
        let mut last = Step::Idle { until: None };
        for _ in 0..max_steps {
            last = self.step().await?;
            if !matches!(last, Step::Worked(_)) {
                break;
            }
        }
        Ok(last)
    }

    pub async fn step(&mut self) -> Result<Step> {
        let now = self.ctx.clock.now();
        self.state.roll_window(now, self.ctx.spec.reconcile_minutes);
        if self.state.held.is_some() {
            return Ok(Step::Held);
        }
        if let Some(q) = &self.state.quarantine {
            if now < q.next_attempt {
                return Ok(Step::Quarantined {
                    until: q.next_attempt,
                });
            }
        }
        let Some(watermark) = self.state.watermark else {
            self.start_cycle(CycleKind::Initial, now).await?;
            return Ok(Step::Worked("started the initial cycle".into()));
        };
        let settings = self.ctx.settings_fingerprint();
        if self.state.cycle.is_none() && self.state.settings.as_ref() != Some(&settings) {
            tracing::info!(app = %self.ctx.name, "settings changed: a new initial cycle");
            self.start_cycle(CycleKind::Initial, now).await?;
            return Ok(Step::Worked(
                "settings changed: started a new initial cycle".into(),
            ));
        }
        let changes = self
            .ctx
            .store
            .changes_after(watermark, CHANGES_PER_STEP)
            .await?;
        if let Some(last) = changes.last().map(|c| c.seq) {
            let n = self.process_changes(&changes, last).await?;
            return Ok(Step::Worked(format!("{n} change(s) up to {last}")));
        }
        let due = self
            .ctx
            .store
            .due_shadows(&self.ctx.app_id, now, PAGE)
            .await?;
        if !due.is_empty() {
            let mut batch = Batch::default();
            for s in &due {
                batch.add(s.kind, &s.source_id);
            }
            let summary = self
                .process(
                    batch,
                    &self.incremental_id(),
                    &|_, _| "retry".to_owned(),
                    true,
                    None,
                )
                .await?;
            return Ok(Step::Worked(format!(
                "{} due object(s), {} failed",
                due.len(),
                summary.failures
            )));
        }
        if self.state.cycle.is_some() {
            return self.cycle_page(now).await;
        }
        let next_reconcile = self.state.last_cycle_end.and_then(|end| {
            end.checked_add(minutes(self.ctx.spec.reconcile_minutes))
                .ok()
        });
        if next_reconcile.is_some_and(|t| t <= now) {
            self.start_cycle(CycleKind::Reconcile, now).await?;
            return Ok(Step::Worked("started a reconciliation".into()));
        }
        let next_due = self
            .ctx
            .store
            .due_shadows(
                &self.ctx.app_id,
                add(now, std::time::Duration::from_secs(100 * 365 * 86_400)),
                1,
            )
            .await?
            .first()
            .and_then(|s| s.due);
        let until = match (next_due, next_reconcile) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Step::Idle { until })
    }

    fn incremental_id(&self) -> String {
        match self.state.window.started {
            Some(t) => format!("incremental-{}", t.as_second()),
            None => "incremental".to_owned(),
        }
    }

    async fn start_cycle(&mut self, kind: CycleKind, now: Timestamp) -> Result<()> {
        if self.state.watermark.is_none() {
            self.state.watermark = Some(self.ctx.store.head_seq().await?);
        }
        let count = Query {
            filter: None,
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 0,
            cursor: None,
            load: domain::Load::NONE,
        };
        let info = domain::schema::Registry::builtin();
        let total = self
            .ctx
            .store
            .query(
                &self.ctx.tenant_id,
                ResourceKind::User,
                &count,
                &info.info(ResourceKind::User),
            )
            .await?
            .total;
        let counts = self.ctx.store.shadow_counts(&self.ctx.app_id).await?;
        let sweep_orphans = counts.users_active + counts.users_disabled > 0;
        self.state.settings = Some(self.ctx.settings_fingerprint());
        self.state.cycle = Some(Cycle {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            phase: Phase::Users,
            after: String::new(),
            done: 0,
            total,
            started: now,
            sweep_orphans,
        });
        tracing::info!(app = %self.ctx.name, ?kind, total, "provisioning cycle started");
        self.save_state().await
    }

    pub(crate) async fn save_state(&self) -> Result<()> {
        self.ctx
            .store
            .put_app_state(&self.ctx.app_id, &self.state.to_json())
            .await?;
        self.publish_gauges();
        Ok(())
    }

    /// The app's state as Prometheus gauges: cycle progress, quarantine, held deletions, the
    /// watermark.
    fn publish_gauges(&self) {
        let app = self.ctx.name.clone();
        let (done, total) = self
            .state
            .cycle
            .as_ref()
            .map_or((0, 0), |c| (c.done, c.total));
        metrics::gauge!("scimitar_app_cycle_done", "app" => app.clone()).set(done as f64);
        metrics::gauge!("scimitar_app_cycle_total", "app" => app.clone()).set(total as f64);
        metrics::gauge!("scimitar_app_quarantined", "app" => app.clone())
            .set(f64::from(u8::from(self.state.quarantine.is_some())));
        metrics::gauge!("scimitar_app_deletions_held", "app" => app.clone())
            .set(f64::from(u8::from(self.state.held.is_some())));
        metrics::gauge!("scimitar_app_watermark", "app" => app)
            .set(self.state.watermark.unwrap_or(0) as f64);
    }

    async fn process_changes(&mut self, changes: &[Change], last: i64) -> Result<usize> {
        let mut batch = Batch::default();
        let mut ids: HashMap<(ResourceKind, String), i64> = HashMap::new();
        for c in changes.iter().filter(|c| c.tenant_id == self.ctx.tenant_id) {
            batch.add(c.kind, &c.resource_id);
            ids.insert((c.kind, c.resource_id.clone()), c.seq);
            if c.op == ChangeOp::Deleted && c.kind == ResourceKind::User {
                // Nothing else to load: the user is gone; the plan deletes it in the target.
            }
        }
        let n = ids.len();
        let change_id = move |kind: ResourceKind, id: &str| match ids.get(&(kind, id.to_owned())) {
            Some(seq) => format!("change-{seq}"),
            None => "reference".to_owned(),
        };
        let cycle_id = self.incremental_id();
        self.process(batch, &cycle_id, &change_id, true, Some(last))
            .await?;
        Ok(n)
    }

    async fn cycle_page(&mut self, now: Timestamp) -> Result<Step> {
        let Some(mut cycle) = self.state.cycle.clone() else {
            return Ok(Step::Idle { until: None });
        };
        let kind = match cycle.phase {
            Phase::Users => ResourceKind::User,
            Phase::Orphans => return self.orphan_page(cycle, ResourceKind::User, now).await,
            Phase::GroupOrphans => return self.orphan_page(cycle, ResourceKind::Group, now).await,
            Phase::Groups => ResourceKind::Group,
            Phase::Target => return self.target_page(cycle, now).await,
        };
        let after: i64 = cycle.after.parse().unwrap_or(0);
        let page = self
            .ctx
            .store
            .walk(&self.ctx.tenant_id, kind, after, PAGE, domain::Load::ALL)
            .await?;
        let mut batch = Batch::default();
        for (_, r) in &page {
            batch.add(kind, &r.id);
        }
        let n = page.len();
        let last = page.last().map(|(seq, _)| *seq);
        if kind == ResourceKind::User {
            for (_, r) in page {
                let id = r.id.clone();
                batch
                    .loaded
                    .insert(id, Value::Object(domain::render::render(r, "")));
            }
        }
        match (last, cycle.phase) {
            (Some(seq), _) if n == PAGE => cycle.after = seq.to_string(),
            (_, Phase::Users) => {
                cycle.phase = if cycle.sweep_orphans {
                    Phase::Orphans
                } else {
                    Phase::Groups
                };
                cycle.after = String::new();
            }
            (_, Phase::Groups) if cycle.sweep_orphans => {
                cycle.phase = Phase::GroupOrphans;
                cycle.after = String::new();
            }
            (_, Phase::Groups) if cycle.kind == CycleKind::Reconcile => {
                cycle.phase = Phase::Target;
                cycle.after = "1".to_owned();
            }
            (_, _) => cycle.after = "done".to_owned(),
        }
        if kind == ResourceKind::User {
            cycle.done = cycle.done.saturating_add(n as u64);
        }
        let finished = cycle.phase == Phase::Groups && cycle.after == "done";
        let cycle_id = cycle.id.clone();
        let next = (!finished).then(|| cycle.clone());
        let skip_groups = kind == ResourceKind::Group
            && !self.ctx.provision_groups
            && self.ctx.app.scope == crate::app::Scope::All;
        if skip_groups {
            batch.groups.clear();
        }
        self.reconciling = cycle.kind == CycleKind::Reconcile && kind == ResourceKind::User;
        let summary = self
            .process_with_cycle(batch, &cycle_id, next, finished, now)
            .await;
        self.reconciling = false;
        let summary = summary?;
        if summary.held {
            return Ok(Step::Held);
        }
        if finished {
            tracing::info!(app = %self.ctx.name, id = %cycle_id, "provisioning cycle finished");
            return Ok(Step::Worked("finished the cycle".into()));
        }
        Ok(Step::Worked(format!("cycle page of {n} {}s", kind.name())))
    }

    /// A page of the app's shadows of `kind` (by source id, from `cycle.after`) whose source
    /// is gone from the directory: planned like a deletion in the source (and counted against
    /// the deletion threshold). The users and groups phases cannot see them: they read the
    /// directory.
    async fn orphan_page(
        &mut self,
        mut cycle: Cycle,
        kind: ResourceKind,
        now: Timestamp,
    ) -> Result<Step> {
        let shadows = self
            .ctx
            .store
            .orphan_shadows(
                &self.ctx.app_id,
                &self.ctx.tenant_id,
                kind,
                &cycle.after,
                PAGE,
            )
            .await?;
        let mut batch = Batch::default();
        for shadow in &shadows {
            batch.add(kind, &shadow.source_id);
        }
        let orphans = shadows.len();
        let mut finished = false;
        match shadows.last() {
            Some(last) if shadows.len() == PAGE => cycle.after.clone_from(&last.source_id),
            _ if kind == ResourceKind::User => {
                cycle.phase = Phase::Groups;
                cycle.after = String::new();
            }
            _ if cycle.kind == CycleKind::Reconcile => {
                cycle.phase = Phase::Target;
                cycle.after = "1".to_owned();
            }
            _ => finished = true,
        }
        let cycle_id = cycle.id.clone();
        let next = (!finished).then_some(cycle);
        let summary = self
            .process_with_cycle(batch, &cycle_id, next, finished, now)
            .await?;
        if summary.held {
            return Ok(Step::Held);
        }
        if finished {
            tracing::info!(app = %self.ctx.name, id = %cycle_id, "provisioning cycle finished");
            return Ok(Step::Worked("finished the cycle".into()));
        }
        Ok(Step::Worked(format!(
            "{orphans} {}(s) whose source is gone from the directory",
            kind.name().to_lowercase()
        )))
    }

    /// The last phase of a reconciliation: a page of the target's accounts, each one no
    /// shadow links to reported as drift (created in the target by hand). Left as they are.
    async fn target_page(&mut self, mut cycle: Cycle, now: Timestamp) -> Result<Step> {
        let start: u64 = cycle.after.parse().unwrap_or(1);
        let (page, total) = match self
            .ctx
            .target
            .list(ResourceKind::User, start, PAGE as u64)
            .await
        {
            Ok(listed) => listed,
            Err(e) => {
                // The target cannot be listed: the cycle ends without this look.
                tracing::warn!(app = %self.ctx.name, error = %e, "cannot list the target's accounts");
                (Vec::new(), 0)
            }
        };
        let ids: Vec<String> = page.iter().map(|r| r.id.clone()).collect();
        let known: std::collections::HashSet<String> = self
            .ctx
            .store
            .shadows_by_target(&self.ctx.app_id, ResourceKind::User, &ids)
            .await?
            .into_iter()
            .filter_map(|s| s.target_id)
            .collect();
        let logs: Vec<LogEntry> = page
            .iter()
            .filter(|r| !known.contains(&r.id))
            .map(|r| {
                let name = r
                    .body
                    .get("userName")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                LogEntry {
                    seq: 0,
                    app_id: self.ctx.app_id.clone(),
                    at: now,
                    cycle_id: cycle.id.clone(),
                    change_id: "reconcile".to_owned(),
                    kind: ResourceKind::User,
                    source_id: String::new(),
                    target_id: Some(r.id.clone()),
                    action: "other".to_owned(),
                    status: LogStatus::Warning,
                    reason: format!(
                        "drift: target account {} ({name}) was not provisioned by this app \
                         (created in the target by hand, or matched by nothing); left as it is",
                        r.id
                    ),
                    error_code: None,
                    duration_ms: 0,
                    details: json!({"displayName": name}),
                }
            })
            .collect();
        let n = page.len() as u64;
        let next = start.saturating_add(n);
        let finished = n == 0 || next > total;
        cycle.after = next.to_string();
        if finished {
            self.state.cycle = None;
            self.state.last_cycle_end = Some(now);
        } else {
            self.state.cycle = Some(cycle.clone());
        }
        let unknown = logs.len();
        let commit = EngineCommit {
            shadows: Vec::new(),
            logs,
            state: Some(self.state.to_json()),
        };
        self.ctx
            .store
            .commit_engine(&self.ctx.app_id, commit)
            .await?;
        self.publish_gauges();
        if finished {
            tracing::info!(app = %self.ctx.name, id = %cycle.id, "provisioning cycle finished");
        }
        Ok(Step::Worked(format!(
            "target page at {start}: {unknown} account(s) not provisioned by this app"
        )))
    }

    async fn process_with_cycle(
        &mut self,
        batch: Batch,
        cycle_id: &str,
        next: Option<Cycle>,
        finished: bool,
        now: Timestamp,
    ) -> Result<BatchSummary> {
        let before = (self.state.cycle.clone(), self.state.last_cycle_end);
        self.state.cycle = next;
        if finished {
            self.state.last_cycle_end = Some(now);
        }
        let summary = self
            .process(batch, cycle_id, &|_, _| "cycle".to_owned(), false, None)
            .await?;
        if summary.held {
            // The page is planned again once the deletions are approved.
            self.state.cycle = before.0;
            self.state.last_cycle_end = before.1;
            self.save_state().await?;
        }
        Ok(summary)
    }

    /// Plans and applies a batch, then writes shadows, log entries and the state (with the new
    /// watermark, if given) in one transaction.
    pub(crate) async fn process(
        &mut self,
        mut batch: Batch,
        cycle_id: &str,
        change_id: &(dyn Fn(ResourceKind, &str) -> String + Sync),
        log_noop: bool,
        watermark: Option<i64>,
    ) -> Result<BatchSummary> {
        let now = self.ctx.clock.now();
        let ctx = std::sync::Arc::clone(&self.ctx);
        let (users, groups) = ctx.prepare(&mut batch, now).await?;

        let deletions = users
            .iter()
            .flat_map(|u| &u.plan.operations)
            .filter(|op| is_deletion(op))
            .count()
            + groups
                .iter()
                .flat_map(|g| &g.plan.operations)
                .filter(|op| matches!(op, GroupOperation::Delete { .. }))
                .count();
        let deletions = deletions as u64;
        let threshold = ctx.spec.deletion_threshold as u64;
        if threshold > 0
            && !self.state.window.deletions_approved
            && self.state.window.deletions.saturating_add(deletions) > threshold
        {
            return self
                .hold(&users, &groups, deletions, threshold, cycle_id, now)
                .await;
        }
        self.state.window.deletions = self.state.window.deletions.saturating_add(deletions);

        let concurrency = ctx.spec.concurrency.max(1);
        // In chunks of the app's concurrency (the client also bounds requests in flight).
        let mut user_outcomes: Vec<UserOutcome> = Vec::with_capacity(users.len());
        for chunk in users.chunks(concurrency) {
            let mut pending = Vec::with_capacity(chunk.len());
            for u in chunk {
                let change = change_id(ResourceKind::User, &u.source_id);
                let check = self.reconciling && should_check(u);
                let ctx = &ctx;
                pending.push(async move {
                    if check {
                        ctx.check_drift(u, cycle_id, now)
                            .await
                            .unwrap_or_else(|| UserOutcome::unchanged(u, &ctx.app_id, now))
                    } else {
                        ctx.apply_user(u, cycle_id, change, now, log_noop).await
                    }
                });
            }
            user_outcomes.extend(futures_util::future::join_all(pending).await);
        }

        let mut shadows: BTreeMap<(&'static str, String), StoredShadow> = BTreeMap::new();
        let mut logs: Vec<LogEntry> = Vec::new();
        let mut tally = Tally::default();
        let mut newly_linked = Vec::new();
        for (user, outcome) in users.iter().zip(user_outcomes) {
            tally.add(outcome.failed.as_ref(), outcome.log.as_ref());
            let mut shadow = outcome.shadow;
            if outcome.newly_linked {
                newly_linked.push(user.source_id.clone());
                if user
                    .plan
                    .deferred
                    .iter()
                    .any(|d| d.contains("after the create"))
                {
                    // Send the manager in a second round trip, now that the user exists.
                    shadow.due = Some(now);
                }
            }
            let untouched = user.shadow.is_none()
                && shadow.state == ShadowState::Pending
                && shadow.attempts == 0
                && shadow.due.is_none();
            if !untouched {
                shadows.insert(("User", user.source_id.clone()), shadow);
            }
            logs.extend(outcome.log);
        }

        // References: users waiting for a newly linked manager, and the new user's groups.
        for id in &newly_linked {
            let waiting = match shadows.get(&("User", id.clone())) {
                Some(s) => string_list(s.last_sent.get(WAITING)),
                None => Vec::new(),
            };
            if let Some(s) = shadows.get_mut(&("User", id.clone())) {
                if let Some(map) = s.last_sent.as_object_mut() {
                    map.remove(WAITING);
                }
            }
            for entry in waiting {
                if let Some((kind, wid)) = entry.split_once(':') {
                    if let Some(kind) = ResourceKind::from_name(kind) {
                        self.mark_due(&mut shadows, kind, wid, now).await?;
                    }
                }
            }
            if let Some(user) = users.iter().find(|u| &u.source_id == id) {
                if ctx.provision_groups && !batch.groups.is_empty() {
                    // Groups of this batch are applied below with the user in place.
                }
                let group_shadows = ctx.shadow_map(ResourceKind::Group, &user.groups).await?;
                for (gid, s) in group_shadows {
                    if s.state == ShadowState::Active && !batch.groups.contains(&gid) {
                        self.mark_due(&mut shadows, ResourceKind::Group, &gid, now)
                            .await?;
                    }
                }
            }
        }
        for user in &users {
            if let Some(manager) = &user.waits_for_manager {
                let entry = format!("User:{}", user.source_id);
                let key = ("User", manager.clone());
                if !shadows.contains_key(&key) {
                    let existing = ctx
                        .shadow_map(ResourceKind::User, std::slice::from_ref(manager))
                        .await?;
                    let s = existing.get(manager).cloned().unwrap_or_else(|| {
                        StoredShadow::pending(&ctx.app_id, ResourceKind::User, manager, now)
                    });
                    shadows.insert(key.clone(), s);
                }
                if let Some(s) = shadows.get_mut(&key) {
                    let mut list = string_list(s.last_sent.get(WAITING));
                    if !list.contains(&entry) {
                        list.push(entry);
                        if let Some(map) = s.last_sent.as_object_mut() {
                            map.insert(WAITING.to_owned(), json!(list));
                        }
                    }
                }
            }
        }

        // Groups, after their members.
        for group in &groups {
            let member_targets = self.member_targets(group, &shadows).await?;
            let change = change_id(ResourceKind::Group, &group.source_id);
            let outcome: GroupOutcome = ctx
                .apply_group(group, &member_targets, cycle_id, &change, now, log_noop)
                .await;
            tally.add(outcome.failed.as_ref(), outcome.log.as_ref());
            let bookkeeping = group.assigned || group.provisioned || group.shadow.is_some();
            if bookkeeping {
                shadows.insert(("Group", group.source_id.clone()), outcome.shadow);
            }
            logs.extend(outcome.log);
        }

        self.account(&tally, now);
        if let Some(w) = watermark {
            self.state.watermark = Some(self.state.watermark.map_or(w, |old| old.max(w)));
        }
        let commit = EngineCommit {
            shadows: shadows.into_values().collect(),
            logs,
            state: Some(self.state.to_json()),
        };
        ctx.store.commit_engine(&ctx.app_id, commit).await?;
        self.publish_gauges();
        Ok(BatchSummary {
            users: users.len(),
            groups: groups.len(),
            failures: tally.failures as usize,
            held: false,
        })
    }

    async fn mark_due(
        &self,
        shadows: &mut BTreeMap<(&'static str, String), StoredShadow>,
        kind: ResourceKind,
        id: &str,
        now: Timestamp,
    ) -> Result<()> {
        let key = (kind.name(), id.to_owned());
        if !shadows.contains_key(&key) {
            let found = self.ctx.shadow_map(kind, &[id.to_owned()]).await?;
            let s = found
                .get(id)
                .cloned()
                .unwrap_or_else(|| StoredShadow::pending(&self.ctx.app_id, kind, id, now));
            shadows.insert(key.clone(), s);
        }
        if let Some(s) = shadows.get_mut(&key) {
            s.due = Some(now);
        }
        Ok(())
    }

    /// Target ids of a group's member users: from this batch's outcomes, else the store.
    async fn member_targets(
        &self,
        group: &PreparedGroup,
        batch_shadows: &BTreeMap<(&'static str, String), StoredShadow>,
    ) -> Result<HashMap<String, String>> {
        if !group.provisioned {
            return Ok(HashMap::new());
        }
        let missing: Vec<String> = group
            .member_users
            .iter()
            .filter(|id| !batch_shadows.contains_key(&("User", (*id).clone())))
            .cloned()
            .collect();
        let stored = self.ctx.shadow_map(ResourceKind::User, &missing).await?;
        let linked = |s: &StoredShadow| {
            matches!(s.state, ShadowState::Active | ShadowState::Disabled)
                .then(|| s.target_id.clone())
                .flatten()
        };
        let mut out = HashMap::new();
        for id in &group.member_users {
            let s = batch_shadows
                .get(&("User", id.clone()))
                .or_else(|| stored.get(id));
            if let Some(t) = s.and_then(linked) {
                out.insert(id.clone(), t);
            }
        }
        Ok(out)
    }

    /// Failures and successes of a batch: the window's counts, quarantine entered or left.
    fn account(&mut self, tally: &Tally, now: Timestamp) {
        let (failures, successes) = (tally.failures, tally.successes);
        let refused = tally.credentials_refused.clone();
        let w = &mut self.state.window;
        w.failures = w.failures.saturating_add(failures);
        w.successes = w.successes.saturating_add(successes);
        self.state.total_failures = self.state.total_failures.saturating_add(failures);
        self.state.total_successes = self.state.total_successes.saturating_add(successes);
        let q = &self.ctx.spec.quarantine;
        if let Some(current) = &mut self.state.quarantine {
            if successes > 0 {
                tracing::info!(app = %self.ctx.name, "left quarantine: a request succeeded");
                self.state.quarantine = None;
                self.state.window.failures = 0;
                self.state.last_error = None;
            } else if failures > 0 {
                current.attempts = current.attempts.saturating_add(1);
                current.next_attempt = add(now, quarantine_delay(current.attempts));
            }
            return;
        }
        let reason = if let Some(error) = refused {
            Some(("EncounteredQuarantineException", error))
        } else if w.failures >= q.max_failures {
            Some((
                "EncounteredTotalEscrowThreshold",
                format!("{} failures in this cycle window", w.failures),
            ))
        } else if w.failures >= q.min_failures
            && (w.failures as f64) / ((w.failures + w.successes).max(1) as f64)
                > q.failure_proportion
        {
            Some((
                "EncounteredEscrowProportionThreshold",
                format!(
                    "{} of {} actions failed in this cycle window",
                    w.failures,
                    w.failures + w.successes
                ),
            ))
        } else {
            None
        };
        if let Some((reason, error)) = reason {
            tracing::warn!(app = %self.ctx.name, reason, %error, "app quarantined");
            metrics::counter!("scimitar_quarantines_total", "app" => self.ctx.name.clone(), "reason" => reason).increment(1);
            self.state.last_error = Some(error.clone());
            self.state.quarantine = Some(Quarantine {
                reason: reason.to_owned(),
                error,
                since: now,
                next_attempt: add(now, quarantine_delay(0)),
                attempts: 0,
            });
        }
    }

    /// Holds the batch: nothing is sent, the deletions are logged as staged, the app waits for
    /// `approve-deletions`.
    async fn hold(
        &mut self,
        users: &[PreparedUser],
        groups: &[PreparedGroup],
        deletions: u64,
        threshold: u64,
        cycle_id: &str,
        now: Timestamp,
    ) -> Result<BatchSummary> {
        let total = self.state.window.deletions.saturating_add(deletions);
        let reason = format!(
            "TooManyDeletes: {total} deletions in this cycle exceed the threshold of {threshold}; \
             held until `scimitar app approve-deletions`"
        );
        tracing::warn!(app = %self.ctx.name, total, threshold, "deletions held");
        let mut logs = Vec::new();
        let staged = |kind: ResourceKind, id: &str, target: Option<String>| LogEntry {
            seq: 0,
            app_id: self.ctx.app_id.clone(),
            at: now,
            cycle_id: cycle_id.to_owned(),
            change_id: "held".to_owned(),
            kind,
            source_id: id.to_owned(),
            target_id: target,
            action: "stagedDelete".to_owned(),
            status: LogStatus::Skipped,
            reason: reason.clone(),
            error_code: Some("TooManyDeletes".to_owned()),
            duration_ms: 0,
            details: Value::Null,
        };
        for u in users {
            if u.plan.operations.iter().any(is_deletion) {
                logs.push(staged(
                    ResourceKind::User,
                    &u.source_id,
                    u.shadow.as_ref().and_then(|s| s.target_id.clone()),
                ));
            }
        }
        for g in groups {
            if g.plan
                .operations
                .iter()
                .any(|op| matches!(op, GroupOperation::Delete { .. }))
            {
                logs.push(staged(
                    ResourceKind::Group,
                    &g.source_id,
                    g.shadow.as_ref().and_then(|s| s.target_id.clone()),
                ));
            }
        }
        self.state.held = Some(Held {
            deletions: total,
            threshold,
            since: now,
        });
        self.state.last_error = Some(reason);
        let commit = EngineCommit {
            shadows: Vec::new(),
            logs,
            state: Some(self.state.to_json()),
        };
        self.ctx
            .store
            .commit_engine(&self.ctx.app_id, commit)
            .await?;
        self.publish_gauges();
        Ok(BatchSummary {
            users: users.len(),
            groups: groups.len(),
            failures: 0,
            held: true,
        })
    }

    /// Lets this cycle window's deletions through (spec §4.6 "Allow deletes").
    pub async fn approve_deletions(&mut self) -> Result<bool> {
        let was_held = self.state.held.take().is_some();
        self.state.window.deletions_approved = true;
        self.state.last_error = None;
        self.save_state().await?;
        Ok(was_held)
    }

    /// Restart (spec §4.1): clears the watermark, quarantine, held deletions and the window,
    /// keeps the links to target accounts; the initial cycle runs again.
    pub async fn restart(&mut self) -> Result<()> {
        self.state = RunState::default();
        self.save_state().await
    }
}
