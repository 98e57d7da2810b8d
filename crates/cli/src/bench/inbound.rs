//! `scimitar bench --inbound`: API-driven inbound provisioning's ingest rate, in one run.
//!
//! `--users` new-hire records go to `POST /api/v1/inbound/bulkUpload` of a Scimitar on loopback
//! in requests of 50 (spec §5's limit), over `--connections` keep-alive connections at once,
//! with the processor running as in `scimitar serve`. The time runs from the first request to
//! the last record processed (created in the directory, its result and log entry written).
//! Target: at least 4,000 records/s.
//!
//! The ceiling is the same records written straight through the store (validated, then
//! `Store::create`, as many at once as there are connections) into another tenant of the same
//! store, without HTTP, staging, matching or mapping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use domain::schema::{Mode, Registry};
use domain::{Clock, ResourceKind, Store, Write};
use hyper::{Method, StatusCode};
use inbound::{Inbound, InboundConfig, Sources};
use serde_json::{json, Map, Value};
use server::inbound::RateLimit;
use server::{AppState, ServerConfig};

use super::load::{Conn, Target};
use super::report::Outcome;
use super::{phase, seed, serve};

/// Records per bulkUpload request (spec §5's maximum).
const PER_REQUEST: usize = 50;
const TARGET: f64 = 4_000.0;

/// The `i`th incoming record: a typical HR record (Entra's default attributes), matched on its
/// `externalId`, which is also its employee number.
fn record(i: usize) -> Value {
    let mut body = seed::user_body(&seed::user_name(i), i);
    if let Some(o) = body.as_object_mut() {
        o.insert("externalId".into(), json!(i.to_string()));
    }
    body
}

pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tenant_id: &str,
    token: &str,
    records: usize,
    connections: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let requests = records.div_ceil(PER_REQUEST);
    let connections = connections.clamp(1, requests.max(1));

    // The ceiling: the same records straight into the store of another tenant.
    let ceiling_tenant = store.create_tenant("ceiling").await?.id;
    phase(&format!(
        "ceiling: {records} records through Store::create, {connections} at once"
    ));
    let ceiling = ceiling(&store, &*clock, &ceiling_tenant, records, connections).await?;

    let processor = Inbound::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        Sources::new(Vec::new()),
        InboundConfig {
            // Measure processing, not the backlog cap.
            max_backlog: u64::MAX,
            ..InboundConfig::default()
        },
    )
    .await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(processor.clone().run(stopped));
    let limit = RateLimit {
        requests: u32::MAX,
        window: Duration::from_secs(1),
    };
    let state = AppState::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        ServerConfig::default(),
    )
    .with_inbound(processor.clone(), limit);
    let (addr, server) = serve(server::app(state)).await?;
    let target = Target::new(addr, Some(token))?;

    phase(&format!(
        "bulkUpload: {records} records in {requests} requests of {PER_REQUEST}, {connections} connections"
    ));
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..requests)
            .map(|r| {
                let ops: Vec<Value> = (r * PER_REQUEST..((r + 1) * PER_REQUEST).min(records))
                    .map(|i| {
                        json!({"method": "POST", "bulkId": i.to_string(), "path": "/Users",
                               "data": record(i)})
                    })
                    .collect();
                serde_json::to_vec(&json!({
                    "schemas": [scim_proto::BULK_REQUEST],
                    "Operations": ops,
                }))
            })
            .collect::<Result<_, _>>()?,
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (target, bodies, next) = (target.clone(), Arc::clone(&bodies), Arc::clone(&next));
        senders.spawn(async move {
            let mut conn = Conn::open(target.addr).await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return anyhow::Ok(());
                };
                let request = target.request(
                    Method::POST,
                    "/api/v1/inbound/bulkUpload",
                    Some(body.clone()),
                )?;
                conn.expect(request, StatusCode::ACCEPTED).await?;
            }
        });
    }
    while let Some(joined) = senders.join_next().await {
        joined.context("a load connection failed")??;
    }
    let accepted = started.elapsed();
    // The last record processed: nothing waiting, and every request complete.
    loop {
        if processor.backlog() == 0 && store.pending_inbound(1).await?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    let _ = worker.await;
    server.abort();

    let created = count_created(&store, tenant_id).await?;
    anyhow::ensure!(
        created == records,
        "{created} of {records} records became users; see the status resources"
    );
    let rate = records as f64 / elapsed.as_secs_f64();
    let ceiling_rate = records as f64 / ceiling.as_secs_f64();
    let mut details = Map::new();
    details.insert("records".into(), json!(records));
    details.insert("requests".into(), json!(requests));
    details.insert("connections".into(), json!(connections));
    details.insert("accepted_seconds".into(), json!(accepted.as_secs_f64()));
    details.insert("total_seconds".into(), json!(elapsed.as_secs_f64()));
    details.insert("ceiling_seconds".into(), json!(ceiling.as_secs_f64()));
    Ok(vec![Outcome {
        name: "inbound_bulk_upload",
        scenario: format!(
            "bulkUpload ingest, {records} records, {PER_REQUEST}/request, {connections} conns"
        ),
        value: rate,
        unit: "records/s",
        note: format!(
            "all 202 after {:.2} s, processed after {:.2} s",
            accepted.as_secs_f64(),
            elapsed.as_secs_f64()
        ),
        peer: Some(("Store::create".into(), ceiling_rate, "records/s")),
        ratio: Some(rate / ceiling_rate),
        target: "≥ 4,000 records/s",
        pass: rate >= TARGET,
        details,
    }])
}

/// Writes the records into `tenant_id` straight through the store, `connections` at once.
async fn ceiling(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    tenant_id: &str,
    records: usize,
    connections: usize,
) -> anyhow::Result<Duration> {
    let registry = Arc::new(Registry::builtin());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let now = clock.now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (store, registry, next) = (Arc::clone(store), Arc::clone(&registry), Arc::clone(&next));
        let tenant_id = tenant_id.to_owned();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= records {
                    return anyhow::Ok(());
                }
                let body = registry.validate(ResourceKind::User, record(i), Mode::Create)?;
                store.create(&tenant_id, Write::whole(body), now).await?;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a ceiling task failed")??;
    }
    Ok(started.elapsed())
}

async fn count_created(store: &Arc<dyn Store>, tenant_id: &str) -> anyhow::Result<usize> {
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = store
            .walk(
                tenant_id,
                ResourceKind::User,
                after,
                10_000,
                domain::Load::NONE,
            )
            .await?;
        let Some((last, _)) = page.last() else {
            return Ok(n);
        };
        after = *last;
        n += page.len();
    }
}
