//! `scimitar bench --dynamic`: dynamic groups on a store of `--users` seeded users.
//!
//! 1. Recomputing one rule over every user (the work a rule change starts), for a selective rule
//!    and for one that matches everybody; target under 2 s each. The ceiling is a bare walk of
//!    the same users through the same store (read and parse every body, evaluate nothing).
//! 2. The cost of dynamic groups on user writes: the same sequence of user updates (each moves a
//!    user to another department, so memberships really change) with no dynamic group, then
//!    with 50; target under 1 ms more per update. The run without rules is the ceiling.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use domain::dynamic::{self, DYNAMIC_GROUP_SCHEMA};
use domain::schema::{Mode, Registry};
use domain::{Clock, Load, MembersChange, ResourceKind, Store, Write};
use serde_json::{json, Map, Value};

use super::report::Outcome;
use super::seed;

const RECOMPUTE_TARGET_S: f64 = 2.0;
const OVERHEAD_TARGET_MS: f64 = 1.0;
/// Dynamic groups in the write-overhead scenario.
const RULES: usize = 50;
/// User updates per phase of the write-overhead scenario (at most one per user).
const UPDATES: usize = 2_000;

pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tenant_id: &str,
    user_ids: &[String],
) -> anyhow::Result<Vec<Outcome>> {
    let registry = Registry::builtin();
    let mut outcomes = Vec::new();
    let n_updates = UPDATES.min(user_ids.len());

    super::phase("walking every user (the ceiling of a recomputation)");
    let walk = bare_walk(store.as_ref(), tenant_id).await?;
    for (name, label, rule) in [
        (
            "recompute_selective",
            "one department",
            r#"user.department -eq "Sales" -and user.accountEnabled -eq true"#,
        ),
        (
            "recompute_everyone",
            "every user",
            r#"user.userPrincipalName -endsWith "@example.com""#,
        ),
    ] {
        super::phase(&format!("recomputing a rule that matches {label}"));
        let group = create_group(store.as_ref(), &*clock, &registry, tenant_id, name, rule).await?;
        let started = Instant::now();
        let totals =
            dynamic::recompute(store.as_ref(), tenant_id, &group, clock.now(), |_| {}).await?;
        let took = started.elapsed().as_secs_f64();
        let mut details = Map::new();
        details.insert("evaluated".into(), json!(totals.evaluated));
        details.insert("added".into(), json!(totals.added));
        outcomes.push(Outcome {
            name,
            scenario: format!(
                "recompute a rule over {} users ({label}: {} members)",
                totals.evaluated, totals.added
            ),
            value: took,
            unit: "s",
            note: format!("{:.0} users/s", totals.evaluated as f64 / took.max(1e-9)),
            peer: Some(("bare walk".into(), walk, "s")),
            ratio: Some(took / walk.max(1e-9)),
            target: "< 2 s",
            pass: took < RECOMPUTE_TARGET_S,
            details,
        });
        store
            .delete(tenant_id, ResourceKind::Group, &group, None, clock.now())
            .await?;
    }

    super::phase(&format!("{n_updates} user updates without dynamic groups"));
    let updates = plan_updates(user_ids, n_updates, 1);
    let none = timed_updates(store.as_ref(), &*clock, &registry, tenant_id, &updates).await?;
    super::phase(&format!("creating {RULES} dynamic groups"));
    for (i, rule) in rules(RULES).iter().enumerate() {
        let group = create_group(
            store.as_ref(),
            &*clock,
            &registry,
            tenant_id,
            &format!("dynamic-{i}"),
            rule,
        )
        .await?;
        dynamic::recompute(store.as_ref(), tenant_id, &group, clock.now(), |_| {}).await?;
    }
    super::phase(&format!(
        "{n_updates} user updates with {RULES} dynamic groups"
    ));
    // The same users, each moved on by one more department (a write that changes nothing
    // would not be a write at all).
    let updates = plan_updates(user_ids, n_updates, 2);
    let with = timed_updates(store.as_ref(), &*clock, &registry, tenant_id, &updates).await?;
    let overhead = with.mean_ms - none.mean_ms;
    let mut details = Map::new();
    details.insert("p99_ms_without".into(), json!(none.p99_ms));
    details.insert("p99_ms_with".into(), json!(with.p99_ms));
    details.insert("membership_changes".into(), json!(with.group_changes));
    outcomes.push(Outcome {
        name: "dynamic_write_overhead",
        scenario: format!(
            "user update with {RULES} dynamic groups vs none ({n_updates} updates, {} membership changes)",
            with.group_changes
        ),
        value: overhead,
        unit: "ms",
        note: format!("{:.3} ms vs {:.3} ms per update", with.mean_ms, none.mean_ms),
        peer: Some(("no dynamic groups".into(), none.mean_ms, "ms")),
        ratio: Some(with.mean_ms / none.mean_ms.max(1e-9)),
        target: "< 1 ms more",
        pass: overhead < OVERHEAD_TARGET_MS,
        details,
    });
    Ok(outcomes)
}

/// Seconds to read and parse every user of the tenant in recomputation-sized pages.
async fn bare_walk(store: &dyn Store, tenant_id: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut after = 0;
    let mut seen = 0usize;
    loop {
        let page = store
            .walk(
                tenant_id,
                ResourceKind::User,
                after,
                dynamic::RECOMPUTE_STEP,
                Load::NONE,
            )
            .await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        seen += page.len();
    }
    anyhow::ensure!(seen > 0, "no users to walk");
    Ok(started.elapsed().as_secs_f64())
}

async fn create_group(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    name: &str,
    rule: &str,
) -> anyhow::Result<String> {
    let body = registry.validate(
        ResourceKind::Group,
        json!({
            "schemas": [scim_proto::GROUP_SCHEMA, DYNAMIC_GROUP_SCHEMA],
            "displayName": name,
            DYNAMIC_GROUP_SCHEMA: { "membershipRule": rule },
        }),
        Mode::Create,
    )?;
    let write = Write {
        body,
        members: MembersChange::Keep,
    };
    Ok(store.create(tenant_id, write, clock.now()).await?.id)
}

/// `count` rules as admins write them: departments, titles, lists, negations and prefixes, most
/// selective, a few broad.
fn rules(count: usize) -> Vec<String> {
    let depts = seed::DEPARTMENTS;
    (0..count)
        .map(|i| {
            let d = depts.get(i % depts.len()).copied().unwrap_or("Sales");
            let e = depts.get((i + 3) % depts.len()).copied().unwrap_or("Legal");
            match i % 5 {
                0 => format!(r#"user.department -eq "{d}""#),
                1 => format!(
                    r#"user.department -in ["{d}","{e}"] -and user.accountEnabled -eq true"#
                ),
                2 => format!(
                    r#"(user.department -eq "{d}") -and -not (user.displayName -startsWith "Ada")"#
                ),
                3 => format!(r#"user.userPrincipalName -startsWith "user{i}""#),
                _ => format!(
                    r#"user.employeeId -match "^{i}[0-9]*7$" -or user.department -eq "{e}""#
                ),
            }
        })
        .collect()
}

/// The users to update and the seed number of their new body (another department, name and
/// employee number than the one they have after `phase - 1` rounds).
fn plan_updates(user_ids: &[String], count: usize, phase: usize) -> Vec<(String, usize)> {
    (0..count)
        .filter_map(|i| {
            let slot = (i * 7_919) % user_ids.len().max(1);
            user_ids.get(slot).map(|id| (id.clone(), slot + phase))
        })
        .collect()
}

struct Timings {
    mean_ms: f64,
    p99_ms: f64,
    /// Group versions that moved (membership changes) during the phase.
    group_changes: usize,
}

async fn timed_updates(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    updates: &[(String, usize)],
) -> anyhow::Result<Timings> {
    let head = store.head_seq().await?;
    let mut times: Vec<Duration> = Vec::with_capacity(updates.len());
    for (id, n) in updates {
        let current = store
            .get(tenant_id, ResourceKind::User, id, Load::NONE)
            .await?
            .with_context(|| format!("user {id} vanished"))?;
        let user_name = current
            .body
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = registry.validate(
            ResourceKind::User,
            seed::user_body(&user_name, *n),
            Mode::Replace(&current),
        )?;
        let write = Write {
            body,
            members: MembersChange::Keep,
        };
        let started = Instant::now();
        store
            .replace(
                tenant_id,
                ResourceKind::User,
                id,
                write,
                None,
                clock.now(),
                Load::NONE,
            )
            .await?;
        times.push(started.elapsed());
    }
    let mut group_changes = 0;
    let mut after = head;
    loop {
        let changes = store.changes_after(after, 10_000).await?;
        let Some(last) = changes.last() else { break };
        after = last.seq;
        group_changes += changes
            .iter()
            .filter(|c| c.kind == ResourceKind::Group)
            .count();
    }
    times.sort_unstable();
    let total: Duration = times.iter().sum();
    let p99 = times
        .get(times.len().saturating_sub(1) * 99 / 100)
        .copied()
        .unwrap_or_default();
    Ok(Timings {
        mean_ms: total.as_secs_f64() * 1_000.0 / times.len().max(1) as f64,
        p99_ms: p99.as_secs_f64() * 1_000.0,
        group_changes,
    })
}
