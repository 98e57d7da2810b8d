//! PostgreSQL-only behaviour: reconnecting, several stores (replicas) on one database.

use std::sync::Arc;

use domain::{Error, Load, ResourceKind, Store};
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

/// Two replicas (two stores on one database) contend for one app's lease: exactly one gets it
/// while it lasts, the other at its expiry; and a replica never waits on a lease row another
/// transaction has locked.
#[tokio::test]
async fn replicas_contend_for_an_app_lease() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let one: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let two: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let t = tenant(&one, "acme").await;
    one.put_app(&domain::AppRecord {
        id: "a1".into(),
        tenant_id: t,
        name: "app1".into(),
        enabled: true,
        spec: serde_json::json!({}),
        sealed_secret: None,
        state: serde_json::Value::Null,
        created: at(0),
        updated: at(0),
    })
    .await
    .unwrap();

    // At once, for a lease nobody has yet (both insert the row): exactly one wins.
    let (won_one, won_two) = tokio::join!(
        one.acquire_lease("a1", "r1", at(0), at(30)),
        two.acquire_lease("a1", "r2", at(0), at(30)),
    );
    let (won_one, won_two) = (won_one.unwrap(), won_two.unwrap());
    assert!(won_one != won_two, "exactly one replica gets the lease");
    let (winner, w, loser, l) = if won_one {
        (&one, "r1", &two, "r2")
    } else {
        (&two, "r2", &one, "r1")
    };

    // While it lasts, the winner renews it and the loser is refused, even both at once.
    for second in [10, 20, 29] {
        let (renewed, taken) = tokio::join!(
            winner.acquire_lease("a1", w, at(second), at(30)),
            loser.acquire_lease("a1", l, at(second), at(second + 30)),
        );
        assert!(renewed.unwrap(), "the holder renews at {second}");
        assert!(!taken.unwrap(), "the other replica is refused at {second}");
    }
    // At its expiry the other replica takes it over, and the first is refused.
    assert!(loser.acquire_lease("a1", l, at(30), at(60)).await.unwrap());
    assert!(!winner.acquire_lease("a1", w, at(31), at(61)).await.unwrap());

    // A lease row locked by another transaction (a replica taking it right now) is skipped,
    // not waited for.
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute(
            "SELECT 1 FROM app_leases WHERE app_id = 'a1' FOR UPDATE",
            &[],
        )
        .await
        .unwrap();
    let acquired = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        winner.acquire_lease("a1", w, at(100), at(130)),
    )
    .await
    .expect("acquire_lease waited on a locked lease row");
    assert!(!acquired.unwrap());
    client.batch_execute("ROLLBACK").await.unwrap();
    drop(client);
    connection.await.unwrap().unwrap();
    // Unlocked, the expired lease is taken.
    assert!(winner
        .acquire_lease("a1", w, at(100), at(130))
        .await
        .unwrap());
}

/// Replicas (two stores on one database) racing a replace with the same If-Match: exactly one
/// wins, every other gets `PreconditionFailed`, and the change log holds the one write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_if_match_race_across_replicas_has_one_winner() {
    const RACERS: usize = 6;
    let Some(db) = TestDb::create().await else {
        return;
    };
    let replicas: [Arc<dyn Store>; 2] = [
        Arc::new(PgStore::connect(&db.url).await.unwrap()),
        Arc::new(PgStore::connect(&db.url).await.unwrap()),
    ];
    let t = tenant(&replicas[0], "acme").await;
    let u = user(&replicas[0], &t, "bjensen").await;
    for round in 1..=5_u64 {
        let head = replicas[0].head_seq().await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let store = Arc::clone(&replicas[i % replicas.len()]);
                let (t, id, start) = (t.clone(), u.id.clone(), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    let name = format!("r{round}-{i}");
                    store
                        .replace(
                            &t,
                            ResourceKind::User,
                            &id,
                            user_write(&name),
                            Some(round),
                            at(round as i64),
                            Load::NONE,
                        )
                        .await
                        .map(|_| name)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, racer) in racers.into_iter().enumerate() {
            match racer.await.unwrap() {
                Ok(name) => winners.push(name),
                Err(Error::PreconditionFailed(_)) => {}
                Err(e) => panic!("round {round}, racer {i}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        // Both replicas read the winner's write, at the next version.
        for store in &replicas {
            let got = store
                .get(&t, ResourceKind::User, &u.id, Load::NONE)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.version, round + 1);
            assert_eq!(got.body["userName"], winners[0].as_str());
        }
        let changes = replicas[1].changes_after(head, 100).await.unwrap();
        let logged: Vec<u64> = changes.iter().map(|c| c.version).collect();
        assert_eq!(logged, [round + 1], "round {round}");
    }
}

/// Waits until `feed` shows at least `head` (10 s at most).
async fn feed_reaches(feed: &mut tokio::sync::watch::Receiver<i64>, head: i64) {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        feed.wait_for(|seen| *seen >= head),
    )
    .await
    .expect("the change feed did not reach the other replica's head")
    .unwrap();
}

/// A commit on one replica wakes the other replica's engines: its change feed moves to the
/// new head (NOTIFY), and keeps following after its listening connection is killed (the poll,
/// then a new listener).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_crosses_replicas_and_survives_a_lost_listener() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let writer: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let reader: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let mut feed = reader.change_feed();
    let t = tenant(&writer, "acme").await;
    user(&writer, &t, "first").await;
    let head = writer.head_seq().await.unwrap();
    feed_reaches(&mut feed, head).await;

    // Kill every LISTEN connection of this database: the feed must go on regardless.
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        !killed.is_empty(),
        "the replicas listen on their own connection"
    );
    user(&writer, &t, "second").await;
    let head = writer.head_seq().await.unwrap();
    feed_reaches(&mut feed, head).await;
    // And once a listener is back, later commits arrive as well.
    user(&writer, &t, "third").await;
    let head = writer.head_seq().await.unwrap();
    feed_reaches(&mut feed, head).await;
}

/// A tenant loaded from empty gets planner statistics within seconds, not at autovacuum's next
/// round (`analyze.rs`): `resources` is analyzed by the store once a bulk of users is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_gets_planner_statistics() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    // Autovacuum would analyze it too, within a minute: out of the way, so only the store can.
    admin
        .batch_execute("ALTER TABLE resources SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let t = tenant(&store, "acme").await;
    for i in 0..1_500 {
        user(&store, &t, &format!("bulk{i}")).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let analyzed: Option<i64> = admin
            .query_one(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = 'resources'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        // The planner's row estimate follows the load.
        if analyzed.is_some_and(|n| n >= 1_000) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "resources was not analyzed after the load (estimate {analyzed:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
