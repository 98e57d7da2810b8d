//! `scimitar bench --dynamic`: dynamic groups on a store of `--users` seeded users.
//!
//! 1. Recomputing one rule over every user (the work a rule change starts), for a selective rule
//!    and for one that matches everybody; target under 2 s each. The ceiling is a bare walk of
//!    the same users through the same store (read and parse every body, evaluate nothing).
//! 2. The cost of dynamic groups on user writes: two tenants with the same users, one with 50
//!    dynamic groups; the same user updates (each moves a user to another department, so
//!    memberships really change) alternate between them; target under 1 ms more per update.
//!    The tenant without rules is the ceiling.

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

    // Tenant B: the same users, with 50 dynamic groups. Updates alternate between the tenants,
    // so that both sides see the same machine (this one is shared and its speed drifts).
    super::phase(&format!(
        "seeding {} users in a second tenant",
        user_ids.len()
    ));
    let rules_tenant = store.create_tenant("bench-dynamic").await?.id;
    let rules_users = seed::users(
        store.clone(),
        clock.clone(),
        Arc::new(registry.clone()),
        &rules_tenant,
        user_ids.len(),
    )
    .await?;
    super::phase(&format!("creating {RULES} dynamic groups in it"));
    for (i, rule) in rules(RULES).iter().enumerate() {
        let group = create_group(
            store.as_ref(),
            &*clock,
            &registry,
            &rules_tenant,
            &format!("dynamic-{i}"),
            rule,
        )
        .await?;
        dynamic::recompute(store.as_ref(), &rules_tenant, &group, clock.now(), |_| {}).await?;
    }
    super::phase(&format!(
        "{n_updates} user updates in each tenant, alternating"
    ));
    let head = store.head_seq().await?;
    let mut none = Vec::with_capacity(n_updates);
    let mut with = Vec::with_capacity(n_updates);
    // Each user moves to another department, name and employee number (a write that changes
    // nothing would not be a write at all).
    let plain = plan_updates(user_ids, n_updates, 1);
    let dynamic_side = plan_updates(&rules_users, n_updates, 1);
    for (a, b) in plain.iter().zip(&dynamic_side) {
        none.push(timed_update(store.as_ref(), &*clock, &registry, tenant_id, a).await?);
        with.push(timed_update(store.as_ref(), &*clock, &registry, &rules_tenant, b).await?);
    }
    let group_changes = group_changes_since(store.as_ref(), &rules_tenant, head).await?;
    let (none, with) = (Timings::of(none), Timings::of(with));
    let overhead = with.mean_ms - none.mean_ms;
    let mut details = Map::new();
    details.insert("p99_ms_without".into(), json!(none.p99_ms));
    details.insert("p99_ms_with".into(), json!(with.p99_ms));
    details.insert("membership_changes".into(), json!(group_changes));
    outcomes.push(Outcome {
        name: "dynamic_write_overhead",
        scenario: format!(
            "user update with {RULES} dynamic groups vs none ({n_updates} updates, {group_changes} membership changes)"
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

/// The users to update and the seed number of their new body: after `round` rounds of updates,
/// each is in another department, with another name and employee number.
fn plan_updates(user_ids: &[String], count: usize, round: usize) -> Vec<(String, usize)> {
    (0..count)
        .filter_map(|i| {
            let slot = (i * 7_919) % user_ids.len().max(1);
            user_ids.get(slot).map(|id| (id.clone(), slot + round))
        })
        .collect()
}

struct Timings {
    mean_ms: f64,
    p99_ms: f64,
}

impl Timings {
    fn of(mut times: Vec<Duration>) -> Timings {
        times.sort_unstable();
        let total: Duration = times.iter().sum();
        let p99 = times
            .get(times.len().saturating_sub(1) * 99 / 100)
            .copied()
            .unwrap_or_default();
        Timings {
            mean_ms: total.as_secs_f64() * 1_000.0 / times.len().max(1) as f64,
            p99_ms: p99.as_secs_f64() * 1_000.0,
        }
    }
}

/// One user update through the store (read, validate, replace); the replace is timed.
async fn timed_update(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    (id, n): &(String, usize),
) -> anyhow::Result<Duration> {
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
    Ok(started.elapsed())
}

/// Group changes (membership changes, here) the tenant logged after `head`.
async fn group_changes_since(
    store: &dyn Store,
    tenant_id: &str,
    head: i64,
) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut after = head;
    loop {
        let changes = store.changes_after(after, 10_000).await?;
        let Some(last) = changes.last() else { break };
        after = last.seq;
        count += changes
            .iter()
            .filter(|c| c.kind == ResourceKind::Group && c.tenant_id == tenant_id)
            .count();
    }
    Ok(count)
}
