//! `scimitar serve` with inbound provisioning: a `[[inbound]]` source from the configuration
//! file, a bulkUpload over a real socket processed by the running processor, a graceful stop,
//! and a refused configuration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::zombie_processes
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_scimitar");
const TOKEN: &str = "inbound-e2e-token";

const CONFIG: &str = r#"
[[inbound]]
name = "hr"
time_zone = "America/New_York"
leave_date = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"

[limits]
inbound_requests_per_window = 100
"#;

#[tokio::test]
async fn serve_processes_a_bulk_upload_to_a_configured_source_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimitar.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .env("SCIMITAR_BOOTSTRAP_TOKEN", TOKEN)
        .env("SCIMITAR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        assert!(Instant::now() < deadline, "serve did not start");
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some(rest) = line.split("SCIM base URL ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches("/scim/v2")
                    .to_owned();
            }
        }
    };
    let client = reqwest::Client::new();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": "1", "path": "/Users", "data": {
            "externalId": "E1", "userName": "e1@example.com", "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "2000-01-01"}
        }}]
    });
    let resp = client
        .post(format!("{base}/api/v1/inbound/hr/bulkUpload"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status: Value = loop {
        let status: Value = client
            .get(format!("{base}{location}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "completed" {
            break status;
        }
        assert!(Instant::now() < deadline, "not processed: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let record = &status["records"][0];
    assert_eq!(record["outcome"], "created", "{status}");
    let user: Value = client
        .get(format!(
            "{base}/scim/v2/Users/{}",
            record["userId"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The leave date is long past: the leaver is created disabled.
    assert_eq!(user["active"], false, "{user}");
    assert_eq!(
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "E1"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = child.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(exit.success(), "{}", rest.join("\n"));
}

#[test]
fn a_bad_inbound_source_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimitar.toml");
    std::fs::write(
        &config,
        "[[inbound]]\nname = \"hr\"\ntime_zone = \"Mars/Olympus\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inbound source `hr`: time_zone"), "{err}");
    assert!(err.contains("Mars/Olympus"), "{err}");
}

/// `bench --inbound` in a small run: end to end, its one scenario as JSON (the bench itself
/// fails unless every record became a user). Timing figures are no test's business.
#[test]
fn quick_inbound_bench_reports_its_scenario_as_json() {
    let output = Command::new(BIN)
        .args([
            "bench",
            "--inbound",
            "--users",
            "300",
            "--connections",
            "4",
            "--json",
        ])
        .env("SCIMITAR_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["name"], "inbound_bulk_upload");
    assert_eq!(scenario["records"], 300);
    assert_eq!(scenario["requests"], 6);
    assert!(scenario["value"].as_f64().unwrap() > 0.0);
    assert!(scenario["peer"]["value"].as_f64().unwrap() > 0.0);
    assert!(scenario["pass"].is_boolean());
}
