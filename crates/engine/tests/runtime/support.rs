//! The harness: a SQLite directory with one tenant, a stepped clock, a `scim2-server` peer, an
//! app record, and a worker over them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::schema::{Mode, Registry};
use domain::target::{Target, TargetError, TargetErrorKind, TargetResource};
use domain::{
    AppRecord, Clock, Load, LogEntry, LogQuery, ResourceKind, Store, StoredResource, Write,
};
use engine::{AppSpec, Step, Worker, WorkerCtx};
use jiff::{SignedDuration, Timestamp};
use scim_client::{ClientConfig, Credentials, ScimClient};
use scim_proto::probe::ProbeReport;
use serde_json::{json, Value};
use store_sqlite::SqliteStore;

/// A clock that moves only when the test says so.
#[derive(Debug)]
pub struct SteppedClock(Mutex<Timestamp>);

impl SteppedClock {
    pub fn advance(&self, seconds: i64) {
        let mut t = self.0.lock().unwrap();
        *t = t.checked_add(SignedDuration::from_secs(seconds)).unwrap();
    }
}

impl SteppedClock {
    pub fn now_ts(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// A running `scim2-server`, killed on drop.
pub struct Peer {
    child: Child,
    pub base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_peer() -> Peer {
    let home = std::env::var("HOME").expect("HOME is set");
    let bin = PathBuf::from(home).join(".cache/scim-peers-venv/bin/scim2-server");
    assert!(
        bin.exists(),
        "{} is missing: run .ci/peers-venv once to create the SCIM peers venv",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peer = Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = probe
            .get(format!("{}/ServiceProviderConfig", peer.base))
            .send()
            .await
        {
            if r.status().is_success() {
                return peer;
            }
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("scim2-server exited before answering: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "scim2-server did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Failures to inject in front of the real peer.
#[derive(Debug, Default)]
pub struct Faults {
    /// Answer this status to every call while set (0: pass through).
    pub status: AtomicU32,
    /// Calls that reached the peer, by method.
    pub creates: AtomicUsize,
    pub patches: AtomicUsize,
    pub deletes: AtomicUsize,
    pub finds: AtomicUsize,
}

/// The peer, with injectable failures and call counts.
pub struct FaultTarget {
    pub inner: Arc<dyn Target>,
    pub faults: Arc<Faults>,
}

impl FaultTarget {
    fn fail(&self) -> Result<(), TargetError> {
        match self.faults.status.load(Ordering::SeqCst) {
            0 => Ok(()),
            s => Err(TargetError::new(
                TargetErrorKind::from_status(s as u16),
                format!("injected HTTP {s}"),
            )
            .with_status(s as u16)),
        }
    }
}

#[async_trait]
impl Target for FaultTarget {
    async fn find(
        &self,
        kind: ResourceKind,
        a: &str,
        v: &str,
    ) -> Result<Vec<TargetResource>, TargetError> {
        self.fail()?;
        self.faults.finds.fetch_add(1, Ordering::SeqCst);
        self.inner.find(kind, a, v).await
    }
    async fn list(
        &self,
        kind: ResourceKind,
        start: u64,
        count: u64,
    ) -> Result<(Vec<TargetResource>, u64), TargetError> {
        self.fail()?;
        self.inner.list(kind, start, count).await
    }
    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<TargetResource>, TargetError> {
        self.fail()?;
        self.inner.get(kind, id).await
    }
    async fn create(
        &self,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        self.fail()?;
        self.faults.creates.fetch_add(1, Ordering::SeqCst);
        self.inner.create(kind, body).await
    }
    async fn patch(&self, kind: ResourceKind, id: &str, ops: &[Value]) -> Result<(), TargetError> {
        self.fail()?;
        self.faults.patches.fetch_add(1, Ordering::SeqCst);
        self.inner.patch(kind, id, ops).await
    }
    async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        self.fail()?;
        self.inner.replace(kind, id, body).await
    }
    async fn delete(&self, kind: ResourceKind, id: &str) -> Result<(), TargetError> {
        self.fail()?;
        self.faults.deletes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(kind, id).await
    }
    /// Not faulted: the connection test has its own fault tests in `scim-client`.
    async fn probe(&self) -> ProbeReport {
        self.inner.probe().await
    }
}

/// Everything a test needs.
pub struct World {
    pub store: Arc<dyn Store>,
    pub clock: Arc<SteppedClock>,
    pub tenant: String,
    pub peer: Peer,
    /// A client of the peer, for looking at what the engine did.
    pub peer_client: Arc<dyn Target>,
    pub faults: Arc<Faults>,
    pub app: AppRecord,
    _dir: tempfile::TempDir,
}

pub fn client(base: &str) -> Arc<dyn Target> {
    let mut config = ClientConfig::new(base, Credentials::None);
    config.requests_per_second = None;
    config.retry.max_attempts = 1;
    Arc::new(ScimClient::new(config).unwrap())
}

impl World {
    /// A directory, a peer and an app with `spec` (its url is set to the peer's).
    pub async fn new(mut spec: AppSpec) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("scimitar.db")).unwrap());
        let clock = Arc::new(SteppedClock(Mutex::new(
            Timestamp::from_second(1_800_000_000).unwrap(),
        )));
        let tenant = store.create_tenant("acme").await.unwrap().id;
        let peer = start_peer().await;
        spec.url = peer.base.clone();
        let now = clock.now();
        let app = AppRecord {
            id: "app-1".into(),
            tenant_id: tenant.clone(),
            name: "peer".into(),
            enabled: true,
            spec: serde_json::to_value(&spec).unwrap(),
            sealed_secret: None,
            state: Value::Null,
            created: now,
            updated: now,
        };
        store.put_app(&app).await.unwrap();
        World {
            peer_client: client(&peer.base),
            store,
            clock,
            tenant,
            peer,
            faults: Arc::new(Faults::default()),
            app,
            _dir: dir,
        }
    }

    /// A worker for the app as stored now (a new one is what a restarted process gets).
    pub async fn worker(&self) -> Worker {
        let record = self.store.app_by_id(&self.app.id).await.unwrap().unwrap();
        let target = Arc::new(FaultTarget {
            inner: client(&self.peer.base),
            faults: Arc::clone(&self.faults),
        });
        let ctx =
            WorkerCtx::new(&record, target, Arc::clone(&self.store), self.clock.clone()).unwrap();
        Worker::load(Arc::new(ctx)).await.unwrap()
    }

    pub async fn sync(&self, worker: &mut Worker) -> Step {
        worker.run_until_idle(10_000).await.unwrap()
    }

    pub async fn create(&self, kind: ResourceKind, body: Value) -> StoredResource {
        let v = Registry::builtin()
            .validate(kind, body, Mode::Create)
            .unwrap();
        self.store
            .create(&self.tenant, Write::whole(v), self.clock.now())
            .await
            .unwrap()
    }

    pub async fn user(&self, user_name: &str, extra: Value) -> StoredResource {
        let mut body = json!({
            "userName": user_name,
            "displayName": format!("User {user_name}"),
            "name": {"givenName": "Given", "familyName": user_name},
            "emails": [{"type": "work", "value": user_name, "primary": true}],
            "active": true,
        });
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        self.create(ResourceKind::User, body).await
    }

    /// Replaces a resource's body by merging `changes` into its current body.
    pub async fn update(&self, kind: ResourceKind, id: &str, changes: Value) -> StoredResource {
        let current = self
            .store
            .get(&self.tenant, kind, id, Load::ALL)
            .await
            .unwrap()
            .unwrap();
        let mut body = Value::Object(domain::render::render(current.clone(), ""));
        for key in ["id", "meta", "groups"] {
            body.as_object_mut().unwrap().remove(key);
        }
        if let (Some(b), Value::Object(changes)) = (body.as_object_mut(), changes) {
            b.extend(changes);
        }
        let v = Registry::builtin()
            .validate(kind, body, Mode::Replace(&current))
            .unwrap();
        self.store
            .replace(
                &self.tenant,
                kind,
                id,
                Write::whole(v),
                None,
                self.clock.now(),
                Load::NONE,
            )
            .await
            .unwrap()
    }

    pub async fn delete(&self, kind: ResourceKind, id: &str) {
        self.store
            .delete(&self.tenant, kind, id, None, self.clock.now())
            .await
            .unwrap();
    }

    pub async fn assign(&self, kind: ResourceKind, id: &str) {
        self.store
            .set_assignment(&self.app.id, kind, id, true, self.clock.now())
            .await
            .unwrap();
    }

    pub async fn unassign(&self, kind: ResourceKind, id: &str) {
        self.store
            .set_assignment(&self.app.id, kind, id, false, self.clock.now())
            .await
            .unwrap();
    }

    /// Target accounts with this userName.
    pub async fn target_users(&self, user_name: &str) -> Vec<TargetResource> {
        self.peer_client
            .find(ResourceKind::User, "userName", user_name)
            .await
            .unwrap()
    }

    pub async fn target_user(&self, user_name: &str) -> Value {
        let found = self.target_users(user_name).await;
        assert_eq!(
            found.len(),
            1,
            "exactly one target account for {user_name}: {found:?}"
        );
        found[0].body.clone()
    }

    pub async fn logs(&self, source_id: Option<&str>) -> Vec<LogEntry> {
        self.store
            .logs(&LogQuery {
                app_id: self.app.id.clone(),
                source_id: source_id.map(str::to_owned),
                limit: 1000,
                ..LogQuery::default()
            })
            .await
            .unwrap()
    }
}

/// The default spec: Entra's default mapping, scope assigned, groups provisioned.
pub fn spec() -> AppSpec {
    let mut spec = AppSpec::new("http://placeholder");
    // scim2-server stores booleans as booleans: no Entra "True" strings.
    spec.dialect.booleans_as_strings = false;
    // and wants the manager as RFC 7643's complex value.
    spec.dialect.manager_as_object = true;
    // and ignores Entra's `Remove` with a value list (RFC 7644 defines removal by path).
    spec.dialect.remove_members_by_path = true;
    spec
}
