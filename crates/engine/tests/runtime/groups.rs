//! Groups (spec §1.4): created without members, members as deltas split per request, renames,
//! deletes; assignment through a group brings its members into scope.

use std::sync::atomic::Ordering;

use domain::{Load, ResourceKind};
use engine::app::Scope;
use serde_json::{json, Value};

use crate::support::{spec, World};

async fn target_group(w: &World, name: &str) -> Value {
    let found = w
        .peer_client
        .find(ResourceKind::Group, "displayName", name)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one target group {name}");
    let id = found[0].id.clone();
    // Read it with its members.
    let client = reqwest::Client::new();
    client
        .get(format!("{}/Groups/{id}", w.peer.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn member_count(group: &Value) -> usize {
    group["members"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_assigned_group_brings_its_members_and_follows_membership_changes() {
    let mut s = spec();
    s.dialect.max_members_per_request = 2;
    let w = World::new(s).await;
    let mut worker = w.worker().await;
    let a = w.user("ga@example.com", json!({})).await;
    let b = w.user("gb@example.com", json!({})).await;
    let c = w.user("gc@example.com", json!({})).await;
    let outsider = w.user("go@example.com", json!({})).await;
    let group = w
        .create(
            ResourceKind::Group,
            json!({"displayName": "Engineering", "members": [{"value": a.id}, {"value": b.id}, {"value": c.id}]}),
        )
        .await;
    w.assign(ResourceKind::Group, &group.id).await;
    w.sync(&mut worker).await;
    for u in ["ga", "gb", "gc"] {
        assert_eq!(w.target_users(&format!("{u}@example.com")).await.len(), 1);
    }
    assert!(w.target_users("go@example.com").await.is_empty());
    let g = target_group(&w, "Engineering").await;
    assert_eq!(member_count(&g), 3);

    // Remove c and add the outsider: c leaves scope (disabled), the outsider joins.
    let patches_before = w.faults.patches.load(Ordering::SeqCst);
    let current = w
        .store
        .get(&w.tenant, ResourceKind::Group, &group.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.members.as_ref().unwrap().len(), 3);
    w.update(
        ResourceKind::Group,
        &group.id,
        json!({"members": [{"value": a.id}, {"value": b.id}, {"value": outsider.id}], "displayName": "Engineers"}),
    )
    .await;
    w.sync(&mut worker).await;
    let g = target_group(&w, "Engineers").await;
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(members.len(), 3, "{g}");
    let outsider_target = w.target_user("go@example.com").await;
    assert!(members.contains(&outsider_target["id"].as_str().unwrap()));
    assert_eq!(w.target_user("gc@example.com").await["active"], false);
    // rename + add + remove + disable of c: a handful of PATCHes, not a rewrite.
    let patches = w.faults.patches.load(Ordering::SeqCst) - patches_before;
    assert!(patches <= 4, "{patches} patches");

    // Deleted in the directory → deleted in the target.
    w.delete(ResourceKind::Group, &group.id).await;
    w.sync(&mut worker).await;
    let left = w
        .peer_client
        .find(ResourceKind::Group, "displayName", "Engineers")
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn a_large_group_gets_its_members_in_chunks_and_one_member_change_is_one_patch() {
    const N: usize = 300;
    let mut s = spec();
    s.scope = Scope::All;
    s.dialect.max_members_per_request = 120;
    let w = World::new(s).await;
    let mut ids = Vec::with_capacity(N);
    for i in 0..N {
        ids.push(w.user(&format!("m{i:05}@example.com"), json!({})).await.id);
    }
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = w
        .create(
            ResourceKind::Group,
            json!({"displayName": "Everyone", "members": members}),
        )
        .await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    assert_eq!(member_count(&target_group(&w, "Everyone").await), N);

    let extra = w.user("late@example.com", json!({})).await;
    let patches_before = w.faults.patches.load(Ordering::SeqCst);
    let mut members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    members.push(json!({"value": extra.id}));
    w.update(ResourceKind::Group, &group.id, json!({"members": members}))
        .await;
    w.sync(&mut worker).await;
    assert_eq!(member_count(&target_group(&w, "Everyone").await), N + 1);
    assert_eq!(
        w.faults.patches.load(Ordering::SeqCst) - patches_before,
        1,
        "one Add of one member"
    );
}

#[tokio::test]
async fn a_put_dialect_target_gets_whole_groups_and_no_patch() {
    let mut s = spec();
    s.scope = Scope::All;
    s.dialect.groups_by_put = true;
    let w = World::new(s).await;
    let a = w.user("pa@example.com", json!({})).await;
    let b = w.user("pb@example.com", json!({})).await;
    let group = w
        .create(
            ResourceKind::Group,
            json!({"displayName": "Ops", "members": [{"value": a.id}]}),
        )
        .await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    assert_eq!(member_count(&target_group(&w, "Ops").await), 1);
    let patches = w.faults.patches.load(Ordering::SeqCst);

    w.update(
        ResourceKind::Group,
        &group.id,
        json!({"displayName": "Operations", "members": [{"value": a.id}, {"value": b.id}]}),
    )
    .await;
    w.sync(&mut worker).await;
    let g = target_group(&w, "Operations").await;
    assert_eq!(member_count(&g), 2, "{g}");
    assert_eq!(
        w.faults.patches.load(Ordering::SeqCst),
        patches,
        "no PATCH was sent"
    );
    let log = &w.logs(Some(&group.id)).await[0];
    assert!(
        log.details["requests"].to_string().contains("PUT"),
        "{}",
        log.details
    );
}

#[tokio::test]
async fn a_restart_deletes_target_groups_whose_group_is_gone() {
    let mut s = spec();
    s.scope = Scope::All;
    let w = World::new(s).await;
    let a = w.user("oa@example.com", json!({})).await;
    let gone = w
        .create(
            ResourceKind::Group,
            json!({"displayName": "Gone", "members": [{"value": a.id}]}),
        )
        .await;
    w.create(ResourceKind::Group, json!({"displayName": "Kept"}))
        .await;
    let mut worker = w.worker().await;
    w.sync(&mut worker).await;
    target_group(&w, "Gone").await;

    // Deleted in the directory; the app is restarted before the change reaches it: the full
    // cycle (which reads the directory) finds the target group through its shadow.
    w.delete(ResourceKind::Group, &gone.id).await;
    worker.restart().await.unwrap();
    w.sync(&mut worker).await;
    let left = w
        .peer_client
        .find(ResourceKind::Group, "displayName", "Gone")
        .await
        .unwrap();
    assert!(left.is_empty(), "the orphaned group is deleted: {left:?}");
    target_group(&w, "Kept").await;
    assert_eq!(w.target_users("oa@example.com").await.len(), 1);
    assert!(worker.state().cycle.is_none(), "the cycle finished");
}
