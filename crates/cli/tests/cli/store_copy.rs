//! `scimitar store copy`: an installation moved from SQLite to PostgreSQL and back serves the
//! same data (ids, members in order, tokens, apps), and the copy refuses a non-empty target.

use serde_json::{json, Value};
use store_suite::pg::TestDb;

use super::{cli, portable, send, Server};

/// Everything a client sees of the directory, through `server`.
async fn snapshot(server: &Server, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in ["Users?sortBy=userName", "Groups?sortBy=displayName"] {
        let (status, list) = send(
            reqwest::Method::GET,
            &format!("{}/{path}", server.base),
            token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        out.push(portable(&list["Resources"], server));
    }
    let api = server.base.trim_end_matches("/scim/v2");
    let (status, apps) = send(
        reqwest::Method::GET,
        &format!("{api}/api/v1/apps"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{apps}");
    out.push(portable(&apps, server));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_installation_moves_from_sqlite_to_postgres_and_back() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), Some("boot-token"));
    let mut ids = Vec::new();
    for n in 0..30 {
        let (status, user) = send(
            reqwest::Method::POST,
            &format!("{}/Users", first.base),
            "boot-token",
            Some(json!({"userName": format!("user{n:02}@example.com"),
                        "emails": [{"value": format!("User{n}@Example.com"), "primary": true}],
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                            {"department": if n % 2 == 0 { "Sales" } else { "Ops" }}})),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    // Members in an order that is not the users' order.
    let members: Vec<Value> = ids
        .iter()
        .rev()
        .take(10)
        .map(|id| json!({"value": id}))
        .collect();
    let (status, group) = send(
        reqwest::Method::POST,
        &format!("{}/Groups", first.base),
        "boot-token",
        Some(json!({"displayName": "Static", "members": members})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (status, dynamic) = send(
        reqwest::Method::POST,
        &format!("{}/Groups", first.base),
        "boot-token",
        Some(json!({"displayName": "Sales",
                    "urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group":
                        {"membershipRule": "user.department -eq \"Sales\""}})),
    )
    .await;
    assert_eq!(status, 201, "{dynamic}");
    let before = snapshot(&first, "boot-token").await;
    first.stop();

    // `migrate` creates the schema (copy would too); run twice, the second finds it current.
    for _ in 0..2 {
        let (ok, out, err) = cli(dir.path(), &["migrate", "--database", &db.url]);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("the schema is up to date"), "{out}");
    }

    let sqlite = format!("sqlite://{}", dir.path().join("scimitar.db").display());
    let (ok, out, err) = cli(
        dir.path(),
        &["store", "copy", "--from", &sqlite, "--to", &db.url],
    );
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("resources"), "a count per table: {out}");
    assert!(err.contains("every count matches"), "{err}");

    // A second copy into the same database is refused: it holds data now.
    let (ok, _, err) = cli(
        dir.path(),
        &["store", "copy", "--from", &sqlite, "--to", &db.url],
    );
    assert!(!ok);
    assert!(err.contains("already holds data"), "{err}");

    let pg_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("secret.key"),
        pg_dir.path().join("secret.key"),
    )
    .unwrap();
    let on_pg = Server::start_with(pg_dir.path(), None, &["--database", &db.url], &[]);
    assert_eq!(snapshot(&on_pg, "boot-token").await, before);
    // Writes go on where they left off: the new user's change follows the copied ones.
    let (status, _) = send(
        reqwest::Method::POST,
        &format!("{}/Users", on_pg.base),
        "boot-token",
        Some(json!({"userName": "after@example.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, sales) = send(
        reqwest::Method::GET,
        &format!("{}/Groups/{}", on_pg.base, dynamic["id"].as_str().unwrap()),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(sales["members"].as_array().unwrap().len(), 16, "{sales}");
    let moved = snapshot(&on_pg, "boot-token").await;
    on_pg.stop();

    // And back, into a new SQLite file.
    let back_dir = tempfile::tempdir().unwrap();
    let back = format!("sqlite://{}", back_dir.path().join("scimitar.db").display());
    let (ok, out, err) = cli(
        back_dir.path(),
        &["store", "copy", "--from", &db.url, "--to", &back],
    );
    assert!(ok, "{out}\n{err}");
    std::fs::copy(
        dir.path().join("secret.key"),
        back_dir.path().join("secret.key"),
    )
    .unwrap();
    let again = Server::start(back_dir.path(), None);
    assert_eq!(snapshot(&again, "boot-token").await, moved);
    again.stop();
}
