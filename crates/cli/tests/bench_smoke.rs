//! `scimitar bench` in its quick mode runs end to end and reports the four scenarios as JSON.
//! Only the shape of the report is checked: timing figures are no test's business.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use serde_json::Value;

/// Runs `scimitar bench ARGS --json`; the report, and its scenarios' names.
fn bench_json(args: &[&str]) -> (Value, Vec<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("SCIMITAR_LOG", "warn")
        .output()
        .expect("run scimitar bench");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scimitar bench {args:?} failed:\n{stderr}"
    );
    assert!(
        stderr.contains("targets met"),
        "no summary line on stderr:\n{stderr}"
    );
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("the report on stdout is JSON");
    let names = report["scenarios"]
        .as_array()
        .expect("a scenarios array")
        .iter()
        .map(|s| s["name"].as_str().expect("a name").to_owned())
        .collect();
    (report, names)
}

#[test]
fn quick_bench_reports_four_scenarios_as_json() {
    let output = Command::new(env!("CARGO_BIN_EXE_scimitar"))
        .args([
            "bench",
            "--users",
            "2000",
            "--big-group",
            "2000",
            "--seconds",
            "1",
            "--json",
        ])
        .env("SCIMITAR_LOG", "warn")
        .output()
        .expect("run scimitar bench");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "scimitar bench failed:\n{stderr}");
    assert!(
        stderr.contains("targets met"),
        "no summary line on stderr:\n{stderr}"
    );

    let report: Value =
        serde_json::from_slice(&output.stdout).expect("the report on stdout is JSON");
    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        [
            "get_user",
            "filter_user_name",
            "create_user",
            "patch_group_member"
        ]
    );
    for s in scenarios {
        let positive = |v: &Value| v.as_f64().is_some_and(|x| x > 0.0);
        assert!(positive(&s["value"]), "{s}");
        assert!(s["pass"].is_boolean(), "{s}");
        if let Some(peer) = s.get("peer") {
            assert!(positive(&peer["value"]), "{s}");
            assert!(positive(&s["ratio"]), "{s}");
        }
    }
    assert_eq!(report["targets"], 4);
    assert_eq!(report["config"]["users"], 2000);
    let met = report["targets_met"].as_u64().expect("targets_met");
    assert!(met <= 4);
}

/// `scimitar bench --engine` provisions every seeded user into another tenant, propagates
/// single writes, and makes an incremental pass of 10 writes without look-ups. The counts are
/// checked (they are not timings); the timings are only reported.
#[test]
fn engine_bench_provisions_everyone_and_reports_four_targets() {
    let (report, names) = bench_json(&["--engine", "--users", "300"]);
    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    assert_eq!(
        names,
        [
            "engine_initial_cycle",
            "engine_propagation",
            "engine_incremental",
            "engine_peak_rss"
        ]
    );
    let incremental = &scenarios[2];
    let note = incremental["note"].as_str().unwrap_or_default();
    assert!(note.starts_with("10 writes, 0 look-ups"), "{incremental}");
    assert!(scenarios[0]["peer"]["value"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
}

/// `scimitar bench --dynamic` recomputes its two rules over every seeded user (a department's
/// worth, then everybody) and measures user updates with and without 50 dynamic groups. The
/// membership counts are checked; the timings are only reported.
#[test]
fn dynamic_bench_recomputes_every_user_and_reports_three_targets() {
    let (report, names) = bench_json(&["--dynamic", "--users", "400"]);
    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    assert_eq!(
        names,
        [
            "recompute_selective",
            "recompute_everyone",
            "dynamic_write_overhead"
        ]
    );
    // Seeded user n is in department n % 8 and active: a department's worth, then everybody.
    assert_eq!(scenarios[0]["evaluated"], 400);
    assert_eq!(scenarios[0]["added"], 50);
    assert_eq!(scenarios[1]["added"], 400);
    assert!(scenarios[2]["membership_changes"].as_u64().unwrap() > 0);
    assert_eq!(report["targets"], 3);
}
