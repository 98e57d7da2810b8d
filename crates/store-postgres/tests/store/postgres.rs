//! PostgreSQL-only behaviour: reconnecting, several stores (replicas) on one database.

use std::sync::Arc;

use domain::{Load, ResourceKind, Store};
use store_postgres::PgStore;
use store_suite::support::*;

use crate::testdb::TestDb;

#[tokio::test]
async fn reconnecting_loses_nothing() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (t, u) = {
        let store: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
        let t = tenant(&store, "acme").await;
        let u = user(&store, &t, "bjensen").await;
        (t, u)
    };
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    assert_eq!(store.tenant_by_name("acme").await.unwrap().unwrap().id, t);
    let got = store
        .get(&t, ResourceKind::User, &u.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, u.id);
    // The change feed starts at the database's head.
    let head = store.head_seq().await.unwrap();
    assert!(head > 0);
    assert_eq!(*store.change_feed().borrow(), head);
}
