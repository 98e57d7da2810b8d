//! Seeding the benchmark's store directly (not over HTTP): a tenant, an admin token, realistic
//! users and the groups of the PATCH scenario. Bodies still pass schema validation, as the store
//! accepts nothing else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use domain::schema::{Mode, Registry};
use domain::{Clock, MembersChange, ResourceKind, Scope, Store, Validated, Write};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// Users created concurrently; the store serialises writes, so more tasks than this only queue.
const SEED_TASKS: usize = 8;
/// Members added per store write when filling a large group.
const MEMBER_CHUNK: usize = 5_000;

const GIVEN: [&str; 12] = [
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Ken", "Margaret", "Dennis", "Radia",
    "Linus", "Hedy",
];
const FAMILY: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Thompson", "Hamilton",
    "Ritchie", "Perlman", "Torvalds", "Lamarr",
];
/// The departments seeded users are spread over (user `n` is in `DEPARTMENTS[n % 8]`).
pub const DEPARTMENTS: [&str; 8] = [
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "Legal",
    "Operations",
    "Research",
];

/// The body an identity provider sends for a typical user (Entra ID's default attribute mappings).
pub fn user_body(user_name: &str, n: usize) -> Value {
    let given = GIVEN.get(n % GIVEN.len()).copied().unwrap_or("Ada");
    let family = FAMILY
        .get((n / GIVEN.len()) % FAMILY.len())
        .copied()
        .unwrap_or("Lovelace");
    let department = DEPARTMENTS
        .get(n % DEPARTMENTS.len())
        .copied()
        .unwrap_or("Engineering");
    json!({
        "schemas": [scim_proto::USER_SCHEMA, scim_proto::ENTERPRISE_USER_SCHEMA],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "active": true,
        "displayName": format!("{given} {family} {n}"),
        "name": { "givenName": given, "familyName": format!("{family} {n}"), "formatted": format!("{given} {family} {n}") },
        "emails": [{ "value": user_name, "type": "work", "primary": true }],
        (scim_proto::ENTERPRISE_USER_SCHEMA): { "department": department, "employeeNumber": n.to_string() },
    })
}

/// The userName of the `i`th seeded user.
pub fn user_name(i: usize) -> String {
    format!("user{i}@example.com")
}

/// A tenant and the secret of an admin token for it.
pub async fn tenant(store: &dyn Store, clock: &dyn Clock) -> anyhow::Result<(String, String)> {
    let tenant = store.create_tenant("bench").await?;
    let secret = server::auth::generate_token();
    let info = server::auth::new_token_info(
        &tenant.id,
        "bench",
        &secret,
        Scope::ALL.to_vec(),
        clock.now(),
        None,
    );
    store.insert_token(&info).await?;
    Ok((tenant.id, secret))
}

/// Creates one user through the store; returns its id.
pub async fn user(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    user_name: &str,
    n: usize,
) -> anyhow::Result<String> {
    let body = registry.validate(ResourceKind::User, user_body(user_name, n), Mode::Create)?;
    let created = store
        .create(tenant_id, Write::whole(body), clock.now())
        .await
        .with_context(|| format!("cannot create the user {user_name}"))?;
    Ok(created.id)
}

/// Creates users `user0@example.com` … with a progress bar; returns their ids in order.
pub async fn users(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    tenant_id: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let bar = progress(count, "seeding users");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(SEED_TASKS);
    for _ in 0..SEED_TASKS {
        let (store, clock, registry, next, bar) = (
            store.clone(),
            clock.clone(),
            registry.clone(),
            next.clone(),
            bar.clone(),
        );
        let tenant_id = tenant_id.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let id = user(&*store, &*clock, &registry, &tenant_id, &user_name(i), i).await?;
                made.push((i, id));
                bar.inc(1);
            }
            anyhow::Ok(made)
        }));
    }
    let mut ids = vec![String::new(); count];
    for task in tasks {
        for (i, id) in task.await.context("a seeding task failed")?? {
            if let Some(slot) = ids.get_mut(i) {
                *slot = id;
            }
        }
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// Creates a group with these members, adding them in chunks (with a progress bar when there
/// are many); returns its id.
pub async fn group(
    store: &dyn Store,
    clock: &dyn Clock,
    registry: &Registry,
    tenant_id: &str,
    display_name: &str,
    members: &[String],
) -> anyhow::Result<String> {
    let body: Validated = registry.validate(
        ResourceKind::Group,
        json!({ "schemas": [scim_proto::GROUP_SCHEMA], "displayName": display_name }),
        Mode::Create,
    )?;
    let mut chunks = members.chunks(MEMBER_CHUNK);
    let first = chunks.next().unwrap_or_default().to_vec();
    let write = Write {
        body: body.clone(),
        members: MembersChange::Set(first),
    };
    let group = store
        .create(tenant_id, write, clock.now())
        .await
        .with_context(|| format!("cannot create the group {display_name}"))?;
    let bar = progress(members.len(), &format!("filling {display_name}"));
    bar.inc(MEMBER_CHUNK.min(members.len()) as u64);
    for chunk in chunks {
        let write = Write {
            body: body.clone(),
            members: MembersChange::Delta {
                add: chunk.to_vec(),
                remove: Vec::new(),
            },
        };
        store
            .replace(
                tenant_id,
                ResourceKind::Group,
                &group.id,
                write,
                None,
                clock.now(),
                domain::Load::NONE,
            )
            .await
            .with_context(|| format!("cannot add members to the group {display_name}"))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(group.id)
}

fn progress(len: usize, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}
