//! Dynamic groups in the store: rule-driven membership on every user write, recomputation over
//! all users in cursor steps, and the change-log entries apps follow.

use std::sync::Arc;

use domain::dynamic::{self, DYNAMIC_GROUP_SCHEMA};
use domain::schema::Mode;
use domain::{ChangeOp, Load, ResourceKind, Store, StoredResource, Write};
use serde_json::json;

use crate::support::*;

fn sales_user(user_name: &str, department: &str) -> Write {
    write(
        ResourceKind::User,
        json!({
            "userName": user_name,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": department,
                "employeeNumber": format!("E-{user_name}"),
            },
        }),
    )
}

fn dynamic_group_write(name: &str, rule: &str) -> Write {
    let mut w = write(
        ResourceKind::Group,
        json!({ "displayName": name, DYNAMIC_GROUP_SCHEMA: { "membershipRule": rule } }),
    );
    w.members = domain::MembersChange::Keep;
    w
}

/// A dynamic group created in the store (its membership not computed yet).
async fn dynamic_group(store: &Arc<dyn Store>, t: &str, name: &str, rule: &str) -> StoredResource {
    store
        .create(t, dynamic_group_write(name, rule), at(0))
        .await
        .unwrap()
}

async fn member_ids(store: &Arc<dyn Store>, tenant: &str, group: &str) -> Vec<String> {
    let g = store
        .get(tenant, ResourceKind::Group, group, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    let mut ids: Vec<String> = g.members.unwrap().into_iter().map(|m| m.value).collect();
    ids.sort();
    ids
}

async fn recompute_all(store: &Arc<dyn Store>, tenant: &str, group: &str) -> dynamic::Recomputed {
    dynamic::recompute(store.as_ref(), tenant, group, at(1), |_| {})
        .await
        .unwrap()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn replace_user(store: &Arc<dyn Store>, tenant: &str, user: &StoredResource, w: Write) {
    store
        .replace(
            tenant,
            ResourceKind::User,
            &user.id,
            w,
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap();
}

/// Spec §6: "whenever a user attribute changes, all rules are re-evaluated; match → added, no
/// longer matches → removed". Create, update (in and out) and delete of users.
pub async fn membership_follows_user_writes(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let group = dynamic_group(&store, &t, "Sales", r#"user.department -eq "Sales""#).await;
    recompute_all(&store, &t, &group.id).await;
    let ann = store
        .create(&t, sales_user("ann", "sales"), at(1))
        .await
        .unwrap();
    let bob = store
        .create(&t, sales_user("bob", "Marketing"), at(1))
        .await
        .unwrap();
    assert_eq!(
        member_ids(&store, &t, &group.id).await,
        vec![ann.id.clone()]
    );

    // The user sees the group too.
    let read = store
        .get(&t, ResourceKind::User, &ann.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.groups.unwrap()[0].value, group.id);

    replace_user(&store, &t, &bob, sales_user("bob", "SALES")).await;
    assert_eq!(
        member_ids(&store, &t, &group.id).await,
        sorted(vec![ann.id.clone(), bob.id.clone()])
    );
    replace_user(&store, &t, &ann, sales_user("ann", "Support")).await;
    assert_eq!(
        member_ids(&store, &t, &group.id).await,
        vec![bob.id.clone()]
    );

    store
        .delete(&t, ResourceKind::User, &bob.id, None, at(3))
        .await
        .unwrap();
    assert!(member_ids(&store, &t, &group.id).await.is_empty());
}

/// Every membership change of a dynamic group is a new group version with a change-log entry.
pub async fn membership_changes_reach_the_change_log(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let group = dynamic_group(&store, &t, "Sales", r#"user.department -eq "Sales""#).await;
    recompute_all(&store, &t, &group.id).await;
    let head = store.head_seq().await.unwrap();
    let ann = store
        .create(&t, sales_user("ann", "Sales"), at(1))
        .await
        .unwrap();
    let changes = store.changes_after(head, 10).await.unwrap();
    let seen: Vec<(ResourceKind, String, ChangeOp)> = changes
        .iter()
        .map(|c| (c.kind, c.resource_id.clone(), c.op))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ResourceKind::User, ann.id.clone(), ChangeOp::Created),
            (ResourceKind::Group, group.id.clone(), ChangeOp::Updated),
        ]
    );
    let g = store
        .get(&t, ResourceKind::Group, &group.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.version, group.version + 1);

    // A write that does not change membership leaves the group alone.
    let head = store.head_seq().await.unwrap();
    replace_user(&store, &t, &ann, sales_user("ann", "sales")).await;
    let changes = store.changes_after(head, 10).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].kind, ResourceKind::User);
}

/// A rule set on a group with existing users is applied in cursor steps: `pending` lists it
/// until the last step, `dynamic_rule` shows the progress, and the result is the rule's.
pub async fn a_new_rule_is_recomputed_in_steps(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let mut sales = Vec::new();
    for i in 0..25 {
        let dept = if i % 3 == 0 { "Sales" } else { "Ops" };
        let u = store
            .create(&t, sales_user(&format!("u{i}"), dept), at(0))
            .await
            .unwrap();
        if dept == "Sales" {
            sales.push(u.id);
        }
    }
    // A static group with a member that the rule will not match, and a nested group.
    let ops_user = store
        .create(&t, sales_user("ops", "Ops"), at(0))
        .await
        .unwrap();
    let inner = group(&store, &t, "inner", &[]).await;
    let g = group(&store, &t, "Sales", &[&ops_user.id, &inner.id]).await;
    assert!(store.pending_dynamic_groups().await.unwrap().is_empty());
    assert_eq!(store.dynamic_rule(&t, &g.id).await.unwrap(), None);

    store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            dynamic_group_write("Sales", r#"user.department -eq "sales""#),
            None,
            at(1),
            Load::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        store.pending_dynamic_groups().await.unwrap(),
        vec![(t.clone(), g.id.clone())]
    );
    let state = store.dynamic_rule(&t, &g.id).await.unwrap().unwrap();
    assert_eq!(state.rule, r#"user.department -eq "sales""#);
    assert_eq!(state.processing, Some((0, 26)));

    let step = store
        .recompute_dynamic_group(&t, &g.id, 10, at(1))
        .await
        .unwrap();
    assert_eq!((step.evaluated, step.done), (10, false));
    assert_eq!(
        store
            .dynamic_rule(&t, &g.id)
            .await
            .unwrap()
            .unwrap()
            .processing,
        Some((10, 26))
    );
    let rest = recompute_all(&store, &t, &g.id).await;
    assert_eq!(rest.evaluated, 16);
    assert_eq!(step.added + rest.added, sales.len() as u64);
    assert_eq!(step.removed + rest.removed, 1, "the ops user leaves");
    assert_eq!(member_ids(&store, &t, &g.id).await, sorted(sales.clone()));
    assert!(store.pending_dynamic_groups().await.unwrap().is_empty());
    assert_eq!(
        store
            .dynamic_rule(&t, &g.id)
            .await
            .unwrap()
            .unwrap()
            .processing,
        None
    );
    // Done means done: another run changes nothing.
    assert_eq!(
        recompute_all(&store, &t, &g.id).await,
        dynamic::Recomputed::default()
    );
}

/// Removing the rule makes the group static with the members it has; deleting a dynamic group
/// stops its rule from being evaluated.
pub async fn removing_the_rule_or_the_group(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let g = dynamic_group(&store, &t, "Sales", r#"user.department -eq "Sales""#).await;
    let ann = store
        .create(&t, sales_user("ann", "Sales"), at(1))
        .await
        .unwrap();
    store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            {
                let mut w = write(ResourceKind::Group, json!({ "displayName": "Sales" }));
                w.members = domain::MembersChange::Keep;
                w
            },
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap();
    assert_eq!(store.dynamic_rule(&t, &g.id).await.unwrap(), None);
    assert_eq!(member_ids(&store, &t, &g.id).await, vec![ann.id.clone()]);
    let bob = store
        .create(&t, sales_user("bob", "Sales"), at(3))
        .await
        .unwrap();
    assert_eq!(
        member_ids(&store, &t, &g.id).await,
        vec![ann.id.clone()],
        "static now"
    );

    let d = dynamic_group(&store, &t, "All", "user.objectId -ne null").await;
    store
        .delete(&t, ResourceKind::Group, &d.id, None, at(5))
        .await
        .unwrap();
    // A user write after the delete must not try to use the deleted group's rule.
    replace_user(&store, &t, &bob, sales_user("bob", "Ops")).await;
    assert!(store.pending_dynamic_groups().await.unwrap().is_empty());
}

/// Rules are per tenant: another tenant's users never join.
pub async fn rules_stay_in_their_tenant(store: Arc<dyn Store>) {
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let g = dynamic_group(&store, &a, "Everyone", "user.objectId -ne null").await;
    let in_a = store
        .create(&a, sales_user("x", "Sales"), at(1))
        .await
        .unwrap();
    store
        .create(&b, sales_user("x", "Sales"), at(1))
        .await
        .unwrap();
    recompute_all(&store, &a, &g.id).await;
    assert_eq!(member_ids(&store, &a, &g.id).await, vec![in_a.id]);
    assert!(store
        .recompute_dynamic_group(&b, &g.id, 10, at(2))
        .await
        .is_err_and(|e| matches!(e, domain::Error::NotFound(_))));
}

/// The enterprise `employeeNumber` filter (inbound matching) finds users case-insensitively and
/// follows replaces.
pub async fn employee_number_lookup(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let ann = store
        .create(&t, sales_user("ann", "Sales"), at(0))
        .await
        .unwrap();
    store
        .create(&t, sales_user("bob", "Sales"), at(0))
        .await
        .unwrap();
    let filter =
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "e-ANN""#;
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &list(Some(filter))).await,
        vec![ann.id.clone()]
    );
    let renumbered = Write::whole(
        registry()
            .validate(
                ResourceKind::User,
                json!({
                    "userName": "ann",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"},
                }),
                Mode::Create,
            )
            .unwrap(),
    );
    replace_user(&store, &t, &ann, renumbered).await;
    assert!(ids(&store, &t, ResourceKind::User, &list(Some(filter)))
        .await
        .is_empty());
    let by_new =
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#;
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &list(Some(by_new))).await,
        vec![ann.id]
    );
}
