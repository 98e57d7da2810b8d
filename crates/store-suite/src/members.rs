//! Group membership rows: Set and Delta, references, and what deletes do to them.

use std::sync::Arc;

use domain::{ChangeOp, Error, Load, Member, MembersChange, ResourceKind, Store, Write};
use serde_json::json;

use crate::support::*;

fn delta(display_name: &str, add: &[&str], remove: &[&str]) -> Write {
    Write {
        members: MembersChange::Delta {
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        },
        ..group_write(display_name, &[])
    }
}

pub async fn set_and_delta(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let [a, b, c, d] = ["a", "b", "c", "d"].map(String::from);
    let mut users = Vec::new();
    for name in [&a, &b, &c, &d] {
        users.push(user(&store, &t, name).await.id);
    }
    let (a, b, c, d) = (
        users[0].as_str(),
        users[1].as_str(),
        users[2].as_str(),
        users[3].as_str(),
    );
    let g = group(&store, &t, "G", &[b, a, b]).await;
    assert_eq!(
        member_ids(&g),
        vec![b, a],
        "insertion order, duplicates once"
    );

    // Delta: add c (and a again: no-op), remove b and an absent d.
    let replaced = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            delta("G", &[c, a], &[b, d]),
            Some(1),
            at(1),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&replaced), vec![a, c]);
    assert_eq!(replaced.version, 2);

    // Set keeps the rows of members that stay, in their order, and appends new ones.
    let set = Write {
        members: MembersChange::Set(vec![d.into(), c.into()]),
        ..group_write("G", &[])
    };
    let replaced = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            set,
            Some(2),
            at(2),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&replaced), vec![c, d]);

    // Keep leaves members alone; PUT without members (Write::whole) empties the group.
    let keep = Write {
        members: MembersChange::Keep,
        ..group_write("G2", &[])
    };
    let kept = store
        .replace(&t, ResourceKind::Group, &g.id, keep, None, at(3), Load::ALL)
        .await
        .unwrap();
    assert_eq!(member_ids(&kept), vec![c, d]);
    assert_eq!(kept.body.get("displayName"), Some(&json!("G2")));
    let emptied = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            group_write("G2", &[]),
            None,
            at(4),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&emptied), Vec::<&str>::new());

    // Without Load::members, none are returned.
    let unloaded = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            delta("G2", &[a], &[]),
            None,
            at(5),
            Load::NONE,
        )
        .await
        .unwrap();
    assert_eq!(unloaded.members, None);
    let got = store
        .get(&t, ResourceKind::Group, &g.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member_ids(&got), vec![a]);
    assert_eq!(got.version, 6);
}

pub async fn dangling_members_are_skipped_and_self_members_rejected(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    // An id that is no user or group of the tenant is skipped (clients expect 200), not stored.
    let created = store
        .create(&t, group_write("G", &["ghost"]), at(0))
        .await
        .unwrap();
    assert_eq!(created.members, Some(vec![]));
    let g = store
        .query(
            &t,
            ResourceKind::Group,
            &list(None),
            &registry().info(ResourceKind::Group),
        )
        .await
        .unwrap();
    assert_eq!(g.total, 1);
    let g = &g.resources[0];

    let after = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            delta("G", &["ghost"], &[]),
            None,
            at(1),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(after.members, Some(vec![]));
    let err = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            delta("G", &[&g.id], &[]),
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue(_)), "{err:?}");
    let set_self = Write {
        members: MembersChange::Set(vec![g.id.clone()]),
        ..group_write("G", &[])
    };
    let err = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            set_self,
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue(_)), "{err:?}");
    // Rejected writes, and the skipped ghost that changed nothing, do not bump the version.
    let g = store
        .get(&t, ResourceKind::Group, &g.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((g.version, g.members), (1, Some(vec![])));
}

pub async fn members_carry_kind_and_display(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let plain = user(&store, &t, "plain").await;
    let body = json!({ "userName": "named", "displayName": "Named Person" });
    let named = store
        .create(&t, write(ResourceKind::User, body), at(0))
        .await
        .unwrap();
    let inner = group(&store, &t, "Inner", &[]).await;
    let outer = group(&store, &t, "Outer", &[&plain.id, &named.id, &inner.id]).await;
    let expected = vec![
        Member {
            value: plain.id.clone(),
            kind: ResourceKind::User,
            display: Some("plain".into()),
        },
        Member {
            value: named.id.clone(),
            kind: ResourceKind::User,
            display: Some("Named Person".into()),
        },
        Member {
            value: inner.id.clone(),
            kind: ResourceKind::Group,
            display: Some("Inner".into()),
        },
    ];
    assert_eq!(outer.members, Some(expected.clone()));
    let got = store
        .get(&t, ResourceKind::Group, &outer.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.members, Some(expected));

    let groups = store
        .get(&t, ResourceKind::User, &plain.id, Load::ALL)
        .await
        .unwrap()
        .unwrap()
        .groups;
    let outer_ref = Member {
        value: outer.id.clone(),
        kind: ResourceKind::Group,
        display: Some("Outer".into()),
    };
    assert_eq!(groups, Some(vec![outer_ref]));

    // A renamed member shows its new name.
    store
        .replace(
            &t,
            ResourceKind::User,
            &plain.id,
            user_write("renamed"),
            None,
            at(1),
            Load::NONE,
        )
        .await
        .unwrap();
    let got = store
        .get(&t, ResourceKind::Group, &outer.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.members.unwrap()[0].display.as_deref(), Some("renamed"));
}

pub async fn deleting_a_member_updates_its_groups(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let alice = user(&store, &t, "alice").await;
    let bob = user(&store, &t, "bob").await;
    let g1 = group(&store, &t, "G1", &[&alice.id, &bob.id]).await;
    let g2 = group(&store, &t, "G2", &[&alice.id]).await;
    let g3 = group(&store, &t, "G3", &[&bob.id]).await;
    let before = store
        .changes_after(0, 1000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .seq;

    store
        .delete(&t, ResourceKind::User, &alice.id, None, at(9))
        .await
        .unwrap();

    for (g, members, version) in [
        (&g1, vec![bob.id.as_str()], 2),
        (&g2, vec![], 2),
        (&g3, vec![bob.id.as_str()], 1),
    ] {
        let got = store
            .get(&t, ResourceKind::Group, &g.id, Load::ALL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(member_ids(&got), members, "{}", g.body["displayName"]);
        assert_eq!(got.version, version, "{}", g.body["displayName"]);
        if version == 2 {
            assert_eq!(got.last_modified, at(9));
        }
    }
    let changes = store.changes_after(before, 1000).await.unwrap();
    let mut logged: Vec<(ResourceKind, String, ChangeOp, u64)> = changes
        .iter()
        .map(|c| (c.kind, c.resource_id.clone(), c.op, c.version))
        .collect();
    let deleted = logged.pop().unwrap();
    assert_eq!(
        deleted,
        (ResourceKind::User, alice.id.clone(), ChangeOp::Deleted, 2)
    );
    logged.sort_by(|a, b| a.1.cmp(&b.1));
    let mut expected = vec![
        (ResourceKind::Group, g1.id.clone(), ChangeOp::Updated, 2),
        (ResourceKind::Group, g2.id.clone(), ChangeOp::Updated, 2),
    ];
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(logged, expected);
}

pub async fn deleting_a_group_removes_its_memberships(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let alice = user(&store, &t, "alice").await;
    let inner = group(&store, &t, "Inner", &[&alice.id]).await;
    let outer = group(&store, &t, "Outer", &[&inner.id, &alice.id]).await;
    store
        .delete(&t, ResourceKind::Group, &inner.id, None, at(1))
        .await
        .unwrap();
    let alice = store
        .get(&t, ResourceKind::User, &alice.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    let groups: Vec<&str> = alice
        .groups
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.value.as_str())
        .collect();
    assert_eq!(groups, vec![outer.id.as_str()]);
    assert_eq!(
        alice.version, 1,
        "members are not bumped when their group goes"
    );
    let outer = store
        .get(&t, ResourceKind::Group, &outer.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (member_ids(&outer), outer.version),
        (vec![alice.id.as_str()], 2)
    );
}
