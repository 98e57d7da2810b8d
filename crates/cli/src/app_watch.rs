//! `scimitar app watch NAME`: follows an app's status with a progress bar while a full cycle
//! runs, until the app is in sync, held or quarantined.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::app_client::{enc, Client};

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Polls `/apps/{name}/status` every `every` until the app settles; `Ok(true)` when it ends in
/// sync, `Ok(false)` when it is held, quarantined or disabled (the reason is printed).
pub async fn watch(client: &Client, name: &str, every: Duration) -> anyhow::Result<bool> {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>16} [{bar:40}] {pos}/{len} users ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    loop {
        let status = client.get(&format!("/apps/{}/status", enc(name))).await?;
        let state = status.get("state").and_then(Value::as_str).unwrap_or("?");
        match status.get("cycle").filter(|c| !c.is_null()) {
            Some(cycle) => {
                bar.set_length(num(cycle, "total"));
                bar.set_position(num(cycle, "done"));
                bar.set_message(state.to_owned());
            }
            None => bar.set_message(state.to_owned()),
        }
        let pending = status
            .get("pendingChanges")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        match state {
            "in sync" if pending == 0 => {
                bar.finish_and_clear();
                println!("app `{name}` is in sync");
                return Ok(true);
            }
            "held" | "quarantined" | "disabled" => {
                bar.finish_and_clear();
                let why = status
                    .get("lastError")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason recorded");
                println!("app `{name}` is {state}: {why}");
                if state == "held" {
                    println!(
                        "hint: `scimitar app approve-deletions {name}` lets the deletions through"
                    );
                }
                return Ok(false);
            }
            _ => {}
        }
        tokio::time::sleep(every).await;
    }
}
