//! Listing: index lookups and scans, paging, sorting, cursors.

use std::collections::HashSet;
use std::sync::Arc;

use domain::{Error, Load, Query, ResourceKind, Store};
use serde_json::json;

use crate::support::*;

async fn users(store: &Arc<dyn Store>, t: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(user(store, t, &format!("user{i:04}")).await.id);
    }
    ids
}

pub async fn no_filter_pages_by_start_index(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let all = users(&store, &t, 1000).await;
    group(&store, &t, "not a user", &[]).await;
    let registry = registry();
    let schema = registry.info(ResourceKind::User);
    for (start_index, count, expected) in [
        (1, 10, &all[0..10]),
        (995, 10, &all[994..1000]),
        (1000, 1, &all[999..1000]),
        (1001, 10, &all[1000..]),
        (0, 3, &all[0..3]), // below 1 is taken as 1
        (1, 5000, &all[..]),
    ] {
        let q = Query {
            start_index,
            count,
            ..list(None)
        };
        let page = store
            .query(&t, ResourceKind::User, &q, &schema)
            .await
            .unwrap();
        assert_eq!(page.total, 1000);
        let got: Vec<String> = page.resources.into_iter().map(|r| r.id).collect();
        assert_eq!(got, expected, "startIndex={start_index} count={count}");
        assert_eq!((page.next_cursor, page.previous_cursor), (None, None));
    }
    // The same windows through a filter that must be scanned.
    let q = Query {
        start_index: 101,
        count: 50,
        ..list(Some(r#"userName sw "user""#))
    };
    let page = store
        .query(&t, ResourceKind::User, &q, &schema)
        .await
        .unwrap();
    assert_eq!(page.total, 1000);
    let got: Vec<String> = page.resources.into_iter().map(|r| r.id).collect();
    assert_eq!(got, &all[100..150]);
}

pub async fn pushdown_and_scan_agree(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "other").await;
    let bodies = [
        json!({"userName": "bjensen", "externalId": "e-1", "displayName": "Barbara Jensen", "title": "Boss",
               "emails": [{"value": "BJ@example.com", "type": "work"}, {"value": "home@example.com", "type": "home"}]}),
        json!({"userName": "BJensen2", "externalId": "E-1", "displayName": "barbara jensen",
               "emails": [{"value": "home@example.com", "type": "work"}]}),
        json!({"userName": "carol", "externalId": "e-3", "emails": [{"value": "bj@EXAMPLE.com", "type": "home"}]}),
    ];
    let mut ids = Vec::new();
    for body in bodies.iter() {
        ids.push(
            store
                .create(&t, write(ResourceKind::User, body.clone()), at(0))
                .await
                .unwrap()
                .id,
        );
        store
            .create(&other, write(ResourceKind::User, body.clone()), at(0))
            .await
            .unwrap();
    }
    let sales = group(&store, &t, "Sales", &[&ids[0]]).await.id;
    group(&store, &t, "Marketing", &[]).await;
    group(&store, &other, "Sales", &[]).await;

    let user_filters = vec![
        r#"userName eq "BJENSEN""#.to_owned(),
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#.to_owned(),
        r#"userName eq "nobody""#.to_owned(),
        r#"externalId eq "e-1""#.to_owned(),
        r#"externalId eq "E-1""#.to_owned(),
        format!(r#"id eq "{}""#, ids[1]),
        r#"id eq "nope""#.to_owned(),
        r#"displayName eq "BARBARA JENSEN""#.to_owned(),
        r#"emails eq "bj@example.com""#.to_owned(),
        r#"emails.value eq "HOME@example.com""#.to_owned(),
        r#"emails[type eq "work" and value eq "bj@example.com"]"#.to_owned(),
        r#"emails[type eq "work" and value eq "home@example.com"]"#.to_owned(),
        r#"userName eq "bjensen" and title eq "Boss""#.to_owned(),
        r#"title eq "Boss" and displayName eq "barbara jensen""#.to_owned(),
        r#"emails[type eq "home"].value eq "bj@example.com""#.to_owned(),
    ];
    let group_filters = vec![
        r#"displayName eq "sales""#.to_owned(),
        format!(r#"id eq "{sales}""#),
        format!(r#"displayName eq "Sales" and members eq "{}""#, ids[0]),
        format!(r#"displayName eq "Marketing" and members eq "{}""#, ids[0]),
    ];
    let mut matched_any = 0;
    for (kind, filters) in [
        (ResourceKind::User, user_filters),
        (ResourceKind::Group, group_filters),
    ] {
        for filter in filters {
            // Entra's `emails[type eq "work"].value eq` form only if the parser accepts it.
            if scim_filter::parse_filter(&filter).is_err() {
                continue;
            }
            // `F or F` means F but defeats every index lookup.
            let scanned = format!("({filter}) or ({filter})");
            let pushed = ids_of(&store, &t, kind, &filter).await;
            assert_eq!(pushed, ids_of(&store, &t, kind, &scanned).await, "{filter}");
            matched_any += usize::from(!pushed.is_empty());
        }
    }
    assert!(
        matched_any >= 10,
        "the filters should mostly match something"
    );
    // Spot checks of the semantics.
    assert_eq!(
        ids_of(&store, &t, ResourceKind::User, r#"userName eq "BJENSEN""#).await,
        vec![ids[0].clone()]
    );
    assert_eq!(
        ids_of(&store, &t, ResourceKind::User, r#"externalId eq "E-1""#).await,
        vec![ids[1].clone()]
    );
    assert_eq!(
        ids_of(
            &store,
            &t,
            ResourceKind::User,
            r#"emails eq "bj@example.com""#
        )
        .await,
        vec![ids[0].clone(), ids[2].clone()]
    );
    assert_eq!(
        ids_of(
            &store,
            &t,
            ResourceKind::User,
            r#"emails[type eq "work" and value eq "bj@example.com"]"#
        )
        .await,
        vec![ids[0].clone()]
    );
}

async fn ids_of(store: &Arc<dyn Store>, t: &str, kind: ResourceKind, filter: &str) -> Vec<String> {
    ids(store, t, kind, &list(Some(filter))).await
}

pub async fn filters_that_scan(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let a = store
        .create(
            &t,
            write(
                ResourceKind::User,
                json!({"userName": "a", "title": "Boss", "active": true}),
            ),
            at(1),
        )
        .await
        .unwrap();
    let b = store
        .create(
            &t,
            write(
                ResourceKind::User,
                json!({"userName": "b", "active": false}),
            ),
            at(2),
        )
        .await
        .unwrap();
    let g = group(&store, &t, "G", &[&b.id]).await;
    assert_eq!(
        ids_of(&store, &t, ResourceKind::User, "title pr").await,
        vec![a.id.clone()]
    );
    assert_eq!(
        ids_of(&store, &t, ResourceKind::User, "active eq false").await,
        vec![b.id.clone()]
    );
    assert_eq!(
        ids_of(
            &store,
            &t,
            ResourceKind::User,
            r#"meta.lastModified gt "2023-11-14T22:13:21Z""#
        )
        .await,
        vec![b.id.clone()]
    );
    assert_eq!(
        ids_of(
            &store,
            &t,
            ResourceKind::User,
            r#"meta.resourceType eq "User""#
        )
        .await
        .len(),
        2
    );
    let by_member = format!(r#"members[value eq "{}"]"#, b.id);
    assert_eq!(
        ids_of(&store, &t, ResourceKind::Group, &by_member).await,
        vec![g.id.clone()]
    );
    let by_group = format!(r#"groups eq "{}""#, g.id);
    assert_eq!(
        ids_of(&store, &t, ResourceKind::User, &by_group).await,
        vec![b.id.clone()]
    );
    // Loaded members still follow `load`.
    let q = Query {
        load: Load::ALL,
        ..list(Some(&by_member))
    };
    let page = store
        .query(
            &t,
            ResourceKind::Group,
            &q,
            &registry().info(ResourceKind::Group),
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&page.resources[0]), vec![b.id.as_str()]);
}

pub async fn sorting(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let mut by_name = Vec::new();
    for (user_name, family) in [
        ("c", Some("Zed")),
        ("a", None),
        ("b", Some("adams")),
        ("d", Some("Adams")),
        ("e", None),
    ] {
        let mut body = json!({ "userName": user_name });
        if let Some(family) = family {
            body["name"] = json!({ "familyName": family });
        }
        by_name.push((
            user_name,
            store
                .create(&t, write(ResourceKind::User, body), at(0))
                .await
                .unwrap()
                .id,
        ));
    }
    let id = |name: &str| by_name.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    let sorted = |path: &str, descending: bool, filter: Option<&str>| Query {
        sort_by: Some(scim_filter::parse_attr_path(path).unwrap()),
        descending,
        ..list(filter)
    };

    let q = sorted("userName", false, None);
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &q).await,
        ["a", "b", "c", "d", "e"].map(id)
    );
    let q = sorted("USERNAME", true, None);
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &q).await,
        ["e", "d", "c", "b", "a"].map(id)
    );
    // Missing values last either way; case-insensitive ties keep creation order.
    let q = sorted("name.familyName", false, None);
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &q).await,
        ["b", "d", "c", "a", "e"].map(id)
    );
    let q = sorted("name.familyName", true, None);
    assert_eq!(
        ids(&store, &t, ResourceKind::User, &q).await,
        ["c", "b", "d", "a", "e"].map(id)
    );
    // With a filter and a window.
    let q = Query {
        start_index: 2,
        count: 2,
        ..sorted("userName", true, Some("name.familyName pr"))
    };
    let registry = registry();
    let page = store
        .query(
            &t,
            ResourceKind::User,
            &q,
            &registry.info(ResourceKind::User),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    let got: Vec<String> = page.resources.into_iter().map(|r| r.id).collect();
    assert_eq!(got, ["c", "b"].map(id));
}

/// Follows `next_cursor` from the start; returns every id seen, in order.
async fn walk(store: &Arc<dyn Store>, t: &str, mut q: Query, expected_total: u64) -> Vec<String> {
    let registry = registry();
    let schema = registry.info(ResourceKind::User);
    q.cursor = Some(String::new());
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let page = store
            .query(t, ResourceKind::User, &q, &schema)
            .await
            .unwrap();
        assert_eq!(page.total, expected_total);
        assert!(page.resources.len() as u64 <= q.count);
        seen.extend(page.resources.into_iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => q.cursor = Some(next),
            None => return seen,
        }
    }
    panic!("cursor paging did not end");
}

pub async fn cursor_paging_visits_everything_once(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let all = users(&store, &t, 53).await;
    let every = |seen: &[String]| {
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a resource was visited twice");
    };

    let seen = walk(
        &store,
        &t,
        Query {
            count: 7,
            ..list(None)
        },
        53,
    )
    .await;
    every(&seen);
    assert_eq!(seen, all);

    let seen = walk(
        &store,
        &t,
        Query {
            count: 10,
            ..list(Some(r#"userName ew "1""#))
        },
        6,
    )
    .await;
    every(&seen);
    assert_eq!(seen, [1, 11, 21, 31, 41, 51].map(|i| all[i].clone()));

    let q = Query {
        count: 5,
        descending: true,
        sort_by: Some(scim_filter::parse_attr_path("userName").unwrap()),
        ..list(None)
    };
    let seen = walk(&store, &t, q, 53).await;
    every(&seen);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(seen, reversed);

    // Exactly one full page: no next cursor after it.
    let seen = walk(
        &store,
        &t,
        Query {
            count: 53,
            ..list(None)
        },
        53,
    )
    .await;
    assert_eq!(seen.len(), 53);

    // Resources created while paging are seen once, at the end.
    let registry = registry();
    let schema = registry.info(ResourceKind::User);
    let q = Query {
        count: 50,
        cursor: Some(String::new()),
        ..list(None)
    };
    let first = store
        .query(&t, ResourceKind::User, &q, &schema)
        .await
        .unwrap();
    let late = user(&store, &t, "late").await.id;
    let q = Query {
        cursor: first.next_cursor.clone(),
        ..q
    };
    let second = store
        .query(&t, ResourceKind::User, &q, &schema)
        .await
        .unwrap();
    let got: Vec<String> = second.resources.into_iter().map(|r| r.id).collect();
    assert_eq!(got, [&all[50..], &[late]].concat());
    assert_eq!(second.next_cursor, None);
}

pub async fn invalid_cursor_is_rejected(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    users(&store, &t, 3).await;
    let registry = registry();
    let schema = registry.info(ResourceKind::User);
    for cursor in ["garbage", "zz", "a", "a-1"] {
        let q = Query {
            cursor: Some(cursor.into()),
            ..list(None)
        };
        let err = store
            .query(&t, ResourceKind::User, &q, &schema)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidValue(ref m) if m == "invalid cursor"),
            "{cursor}: {err:?}"
        );
    }
    // A cursor of an unsorted list is not one of a sorted list.
    let q = Query {
        count: 1,
        cursor: Some(String::new()),
        ..list(None)
    };
    let next = store
        .query(&t, ResourceKind::User, &q, &schema)
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    let q = Query {
        cursor: Some(next),
        sort_by: Some(scim_filter::parse_attr_path("userName").unwrap()),
        ..q
    };
    let err = store
        .query(&t, ResourceKind::User, &q, &schema)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue(_)), "{err:?}");
}

pub async fn count_zero_gives_only_the_total(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    users(&store, &t, 4).await;
    let registry = registry();
    let schema = registry.info(ResourceKind::User);
    for filter in [None, Some(r#"userName sw "user""#)] {
        let q = Query {
            count: 0,
            ..list(filter)
        };
        let page = store
            .query(&t, ResourceKind::User, &q, &schema)
            .await
            .unwrap();
        assert_eq!((page.total, page.resources.len()), (4, 0), "{filter:?}");
    }
}
