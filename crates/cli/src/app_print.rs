//! Human-readable output of `scimitar app …`.

use scim_proto::probe::{Cleanup, ProbeReport, ProbeStep};
use serde_json::Value;

static NULL: Value = Value::Null;

/// `v[key]` without indexing: `null` when absent.
pub fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&NULL)
}

pub fn json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// "initial cycle (users 10/250)" from a status.
fn state_line(status: &Value) -> String {
    let mut line = text(at(status, "state"));
    if let Some(c) = at(status, "cycle").as_object() {
        let phase = c.get("phase").map(text).unwrap_or_default();
        let done = c.get("done").and_then(Value::as_u64).unwrap_or(0);
        let total = c.get("total").and_then(Value::as_u64).unwrap_or(0);
        line.push_str(&format!(" ({phase} {done}/{total})"));
    }
    line
}

pub fn list(apps: &Value) {
    if items(apps).is_empty() {
        println!("no apps; create one with `scimitar app create NAME --url URL`");
        return;
    }
    println!("{:<24} {:<8} {:<28} URL", "NAME", "ENABLED", "STATE");
    for app in items(apps) {
        println!(
            "{:<24} {:<8} {:<28} {}",
            text(at(app, "name")),
            text(at(app, "enabled")),
            state_line(at(app, "status")),
            text(at(app, "url"))
        );
        if let Some(e) = at(at(app, "status"), "lastError").as_str() {
            println!("    last error: {e}");
        }
    }
}

pub fn settings(app: &Value) {
    println!("name:            {}", text(at(app, "name")));
    println!("enabled:         {}", text(at(app, "enabled")));
    println!("url:             {}", text(at(app, "url")));
    println!(
        "credentials:     {}",
        if at(app, "hasSecret").as_bool() == Some(true) {
            "set"
        } else {
            "none"
        }
    );
    println!("auth:            {}", text(at(at(app, "auth"), "type")));
    println!("scope:           {}", text(at(app, "scope")));
    println!("groups:          {}", text(at(app, "provision_groups")));
    println!("matching:        {}", text(at(app, "matching")));
    println!("deprovisioning:  {}", text(at(app, "deprovisioning")));
    println!(
        "mappings:        {}",
        at(app, "mappings").as_array().map_or(
            "Entra's default SCIM mapping".to_owned(),
            |m| format!("{} custom", m.len())
        )
    );
    if let Some(s) = at(app, "scoping").as_str() {
        println!("scoping:         {s}");
    }
    println!(
        "reconcile every: {} min",
        text(at(app, "reconcile_minutes"))
    );
}

pub fn status(status: &Value) {
    if status.is_null() {
        return;
    }
    println!("state:           {}", state_line(status));
    println!("running here:    {}", text(at(status, "running")));
    if let Some(c) = at(status, "cycle").as_object() {
        let done = c.get("done").and_then(Value::as_u64).unwrap_or(0);
        let total = c.get("total").and_then(Value::as_u64).unwrap_or(0);
        let pct = done.saturating_mul(100).checked_div(total).unwrap_or(0);
        println!(
            "cycle:           {} {} — {done}/{total} ({pct}%), since {}",
            c.get("kind").map(text).unwrap_or_default(),
            c.get("phase").map(text).unwrap_or_default(),
            c.get("started").map(text).unwrap_or_default()
        );
    }
    if let Some(p) = at(status, "pendingChanges").as_i64() {
        println!("pending changes: {p}");
    }
    let c = &at(status, "counts");
    println!(
        "users:           {} active, {} disabled, {} deleted",
        text(at(c, "usersActive")),
        text(at(c, "usersDisabled")),
        text(at(c, "usersDeleted"))
    );
    println!(
        "groups:          {} active, {} deleted; {} in escrow",
        text(at(c, "groupsActive")),
        text(at(c, "groupsDeleted")),
        text(at(c, "escrowed"))
    );
    println!(
        "this window:     {} succeeded, {} failed, {} deletions",
        text(at(at(status, "window"), "successes")),
        text(at(at(status, "window"), "failures")),
        text(at(at(status, "window"), "deletions"))
    );
    if let Some(e) = at(status, "lastError").as_str() {
        println!("last error:      {e}");
    }
    if let Some(q) = at(status, "quarantine").as_object() {
        println!(
            "QUARANTINED:     {} ({}); next attempt {}",
            q.get("reason").map(text).unwrap_or_default(),
            q.get("error").map(text).unwrap_or_default(),
            q.get("nextAttempt").map(text).unwrap_or_default()
        );
    }
    if let Some(h) = at(status, "held").as_object() {
        println!(
            "HELD:            {} deletions over the threshold of {}; run `scimitar app approve-deletions`",
            h.get("deletions").map(text).unwrap_or_default(),
            h.get("threshold").map(text).unwrap_or_default()
        );
    }
}

pub fn plan(plan: &Value) {
    let ops = items(at(plan, "plan"));
    if !ops.is_empty() {
        println!(
            "{:<8} {:<10} {:<38} {:<28} REASON",
            "TYPE", "ACTION", "SOURCE ID", "NAME"
        );
        for op in ops {
            println!(
                "{:<8} {:<10} {:<38} {:<28} {}",
                text(at(op, "objectType")),
                text(at(op, "action")),
                text(at(op, "sourceId")),
                text(at(op, "displayName")),
                text(at(op, "reason"))
            );
        }
        println!();
    }
    let counts: Vec<String> = at(plan, "counts")
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}: {v}")).collect())
        .unwrap_or_default();
    println!(
        "{} operations ({} listed); {}",
        text(at(plan, "operations")),
        text(at(plan, "listed")),
        if counts.is_empty() {
            "nothing to do".to_owned()
        } else {
            counts.join(", ")
        }
    );
}

/// `app explain`: the scope decision, then each operation the next cycle would send.
pub fn explain(result: &Value) {
    println!(
        "{} ({}): {}",
        text(at(result, "displayName")),
        text(at(result, "userId")),
        if at(result, "assigned") == &Value::Bool(true) {
            "assigned"
        } else {
            "not assigned"
        }
    );
    println!("  {}", text(at(result, "reason")));
    let operations = items(at(result, "operations"));
    if operations.is_empty() {
        println!("  the next cycle sends nothing for this user");
    }
    for op in operations {
        println!(
            "  would {}: {}",
            text(at(op, "action")),
            at(op, "operation")
        );
    }
    for d in items(at(result, "deferred")) {
        println!("  later: {}", text(d));
    }
}

pub fn provision(result: &Value) {
    println!(
        "{}: {} ({})",
        text(at(result, "result")),
        text(at(at(result, "user"), "displayName")),
        text(at(at(result, "user"), "id"))
    );
    for (i, step) in items(at(result, "steps")).iter().enumerate() {
        let line = match step {
            Value::Object(m) => {
                let name = m
                    .get("name")
                    .or_else(|| m.get("step"))
                    .map(text)
                    .unwrap_or_default();
                let status = m.get("status").map(text).unwrap_or_default();
                let detail = m
                    .get("detail")
                    .or_else(|| m.get("description"))
                    .map(text)
                    .unwrap_or_default();
                format!("{name} [{status}] {detail}")
            }
            other => text(other),
        };
        println!("  {}. {line}", i + 1);
    }
    for r in items(at(result, "requests")) {
        println!(
            "  → {} {} {}",
            text(at(r, "method")),
            text(at(r, "path")),
            text(at(r, "status"))
        );
    }
    if let Some(reason) = at(at(result, "log"), "reason").as_str() {
        println!("reason: {reason}");
    }
}

pub fn logs(logs: &Value) {
    if items(logs).is_empty() {
        println!("no log entries");
        return;
    }
    for e in items(logs) {
        println!(
            "{}  {:<8} {:<6} {:<8} {} → {}  {}{}",
            text(at(e, "activityDateTime")),
            text(at(e, "status")),
            text(at(e, "objectType")),
            text(at(e, "action")),
            text(at(e, "sourceId")),
            text(at(e, "targetId")),
            text(at(e, "reason")),
            at(e, "errorCode")
                .as_str()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default()
        );
    }
}

/// One step: `✓ createUser  201   12 ms  POST /Users`, its message below when it failed.
fn probe_step(step: &ProbeStep) {
    let mark = if step.ok { "✓" } else { "✗" };
    let status = step
        .status
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    println!(
        "  {mark} {:<22} {status:>4} {:>6} ms  {} {}{}",
        step.name.as_str(),
        step.duration_ms,
        step.method,
        step.path,
        if !step.ok && !step.required {
            "  (warning)"
        } else {
            ""
        }
    );
    if let Some(m) = &step.message {
        println!("      {m}");
    }
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "unknown".to_owned(),
    }
}

fn names(v: Option<&Vec<String>>) -> String {
    match v {
        None => "unknown".to_owned(),
        Some(list) if list.is_empty() => "none".to_owned(),
        Some(list) => list.join(", "),
    }
}

/// `scimitar app test`: each step, the cleanup, what the target supports, the verdict.
pub fn probe(app: &str, report: &ProbeReport) {
    println!("connection test of app `{app}`:");
    for step in &report.steps {
        probe_step(step);
    }
    let user = match &report.user_id {
        Some(id) => format!("{} (id {id})", report.user_name),
        None => report.user_name.clone(),
    };
    match report.cleanup {
        Cleanup::Deleted => println!("cleanup: the probe user {user} was deleted"),
        Cleanup::NothingToDelete => {
            println!("cleanup: nothing to delete (no probe user was created)")
        }
        Cleanup::LeftBehind => println!(
            "cleanup: FAILED — the probe user {user} may still be on the target; delete it there"
        ),
    }
    let s = &report.supports;
    println!("the target supports:");
    println!("  PATCH            {}", yes_no(s.patch));
    println!(
        "  bulk             {}",
        s.bulk.as_ref().map_or_else(
            || "unknown".to_owned(),
            |b| {
                let mut line = yes_no(Some(b.supported));
                if b.supported {
                    let limits: Vec<String> = [
                        b.max_operations.map(|n| format!("at most {n} operations")),
                        b.max_payload_size.map(|n| format!("{n} bytes")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if !limits.is_empty() {
                        line.push_str(&format!(" ({})", limits.join(", ")));
                    }
                }
                line
            }
        )
    );
    println!(
        "  filter           {}",
        s.filter.as_ref().map_or_else(
            || "unknown".to_owned(),
            |f| match (f.supported, f.max_results) {
                (true, Some(n)) => format!("yes (at most {n} results)"),
                (supported, _) => yes_no(Some(supported)),
            }
        )
    );
    println!("  sort             {}", yes_no(s.sort));
    println!("  ETags            {}", yes_no(s.etag));
    println!("  changePassword   {}", yes_no(s.change_password));
    println!(
        "  authentication   {}",
        names(s.authentication_schemes.as_ref())
    );
    println!("  resource types   {}", names(s.resource_types.as_ref()));
    println!("  schemas          {}", names(s.schemas.as_ref()));
    let warnings = report.warnings().count();
    if report.ok {
        println!(
            "connection test passed{}",
            if warnings > 0 {
                format!(" with {warnings} warning(s)")
            } else {
                String::new()
            }
        );
    } else {
        println!("connection test FAILED");
    }
}
