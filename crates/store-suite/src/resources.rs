//! Create, read, replace and delete, with versions and uniqueness.

use std::sync::Arc;

use domain::{Error, Load, MembersChange, ResourceKind, Store, Write};
use serde_json::json;

use crate::support::*;

pub async fn user_round_trip(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let body = json!({
        "userName": "bjensen",
        "externalId": "e-1",
        "name": { "givenName": "Barbara" },
        "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true }],
    });
    let created = store
        .create(&t, write(ResourceKind::User, body), at(1))
        .await
        .unwrap();
    assert_eq!(created.kind, ResourceKind::User);
    assert_eq!(created.version, 1);
    assert_eq!(created.created, at(1));
    assert_eq!(created.last_modified, at(1));
    assert_eq!(created.body.get("userName"), Some(&json!("bjensen")));
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());

    let got = store
        .get(&t, ResourceKind::User, &created.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body, created.body);
    assert_eq!(
        (got.version, got.created, got.last_modified),
        (1, at(1), at(1))
    );
    assert_eq!(got.groups, Some(vec![]));
    assert_eq!(got.members, None);

    let unloaded = store
        .get(&t, ResourceKind::User, &created.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unloaded.groups, None);
}

pub async fn group_round_trip(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let alice = user(&store, &t, "alice").await;
    let created = group(&store, &t, "Sales", &[&alice.id]).await;
    assert_eq!(created.kind, ResourceKind::Group);
    assert_eq!(member_ids(&created), vec![alice.id.as_str()]);
    assert!(
        !created.body.contains_key("members"),
        "members live in rows, not in the body"
    );

    let got = store
        .get(&t, ResourceKind::Group, &created.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body.get("displayName"), Some(&json!("Sales")));
    assert_eq!(member_ids(&got), vec![alice.id.as_str()]);
    assert_eq!(got.groups, None);
}

pub async fn replace_round_trip(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let created = user(&store, &t, "bjensen").await;
    let body = json!({ "userName": "bjensen2", "title": "Boss" });
    let replaced = store
        .replace(
            &t,
            ResourceKind::User,
            &created.id,
            write(ResourceKind::User, body),
            None,
            at(5),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(replaced.id, created.id);
    assert_eq!(replaced.version, 2);
    assert_eq!((replaced.created, replaced.last_modified), (at(0), at(5)));
    assert_eq!(replaced.groups, Some(vec![]));

    let got = store
        .get(&t, ResourceKind::User, &created.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body.get("userName"), Some(&json!("bjensen2")));
    assert_eq!(got.body.get("title"), Some(&json!("Boss")));
    assert_eq!(
        (got.version, got.created, got.last_modified),
        (2, at(0), at(5))
    );

    // The old name is free again, the new one is taken.
    user(&store, &t, "bjensen").await;
    let err = store
        .create(&t, user_write("BJENSEN2"), at(6))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Uniqueness(_)), "{err:?}");
}

pub async fn delete_round_trip(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let created = user(&store, &t, "bjensen").await;
    store
        .delete(&t, ResourceKind::User, &created.id, None, at(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&t, ResourceKind::User, &created.id, Load::ALL)
            .await
            .unwrap(),
        None
    );
    // The name can be reused.
    user(&store, &t, "bjensen").await;
}

pub async fn missing_resources_are_not_found(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    assert_eq!(
        store
            .get(&t, ResourceKind::User, "nope", Load::ALL)
            .await
            .unwrap(),
        None
    );
    let err = store
        .replace(
            &t,
            ResourceKind::User,
            "nope",
            user_write("x"),
            None,
            at(1),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "User `nope` not found");
    assert!(matches!(err, Error::NotFound(_)));
    let err = store
        .delete(&t, ResourceKind::Group, "nope", None, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), "Group `nope` not found");
}

pub async fn versions_are_checked(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let u = user(&store, &t, "bjensen").await;
    let v2 = store
        .replace(
            &t,
            ResourceKind::User,
            &u.id,
            user_write("bjensen2"),
            Some(1),
            at(1),
            Load::NONE,
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let err = store
        .replace(
            &t,
            ResourceKind::User,
            &u.id,
            user_write("bjensen"),
            Some(1),
            at(2),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        r#"version W/"1" is not current (now W/"2")"#
    );

    let err = store
        .delete(&t, ResourceKind::User, &u.id, Some(3), at(3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed(_)), "{err:?}");
    assert!(store
        .get(&t, ResourceKind::User, &u.id, Load::NONE)
        .await
        .unwrap()
        .is_some());
    store
        .delete(&t, ResourceKind::User, &u.id, Some(2), at(3))
        .await
        .unwrap();
}

pub async fn a_write_that_changes_nothing_keeps_the_version(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let u = user(&store, &t, "bjensen").await;
    let g = store
        .create(&t, group_write("G", &[&u.id]), at(0))
        .await
        .unwrap();
    let before = store.changes_after(0, 100).await.unwrap().len();
    let same = store
        .replace(
            &t,
            ResourceKind::User,
            &u.id,
            user_write("bjensen"),
            None,
            at(5),
            Load::NONE,
        )
        .await
        .unwrap();
    assert_eq!((same.version, same.last_modified), (1, at(0)));
    // Re-adding a present member (Entra does this) changes no row either.
    let readd = Write {
        members: MembersChange::Delta {
            add: vec![u.id.clone()],
            remove: vec![],
        },
        ..group_write("G", &[])
    };
    let same = store
        .replace(
            &t,
            ResourceKind::Group,
            &g.id,
            readd,
            None,
            at(5),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(same.version, 1);
    assert_eq!(same.members.unwrap().len(), 1);
    assert_eq!(store.changes_after(0, 100).await.unwrap().len(), before);
}

pub async fn user_name_is_unique_case_insensitively(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let first = user(&store, &t, "bjensen").await;
    let err = store
        .create(&t, user_write("BJensen"), at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Uniqueness(_)), "{err:?}");
    assert_eq!(err.to_string(), "userName `BJensen` is already taken");

    // Replacing into a taken name fails too; renaming oneself in another case does not.
    let other = user(&store, &t, "other").await;
    let err = store
        .replace(
            &t,
            ResourceKind::User,
            &other.id,
            user_write("BJENSEN"),
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Uniqueness(_)), "{err:?}");
    store
        .replace(
            &t,
            ResourceKind::User,
            &first.id,
            user_write("BJENSEN"),
            None,
            at(2),
            Load::NONE,
        )
        .await
        .unwrap();
    // A failed write changes nothing.
    let other = store
        .get(&t, ResourceKind::User, &other.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (other.version, other.body.get("userName")),
        (1, Some(&json!("other")))
    );

    // Other tenants and groups do not share the namespace.
    let t2 = tenant(&store, "other").await;
    user(&store, &t2, "bjensen").await;
    group(&store, &t, "bjensen", &[]).await;
}

pub async fn group_display_name_is_unique_case_insensitively(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    group(&store, &t, "Sales", &[]).await;
    let err = store
        .create(&t, group_write("SALES", &[]), at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Uniqueness(_)), "{err:?}");
    assert_eq!(err.to_string(), "displayName `SALES` is already taken");

    // Users may share a displayName.
    let body = json!({ "userName": "a", "displayName": "Same" });
    store
        .create(&t, write(ResourceKind::User, body), at(1))
        .await
        .unwrap();
    let body = json!({ "userName": "b", "displayName": "Same" });
    store
        .create(&t, write(ResourceKind::User, body), at(1))
        .await
        .unwrap();
}

pub async fn kind_is_part_of_identity(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let u = user(&store, &t, "bjensen").await;
    assert_eq!(
        store
            .get(&t, ResourceKind::Group, &u.id, Load::ALL)
            .await
            .unwrap(),
        None
    );
    let err = store
        .delete(&t, ResourceKind::Group, &u.id, None, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let err = store
        .replace(
            &t,
            ResourceKind::Group,
            &u.id,
            user_write("x"),
            None,
            at(1),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidValue(_) | Error::NotFound(_)),
        "{err:?}"
    );
}
