//! The change log: one entry per write, in commit order.

use std::sync::Arc;

use domain::{ChangeOp, Load, MembersChange, ResourceKind, Store, Write};

use crate::support::*;

pub async fn one_change_per_write_in_order(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let u = store.create(&t, user_write("u"), at(1)).await.unwrap();
    let g = store
        .create(&t, group_write("g", &[]), at(2))
        .await
        .unwrap();
    let add = Write {
        members: MembersChange::Delta {
            add: vec![u.id.clone()],
            remove: vec![],
        },
        ..group_write("g", &[])
    };
    store
        .replace(&t, ResourceKind::Group, &g.id, add, None, at(3), Load::NONE)
        .await
        .unwrap();
    store
        .replace(
            &t,
            ResourceKind::User,
            &u.id,
            user_write("u2"),
            None,
            at(4),
            Load::NONE,
        )
        .await
        .unwrap();
    store
        .delete(&t, ResourceKind::Group, &g.id, None, at(5))
        .await
        .unwrap();
    // Failed writes log nothing.
    assert!(store.create(&t, user_write("U2"), at(6)).await.is_err());

    let changes = store.changes_after(0, 100).await.unwrap();
    let got: Vec<_> = changes
        .iter()
        .map(|c| {
            (
                c.tenant_id.as_str(),
                c.kind,
                c.resource_id.as_str(),
                c.op,
                c.version,
                c.at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                t.as_str(),
                ResourceKind::User,
                u.id.as_str(),
                ChangeOp::Created,
                1,
                at(1)
            ),
            (
                t.as_str(),
                ResourceKind::Group,
                g.id.as_str(),
                ChangeOp::Created,
                1,
                at(2)
            ),
            (
                t.as_str(),
                ResourceKind::Group,
                g.id.as_str(),
                ChangeOp::Updated,
                2,
                at(3)
            ),
            (
                t.as_str(),
                ResourceKind::User,
                u.id.as_str(),
                ChangeOp::Updated,
                2,
                at(4)
            ),
            (
                t.as_str(),
                ResourceKind::Group,
                g.id.as_str(),
                ChangeOp::Deleted,
                3,
                at(5)
            ),
        ]
    );
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
}

pub async fn changes_after_pages(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    for i in 0..25 {
        user(&store, &t, &format!("u{i}")).await;
    }
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.changes_after(after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().unwrap().seq;
        seen.extend(page.into_iter().map(|c| c.resource_id));
    }
    assert_eq!(seen.len(), 25);
    seen.dedup();
    assert_eq!(seen.len(), 25);
}
