//! `scimitar bench`: the performance targets of the directory, measured in one run on a fresh
//! temporary SQLite store (or with `--postgres` a fresh PostgreSQL database, served by
//! `--replicas` servers) and reported as ratios against a ceiling measured in the same run.
//!
//! Everything runs in this process: the server under test (`server::app`), a ceiling server (a
//! bare axum handler that returns the bytes of a real `GET /Users/{id}` response) and the load
//! generator, all on loopback. The ceiling shares the machine and the load generator with the
//! server under test, so the ratio compares like with like; absolute figures depend on the host.
//!
//! Scenarios and targets:
//! 1. `GET /Users/{id}` throughput, at least half the bare handler's.
//! 2. `GET /Users?filter=userName eq "…"` p99 latency under 2 ms, at moderate concurrency.
//! 3. `POST /Users` throughput, at least 2,000 users/s.
//! 4. `PATCH` adding one member to a group of `--big-group` members (responses exclude
//!    `members`, as Entra ID asks) takes at most 1.5 times as long as on a group of 10.

mod db;
mod dynamic;
mod engine;
mod inbound;
mod languages;
mod load;
mod report;
mod seed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::Router;
use domain::schema::Registry;
use domain::{Clock, Load, ResourceKind, Store, SystemClock};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use rand::seq::SliceRandom as _;
use rand::Rng as _;
use serde_json::{json, Map, Value};
use server::{AppState, ServerConfig};

use self::load::{Conn, MakeRequest, Run, Target};
use self::report::Outcome;

/// Measure the server against its performance targets. Creates a temporary store, seeds it,
/// serves it on a loopback port and loads it; prints one line per target and
/// `bench: N of 4 targets met`. Exits with status 0 whether or not the targets are met.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Users seeded before measuring.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: u64,
    /// Members of the large group in the PATCH scenario (more users are seeded if needed).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub big_group: u64,
    /// Seconds each scenario runs (after a short warm-up).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Concurrent keep-alive connections for the throughput scenarios.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub connections: u64,
    /// Print the report as JSON on stdout (the table and summary then go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Measure the mapping and rule languages instead (one core, `--users` users, no server).
    #[arg(long)]
    pub languages: bool,
    /// Measure the provisioning engine instead: initial cycle of `--users` users to a null
    /// target and to another tenant, propagation latency, an incremental pass, peak memory.
    #[arg(long, conflicts_with = "languages")]
    pub engine: bool,
    /// Measure dynamic groups instead: recomputing a rule over `--users` users, and what 50
    /// dynamic groups add to a user update.
    #[arg(long, conflicts_with_all = ["languages", "engine"])]
    pub dynamic: bool,
    /// Measure inbound provisioning instead: `--users` records POSTed to bulkUpload in
    /// requests of 50 over `--connections` connections, until the last one is processed.
    #[arg(long, conflicts_with_all = ["languages", "engine", "dynamic"])]
    pub inbound: bool,
    /// Run on PostgreSQL instead of SQLite: a database is created on this server for the run
    /// and dropped after it, e.g. postgres://postgres@127.0.0.1:5432
    #[arg(long, value_name = "SERVER_URL")]
    pub postgres: Option<String>,
    /// Replicas on the one PostgreSQL database (each with its own connection pool and, for the
    /// directory, its own HTTP server; the load is spread over them). For the engine, the
    /// directory is written through the first and the app runs on another.
    #[arg(long, default_value_t = 1, requires = "postgres",
          value_parser = clap::value_parser!(u64).range(1..=16))]
    pub replicas: u64,
}

/// Alternating rounds of the GET scenario (bare, Scimitar, bare, …); the median ratio counts.
const GET_ROUNDS: usize = 3;

/// Connections of the latency scenario: enough to be concurrent, few enough not to measure
/// queueing.
const LATENCY_CONNECTIONS: usize = 4;
/// Members of the small group the large one is compared with.
const SMALL_GROUP: usize = 10;
/// PATCHes per group: at least this many whatever `--seconds` says, at most `MAX_PATCHES`.
const MIN_PATCHES: usize = 5;
const MAX_PATCHES: usize = 1_000;
/// Untimed PATCHes per group before measuring.
const WARMUP_PATCHES: usize = 2;

const GET_TARGET: f64 = 0.5;
const FILTER_P99_TARGET_MS: f64 = 2.0;
const CREATE_TARGET: f64 = 2_000.0;
const PATCH_TARGET: f64 = 1.5;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.languages {
        return languages::run(usize::try_from(args.users)?);
    }
    if args.engine {
        return run_engine(&args).await;
    }
    if args.dynamic {
        return run_dynamic(&args).await;
    }
    if args.inbound {
        return run_inbound(&args).await;
    }
    let users = usize::try_from(args.users)?;
    let big_group = usize::try_from(args.big_group)?;
    let db = db::BenchDb::create(args.postgres.as_deref()).await?;
    let replicas = open_replicas(&db, args.replicas).await?;
    let store = replicas.first().context("no store")?.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = Arc::new(Registry::builtin());

    let (tenant_id, token) = seed::tenant(&*store, &*clock).await?;
    let seeded = users.max(big_group).max(SMALL_GROUP);
    phase(&format!("seeding {seeded} users in {}", db.describe()));
    let started = Instant::now();
    let user_ids = seed::users(
        store.clone(),
        clock.clone(),
        registry.clone(),
        &tenant_id,
        seeded,
    )
    .await?;
    phase(&format!(
        "seeded {seeded} users in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let big = user_ids
        .get(..big_group)
        .context("fewer users than --big-group")?;
    let small = user_ids
        .get(..SMALL_GROUP)
        .context("fewer users than the small group")?;
    let big_id = seed::group(&*store, &*clock, &registry, &tenant_id, "Everyone", big).await?;
    let small_id =
        seed::group(&*store, &*clock, &registry, &tenant_id, "Small team", small).await?;
    db.analyze().await?;

    let mut addrs = Vec::with_capacity(replicas.len());
    let mut servers = Vec::with_capacity(replicas.len());
    for replica in &replicas {
        let state = AppState::new(replica.clone(), clock.clone(), ServerConfig::default());
        let (addr, task) = serve(server::app(state)).await?;
        addrs.push(addr);
        servers.push(task);
    }
    let first = *addrs.first().context("no server")?;
    let bench = Bench {
        scim: Target::new(first, Some(&token))?.with_replicas(addrs),
        duration: Duration::from_secs(args.seconds),
        connections: usize::try_from(args.connections)?,
        store,
        clock,
        registry,
        tenant_id,
        user_ids: Arc::new(user_ids),
    };
    let outcomes = [
        bench.get_user().await?,
        bench.filter_user_name().await?,
        bench.create_user().await?,
        bench.patch_member(&big_id, &small_id, big_group).await?,
    ];
    servers.iter().for_each(tokio::task::JoinHandle::abort);
    drop((bench, replicas));
    let config = json!({
        "store": db.backend(),
        "replicas": args.replicas,
        "users": seeded,
        "big_group": big_group,
        "small_group": SMALL_GROUP,
        "seconds": args.seconds,
        "connections": args.connections,
        "latency_connections": LATENCY_CONNECTIONS,
    });
    db.remove().await?;
    print_report(args.json, config, &outcomes)
}

/// `count` stores on `db`: replicas on PostgreSQL, the one store on SQLite.
async fn open_replicas(db: &db::BenchDb, count: u64) -> anyhow::Result<Vec<Arc<dyn Store>>> {
    let mut stores = Vec::new();
    for _ in 0..count.max(1) {
        stores.push(db.open().await?);
    }
    Ok(stores)
}

/// The table and summary on stdout, or with `--json` the JSON report on stdout and the table on
/// stderr. `config` gets the machine's CPU count.
fn print_report(json_out: bool, mut config: Value, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let table = report::table(outcomes);
    let summary = report::summary(outcomes);
    if json_out {
        if let Some(c) = config.as_object_mut() {
            let cpus = std::thread::available_parallelism().map_or(0, usize::from);
            c.insert("cpus".into(), json!(cpus));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&report::to_json(config, outcomes))?
        );
        eprint!("{table}");
        eprintln!("{summary}");
    } else {
        print!("{table}");
        println!("{summary}");
    }
    Ok(())
}

/// A fresh store with one tenant and `users` seeded users (and its replicas, first included).
struct Seeded {
    db: db::BenchDb,
    replicas: Vec<Arc<dyn Store>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tenant_id: String,
    user_ids: Vec<String>,
}

async fn seeded(args: &BenchArgs, users: usize) -> anyhow::Result<Seeded> {
    let db = db::BenchDb::create(args.postgres.as_deref()).await?;
    let replicas = open_replicas(&db, args.replicas).await?;
    let store = replicas.first().context("no store")?.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = Arc::new(Registry::builtin());
    let (tenant_id, _token) = seed::tenant(&*store, &*clock).await?;
    phase(&format!("seeding {users} users in {}", db.describe()));
    let user_ids = seed::users(store.clone(), clock.clone(), registry, &tenant_id, users).await?;
    db.analyze().await?;
    Ok(Seeded {
        db,
        replicas,
        store,
        clock,
        tenant_id,
        user_ids,
    })
}

/// `--engine`: seeds `--users` users, serves the store, and runs the engine scenarios.
async fn run_engine(args: &BenchArgs) -> anyhow::Result<()> {
    let users = usize::try_from(args.users)?;
    let s = seeded(args, users).await?;
    let state = AppState::new(s.store.clone(), s.clock.clone(), ServerConfig::default());
    let (addr, scimitar) = serve(server::app(state)).await?;
    let base = format!("http://{addr}/scim/v2");
    // With replicas, the app runs on the others: a change crosses replicas to reach it.
    let engines: Vec<Arc<dyn Store>> = match s.replicas.get(1..) {
        Some(others) if !others.is_empty() => others.to_vec(),
        _ => vec![s.store.clone()],
    };
    let outcomes = engine::run(s.store, engines, s.clock, &s.tenant_id, &s.user_ids, &base).await?;
    scimitar.abort();
    drop(s.replicas);
    let config = json!({ "users": users, "store": s.db.backend(), "replicas": args.replicas });
    s.db.remove().await?;
    print_report(args.json, config, &outcomes)
}

/// `--dynamic`: seeds `--users` users and runs the dynamic-group scenarios on the store.
async fn run_dynamic(args: &BenchArgs) -> anyhow::Result<()> {
    let users = usize::try_from(args.users)?;
    let s = seeded(args, users).await?;
    let outcomes = dynamic::run(s.store, s.clock, &s.tenant_id, &s.user_ids).await?;
    drop(s.replicas);
    let config = json!({ "users": users, "store": s.db.backend() });
    s.db.remove().await?;
    print_report(args.json, config, &outcomes)
}

/// `--inbound`: bulkUpload ingest against writing the same records straight to the store.
async fn run_inbound(args: &BenchArgs) -> anyhow::Result<()> {
    let records = usize::try_from(args.users)?;
    let connections = usize::try_from(args.connections)?;
    let db = db::BenchDb::create(args.postgres.as_deref()).await?;
    let store = db.open().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (tenant_id, token) = seed::tenant(&*store, &*clock).await?;
    let outcomes = inbound::run(store, clock, &tenant_id, &token, records, connections).await?;
    let config = json!({ "records": records, "connections": connections, "store": db.backend() });
    db.remove().await?;
    print_report(args.json, config, &outcomes)
}

/// What every scenario needs.
struct Bench {
    scim: Target,
    duration: Duration,
    connections: usize,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    tenant_id: String,
    user_ids: Arc<Vec<String>>,
}

impl Bench {
    /// Scenario 1: `GET /Users/{id}` of random seeded users, against a bare handler returning
    /// the bytes of one such response.
    async fn get_user(&self) -> anyhow::Result<Outcome> {
        let first = self.user_ids.first().context("no users were seeded")?;
        let mut conn = Conn::open(self.scim.addr).await?;
        let request = self
            .scim
            .request(Method::GET, &format!("/scim/v2/Users/{first}"), None)?;
        let body = conn.expect(request, StatusCode::OK).await?;
        drop(conn);
        let (bare_addr, bare_server) = serve(bare_router(body)).await?;
        // The very same requests, bearer token included, so only the server differs.
        let bare = self.scim.with_addr(bare_addr)?;

        let random_get = |target: Target| -> MakeRequest {
            let ids = Arc::clone(&self.user_ids);
            Arc::new(move |_, _, rng| {
                let id = ids.choose(rng).context("no users were seeded")?;
                target.request(Method::GET, &format!("/scim/v2/Users/{id}"), None)
            })
        };
        let label = format!("GET /Users/{{id}} ({} conns)", self.connections);
        // Rounds alternate between the two servers, and the median ratio is reported, so that
        // drift on a shared machine (frequency, other load) hits both sides alike.
        let mut rounds = Vec::with_capacity(GET_ROUNDS);
        for round in 1..=GET_ROUNDS {
            let bare_run = self
                .measure(
                    &format!("{label}, bare handler, round {round}/{GET_ROUNDS}"),
                    &bare,
                    self.connections,
                    StatusCode::OK,
                    &|_| random_get(bare.clone()),
                )
                .await?;
            let run = self
                .measure(
                    &format!("{label}, round {round}/{GET_ROUNDS}"),
                    &self.scim,
                    self.connections,
                    StatusCode::OK,
                    &|_| random_get(self.scim.clone()),
                )
                .await?;
            rounds.push((run, bare_run));
        }
        bare_server.abort();
        rounds.sort_by(|a, b| {
            let ratio = |r: &(Run, Run)| r.0.throughput() / r.1.throughput();
            ratio(a).total_cmp(&ratio(b))
        });
        let all: Vec<Value> = rounds
            .iter()
            .map(|(run, bare)| {
                serde_json::json!({
                    "scimitar": run.throughput(),
                    "bare": bare.throughput(),
                    "ratio": run.throughput() / bare.throughput(),
                })
            })
            .collect();
        let (run, bare_run) = rounds
            .get(rounds.len() / 2)
            .context("no benchmark rounds ran")?;
        let ratio = run.throughput() / bare_run.throughput();
        let mut details = run_details(run);
        details.insert("bare".into(), Value::Object(run_details(bare_run)));
        details.insert("rounds".into(), Value::Array(all));
        Ok(Outcome {
            name: "get_user",
            scenario: label,
            value: run.throughput(),
            unit: "req/s",
            note: format!(
                "p99 {:.2} ms, median of {GET_ROUNDS}",
                run.percentile_ms(0.99)
            ),
            peer: Some(("bare".into(), bare_run.throughput(), "req/s")),
            ratio: Some(ratio),
            target: "ratio >= 0.5",
            pass: ratio >= GET_TARGET,
            details,
        })
    }

    /// Scenario 2: the lookup every provisioning client does before creating a user.
    async fn filter_user_name(&self) -> anyhow::Result<Outcome> {
        let path =
            |i: usize| format!("/scim/v2/Users?filter=userName%20eq%20%22user{i}%40example.com%22");
        let mut conn = Conn::open(self.scim.addr).await?;
        let body = conn
            .expect(
                self.scim.request(Method::GET, &path(0), None)?,
                StatusCode::OK,
            )
            .await?;
        let list: Value =
            serde_json::from_slice(&body).context("the filter response is not JSON")?;
        anyhow::ensure!(
            list.get("totalResults") == Some(&json!(1)),
            "the filter userName eq \"user0@example.com\" should find exactly one user: {list}"
        );
        drop(conn);

        let n = self.user_ids.len();
        let scim = self.scim.clone();
        let make: MakeRequest =
            Arc::new(move |_, _, rng| scim.request(Method::GET, &path(rng.gen_range(0..n)), None));
        let connections = LATENCY_CONNECTIONS.min(self.connections);
        let label = format!("GET /Users?filter=userName eq ({connections} conns)");
        let run = self
            .measure(&label, &self.scim, connections, StatusCode::OK, &|_| {
                Arc::clone(&make)
            })
            .await?;
        let p99 = run.percentile_ms(0.99);
        Ok(Outcome {
            name: "filter_user_name",
            scenario: label,
            value: p99,
            unit: "ms p99",
            note: format!("p50 {:.3} ms", run.percentile_ms(0.5)),
            peer: None,
            ratio: None,
            target: "p99 < 2 ms",
            pass: p99 < FILTER_P99_TARGET_MS,
            details: run_details(&run),
        })
    }

    /// Scenario 3: creating new users, each connection with its own counter for unique names.
    async fn create_user(&self) -> anyhow::Result<Outcome> {
        let new_user = |round: usize| -> MakeRequest {
            let scim = self.scim.clone();
            Arc::new(move |conn, seq, _| {
                let name = format!("new{round}-{conn}-{seq}@example.com");
                let body =
                    serde_json::to_vec(&seed::user_body(&name, conn * 1_000_003 + seq as usize))?;
                scim.request(Method::POST, "/scim/v2/Users", Some(body))
            })
        };
        let label = format!("POST /Users ({} conns)", self.connections);
        let run = self
            .measure(
                &label,
                &self.scim,
                self.connections,
                StatusCode::CREATED,
                &new_user,
            )
            .await?;
        Ok(Outcome {
            name: "create_user",
            scenario: label,
            value: run.throughput(),
            unit: "req/s",
            note: format!("p99 {:.2} ms", run.percentile_ms(0.99)),
            peer: None,
            ratio: None,
            target: ">= 2000 req/s",
            pass: run.throughput() >= CREATE_TARGET,
            details: run_details(&run),
        })
    }

    /// Scenario 4: Entra-style PATCHes adding one new member, alternating between the large and
    /// the small group, one at a time.
    async fn patch_member(
        &self,
        big: &str,
        small: &str,
        big_size: usize,
    ) -> anyhow::Result<Outcome> {
        let mut conn = Conn::open(self.scim.addr).await?;
        let mut added = 0usize;
        for _ in 0..WARMUP_PATCHES {
            self.add_member(&mut conn, big, &mut added).await?;
            self.add_member(&mut conn, small, &mut added).await?;
        }
        let label = format!("PATCH add member, {big_size} vs {SMALL_GROUP} members");
        phase(&format!(
            "measuring {label} for {} s",
            self.duration.as_secs()
        ));
        let (mut big_ms, mut small_ms) = (Vec::new(), Vec::new());
        let start = Instant::now();
        while big_ms.len() < MAX_PATCHES
            && (big_ms.len() < MIN_PATCHES || start.elapsed() < self.duration)
        {
            big_ms.push(self.add_member(&mut conn, big, &mut added).await?);
            small_ms.push(self.add_member(&mut conn, small, &mut added).await?);
        }
        let per_group = WARMUP_PATCHES + big_ms.len();
        self.check_members(big, big_size + per_group).await?;
        self.check_members(small, SMALL_GROUP + per_group).await?;

        let (big_mean, small_mean) = (mean(&big_ms), mean(&small_ms));
        let ratio = big_mean / small_mean;
        let mut details = Map::new();
        details.insert("patches_per_group".into(), json!(big_ms.len()));
        details.insert("big_mean_ms".into(), json!(big_mean));
        details.insert("big_median_ms".into(), json!(median(&mut big_ms)));
        details.insert("small_mean_ms".into(), json!(small_mean));
        details.insert("small_median_ms".into(), json!(median(&mut small_ms)));
        Ok(Outcome {
            name: "patch_group_member",
            scenario: label,
            value: big_mean,
            unit: "ms mean",
            note: String::new(),
            peer: Some((format!("{SMALL_GROUP} members"), small_mean, "ms")),
            ratio: Some(ratio),
            target: "ratio <= 1.5",
            pass: ratio <= PATCH_TARGET,
            details,
        })
    }

    /// Creates a fresh user through the store (untimed), then times the PATCH that adds it to
    /// `group`; returns milliseconds.
    async fn add_member(
        &self,
        conn: &mut Conn,
        group: &str,
        added: &mut usize,
    ) -> anyhow::Result<f64> {
        let name = format!("member{added}@example.com");
        let user = seed::user(
            &*self.store,
            &*self.clock,
            &self.registry,
            &self.tenant_id,
            &name,
            *added,
        )
        .await?;
        *added += 1;
        let body = json!({
            "schemas": [scim_proto::PATCH_OP],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": user }] }],
        });
        let path = format!("/scim/v2/Groups/{group}?excludedAttributes=members");
        let request = self
            .scim
            .request(Method::PATCH, &path, Some(serde_json::to_vec(&body)?))?;
        let sent = Instant::now();
        let (status, response) = conn.send(request).await?;
        let elapsed = sent.elapsed();
        anyhow::ensure!(
            status.is_success(),
            "PATCH {path}: expected success, got {status}: {}",
            String::from_utf8_lossy(&response)
        );
        Ok(elapsed.as_secs_f64() * 1000.0)
    }

    /// The PATCHes must really have added their members.
    async fn check_members(&self, group: &str, expected: usize) -> anyhow::Result<()> {
        let load = Load {
            members: true,
            groups: false,
        };
        let stored = self
            .store
            .get(&self.tenant_id, ResourceKind::Group, group, load)
            .await?;
        let count = stored.and_then(|g| g.members).map_or(0, |m| m.len());
        anyhow::ensure!(
            count == expected,
            "group {group} has {count} members after the PATCHes, expected {expected}"
        );
        Ok(())
    }

    /// A warm-up run (discarded), then the measured run. `make` gets the round (0: warm-up,
    /// 1: measured) so that writes can keep their names unique.
    async fn measure(
        &self,
        label: &str,
        target: &Target,
        connections: usize,
        expected: StatusCode,
        make: &dyn Fn(usize) -> MakeRequest,
    ) -> anyhow::Result<Run> {
        let warmup = (self.duration / 5).min(Duration::from_secs(1));
        load::run(&target.replicas, connections, warmup, expected, make(0)).await?;
        phase(&format!(
            "measuring {label} for {} s",
            self.duration.as_secs()
        ));
        load::run(
            &target.replicas,
            connections,
            self.duration,
            expected,
            make(1),
        )
        .await
    }
}

/// Serves `router` on a fresh loopback port until the returned task is aborted.
async fn serve(router: Router) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "a benchmark server stopped");
        }
    });
    Ok((addr, task))
}

/// The ceiling: a handler that does nothing but return `body` as SCIM JSON.
fn bare_router(body: Bytes) -> Router {
    Router::new().route(
        "/scim/v2/Users/{id}",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [(hyper::header::CONTENT_TYPE, "application/scim+json")],
                    body,
                )
            }
        }),
    )
}

fn run_details(run: &Run) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("requests".into(), json!(run.requests));
    m.insert("seconds".into(), json!(run.elapsed.as_secs_f64()));
    m.insert("throughput".into(), json!(run.throughput()));
    m.insert("mean_ms".into(), json!(run.mean_ms()));
    m.insert("p50_ms".into(), json!(run.percentile_ms(0.5)));
    m.insert("p99_ms".into(), json!(run.percentile_ms(0.99)));
    m.insert("max_ms".into(), json!(run.percentile_ms(1.0)));
    m
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn phase(message: &str) {
    eprintln!("bench: {message}");
}
