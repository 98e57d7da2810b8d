//! Several `scimitar serve` replicas on one PostgreSQL database (DESIGN "Storage and scale"):
//! they serve the same data, an If-Match race across them has one winner, and a killed
//! replica's provisioning moves to a survivor with no duplicate and no lost change.
//!
//! Each test makes its own database (`store_suite::pg::TestDb`); without a reachable PostgreSQL
//! they say loudly that they did not run (and fail under `SCIMITAR_REQUIRE_POSTGRES=1`, as in CI).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use store_suite::pg::TestDb;

use super::{kill_hard, portable, send, total_users, Server};

/// The installation key the replicas share (they open each other's sealed app secrets).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A replica of the installation at `url`, with its own (throwaway) data directory.
fn replica(url: &str, dir: &std::path::Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut args = vec!["--database", url, "--lease-seconds", "3"];
    args.extend_from_slice(extra);
    let mut envs = envs.to_vec();
    envs.push(("SCIMITAR_SECRET_KEY", KEY));
    Server::start_with(dir, Some("boot-token"), &args, &envs)
}

fn api(server: &Server) -> String {
    server.base.trim_end_matches("/scim/v2").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_serve_the_same_data_and_if_match_races_have_one_winner() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // Started together: they race to migrate and to bootstrap the tenant and token.
    let starting: Vec<_> = dirs
        .iter()
        .map(|d| {
            let (url, path) = (db.url.clone(), d.path().to_owned());
            std::thread::spawn(move || replica(&url, &path, &[], &[]))
        })
        .collect();
    let replicas: Vec<Server> = starting.into_iter().map(|t| t.join().unwrap()).collect();

    let (status, created) = send(
        reqwest::Method::POST,
        &format!("{}/Users", replicas[0].base),
        "boot-token",
        Some(json!({"userName": "bjensen@example.com", "displayName": "Babs"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    for r in &replicas[1..] {
        let (status, got) = send(
            reqwest::Method::GET,
            &format!("{}/Users/{id}", r.base),
            "boot-token",
            None,
        )
        .await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(
            portable(&got, r),
            portable(&created, &replicas[0]),
            "every replica serves the same resource"
        );
    }

    // Rounds of three PUTs with the same If-Match, one through each replica, at once.
    let client = reqwest::Client::new();
    let mut version = created["meta"]["version"].as_str().unwrap().to_owned();
    for round in 0..10 {
        let puts = replicas.iter().enumerate().map(|(i, r)| {
            let request = client
                .put(format!("{}/Users/{id}", r.base))
                .bearer_auth("boot-token")
                .header("content-type", "application/scim+json")
                .header("if-match", version.clone())
                .body(
                    json!({"userName": "bjensen@example.com",
                           "displayName": format!("round {round} replica {i}")})
                    .to_string(),
                );
            async move {
                let resp = request.send().await.unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                (status, body)
            }
        });
        let answers = join_all(puts).await;
        let winners: Vec<&(u16, Value)> = answers.iter().filter(|(s, _)| *s == 200).collect();
        let losers = answers.iter().filter(|(s, _)| *s == 412).count();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        assert_eq!(losers, 2, "round {round}: {answers:?}");
        for (status, body) in &answers {
            if *status == 412 {
                assert_eq!(body["status"], "412", "a SCIM error: {body}");
            }
        }
        version = winners[0].1["meta"]["version"].as_str().unwrap().to_owned();
        // Every replica now reads the winner's write.
        for r in &replicas {
            let (_, got) = send(
                reqwest::Method::GET,
                &format!("{}/Users/{id}", r.base),
                "boot-token",
                None,
            )
            .await;
            assert_eq!(got["meta"]["version"], version.as_str());
        }
    }

    // bulkUpload to every replica: one replica processes inbound work (a lease), every
    // request completes, and every record is written once.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut accepted = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        let ops: Vec<Value> = (0..20)
            .map(|n| {
                let number = format!("{i}{n:03}");
                json!({"method": "POST", "bulkId": number, "path": "/Users",
                       "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
                                "externalId": number, "userName": format!("hr{number}@example.com"),
                                enterprise: {"employeeNumber": number}}})
            })
            .collect();
        let (status, body) = send(
            reqwest::Method::POST,
            &format!("{}/api/v1/inbound/bulkUpload", api(r)),
            "boot-token",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": ops}),
            ),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        accepted.push(body["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in accepted.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Asked of another replica than the one that took it.
            let (status, request) = send(
                reqwest::Method::GET,
                &format!(
                    "{}/api/v1/inbound/requests/{id}",
                    api(&replicas[(i + 1) % 3])
                ),
                "boot-token",
                None,
            )
            .await;
            assert_eq!(status, 200, "{request}");
            if request["status"] == "completed" {
                assert_eq!(request["outcomes"]["created"], 20, "{request}");
                break;
            }
            assert!(Instant::now() < deadline, "not processed: {request}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(total_users(&replicas[2].base, "boot-token").await, 61);

    for r in replicas {
        let (status, log) = r.stop();
        assert!(status.success(), "{log}");
    }
}

/// Runs the futures at once, each on its own task; their outputs in order.
async fn join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The app `mirror` as `server` reports it.
async fn mirror(server: &Server) -> Value {
    let (status, app) = send(
        reqwest::Method::GET,
        &format!("{}/api/v1/apps/mirror", api(server)),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(status, 200, "{app}");
    app
}

/// Three replicas provision one app into a separate Scimitar (its own SQLite); the replica
/// running the app's worker is killed (SIGKILL) in the middle of the initial cycle. A survivor
/// takes the app over within the lease, the changes made meanwhile arrive too, every user is in
/// the target exactly once, and no action failed (a repeated create would be a 409).
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_replica_s_app_moves_to_a_survivor_and_the_target_converges() {
    const USERS: usize = 2_000;
    const LATE: usize = 5;
    let Some(db) = TestDb::create().await else {
        return;
    };
    let target_dir = tempfile::tempdir().unwrap();
    let target = Server::start(target_dir.path(), Some("target-token"));

    // The users exist before the app does: its initial cycle provisions them.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let loader = replica(&db.url, dirs[0].path(), &[], &[]);
    for chunk in 0..USERS / 500 {
        let ops: Vec<Value> = (0..500)
            .map(|i| {
                let n = chunk * 500 + i;
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
                       "data": {"userName": format!("replica{n}@example.com"), "active": true}})
            })
            .collect();
        let (status, body) = send(
            reqwest::Method::POST,
            &format!("{}/Bulk", loader.base),
            "boot-token",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": ops}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    loader.stop();

    let config = dirs[0].path().join("scimitar.toml");
    std::fs::write(
        &config,
        format!(
            "[[apps]]\nname = \"mirror\"\nurl = \"{}\"\n\
             token_env = \"MIRROR_TOKEN\"\nscope = \"all\"\nprovision_groups = false\n\
             [apps.dialect]\nbooleans_as_strings = false\n",
            target.base
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let envs = [("MIRROR_TOKEN", "target-token")];
    let mut replicas: Vec<Server> = dirs
        .iter()
        .map(|d| replica(&db.url, d.path(), &["--config", config.as_str()], &envs))
        .collect();

    // Exactly one replica runs the app's worker; kill it once part of the cycle is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    let holder = loop {
        let done = total_users(&target.base, "target-token").await;
        if done >= 300 {
            assert!(
                done < USERS as u64,
                "the cycle finished before the kill; use more users"
            );
            let mut running = Vec::new();
            for (i, r) in replicas.iter().enumerate() {
                if mirror(r).await["status"]["running"] == true {
                    running.push(i);
                }
            }
            assert_eq!(
                running.len(),
                1,
                "one worker across the replicas: {running:?}"
            );
            break running[0];
        }
        assert!(Instant::now() < deadline, "the initial cycle did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let killed_at = Instant::now();
    kill_hard(replicas.remove(holder));

    // Changes made while the app has no worker are not lost.
    for n in 0..LATE {
        let (status, body) = send(
            reqwest::Method::POST,
            &format!("{}/Users", replicas[n % 2].base),
            "boot-token",
            Some(json!({"userName": format!("late{n}@example.com")})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    // A survivor takes over within the lease (3 s) and the supervisor's round (1 s).
    let taken_over = loop {
        let mut running = 0;
        for r in &replicas {
            if mirror(r).await["status"]["running"] == true {
                running += 1;
            }
        }
        assert!(running <= 1, "two workers for one app");
        if running == 1 {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "no replica took the app over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        taken_over < Duration::from_secs(8),
        "take-over took {taken_over:?}"
    );
    eprintln!("replica killed; app taken over after {taken_over:?}");

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let app = mirror(&replicas[0]).await;
        if app["status"]["state"] == "in sync"
            && total_users(&target.base, "target-token").await == (USERS + LATE) as u64
        {
            break;
        }
        assert!(Instant::now() < deadline, "did not converge: {app}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for n in 0..LATE {
        let (status, list) = send(
            reqwest::Method::GET,
            &format!(
                "{}/Users?filter=userName%20eq%20%22late{n}@example.com%22",
                target.base
            ),
            "target-token",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["totalResults"], 1, "late{n} arrived once: {list}");
    }
    let (status, failures) = send(
        reqwest::Method::GET,
        &format!(
            "{}/api/v1/apps/mirror/logs?status=failure",
            api(&replicas[1])
        ),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(failures.as_array().map(Vec::len), Some(0), "{failures}");
    let app = mirror(&replicas[1]).await;
    assert_eq!(
        app["status"]["counts"]["usersActive"],
        USERS + LATE,
        "{app}"
    );
    for r in replicas {
        r.stop();
    }
    target.stop();
}
