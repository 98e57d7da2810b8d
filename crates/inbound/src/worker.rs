//! The processor: takes staged bulkUpload requests (this process's and those left over from
//! before a restart) and processes their records, several requests at a time and each
//! request's records in order (a manager sent before its reports is found).
//!
//! Two requests may carry the same person: a request holds its records' matching keys while
//! they are matched and written, so two creates of one person cannot race. A request whose
//! records are independent (no key twice, no manager among its own records) is planned whole
//! and written in one store round trip; otherwise record by record.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::inbound::{RecordResult, StagedRecord, StagedRequest};
use domain::{Clock, Result, Store};
use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinSet;

use crate::lifecycle::Runner;
use crate::process::{self, Ctx};
use crate::{registry, Sources};

/// How the processor runs.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    /// Staged records not yet processed beyond which uploads are refused (429).
    pub max_backlog: u64,
    /// Requests processed at once.
    pub concurrency: usize,
    /// How often the processor and the lifecycle runner look for work without being woken.
    pub tick: Duration,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig {
            max_backlog: 100_000,
            concurrency: 64,
            tick: Duration::from_secs(1),
        }
    }
}

/// A handle on the processor (cheap to clone).
#[derive(Clone)]
pub struct Inbound {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sources: Arc<Sources>,
    config: InboundConfig,
    backlog: AtomicU64,
    wake: Notify,
    /// Matching keys (tenant, key) of the records being matched and written now.
    busy: std::sync::Mutex<HashSet<(String, String)>>,
    /// Woken when keys are released.
    released: Notify,
    /// Serialises steps, so that no two pick up the same staged records.
    stepping: Mutex<()>,
    /// This process's name in the leases that let one replica at a time run the processor and
    /// the lifecycle runner.
    holder: String,
}

/// The leases of the processor and of the lifecycle runner (held like an app's).
const PROCESSOR_LEASE: &str = "inbound:processor";
const LIFECYCLE_LEASE: &str = "inbound:lifecycle";

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("config", &self.inner.config)
            .field("backlog", &self.backlog())
            .finish_non_exhaustive()
    }
}

impl Inbound {
    /// A processor over `store`; counts the records left staged by an earlier run.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        sources: Sources,
        config: InboundConfig,
    ) -> Result<Inbound> {
        let left = store.inbound_backlog().await?;
        Ok(Inbound {
            inner: Arc::new(Inner {
                store,
                clock,
                sources: Arc::new(sources),
                config,
                backlog: AtomicU64::new(left),
                wake: Notify::new(),
                busy: std::sync::Mutex::default(),
                released: Notify::new(),
                stepping: Mutex::new(()),
                holder: format!("inbound-{}", uuid::Uuid::new_v4()),
            }),
        })
    }

    pub fn sources(&self) -> &Sources {
        &self.inner.sources
    }

    pub fn config(&self) -> &InboundConfig {
        &self.inner.config
    }

    /// Staged records not processed yet.
    pub fn backlog(&self) -> u64 {
        self.inner.backlog.load(Ordering::Relaxed)
    }

    /// The lifecycle runner over the same store, clock and sources.
    pub fn lifecycle(&self) -> Runner {
        Runner::new(
            Arc::clone(&self.inner.store),
            Arc::clone(&self.inner.clock),
            Arc::clone(&self.inner.sources),
        )
    }

    /// Stages a checked request and wakes the processor.
    pub async fn stage(&self, request: &StagedRequest) -> Result<()> {
        self.inner.store.stage_inbound(request).await?;
        self.inner
            .backlog
            .fetch_add(request.records.len() as u64, Ordering::Relaxed);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Processes the staged requests waiting now (up to `concurrency` of them, together);
    /// returns how many records it processed.
    pub async fn step(&self) -> Result<usize> {
        let _one = self.inner.stepping.lock().await;
        let pending = self
            .inner
            .store
            .pending_inbound(self.inner.config.concurrency.max(1))
            .await?;
        let mut tasks = JoinSet::new();
        for request in pending {
            let this = self.clone();
            tasks.spawn(async move { this.process_request(request).await });
        }
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(n)) => done += n,
                Ok(Err(e)) => tracing::error!(error = %e, "inbound request failed"),
                Err(e) => tracing::error!(error = %e, "inbound task failed"),
            }
        }
        Ok(done)
    }

    async fn process_request(&self, request: StagedRequest) -> Result<usize> {
        let inner = &self.inner;
        let source = inner.sources.get(&request.source);
        let registry = registry(inner.store.as_ref(), &request.tenant_id).await?;
        let ctx = Ctx {
            store: inner.store.as_ref(),
            registry: &registry,
            source: &source,
            tenant_id: &request.tenant_id,
            now: inner.clock.now(),
        };
        let keys: Vec<String> = request
            .records
            .iter()
            .map(|r| process::match_key(&r.data, &source).unwrap_or_default())
            .collect();
        if process::independent(&request.records, &source) {
            let _held = self.hold(&request.tenant_id, keys).await;
            process::process_together(ctx, &request.records, Some(&request.id)).await?;
        } else {
            for (record, key) in request.records.iter().zip(keys) {
                let ctx = Ctx {
                    now: inner.clock.now(),
                    ..ctx
                };
                let _held = self.hold(&request.tenant_id, vec![key]).await;
                process::process(ctx, record, Some(&request.id)).await;
            }
        }
        let n = request.records.len();
        inner.backlog.fetch_sub(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    /// Waits until none of `keys` is held by another request, then holds them until the guard
    /// is dropped.
    async fn hold(&self, tenant_id: &str, keys: Vec<String>) -> Held<'_> {
        let keys: Vec<(String, String)> = keys
            .into_iter()
            .map(|k| (tenant_id.to_owned(), k))
            .collect();
        loop {
            let released = self.inner.released.notified();
            {
                let Ok(mut busy) = self.inner.busy.lock() else {
                    break; // poisoned: hold nothing rather than wait forever
                };
                if keys.iter().all(|k| !busy.contains(k)) {
                    busy.extend(keys.iter().cloned());
                    break;
                }
            }
            released.await;
        }
        Held {
            inbound: self,
            keys,
        }
    }

    /// Processes one record outside any request (CSV import): same matching, mapping and log.
    pub async fn process_one(
        &self,
        tenant_id: &str,
        source: &str,
        record: &StagedRecord,
    ) -> Result<RecordResult> {
        let source = self.inner.sources.get(source);
        let registry = registry(self.inner.store.as_ref(), tenant_id).await?;
        let ctx = Ctx {
            store: self.inner.store.as_ref(),
            registry: &registry,
            source: &source,
            tenant_id,
            now: self.inner.clock.now(),
        };
        Ok(process::process(ctx, record, None).await)
    }

    /// Runs the processor until `shutdown` turns true: a step whenever woken, and at least
    /// every tick (work staged by another process).
    /// With several replicas on one database, only the one holding the processor's lease steps.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let did = if self.holds(PROCESSOR_LEASE).await {
                match self.step().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "inbound processor step failed");
                        0
                    }
                }
            } else {
                // The holder processes what this replica staged: follow the store's count.
                self.recount().await;
                0
            };
            if did > 0 {
                continue;
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(self.inner.config.tick) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.release(PROCESSOR_LEASE).await;
    }

    /// Sets the backlog to what the store holds unprocessed (every replica's uploads).
    async fn recount(&self) {
        match self.inner.store.inbound_backlog().await {
            Ok(left) => self.inner.backlog.store(left, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "cannot count the inbound backlog"),
        }
    }

    /// Takes or renews the lease `name` for this process; `false` while another replica has it.
    async fn holds(&self, name: &str) -> bool {
        let inner = &self.inner;
        let now = inner.clock.now();
        // Renewed at least every tick; a stopped replica's work moves after ten ticks.
        let lease = (inner.config.tick * 10).max(Duration::from_secs(10));
        let until = jiff::SignedDuration::try_from(lease)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(now);
        match inner
            .store
            .acquire_lease(name, &inner.holder, now, until)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::error!(error = %e, lease = name, "cannot take the lease");
                false
            }
        }
    }

    async fn release(&self, name: &str) {
        if let Err(e) = self
            .inner
            .store
            .release_lease(name, &self.inner.holder)
            .await
        {
            tracing::warn!(error = %e, lease = name, "cannot release the lease");
        }
    }

    /// Runs the lifecycle runner until `shutdown` turns true, a step per tick, while this
    /// replica holds the runner's lease.
    pub async fn run_lifecycle(self, mut shutdown: watch::Receiver<bool>) {
        let runner = self.lifecycle();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if self.holds(LIFECYCLE_LEASE).await {
                if let Err(e) = runner.step().await {
                    tracing::error!(error = %e, "lifecycle step failed");
                }
            }
            // Actions are due at midnight: a tick late is on time, and an action that failed
            // is not retried in a hot loop.
            tokio::select! {
                _ = tokio::time::sleep(self.inner.config.tick) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.release(LIFECYCLE_LEASE).await;
    }
}

/// Matching keys held by a request.
struct Held<'a> {
    inbound: &'a Inbound,
    keys: Vec<(String, String)>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.inbound.inner.busy.lock() {
            for k in &self.keys {
                busy.remove(k);
            }
        }
        self.inbound.inner.released.notify_waiters();
    }
}
