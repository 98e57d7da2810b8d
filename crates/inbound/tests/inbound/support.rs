//! A fresh store with tenant `default`, a stepped clock and a processor over them.

use std::sync::{Arc, Mutex};

use domain::inbound::{Outcome, RecordResult, StagedRequest};
use domain::{Clock, Load, Query, ResourceKind, Store, StoredResource};
use inbound::{Inbound, InboundConfig, Source, SourceSpec, Sources};
use serde_json::{json, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug)]
pub struct SteppedClock(Mutex<jiff::Timestamp>);

impl SteppedClock {
    pub fn at(ts: &str) -> Arc<SteppedClock> {
        Arc::new(SteppedClock(Mutex::new(ts.parse().unwrap())))
    }
    pub fn set(&self, ts: &str) {
        *self.0.lock().unwrap() = ts.parse().unwrap();
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

pub struct World {
    pub _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<SteppedClock>,
    pub tenant: String,
    pub inbound: Inbound,
}

pub async fn world(sources: Vec<SourceSpec>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(store_sqlite::SqliteStore::open(&dir.path().join("db.sqlite")).unwrap());
    let tenant = store.create_tenant("default").await.unwrap().id;
    let clock = SteppedClock::at("2025-03-01T08:00:00Z");
    let checked: Vec<Source> = sources.iter().map(|s| s.check().unwrap()).collect();
    let inbound = Inbound::new(
        Arc::clone(&store),
        clock.clone(),
        Sources::new(checked),
        InboundConfig::default(),
    )
    .await
    .unwrap();
    World {
        _dir: dir,
        store,
        clock,
        tenant,
        inbound,
    }
}

impl World {
    /// Stages `body` (a BulkRequest) for `source`, processes it, and returns the results.
    pub async fn upload(&self, source: &str, body: Value) -> Vec<RecordResult> {
        let src = self.inbound.sources().find(source).unwrap();
        let records = inbound::record::parse_bulk(body, &src, &|_| true).unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let request = StagedRequest {
            id: id.clone(),
            tenant_id: self.tenant.clone(),
            source: source.to_owned(),
            received: self.clock.now(),
            records,
        };
        self.inbound.stage(&request).await.unwrap();
        while self.inbound.step().await.unwrap() > 0 {}
        let (summary, results) = self
            .store
            .inbound_request(&self.tenant, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary.processed, summary.total);
        assert!(summary.completed.is_some());
        results
    }

    pub async fn by_employee_number(&self, number: &str) -> Option<StoredResource> {
        let registry = domain::schema::Registry::builtin();
        let filter = format!("{ENTERPRISE}:employeeNumber eq \"{number}\"");
        let query = Query {
            filter: Some(scim_filter::parse_filter(&filter).unwrap()),
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 10,
            cursor: None,
            load: Load::NONE,
        };
        let page = self
            .store
            .query(
                &self.tenant,
                ResourceKind::User,
                &query,
                &registry.info(ResourceKind::User),
            )
            .await
            .unwrap();
        assert!(page.resources.len() <= 1);
        page.resources.into_iter().next()
    }
}

pub fn bulk(ops: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": ops,
        "failOnErrors": null,
    })
}

pub fn op(bulk_id: &str, data: Value) -> Value {
    json!({"method": "POST", "bulkId": bulk_id, "path": "/Users", "data": data})
}

pub fn outcomes(results: &[RecordResult]) -> Vec<Outcome> {
    results.iter().map(|r| r.outcome).collect()
}
