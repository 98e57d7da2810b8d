//! Tenants, tokens, extension schemas, and the isolation of one tenant's data from another's.

use std::sync::Arc;

use domain::{Error, Load, MembersChange, ResourceKind, Scope, Store, TokenInfo, Write};

use crate::support::*;

pub async fn tenants(store: Arc<dyn Store>) {
    let acme = store.create_tenant("acme").await.unwrap();
    let err = store.create_tenant("acme").await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let beta = store.create_tenant("beta").await.unwrap();
    assert_eq!(
        store.tenant_by_name("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.tenant_by_name("nope").await.unwrap(), None);
    let mut names: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(names, ["acme", "beta"]);
    assert_ne!(acme.id, beta.id);
}

fn token(id: &str, tenant_id: &str, byte: u8) -> TokenInfo {
    TokenInfo {
        id: id.into(),
        tenant_id: tenant_id.into(),
        name: format!("token {id}"),
        hash: [byte; 32],
        scopes: vec![Scope::ScimRead, Scope::Admin],
        created: at(0),
        expires: Some(at(3600)),
        revoked: false,
    }
}

pub async fn tokens(store: Arc<dyn Store>) {
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let ta = token("ta", &a, 1);
    let tb = TokenInfo {
        expires: None,
        scopes: vec![Scope::ScimWrite],
        ..token("tb", &b, 2)
    };
    store.insert_token(&ta).await.unwrap();
    store.insert_token(&tb).await.unwrap();

    assert_eq!(
        store.token_by_hash(&[1; 32]).await.unwrap(),
        Some(ta.clone())
    );
    assert_eq!(
        store.token_by_hash(&[2; 32]).await.unwrap(),
        Some(tb.clone())
    );
    assert_eq!(store.token_by_hash(&[3; 32]).await.unwrap(), None);
    assert_eq!(store.list_tokens(&a).await.unwrap(), vec![ta.clone()]);

    // Revoking through the wrong tenant finds nothing.
    let err = store.revoke_token(&b, "ta").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(
        !store
            .token_by_hash(&[1; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    store.revoke_token(&a, "ta").await.unwrap();
    assert!(
        store
            .token_by_hash(&[1; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    let err = store.revoke_token(&a, "nope").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

pub async fn extension_schemas(store: Arc<dyn Store>) {
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let uri = "urn:example:params:scim:schemas:extension:acme:2.0:User";
    store
        .put_extension_schema(&a, uri, r#"{"v":1}"#)
        .await
        .unwrap();
    store
        .put_extension_schema(&a, &uri.to_uppercase(), r#"{"v":2}"#)
        .await
        .unwrap();
    assert_eq!(
        store.extension_schemas(&a).await.unwrap(),
        vec![r#"{"v":2}"#.to_owned()]
    );
    assert!(store.extension_schemas(&b).await.unwrap().is_empty());
    assert!(store.delete_extension_schema(&b, uri).await.is_err());
    assert_eq!(store.extension_schemas(&a).await.unwrap().len(), 1);
    store.delete_extension_schema(&a, uri).await.unwrap();
    assert!(store.extension_schemas(&a).await.unwrap().is_empty());
}

pub async fn resources_are_isolated_by_tenant(store: Arc<dyn Store>) {
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let ua = user(&store, &a, "shared").await;
    let ga = group(&store, &a, "Shared", &[&ua.id]).await;
    let ub = user(&store, &b, "shared").await;
    let gb = group(&store, &b, "Shared", &[]).await;

    // get
    assert_eq!(
        store
            .get(&b, ResourceKind::User, &ua.id, Load::ALL)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(&b, ResourceKind::Group, &ga.id, Load::ALL)
            .await
            .unwrap(),
        None
    );
    // replace
    let err = store
        .replace(
            &b,
            ResourceKind::User,
            &ua.id,
            user_write("x"),
            None,
            at(1),
            Load::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // delete
    let err = store
        .delete(&b, ResourceKind::Group, &ga.id, None, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // membership references across tenants are dangling: skipped, never linked
    let other = store
        .create(&b, group_write("Other", &[&ua.id]), at(1))
        .await
        .unwrap();
    assert_eq!(other.members, Some(vec![]));
    store
        .delete(&b, ResourceKind::Group, &other.id, None, at(1))
        .await
        .unwrap();
    let delta = Write {
        members: MembersChange::Delta {
            add: vec![ua.id.clone()],
            remove: vec![],
        },
        ..group_write("Shared", &[])
    };
    let after = store
        .replace(
            &b,
            ResourceKind::Group,
            &gb.id,
            delta,
            None,
            at(1),
            Load::ALL,
        )
        .await
        .unwrap();
    assert_eq!(after.members, Some(vec![]));
    // query, with and without index lookups
    let by_id = format!("id eq \"{}\"", ua.id);
    let by_name = r#"userName eq "shared""#;
    let by_member = format!("members eq \"{}\"", ua.id);
    for (kind, filter, expected) in [
        (ResourceKind::User, None, vec![ub.id.clone()]),
        (ResourceKind::User, Some(by_id.as_str()), vec![]),
        (ResourceKind::User, Some(by_name), vec![ub.id.clone()]),
        (ResourceKind::Group, None, vec![gb.id.clone()]),
        (
            ResourceKind::Group,
            Some(r#"displayName eq "shared""#),
            vec![gb.id.clone()],
        ),
        (ResourceKind::Group, Some(by_member.as_str()), vec![]),
    ] {
        assert_eq!(
            ids(&store, &b, kind, &list(filter)).await,
            expected,
            "{filter:?}"
        );
    }
    // nothing of a was touched
    let ga = store
        .get(&a, ResourceKind::Group, &ga.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ga.version, member_ids(&ga)), (1, vec![ua.id.as_str()]));
    let ua2 = store
        .get(&a, ResourceKind::User, &ua.id, Load::NONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ua2.version, 1);
    // the user of b reaches no group of a
    let ub = store
        .get(&b, ResourceKind::User, &ub.id, Load::ALL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ub.groups, Some(vec![]));
}
