//! SQLite-only behaviour: the database file.

use domain::{Load, ResourceKind, Store};
use store_sqlite::SqliteStore;

use store_suite::support::*;

#[tokio::test]
async fn reopening_the_file_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("scimitar.db");
    let (t, u, g, token) = {
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(SqliteStore::open(&path).unwrap());
        let t = tenant(&store, "acme").await;
        let u = user(&store, &t, "bjensen").await;
        let g = group(&store, &t, "G", &[&u.id]).await;
        let token = domain::TokenInfo {
            id: "tok".into(),
            tenant_id: t.clone(),
            name: "ci".into(),
            hash: [7; 32],
            scopes: vec![domain::Scope::Admin],
            created: at(0),
            expires: None,
            revoked: false,
        };
        store.insert_token(&token).await.unwrap();
        (t, u, g, token)
    };
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.tenant_by_name("acme").await.unwrap().unwrap().id, t);
    assert_eq!(store.token_by_hash(&[7; 32]).await.unwrap(), Some(token));
    let got = store
        .get(&t, ResourceKind::User, &u.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    let groups: Vec<&str> = got
        .groups
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.value.as_str())
        .collect();
    assert_eq!(groups, vec![g.id.as_str()]);
    assert_eq!(
        got,
        domain::StoredResource {
            groups: got.groups.clone(),
            ..u.clone()
        }
    );
    let got = store
        .get(&t, ResourceKind::Group, &g.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member_ids(&got), vec![u.id.as_str()]);
    assert_eq!(store.changes_after(0, 100).await.unwrap().len(), 2);
    // The change feed starts at the file's head, not at 0.
    let head = store.head_seq().await.unwrap();
    assert!(head > 0);
    assert_eq!(*store.change_feed().borrow(), head);
    // Uniqueness survives too.
    assert!(store
        .create(&t, user_write("BJENSEN"), at(1))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let t = tenant(&store, "acme").await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (store, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let u = user(&store, &t, &format!("w{worker}-{i}")).await;
                assert!(store
                    .get(&t, ResourceKind::User, &u.id, Load::NONE)
                    .await
                    .unwrap()
                    .is_some());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let page = store
        .query(
            &t,
            ResourceKind::User,
            &list(None),
            &registry().info(ResourceKind::User),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 400);
    assert_eq!(store.changes_after(0, 1000).await.unwrap().len(), 400);
}

/// Writes that race for the same names are committed together by the writer thread; each
/// failure must undo only itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_in_a_batch_undo_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let t = tenant(&store, "acme").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut created = 0;
            for i in 0..50 {
                match store
                    .create(&t, user_write(&format!("same{i}")), at(0))
                    .await
                {
                    Ok(_) => created += 1,
                    Err(domain::Error::Uniqueness(_)) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            created
        }));
    }
    let mut created = 0;
    for task in tasks {
        created += task.await.unwrap();
    }
    assert_eq!(created, 50);
    let page = store
        .query(
            &t,
            ResourceKind::User,
            &list(None),
            &registry().info(ResourceKind::User),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 50);
    assert_eq!(store.changes_after(0, 1000).await.unwrap().len(), 50);
}

/// Readers keep a snapshot between reads (`readers.rs`); a write acknowledged by this process
/// is seen by the very next read, and one made by another process (here: a second store on
/// the same file, as the CLI is) shows up once the snapshot has aged out.
#[tokio::test(flavor = "multi_thread")]
async fn reads_see_acknowledged_writes_and_other_processes_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimitar.db");
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let t = tenant(&store, "acme").await;
    for i in 0..50 {
        // Every reader holds a snapshot from the previous round when the write lands.
        for _ in 0..8 {
            assert!(store.tenant_by_name("acme").await.unwrap().is_some());
        }
        let u = user(&store, &t, &format!("user{i}")).await;
        let got = store
            .get(&t, ResourceKind::User, &u.id, Load::NONE)
            .await
            .unwrap();
        assert_eq!(got.map(|r| r.id), Some(u.id));
    }

    let other = SqliteStore::open(&path).unwrap();
    assert!(store.tenant_by_name("late").await.unwrap().is_none());
    other.create_tenant("late").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.tenant_by_name("late").await.unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "another process's write never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
