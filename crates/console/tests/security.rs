//! The console's doors: no page without a session, no form without its CSRF token, sessions
//! that end (sign-out, revocation, expiry), a sign-in that cannot be forged or redirected
//! elsewhere, headers that keep the pages in their own origin, and tokens managed through it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use domain::Scope;
use support::{q, Browser, Console};

/// Every page of the console (paths with made-up names: the session check comes first).
const PAGES: &[&str] = &[
    "/ui",
    "/ui/apps",
    "/ui/apps/new",
    "/ui/apps/peer",
    "/ui/apps/peer/progress",
    "/ui/apps/peer/connection",
    "/ui/apps/peer/mappings",
    "/ui/apps/peer/scope",
    "/ui/apps/peer/plan",
    "/ui/apps/peer/provision",
    "/ui/apps/peer/logs",
    "/ui/apps/peer/logs/1",
    "/ui/users",
    "/ui/users/u1",
    "/ui/groups",
    "/ui/groups/new",
    "/ui/groups/g1",
    "/ui/groups/g1/progress",
    "/ui/inbound",
    "/ui/inbound/r1",
    "/ui/schemas",
    "/ui/tokens",
    "/ui/tenants",
];

/// Every form of the console.
const FORMS: &[&str] = &[
    "/ui/logout",
    "/ui/tokens",
    "/ui/tokens/t1/revoke",
    "/ui/tokens/t1/rotate",
    "/ui/tenants",
    "/ui/apps",
    "/ui/apps/peer/approve",
    "/ui/apps/peer/reject",
    "/ui/apps/peer/restart",
    "/ui/apps/peer/enabled",
    "/ui/apps/peer/connection",
    "/ui/apps/peer/test",
    "/ui/apps/peer/mappings",
    "/ui/apps/peer/mappings/eval",
    "/ui/apps/peer/scope",
    "/ui/apps/peer/assign",
    "/ui/apps/peer/unassign",
    "/ui/apps/peer/explain",
    "/ui/apps/peer/provision",
    "/ui/users/u1",
    "/ui/users/u1/active",
    "/ui/groups",
    "/ui/groups/preview",
    "/ui/groups/g1/rule",
    "/ui/groups/g1/rule/remove",
    "/ui/groups/g1/explain",
    "/ui/schemas",
    "/ui/schemas/remove",
];

async fn assert_signed_out(b: &Browser, why: &str) {
    for path in PAGES {
        let page = b.get(path).await;
        assert_eq!(page.status, 303, "{why}: {path} answered {}", page.status);
        assert_eq!(
            page.location(),
            format!("/ui/login?next={}", q(path)),
            "{why}: {path}"
        );
    }
}

#[tokio::test]
async fn no_page_opens_without_a_live_session() {
    let c = Console::start().await;
    assert_signed_out(&c.anonymous(), "no session").await;

    // An API token is not a session, even in the session cookie.
    let forged = c.anonymous();
    forged.set_cookie(&format!("scimitar_session={}", c.token));
    assert_signed_out(&forged, "an API token as the cookie").await;

    // Signing out revokes the session token: the cookie is worth nothing afterwards.
    let b = c.browser().await;
    let stolen = b.cookie("scimitar_session").unwrap();
    b.get("/ui/apps").await.expect(200);
    b.submit("/ui/logout", &[]).await.expect(303);
    let replay = c.anonymous();
    replay.set_cookie(&format!("scimitar_session={stolen}"));
    assert_signed_out(&replay, "after sign-out").await;
    let sessions: Vec<_> = c
        .store
        .list_tokens(&c.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.name.starts_with("console session"))
        .collect();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].revoked, "sign-out revokes the session token");

    // Revoked by an admin elsewhere.
    let b = c.browser().await;
    let session = c
        .store
        .list_tokens(&c.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.starts_with("console session") && !t.revoked)
        .unwrap();
    c.store
        .revoke_token(&c.tenant.id, &session.id)
        .await
        .unwrap();
    assert_signed_out(&b, "revoked").await;

    // Expired: eight hours after signing in.
    let b = c.browser().await;
    c.clock.advance(8 * 3600 - 60);
    b.get("/ui/apps").await.expect(200);
    c.clock.advance(61);
    assert_signed_out(&b, "expired").await;
}

#[tokio::test]
async fn no_form_works_without_a_session_or_its_csrf_token() {
    let c = Console::start().await;
    let before = c.store.list_tokens(&c.tenant.id).await.unwrap().len();
    let fields = [
        ("name", "evil"),
        ("scope", "admin"),
        ("url", "http://127.0.0.1:9/scim"),
        ("displayName", "Evil"),
        ("rule", "user.department -eq \"x\""),
        ("enabled", "true"),
    ];
    let anonymous = c.anonymous();
    for path in FORMS {
        let page = anonymous.post(path, &fields).await;
        assert_eq!(page.status, 401, "{path} without a session");
    }
    let b = c.browser().await;
    for path in FORMS {
        let page = b.post(path, &fields).await;
        assert_eq!(
            page.status, 403,
            "{path} without a CSRF token: {}",
            page.html
        );
        page.has("Nothing was changed");
        let mut forged = fields.to_vec();
        forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let page = b.post(path, &forged).await;
        assert_eq!(page.status, 403, "{path} with a forged CSRF token");
        // Another session's token does not do either.
        let other = c.browser().await;
        let mut borrowed = fields.to_vec();
        borrowed.push(("csrf", other.csrf.as_str()));
        assert_eq!(b.post(path, &borrowed).await.status, 403, "{path}");
    }
    // Nothing changed: no token, tenant or app was made, the session still works.
    let tokens = c.store.list_tokens(&c.tenant.id).await.unwrap();
    assert!(tokens.iter().all(|t| t.name != "evil" && !t.revoked));
    assert_eq!(
        tokens
            .iter()
            .filter(|t| !t.name.starts_with("console session"))
            .count(),
        before
    );
    assert_eq!(c.store.list_tenants().await.unwrap().len(), 1);
    assert!(c.store.list_apps(None).await.unwrap().is_empty());
    b.get("/ui/tokens").await.expect(200);
}

#[tokio::test]
async fn sign_in_needs_an_admin_token_and_the_form_s_own_nonce() {
    let c = Console::start().await;
    let b = c.anonymous();
    let form = b.get("/ui/login").await;
    form.expect(200);
    // Each answer is a fresh form with a fresh nonce, as a browser would submit next.
    let mut nonce = form.csrf();
    for (token, says) in [
        ("scimitar_nonsense", "not valid"),
        ("", "not valid"),
        (
            &c.new_token("reader", &[Scope::ScimRead]).await[..],
            "no `admin` scope",
        ),
    ] {
        let page = b
            .post("/ui/login", &[("csrf", &nonce), ("token", token)])
            .await;
        assert_eq!(page.status, 401, "{says}");
        page.has(says);
        assert!(b.cookie("scimitar_session").is_none());
        nonce = page.csrf();
    }
    // A revoked admin token cannot sign in.
    let revoked = c.new_token("old admin", &Scope::ALL).await;
    let id = c
        .store
        .list_tokens(&c.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "old admin")
        .unwrap()
        .id;
    c.store.revoke_token(&c.tenant.id, &id).await.unwrap();
    let page = b
        .post("/ui/login", &[("csrf", &nonce), ("token", &revoked)])
        .await;
    page.expect(401).has("revoked");

    // A sign-in posted from elsewhere (no nonce cookie, or not its nonce) is refused.
    let elsewhere = c.anonymous();
    let page = elsewhere
        .post("/ui/login", &[("csrf", &nonce), ("token", &c.token)])
        .await;
    page.expect(401).has("did not come from this console");
    let page = b
        .post("/ui/login", &[("csrf", "forged"), ("token", &c.token)])
        .await;
    page.expect(401);
    assert!(b.cookie("scimitar_session").is_none());
    let nonce = page.csrf();

    // The session cookie: HttpOnly, SameSite=Strict, only for /ui; no open redirect.
    let page = b
        .post(
            "/ui/login",
            &[
                ("csrf", &nonce),
                ("token", &c.token),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    page.expect(303);
    assert_eq!(page.location(), "/ui");
    let set_cookie: Vec<&str> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set_cookie
        .iter()
        .find(|v| v.starts_with("scimitar_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=28800"] {
        assert!(
            session.contains(attribute),
            "{attribute} missing: {session}"
        );
    }
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");
}

#[tokio::test]
async fn the_cookie_is_secure_behind_tls() {
    let c = Console::start().await;
    let b = c.anonymous();
    let form = b
        .get_with("/ui/login", &[("x-forwarded-proto", "https")])
        .await;
    let nonce = form.csrf();
    let page = b
        .post_with(
            "/ui/login",
            &[("csrf", &nonce), ("token", &c.token)],
            &[("x-forwarded-proto", "https")],
        )
        .await;
    page.expect(303);
    let session = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("scimitar_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
}

#[tokio::test]
async fn pages_keep_to_their_own_origin() {
    let c = Console::start().await;
    let b = c.browser().await;
    for path in ["/ui/login", "/ui/tokens", "/ui/users"] {
        let page = b.get(path).await;
        let h = |name: &str| {
            page.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert!(
            h("content-security-policy").contains("script-src 'self'"),
            "{path}"
        );
        assert!(
            h("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("cache-control"), "no-store", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        // No inline script: everything runs from /ui/static.
        assert!(!page.html.contains("<script>"), "{path}");
    }
    let page = b.get("/ui/no/such/page").await;
    page.expect(404).has("There is no console page");
}

#[tokio::test]
async fn tokens_are_created_rotated_and_revoked_and_secrets_shown_once() {
    let c = Console::start().await;
    let b = c.browser().await;
    let page = b
        .submit(
            "/ui/tokens",
            &[
                ("name", "<script>alert(1)</script>"),
                ("scope", "scim:read"),
                ("days", "30"),
            ],
        )
        .await;
    page.expect(200).has("shown only once");
    page.lacks("<script>alert(1)</script>");
    let secret = support::between(&page.html, "id=\"secret\">", "<").to_owned();
    assert!(secret.starts_with("scimitar_"), "{secret}");
    let (status, _) = c.api_with(&secret, "/scim/v2/Users").await;
    assert_eq!(status, 200, "the new token reads");
    // Listed without its secret.
    let list = b.get("/ui/tokens").await;
    list.expect(200).lacks(&secret);
    let id = c
        .store
        .list_tokens(&c.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "<script>alert(1)</script>")
        .unwrap()
        .id;

    // Rotate, keeping the old one: both work; then rotate again revoking the old one.
    let page = b.submit(&format!("/ui/tokens/{id}/rotate"), &[]).await;
    page.expect(200).has("stays active");
    let second = support::between(&page.html, "id=\"secret\">", "<").to_owned();
    assert_ne!(second, secret);
    assert_eq!(c.api_with(&second, "/scim/v2/Users").await.0, 200);
    assert_eq!(c.api_with(&secret, "/scim/v2/Users").await.0, 200);
    let page = b
        .submit(&format!("/ui/tokens/{id}/rotate"), &[("revoke_old", "on")])
        .await;
    page.expect(200).has("The old token is revoked");
    assert_eq!(c.api_with(&secret, "/scim/v2/Users").await.0, 401);

    // Revoke.
    let second_id = c
        .store
        .list_tokens(&c.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.hash == server::auth::hash_token(&second))
        .unwrap()
        .id;
    b.submit(&format!("/ui/tokens/{second_id}/revoke"), &[])
        .await
        .expect(303);
    assert_eq!(c.api_with(&second, "/scim/v2/Users").await.0, 401);

    // A bad form says what is wrong and creates nothing.
    let n = c.store.list_tokens(&c.tenant.id).await.unwrap().len();
    b.submit("/ui/tokens", &[("name", "x")])
        .await
        .has("choose at least one scope");
    b.submit(
        "/ui/tokens",
        &[("name", "x"), ("scope", "admin"), ("days", "0")],
    )
    .await
    .has("whole number from 1 to 3650");
    assert_eq!(c.store.list_tokens(&c.tenant.id).await.unwrap().len(), n);
}

#[tokio::test]
async fn operators_manage_tenants_and_other_admins_only_their_own() {
    let c = Console::start().await;
    let op = c.browser().await;
    op.submit("/ui/tenants", &[("name", "acme")])
        .await
        .expect(303);
    let acme = c.store.tenant_by_name("acme").await.unwrap().unwrap();
    op.submit("/ui/tenants", &[("name", "acme")])
        .await
        .has("exists already");
    op.submit("/ui/tenants", &[("name", "no spaces")])
        .await
        .has("use 1-64 letters");
    let page = op
        .submit(
            "/ui/tokens",
            &[
                ("tenant", "acme"),
                ("name", "acme admin"),
                ("scope", "admin"),
            ],
        )
        .await;
    page.expect(200).has("Tokens of tenant <em>acme</em>");
    let acme_admin = support::between(&page.html, "id=\"secret\">", "<").to_owned();

    // The acme admin signs in to acme: no tenants page, no other tenant's tokens.
    let mut other = c.anonymous();
    other.sign_in(&acme_admin).await;
    other.get("/ui/tokens").await.expect(200).has("acme");
    other.get("/ui/tenants").await.expect(403);
    other.get("/ui/tokens?tenant=default").await.expect(403);
    other
        .submit(
            "/ui/tokens",
            &[("tenant", "default"), ("name", "x"), ("scope", "admin")],
        )
        .await
        .expect(403);
    other
        .submit("/ui/tenants", &[("name", "evil")])
        .await
        .expect(403);
    assert_eq!(c.store.list_tenants().await.unwrap().len(), 2);
    assert!(c
        .store
        .list_tokens(&acme.id)
        .await
        .unwrap()
        .iter()
        .any(|t| t.name == "acme admin"));
}
