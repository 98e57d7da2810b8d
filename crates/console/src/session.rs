//! Signing in and out. Signing in with an admin token creates a *session token*: an ordinary
//! token of the same tenant and scopes, named `console session …`, expiring after
//! [`SESSION_TTL`] (or with the token signed in with, if sooner). Its secret lives only in an
//! HttpOnly, SameSite=Strict cookie scoped to `/ui` (Secure behind TLS). Sessions therefore work
//! on every replica, show up in the token list, and end for good when revoked: signing out
//! revokes it. The CSRF token of a session is derived from its secret, so it needs no storage.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use domain::{Scope, TokenInfo};
use rand::RngCore as _;
use serde::Deserialize;
use server::auth::{generate_token, hash_token, live_token, new_token_info};
use server::AppState;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::form::Posted;
use crate::page::{render, Chrome};

pub const SESSION_COOKIE: &str = "scimitar_session";
/// The cookie that carries the sign-in form's CSRF token before there is a session.
const LOGIN_COOKIE: &str = "scimitar_login";
/// How long a console session lasts.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(8 * 3600);
/// Session tokens are named with this prefix; only they are accepted from the cookie.
pub const SESSION_TOKEN_NAME: &str = "console session";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: server::auth::Principal,
    pub tenant_name: String,
    /// The form token every POST must carry.
    pub csrf: String,
    /// When the session ends.
    pub expires: Option<jiff::Timestamp>,
}

impl Session {
    /// Admins of the tenant `default` run the installation: they manage tenants.
    pub fn is_operator(&self) -> bool {
        self.tenant_name == "default"
    }

    pub fn chrome(&self, section: &'static str) -> Chrome {
        Chrome {
            csrf: self.csrf.clone(),
            tenant: self.tenant_name.clone(),
            operator: self.is_operator(),
            section,
            expires: self
                .expires
                .map(crate::page::short_time)
                .unwrap_or_default(),
        }
    }
}

/// The CSRF token belonging to a session secret (or to a sign-in form's nonce).
pub fn csrf_of(secret: &str) -> String {
    let digest = Sha256::digest(format!("scimitar console csrf\n{secret}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the console is reached over TLS (directly configured or behind a proxy saying so).
fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/ui; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why a request has no session; answered with the sign-in page.
#[derive(Debug)]
pub struct SignInRequired {
    next: String,
    page_load: bool,
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        let target = format!(
            "/ui/login?next={}",
            form_urlencoded::byte_serialize(self.next.as_bytes()).collect::<String>()
        );
        if self.page_load {
            return Redirect::to(&target).into_response();
        }
        // A form post or an htmx request: no redirect of a POST; say what to do.
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(
                "<!doctype html><title>Sign in required</title><p role=\"alert\">Your session \
                 has ended or you are not signed in. <a href=\"/ui/login\">Sign in</a> and try \
                 again.</p>",
            ),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", v);
        }
        response
    }
}

/// The session of a request, from its cookie: a live session token with the admin scope.
pub async fn session_of(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    let token = live_token(state, secret).await.ok()?;
    let live = token.name.starts_with(SESSION_TOKEN_NAME) && token.scopes.contains(&Scope::Admin);
    if !live {
        return None;
    }
    let tenant_name = tenant_name(state, &token.tenant_id).await;
    Some(Session {
        principal: server::auth::Principal {
            tenant_id: token.tenant_id,
            token_id: token.id,
            scopes: token.scopes,
        },
        tenant_name,
        csrf: csrf_of(secret),
        expires: token.expires,
    })
}

async fn tenant_name(state: &AppState, tenant_id: &str) -> String {
    state
        .store
        .list_tenants()
        .await
        .ok()
        .and_then(|ts| ts.into_iter().find(|t| t.id == tenant_id))
        .map_or_else(|| tenant_id.to_owned(), |t| t.name)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SignInRequired;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_of(state, &parts.headers).await {
            Some(s) => Ok(s),
            None => Err(SignInRequired {
                // Nested routers see the path without `/ui`; the original has it.
                next: parts
                    .extensions
                    .get::<axum::extract::OriginalUri>()
                    .and_then(|u| u.0.path_and_query())
                    .map_or("/ui", |p| p.as_str())
                    .to_owned(),
                page_load: parts.method == axum::http::Method::GET
                    && !parts.headers.contains_key("hx-request"),
            }),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Where to go after signing in: only a console path (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/ui".to_owned(),
    }
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    next: String,
    error: Option<String>,
) -> Response {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce);
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        render(&LoginPage {
            csrf: csrf_of(&nonce),
            next,
            error,
        }),
    )
        .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &nonce, 3600, is_https(state, headers)),
    );
    response
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextParam>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if session_of(&state, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_form(&state, &headers, next, None)
}

/// Checks an admin token for signing in; the message says what is wrong.
async fn sign_in_token(state: &AppState, secret: &str) -> Result<TokenInfo, String> {
    let token = live_token(state, secret.trim()).await.map_err(|e| {
        let (_, _, message) = e.parts();
        format!("{message}: paste an admin token as `scimitar token create` printed it")
    })?;
    if !token.scopes.contains(&Scope::Admin) {
        return Err("that token has no `admin` scope; the console needs an admin token".into());
    }
    Ok(token)
}

async fn login(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let fields = crate::form::Fields::parse(&body);
    let next = safe_next(fields.get("next"));
    let nonce_ok = cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|nonce| csrf_matches(&csrf_of(nonce), fields.get("csrf").unwrap_or("")));
    if !nonce_ok {
        return login_form(
            &state,
            &headers,
            next,
            Some("The sign-in form expired or did not come from this console; try again.".into()),
        );
    }
    let token = match sign_in_token(&state, fields.get("token").unwrap_or("")).await {
        Ok(t) => t,
        Err(message) => return login_form(&state, &headers, next, Some(message)),
    };
    let now = state.clock.now();
    let ttl = jiff::SignedDuration::try_from(SESSION_TTL).unwrap_or_default();
    let mut expires = now.checked_add(ttl).unwrap_or(now);
    if let Some(e) = token.expires {
        expires = expires.min(e);
    }
    let secret = generate_token();
    let name = format!("{SESSION_TOKEN_NAME} (signed in with {})", token.name);
    let info = new_token_info(
        &token.tenant_id,
        &name,
        &secret,
        token.scopes.clone(),
        now,
        Some(expires),
    );
    if let Err(e) = state.store.insert_token(&info).await {
        return login_form(
            &state,
            &headers,
            next,
            Some(format!("the session could not be stored: {e}")),
        );
    }
    tracing::info!(tenant = %token.tenant_id, token = %token.id, "console sign-in");
    let max_age = u64::try_from(expires.duration_since(now).as_secs()).unwrap_or(0);
    let secure = is_https(&state, &headers);
    let mut response = Redirect::to(&next).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &secret, max_age, secure),
    );
    h.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0, secure));
    response
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    let p = &posted.session.principal;
    if let Err(e) = state.store.revoke_token(&p.tenant_id, &p.token_id).await {
        tracing::warn!(error = %e, "revoking a console session failed");
    }
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.forget_token(&hash_token(secret));
    }
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, is_https(&state, &headers)),
    );
    response
}
