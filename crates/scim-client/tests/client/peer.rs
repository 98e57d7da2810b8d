//! The real peer: `scim2-server` from the venv that `.ci/peers-venv` creates (`.ci/test` runs it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use domain::target::Target;
use domain::ResourceKind;
use scim_client::Credentials;
use serde_json::{json, Value};

use crate::{client, config};

/// A running `scim2-server`, killed on drop.
pub struct Peer {
    child: Child,
    pub base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_peer() -> Peer {
    start_peer_with(&[]).await
}

pub async fn start_peer_with(extra: &[&str]) -> Peer {
    let home = std::env::var("HOME").expect("HOME is set");
    let bin = PathBuf::from(home).join(".cache/scim-peers-venv/bin/scim2-server");
    assert!(
        bin.exists(),
        "{} is missing: run .ci/peers-venv (at the repository root) once to create the \
         SCIM peers venv",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peer = Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = format!("{}/ServiceProviderConfig", peer.base);
        // Any HTTP answer (a 401 when a bearer token is required) means it is up.
        if let Ok(r) = probe.get(&url).send().await {
            if r.status().is_success() || r.status().as_u16() == 401 {
                return peer;
            }
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("scim2-server exited before answering: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "scim2-server did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "displayName": "Ada Lovelace",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "ada@example.com"}],
    })
}

#[tokio::test]
async fn user_lifecycle_against_scim2_server() {
    let peer = start_peer().await;
    let c = client(&peer.base);
    let kind = ResourceKind::User;

    // A userName that needs both JSON escaping in the filter and URL encoding.
    let name = r#"ada "the countess" lovelace+1@example.com"#;
    let created = c.create(kind, &user(name)).await.unwrap();
    assert_eq!(created.body["userName"], name);

    let hits = c.find(kind, "userName", name).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, created.id);
    assert!(c.find(kind, "userName", "nobody").await.unwrap().is_empty());

    let got = c.get(kind, &created.id).await.unwrap().unwrap();
    assert_eq!(got.body["displayName"], "Ada Lovelace");

    c.patch(
        kind,
        &created.id,
        &[
            json!({"op": "replace", "path": "displayName", "value": "Countess of Lovelace"}),
            json!({"op": "replace", "path": "active", "value": false}),
        ],
    )
    .await
    .unwrap();
    let got = c.get(kind, &created.id).await.unwrap().unwrap();
    assert_eq!(got.body["displayName"], "Countess of Lovelace");
    assert_eq!(got.body["active"], false);

    let mut body = user(name);
    body["displayName"] = json!("Augusta Ada King");
    let replaced = c.replace(kind, &created.id, &body).await.unwrap();
    assert_eq!(replaced.id, created.id);
    assert_eq!(replaced.body["displayName"], "Augusta Ada King");

    c.delete(kind, &created.id).await.unwrap();
    assert_eq!(c.get(kind, &created.id).await.unwrap(), None);
    assert!(c.find(kind, "userName", name).await.unwrap().is_empty());

    // A second create of the same userName is a conflict.
    c.create(kind, &user("dup")).await.unwrap();
    let err = c.create(kind, &user("dup")).await.unwrap_err();
    assert_eq!(err.kind, domain::target::TargetErrorKind::Conflict, "{err}");
}

#[tokio::test]
async fn group_members_against_scim2_server() {
    let peer = start_peer().await;
    let c = client(&peer.base);
    let mut full = config(&peer.base, Credentials::None);
    full.exclude_group_members = false;
    let reader = scim_client::ScimClient::new(full).unwrap();

    let u1 = c.create(ResourceKind::User, &user("grace")).await.unwrap();
    let u2 = c.create(ResourceKind::User, &user("alan")).await.unwrap();
    let group = c
        .create(
            ResourceKind::Group,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
            }),
        )
        .await
        .unwrap();
    let found = c
        .find(ResourceKind::Group, "displayName", "Engineering")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, group.id);

    c.patch(
        ResourceKind::Group,
        &group.id,
        &[json!({"op": "add", "path": "members", "value": [{"value": u1.id}, {"value": u2.id}]})],
    )
    .await
    .unwrap();
    let members = |g: &domain::target::TargetResource| {
        let mut ids: Vec<String> = g.body["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    let got = reader
        .get(ResourceKind::Group, &group.id)
        .await
        .unwrap()
        .unwrap();
    let mut both = vec![u1.id.clone(), u2.id.clone()];
    both.sort();
    assert_eq!(members(&got), both);

    // Reads that exclude members (the default, as Entra does) do not carry them.
    let slim = c
        .get(ResourceKind::Group, &group.id)
        .await
        .unwrap()
        .unwrap();
    assert!(slim.body.get("members").is_none(), "{}", slim.body);

    c.patch(
        ResourceKind::Group,
        &group.id,
        &[json!({"op": "remove", "path": format!("members[value eq \"{}\"]", u1.id)})],
    )
    .await
    .unwrap();
    let got = reader
        .get(ResourceKind::Group, &group.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(members(&got), vec![u2.id.clone()]);
}

#[tokio::test]
async fn bearer_token_against_scim2_server() {
    let peer = start_peer_with(&["--bearer-token", "s3cret-token"]).await;
    let good = scim_client::ScimClient::new(config(
        &peer.base,
        Credentials::Bearer("s3cret-token".into()),
    ))
    .unwrap();
    let made = good
        .create(ResourceKind::User, &user("barbara"))
        .await
        .unwrap();
    assert_eq!(
        good.find(ResourceKind::User, "userName", "barbara")
            .await
            .unwrap()[0]
            .id,
        made.id
    );

    let bad = scim_client::ScimClient::new(config(&peer.base, Credentials::Bearer("wrong".into())))
        .unwrap();
    let err = bad.get(ResourceKind::User, &made.id).await.unwrap_err();
    assert_eq!(
        err.kind,
        domain::target::TargetErrorKind::Unauthorized,
        "{err}"
    );
    assert!(
        !err.message.contains("wrong") && !err.message.contains("s3cret"),
        "{}",
        err.message
    );
}
