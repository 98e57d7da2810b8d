//! The [`Engine`] handle: runs one task per enabled app that this process holds the lease of,
//! wakes it on every commit that appends to the change log, and sleeps it until its next due
//! time when it is idle. Admin requests (provision on demand, approve, restart) go to the app's
//! task so that its state has one writer; a connection test needs no state and runs where it is
//! asked.
//!
//! Leases make several replicas safe (DESIGN "Storage and scale"): a task renews its app's lease
//! while it runs and stops when it loses it; the supervisor takes over apps whose lease expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::target::Target;
use domain::{AppRecord, Clock, Error, Result, Store};
use jiff::{SignedDuration, Timestamp};
use scim_proto::probe::ProbeReport;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};

use super::worker::Step;
use super::{Worker, WorkerCtx};
use crate::state::RunState;

/// Builds the target of an app from its record (the adapter opens the sealed secret).
pub trait TargetFactory: Send + Sync + 'static {
    fn target(&self, app: &AppRecord) -> std::result::Result<Arc<dyn Target>, String>;
}

/// How long a lease lasts without renewal by default; a dead replica's apps move after this.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often (at most) the supervisor looks for apps to start, stop or take over; more often
/// with leases shorter than three times this.
const SUPERVISE_EVERY: Duration = Duration::from_secs(5);
/// The longest an idle worker sleeps before looking again (a safety net for lost wake-ups).
const MAX_IDLE: Duration = Duration::from_secs(10);

enum Command {
    ProvisionOne(String, oneshot::Sender<Result<Value>>),
    Approve(oneshot::Sender<Result<bool>>),
    Restart(oneshot::Sender<Result<()>>),
    /// Look for work now (an assignment changed: its object is due).
    Wake,
    Stop,
}

struct Running {
    commands: mpsc::Sender<Command>,
    updated: Timestamp,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    targets: Arc<dyn TargetFactory>,
    holder: String,
    /// How long a lease lasts without renewal (renewed every third of it).
    lease: Duration,
    running: Mutex<HashMap<String, Running>>,
    reload: Notify,
}

/// The provisioning engine of this process.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("holder", &self.inner.holder)
            .finish()
    }
}

fn after(now: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(now)
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        targets: Arc<dyn TargetFactory>,
    ) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                targets,
                holder: format!("replica-{}", uuid::Uuid::new_v4()),
                lease: LEASE,
                running: Mutex::new(HashMap::new()),
                reload: Notify::new(),
            }),
        }
    }

    /// With leases of `lease` instead of [`LEASE`]: a stopped replica's apps move to another
    /// replica within about this long. Call before `start`.
    pub fn with_lease(mut self, lease: Duration) -> Engine {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.lease = lease.max(Duration::from_secs(1));
        }
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Starts the supervisor; it runs until the runtime stops.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        let every = SUPERVISE_EVERY.min(self.inner.lease / 3);
        tokio::spawn(async move {
            loop {
                if let Err(e) = engine.supervise().await {
                    tracing::error!(error = %e, "engine supervisor");
                }
                tokio::select! {
                    () = engine.inner.reload.notified() => {}
                    () = tokio::time::sleep(every) => {}
                }
            }
        })
    }

    /// Tells the supervisor that apps changed (created, updated, deleted, enabled).
    pub fn reload(&self) {
        self.inner.reload.notify_one();
    }

    /// Stops every worker (graceful shutdown), releasing their leases.
    pub async fn shutdown(&self) {
        let running: Vec<(String, Running)> = match self.inner.running.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => Vec::new(),
        };
        for (app_id, r) in running {
            let _ = r.commands.send(Command::Stop).await;
            let _ = r.task.await;
            let _ = self
                .inner
                .store
                .release_lease(&app_id, &self.inner.holder)
                .await;
        }
    }

    /// Whether this process runs the app's worker.
    pub fn is_running(&self, app_id: &str) -> bool {
        self.inner
            .running
            .lock()
            .map(|m| m.get(app_id).is_some_and(|r| !r.task.is_finished()))
            .unwrap_or(false)
    }

    /// A worker context for a stored app (for plans and on-demand runs outside its task).
    pub fn context(&self, record: &AppRecord) -> Result<WorkerCtx> {
        let target = self
            .inner
            .targets
            .target(record)
            .map_err(Error::InvalidValue)?;
        WorkerCtx::new(
            record,
            target,
            Arc::clone(&self.inner.store),
            Arc::clone(&self.inner.clock),
        )
        .map_err(Error::InvalidValue)
    }

    /// Tests the connection to the app's target with the client provisioning uses (its base
    /// URL, credentials, timeout, concurrency cap and rate limit): discovery, then an inactive
    /// throwaway user created, read, found by filter and deleted (spec of "test connection" in
    /// the admin API). A failed test is an `Ok` report that says so; `Err` only when no client
    /// can be built from the app's settings (a secret that cannot be opened, an invalid URL).
    ///
    /// The test has a client of its own, so its few requests are not counted in the rate limit
    /// of a worker provisioning the app at the same time.
    pub async fn test_connection(&self, record: &AppRecord) -> Result<ProbeReport> {
        let target = self
            .inner
            .targets
            .target(record)
            .map_err(Error::InvalidValue)?;
        let report = target.probe().await;
        tracing::info!(
            app = %record.name,
            ok = report.ok,
            failed = ?report.first_failure().map(|s| s.name),
            cleanup = ?report.cleanup,
            "connection test"
        );
        Ok(report)
    }

    async fn supervise(&self) -> Result<()> {
        let apps = self.inner.store.list_apps(None).await?;
        let now = self.inner.clock.now();
        // Stop workers of apps deleted, disabled or changed (changed ones start again below).
        let stale: Vec<(String, Running)> = {
            let mut running = self
                .inner
                .running
                .lock()
                .map_err(|_| Error::Internal("engine state poisoned".into()))?;
            let ids: Vec<String> = running
                .iter()
                .filter(|(id, r)| {
                    r.task.is_finished()
                        || !apps
                            .iter()
                            .any(|a| &a.id == *id && a.enabled && a.updated == r.updated)
                })
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter()
                .filter_map(|id| running.remove(&id).map(|r| (id, r)))
                .collect()
        };
        for (app_id, r) in stale {
            let _ = r.commands.send(Command::Stop).await;
            let _ = r.task.await;
            let _ = self
                .inner
                .store
                .release_lease(&app_id, &self.inner.holder)
                .await;
        }
        for app in apps.into_iter().filter(|a| a.enabled) {
            if self.is_running(&app.id) {
                continue;
            }
            if !self
                .inner
                .store
                .acquire_lease(
                    &app.id,
                    &self.inner.holder,
                    now,
                    after(now, self.inner.lease),
                )
                .await?
            {
                continue;
            }
            let ctx = match self.context(&app) {
                Ok(ctx) => Arc::new(ctx),
                Err(e) => {
                    tracing::error!(app = %app.name, error = %e, "app cannot start");
                    let mut state = RunState::from_json(&app.state);
                    state.last_error = Some(e.to_string());
                    let _ = self
                        .inner
                        .store
                        .put_app_state(&app.id, &state.to_json())
                        .await;
                    let _ = self
                        .inner
                        .store
                        .release_lease(&app.id, &self.inner.holder)
                        .await;
                    continue;
                }
            };
            let worker = Worker::load(ctx).await?;
            let (commands, receiver) = mpsc::channel(16);
            let task = tokio::spawn(run_worker(
                worker,
                receiver,
                Arc::clone(&self.inner.store),
                Arc::clone(&self.inner.clock),
                self.inner.holder.clone(),
                self.inner.lease,
            ));
            tracing::info!(app = %app.name, "provisioning worker started");
            if let Ok(mut running) = self.inner.running.lock() {
                running.insert(
                    app.id.clone(),
                    Running {
                        commands,
                        updated: app.updated,
                        task,
                    },
                );
            }
        }
        Ok(())
    }

    fn sender(&self, app_id: &str) -> Option<mpsc::Sender<Command>> {
        self.inner
            .running
            .lock()
            .ok()?
            .get(app_id)
            .filter(|r| !r.task.is_finished())
            .map(|r| r.commands.clone())
    }

    /// Makes the app's worker look for work now, e.g. after an assignment made an object due.
    /// Without a running worker here, nothing happens (the next one finds the object due).
    pub fn wake(&self, app_id: &str) {
        if let Some(tx) = self.sender(app_id) {
            let _ = tx.try_send(Command::Wake);
        }
    }

    /// Provisions one user now and returns the step-by-step result (spec §4.4).
    pub async fn provision_on_demand(&self, record: &AppRecord, user_id: &str) -> Result<Value> {
        if let Some(tx) = self.sender(&record.id) {
            let (reply, answer) = oneshot::channel();
            if tx
                .send(Command::ProvisionOne(user_id.to_owned(), reply))
                .await
                .is_ok()
            {
                return answer.await.map_err(|_| gone())?;
            }
        }
        let mut worker = Worker::load(Arc::new(self.context(record)?)).await?;
        worker.provision_one(user_id).await
    }

    /// Lets the held deletions through; `Ok(false)` if none were held.
    pub async fn approve_deletions(&self, record: &AppRecord) -> Result<bool> {
        if let Some(tx) = self.sender(&record.id) {
            let (reply, answer) = oneshot::channel();
            if tx.send(Command::Approve(reply)).await.is_ok() {
                return answer.await.map_err(|_| gone())?;
            }
        }
        let mut state = RunState::from_json(&record.state);
        let held = state.held.take().is_some();
        state.window.deletions_approved = true;
        self.inner
            .store
            .put_app_state(&record.id, &state.to_json())
            .await?;
        Ok(held)
    }

    /// Restarts the app (spec §4.1): a new initial cycle; links to target accounts are kept.
    pub async fn restart(&self, record: &AppRecord) -> Result<()> {
        if let Some(tx) = self.sender(&record.id) {
            let (reply, answer) = oneshot::channel();
            if tx.send(Command::Restart(reply)).await.is_ok() {
                return answer.await.map_err(|_| gone())?;
            }
        }
        self.inner
            .store
            .put_app_state(&record.id, &RunState::default().to_json())
            .await
    }
}

fn gone() -> Error {
    Error::Internal("the app's worker stopped while answering".into())
}

/// One app's task: steps while there is work, waits for a commit, a due time or a command
/// otherwise, and keeps its lease.
async fn run_worker(
    mut worker: Worker,
    mut commands: mpsc::Receiver<Command>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: String,
    lease: Duration,
) {
    let app_id = worker.ctx.app_id.clone();
    let name = worker.ctx.name.clone();
    let mut feed = store.change_feed();
    let mut renewed = clock.now();
    let mut failures: u32 = 0;
    loop {
        let now = clock.now();
        if now.duration_since(renewed) > SignedDuration::try_from(lease / 3).unwrap_or_default() {
            match store
                .acquire_lease(&app_id, &holder, now, after(now, lease))
                .await
            {
                Ok(true) => renewed = now,
                Ok(false) => {
                    tracing::warn!(app = %name, "lease lost to another replica: worker stops");
                    return;
                }
                Err(e) => tracing::error!(app = %name, error = %e, "cannot renew the lease"),
            }
        }
        // Commands first: an on-demand request should not wait for a long cycle.
        while let Ok(cmd) = commands.try_recv() {
            if !handle(&mut worker, cmd).await {
                return;
            }
        }
        let wait = match worker.step().await {
            Ok(Step::Worked(what)) => {
                failures = 0;
                tracing::debug!(app = %name, %what, "step");
                continue;
            }
            Ok(Step::Idle { until }) => until,
            Ok(Step::Held) => None,
            Ok(Step::Quarantined { until }) => Some(until),
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::error!(app = %name, error = %e, "provisioning step failed");
                Some(after(
                    clock.now(),
                    Duration::from_secs(u64::from(failures.min(6)) * 5),
                ))
            }
        };
        let sleep = wait
            .map(|t| t.duration_since(clock.now()))
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(MAX_IDLE)
            .min(MAX_IDLE);
        tokio::select! {
            changed = feed.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(sleep).await;
                }
            }
            cmd = commands.recv() => match cmd {
                Some(cmd) => if !handle(&mut worker, cmd).await { return },
                None => return,
            },
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Runs one command; `false` to stop.
async fn handle(worker: &mut Worker, cmd: Command) -> bool {
    match cmd {
        Command::ProvisionOne(user, reply) => {
            let _ = reply.send(worker.provision_one(&user).await);
        }
        Command::Approve(reply) => {
            let _ = reply.send(worker.approve_deletions().await);
        }
        Command::Restart(reply) => {
            let _ = reply.send(worker.restart().await);
        }
        Command::Wake => {}
        Command::Stop => return false,
    }
    true
}
