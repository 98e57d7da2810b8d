//! `scimitar bench --engine`: the provisioning engine's targets, in one run.
//!
//! The directory tenant and the target tenant live in the same Scimitar (one store, one server
//! on loopback): the app provisions tenant `bench` into tenant `target` over real SCIM HTTP.
//! The ceiling is the same initial cycle to a null target that answers every call at once.
//!
//! 1. Initial cycle of `--users` users: to the null target (ceiling) and to the Scimitar tenant;
//!    target at least 1,000 users/s to the tenant.
//! 2. Propagation: a SCIM write in the directory to the PATCH arriving at the target, with the
//!    scheduler running (woken by the commit): p50 under 200 ms, p99 under 1 s.
//! 3. Incremental pass with 10 changed users among all: at most 10 writes and no look-ups at
//!    the target, under 100 ms of engine time.
//! 4. Peak RSS of the process through the initial cycle: under 300 MB.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use domain::schema::{Mode, Registry};
use domain::target::{Target as ScimTarget, TargetError, TargetResource};
use domain::{AppRecord, Clock, Load, ResourceKind, Store, Write};
use engine::app::Scope;
use engine::{AppSpec, Engine, TargetFactory, Worker, WorkerCtx};
use scim_proto::probe::{Cleanup, ProbeReport, Supports};
use serde_json::{json, Map, Value};

use super::phase;
use super::report::Outcome;

/// A target that answers every call at once: the ceiling.
#[derive(Debug, Default)]
struct NullTarget {
    next: AtomicUsize,
}

#[async_trait]
impl ScimTarget for NullTarget {
    async fn find(
        &self,
        _: ResourceKind,
        _: &str,
        _: &str,
    ) -> Result<Vec<TargetResource>, TargetError> {
        Ok(Vec::new())
    }
    async fn list(
        &self,
        _: ResourceKind,
        _: u64,
        _: u64,
    ) -> Result<(Vec<TargetResource>, u64), TargetError> {
        Ok((Vec::new(), 0))
    }
    async fn get(&self, _: ResourceKind, _: &str) -> Result<Option<TargetResource>, TargetError> {
        Ok(None)
    }
    async fn create(&self, _: ResourceKind, body: &Value) -> Result<TargetResource, TargetError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(TargetResource {
            id: format!("null-{id}"),
            body: body.clone(),
        })
    }
    async fn patch(&self, _: ResourceKind, _: &str, _: &[Value]) -> Result<(), TargetError> {
        Ok(())
    }
    async fn replace(
        &self,
        _: ResourceKind,
        id: &str,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        Ok(TargetResource {
            id: id.to_owned(),
            body: body.clone(),
        })
    }
    async fn delete(&self, _: ResourceKind, _: &str) -> Result<(), TargetError> {
        Ok(())
    }
    /// Nothing to connect to: a test with no steps that passes.
    async fn probe(&self) -> ProbeReport {
        ProbeReport {
            ok: true,
            steps: Vec::new(),
            user_name: String::new(),
            user_id: None,
            cleanup: Cleanup::NothingToDelete,
            supports: Supports::default(),
        }
    }
}

/// The real client, counting calls and timestamping PATCH arrivals.
struct Counting {
    inner: Arc<dyn ScimTarget>,
    finds: AtomicUsize,
    writes: AtomicUsize,
    patched: Mutex<Vec<Instant>>,
}

#[async_trait]
impl ScimTarget for Counting {
    async fn find(
        &self,
        k: ResourceKind,
        a: &str,
        v: &str,
    ) -> Result<Vec<TargetResource>, TargetError> {
        self.finds.fetch_add(1, Ordering::Relaxed);
        self.inner.find(k, a, v).await
    }
    async fn list(
        &self,
        k: ResourceKind,
        start: u64,
        count: u64,
    ) -> Result<(Vec<TargetResource>, u64), TargetError> {
        self.inner.list(k, start, count).await
    }
    async fn get(&self, k: ResourceKind, id: &str) -> Result<Option<TargetResource>, TargetError> {
        self.inner.get(k, id).await
    }
    async fn create(&self, k: ResourceKind, body: &Value) -> Result<TargetResource, TargetError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.create(k, body).await
    }
    async fn patch(&self, k: ResourceKind, id: &str, ops: &[Value]) -> Result<(), TargetError> {
        if let Ok(mut p) = self.patched.lock() {
            p.push(Instant::now());
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.patch(k, id, ops).await
    }
    async fn replace(
        &self,
        k: ResourceKind,
        id: &str,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.replace(k, id, body).await
    }
    async fn delete(&self, k: ResourceKind, id: &str) -> Result<(), TargetError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.delete(k, id).await
    }
    async fn probe(&self) -> ProbeReport {
        self.inner.probe().await
    }
}

struct Fixed(Arc<dyn ScimTarget>);

impl TargetFactory for Fixed {
    fn target(&self, _: &AppRecord) -> Result<Arc<dyn ScimTarget>, String> {
        Ok(Arc::clone(&self.0))
    }
}

/// `VmHWM` (peak) or `VmRSS` (current) of this process, in MB.
fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn app_record(
    id: &str,
    tenant_id: &str,
    url: &str,
    clock: &dyn Clock,
) -> anyhow::Result<AppRecord> {
    let mut spec = AppSpec::new(url);
    spec.scope = Scope::All;
    spec.provision_groups = false;
    spec.concurrency = 16;
    spec.dialect.booleans_as_strings = false;
    let now = clock.now();
    Ok(AppRecord {
        id: id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        name: id.to_owned(),
        enabled: false,
        spec: serde_json::to_value(&spec)?,
        sealed_secret: None,
        state: Value::Null,
        created: now,
        updated: now,
    })
}

fn outcome(
    name: &'static str,
    scenario: String,
    value: f64,
    unit: &'static str,
    target: &'static str,
    pass: bool,
) -> Outcome {
    Outcome {
        name,
        scenario,
        value,
        unit,
        note: String::new(),
        peer: None,
        ratio: None,
        target,
        pass,
        details: Map::new(),
    }
}

/// Runs the four engine scenarios over `users` seeded users. The directory is written through
/// `store`; the propagation scenario runs the app's scheduler on the `engines` replicas.
pub async fn run(
    store: Arc<dyn Store>,
    engines: Vec<Arc<dyn Store>>,
    clock: Arc<dyn Clock>,
    tenant_id: &str,
    user_ids: &[String],
    scim_base: &str,
) -> anyhow::Result<Vec<Outcome>> {
    let users = user_ids.len();
    // The target tenant and its token.
    let target_tenant = store.create_tenant("target").await?;
    let secret = server::auth::generate_token();
    let info = server::auth::new_token_info(
        &target_tenant.id,
        "engine",
        &secret,
        domain::Scope::ALL.to_vec(),
        clock.now(),
        None,
    );
    store.insert_token(&info).await?;
    let mut config =
        scim_client::ClientConfig::new(scim_base, scim_client::Credentials::Bearer(secret));
    config.requests_per_second = None;
    config.max_concurrent_requests = 16;
    let client: Arc<dyn ScimTarget> = Arc::new(scim_client::ScimClient::new(config)?);

    // 1. Initial cycle: null target, then the Scimitar tenant.
    let null_app = app_record("null", tenant_id, "http://null.invalid", &*clock)?;
    store.put_app(&null_app).await?;
    let ctx = WorkerCtx::new(
        &null_app,
        Arc::new(NullTarget::default()),
        store.clone(),
        clock.clone(),
    )
    .map_err(anyhow::Error::msg)?;
    let mut worker = Worker::load(Arc::new(ctx)).await?;
    phase(&format!("initial cycle of {users} users to a null target"));
    let started = Instant::now();
    worker.run_until_idle(usize::MAX).await?;
    let ceiling = users as f64 / started.elapsed().as_secs_f64();

    let counting = Arc::new(Counting {
        inner: client,
        finds: AtomicUsize::new(0),
        writes: AtomicUsize::new(0),
        patched: Mutex::new(Vec::new()),
    });
    let app = app_record("scimitar", tenant_id, scim_base, &*clock)?;
    store.put_app(&app).await?;
    let ctx = WorkerCtx::new(&app, counting.clone(), store.clone(), clock.clone())
        .map_err(anyhow::Error::msg)?;
    let mut worker = Worker::load(Arc::new(ctx)).await?;
    phase(&format!(
        "initial cycle of {users} users to a Scimitar tenant"
    ));
    let rss_before = rss_mb("VmRSS:");
    // Restart the peak (VmHWM) here, so that it measures this cycle, not the seeding before it.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    // The peaks of heap and mapped pages separately, sampled every 20 ms.
    let peaks = Arc::new(Mutex::new((0.0f64, 0.0f64)));
    let sampler = {
        let peaks = Arc::clone(&peaks);
        tokio::spawn(async move {
            loop {
                let (anon, file) = (rss_mb("RssAnon:"), rss_mb("RssFile:"));
                if let Ok(mut p) = peaks.lock() {
                    p.0 = p.0.max(anon);
                    p.1 = p.1.max(file);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    worker.run_until_idle(usize::MAX).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let rate = users as f64 / elapsed;
    let rss = rss_mb("VmHWM:");
    sampler.abort();
    let (peak_anon, peak_file) = peaks.lock().map(|p| *p).unwrap_or_default();
    // What the resident memory is made of now: heap (anonymous) and mapped database pages.
    let (anon, file) = (rss_mb("RssAnon:"), rss_mb("RssFile:"));
    let provisioned = store.shadow_counts(&app.id).await?.users_active;
    anyhow::ensure!(
        provisioned == users as u64,
        "only {provisioned} of {users} users were provisioned"
    );
    let mut initial = outcome(
        "engine_initial_cycle",
        format!("initial cycle, {users} users to a Scimitar tenant"),
        rate,
        "users/s",
        ">= 1000 users/s",
        rate >= 1000.0,
    );
    initial.peer = Some(("null target".into(), ceiling, "users/s"));
    initial.ratio = Some(rate / ceiling);
    initial.note = format!("{elapsed:.1} s");

    // 3. Incremental pass: 10 changed users.
    let registry = Registry::builtin();
    let changed: Vec<&String> = user_ids
        .iter()
        .step_by((users / 10).max(1))
        .take(10)
        .collect();
    for id in &changed {
        touch(&*store, &*clock, &registry, tenant_id, id, "Incremental").await?;
    }
    let (finds, writes) = (
        counting.finds.load(Ordering::Relaxed),
        counting.writes.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    worker.run_until_idle(usize::MAX).await?;
    let engine_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (finds, writes) = (
        counting.finds.load(Ordering::Relaxed) - finds,
        counting.writes.load(Ordering::Relaxed) - writes,
    );
    let mut incremental = outcome(
        "engine_incremental",
        format!("incremental pass, {} changed of {users}", changed.len()),
        engine_ms,
        "ms",
        "<= 10 writes, no look-ups, < 100 ms",
        writes <= 10 && finds == 0 && engine_ms < 100.0,
    );
    incremental.note = format!("{writes} writes, {finds} look-ups");
    drop(worker);

    // 2. Propagation with the scheduler running.
    // The stored record: its state holds the finished cycle's watermark (a stale copy would
    // send the scheduler's worker into a new initial cycle under the measurement).
    let mut live = store
        .app_by_id(&app.id)
        .await?
        .context("the app vanished")?;
    live.enabled = true;
    live.updated = clock.now();
    store.put_app(&live).await?;
    let engines: Vec<Engine> = engines
        .into_iter()
        .map(|replica| Engine::new(replica, clock.clone(), Arc::new(Fixed(counting.clone()))))
        .collect();
    let supervisors: Vec<_> = engines.iter().map(Engine::start).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !engines.iter().any(|e| e.is_running(&live.id)) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the engine did not start the app within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    phase("propagation latency: 200 single writes");
    let mut latencies = Vec::with_capacity(200);
    for (n, id) in user_ids.iter().take(200).enumerate() {
        let before = counting.patched.lock().map(|p| p.len()).unwrap_or(0);
        let started = Instant::now();
        touch(
            &*store,
            &*clock,
            &registry,
            tenant_id,
            id,
            &format!("Live {n}"),
        )
        .await?;
        let wait_until = Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = counting
                .patched
                .lock()
                .ok()
                .and_then(|p| p.get(before).copied());
            if let Some(at) = arrived {
                latencies.push(at.duration_since(started).as_secs_f64() * 1000.0);
                break;
            }
            anyhow::ensure!(
                Instant::now() < wait_until,
                "a change did not reach the target within 10 s"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for engine in &engines {
        engine.shutdown().await;
    }
    supervisors.iter().for_each(tokio::task::JoinHandle::abort);
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let (p50, p99) = (pct(0.5), pct(0.99));
    let mut propagation = outcome(
        "engine_propagation",
        "write in the directory → PATCH at the target".into(),
        p50,
        "ms p50",
        "p50 < 200 ms, p99 < 1 s",
        p50 < 200.0 && p99 < 1000.0,
    );
    propagation.note = format!("p99 {p99:.1} ms");

    // The whole process: the directory, the target tenant's server and store (SQLite page
    // caches and mapped pages included) and the engine; the note says what it is made of.
    let mut memory = outcome(
        "engine_peak_rss",
        format!("peak RSS through the {users}-user initial cycle (whole process)"),
        rss,
        "MB",
        "< 300 MB",
        rss < 300.0,
    );
    memory.note = format!(
        "{rss_before:.0} MB before; peaks {peak_anon:.0} MB heap, {peak_file:.0} MB mapped database; after: {anon:.0} + {file:.0} MB{}",
        if peak_reset { "" } else { "; the peak could not be reset: it includes the seeding" }
    );
    Ok(vec![initial, propagation, incremental, memory])
}

/// Changes a user's title through the store (what a SCIM PUT does).
async fn touch(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    id: &str,
    title: &str,
) -> anyhow::Result<()> {
    let current = store
        .get(tenant_id, ResourceKind::User, id, Load::NONE)
        .await?
        .with_context(|| format!("user {id} is gone"))?;
    let mut body = Value::Object(current.body.clone());
    if let Some(b) = body.as_object_mut() {
        b.insert("title".into(), json!(title));
    }
    let v = registry.validate(ResourceKind::User, body, Mode::Replace(&current))?;
    store
        .replace(
            tenant_id,
            ResourceKind::User,
            id,
            Write::whole(v),
            None,
            clock.now(),
            Load::NONE,
        )
        .await?;
    Ok(())
}
