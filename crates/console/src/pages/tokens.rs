//! Tenants and tokens. Every admin manages the tokens of their own tenant; admins of the
//! tenant `default` (the operator) also create tenants and manage any tenant's tokens.
//! A new or rotated token's secret is shown once, on the answer to the POST that made it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::Router;
use domain::{Error, Scope, Tenant, TokenInfo};
use serde::Deserialize;
use server::auth::{generate_token, new_token_info};
use server::AppState;

use crate::form::Posted;
use crate::page::{render, see_other, seg, short_time, Chrome, UiResult};
use crate::session::{Session, SESSION_TOKEN_NAME};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}/revoke", post(revoke))
        .route("/tokens/{id}/rotate", post(rotate))
        .route("/tenants", get(tenants).post(create_tenant))
}

/// A token as the list shows it.
struct TokenRow {
    id: String,
    name: String,
    scopes: String,
    created: String,
    expires: String,
    state: &'static str,
    session: bool,
    current: bool,
}

fn row(t: &TokenInfo, now: jiff::Timestamp, current: &str) -> TokenRow {
    let state = if t.revoked {
        "revoked"
    } else if t.expires.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    };
    TokenRow {
        id: t.id.clone(),
        name: t.name.clone(),
        scopes: t
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        created: short_time(t.created),
        expires: t.expires.map(short_time).unwrap_or_else(|| "never".into()),
        state,
        session: t.name.starts_with(SESSION_TOKEN_NAME),
        current: t.id == current,
    }
}

/// A secret just made, shown once.
struct NewSecret {
    name: String,
    secret: String,
    note: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tenant: String,
    tenant_q: String,
    tokens: Vec<TokenRow>,
    show_sessions: bool,
    created: Option<NewSecret>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TenantParam {
    tenant: Option<String>,
    sessions: Option<String>,
}

/// The tenant a request acts on: the session's own, or (operators only) the named one.
async fn target_tenant(state: &AppState, s: &Session, name: Option<&str>) -> UiResult<Tenant> {
    let name = name.filter(|n| !n.is_empty()).unwrap_or(&s.tenant_name);
    if name != s.tenant_name && !s.is_operator() {
        return Err(server::ApiError::Forbidden(
            "only admins of the tenant `default` manage other tenants' tokens".into(),
        )
        .into());
    }
    Ok(state
        .store
        .tenant_by_name(name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no tenant `{name}`")))?)
}

async fn page(
    state: &AppState,
    s: &Session,
    tenant: &Tenant,
    show_sessions: bool,
    created: Option<NewSecret>,
    error: Option<String>,
) -> UiResult {
    let now = state.clock.now();
    let mut tokens: Vec<TokenRow> = state
        .store
        .list_tokens(&tenant.id)
        .await?
        .iter()
        .map(|t| row(t, now, &s.principal.token_id))
        .filter(|t| show_sessions || !t.session || t.current)
        .collect();
    tokens.sort_by(|a, b| a.state.cmp(b.state).then(b.created.cmp(&a.created)));
    Ok(render(&TokensPage {
        chrome: s.chrome("tokens"),
        tenant: tenant.name.clone(),
        tenant_q: seg(&tenant.name),
        tokens,
        show_sessions,
        created,
        error,
    }))
}

async fn list(State(state): State<AppState>, s: Session, Query(q): Query<TenantParam>) -> UiResult {
    let tenant = target_tenant(&state, &s, q.tenant.as_deref()).await?;
    page(&state, &s, &tenant, q.sessions.is_some(), None, None).await
}

fn scopes_of(posted: &Posted) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for name in posted.fields.all("scope") {
        let scope = Scope::parse(name).ok_or_else(|| format!("unknown scope `{name}`"))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err("choose at least one scope".into());
    }
    Ok(scopes)
}

fn expiry(posted: &Posted, now: jiff::Timestamp) -> Result<Option<jiff::Timestamp>, String> {
    let Some(days) = posted.fields.text("days") else {
        return Ok(None);
    };
    let days: i64 = days
        .parse()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| format!("`{days}` days: give a whole number from 1 to 3650, or leave it empty for no expiry"))?;
    now.checked_add(jiff::SignedDuration::from_hours(days * 24))
        .map(Some)
        .map_err(|e| e.to_string())
}

async fn issue(
    state: &AppState,
    tenant: &Tenant,
    name: &str,
    scopes: Vec<Scope>,
    expires: Option<jiff::Timestamp>,
) -> UiResult<(TokenInfo, String)> {
    let secret = generate_token();
    let info = new_token_info(
        &tenant.id,
        name,
        &secret,
        scopes,
        state.clock.now(),
        expires,
    );
    state.store.insert_token(&info).await?;
    tracing::info!(tenant = %tenant.name, token = %info.id, "token created in the console");
    Ok((info, secret))
}

async fn create(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let tenant = target_tenant(&state, s, posted.fields.get("tenant")).await?;
    let now = state.clock.now();
    let checked = (|| {
        let name = posted
            .fields
            .text("name")
            .ok_or("give the token a name that says who uses it")?;
        if name.starts_with(SESSION_TOKEN_NAME) {
            return Err(format!(
                "names starting with `{SESSION_TOKEN_NAME}` are reserved"
            ));
        }
        Ok((name.to_owned(), scopes_of(&posted)?, expiry(&posted, now)?))
    })();
    let (name, scopes, expires) = match checked {
        Ok(v) => v,
        Err(e) => return page(&state, s, &tenant, false, None, Some(e)).await,
    };
    let (_, secret) = issue(&state, &tenant, &name, scopes, expires).await?;
    let created = NewSecret {
        name,
        secret,
        note: "Copy it now: it is shown only once.".into(),
    };
    page(&state, s, &tenant, false, Some(created), None).await
}

async fn find_token(state: &AppState, tenant: &Tenant, id: &str) -> UiResult<TokenInfo> {
    Ok(state
        .store
        .list_tokens(&tenant.id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::NotFound(format!("token `{id}` not found")))?)
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let tenant = target_tenant(&state, s, posted.fields.get("tenant")).await?;
    let token = find_token(&state, &tenant, &id).await?;
    state.store.revoke_token(&tenant.id, &id).await?;
    state.forget_token(&token.hash);
    tracing::info!(tenant = %tenant.name, token = %id, "token revoked in the console");
    if token.id == s.principal.token_id {
        return Ok(see_other("/ui/login"));
    }
    Ok(see_other(&format!(
        "/ui/tokens?tenant={}",
        seg(&tenant.name)
    )))
}

/// A new token with the old one's name, scopes and lifetime; the old one stays active until
/// revoked (so clients can move over) unless `revoke_old` is ticked.
async fn rotate(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let tenant = target_tenant(&state, s, posted.fields.get("tenant")).await?;
    let old = find_token(&state, &tenant, &id).await?;
    if old.revoked {
        return page(
            &state,
            s,
            &tenant,
            false,
            None,
            Some(format!(
                "token `{}` is revoked; create a new one instead",
                old.name
            )),
        )
        .await;
    }
    let now = state.clock.now();
    let expires = old
        .expires
        .and_then(|e| now.checked_add(e.duration_since(old.created)).ok());
    let (_, secret) = issue(&state, &tenant, &old.name, old.scopes.clone(), expires).await?;
    let note = if posted.fields.checked("revoke_old") {
        state.store.revoke_token(&tenant.id, &old.id).await?;
        state.forget_token(&old.hash);
        "Copy it now: it is shown only once. The old token is revoked."
    } else {
        "Copy it now: it is shown only once. The old token stays active until you revoke it: \
         revoke it once every client uses the new one."
    };
    let created = NewSecret {
        name: old.name,
        secret,
        note: note.into(),
    };
    page(&state, s, &tenant, false, Some(created), None).await
}

struct TenantRow {
    name: String,
    q: String,
    created: String,
    tokens: usize,
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    tenants: Vec<TenantRow>,
    error: Option<String>,
}

fn operator_only(s: &Session) -> UiResult<()> {
    if s.is_operator() {
        Ok(())
    } else {
        Err(server::ApiError::Forbidden(
            "tenants are managed by admins of the tenant `default`".into(),
        )
        .into())
    }
}

async fn tenants_page(state: &AppState, s: &Session, error: Option<String>) -> UiResult {
    let now = state.clock.now();
    let mut rows = Vec::new();
    for t in state.store.list_tenants().await? {
        let tokens = state
            .store
            .list_tokens(&t.id)
            .await?
            .iter()
            .filter(|k| {
                row(k, now, "").state == "active" && !k.name.starts_with(SESSION_TOKEN_NAME)
            })
            .count();
        rows.push(TenantRow {
            q: seg(&t.name),
            name: t.name,
            created: short_time(t.created),
            tokens,
        });
    }
    Ok(render(&TenantsPage {
        chrome: s.chrome("tenants"),
        tenants: rows,
        error,
    }))
}

async fn tenants(State(state): State<AppState>, s: Session) -> UiResult {
    operator_only(&s)?;
    tenants_page(&state, &s, None).await
}

async fn create_tenant(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    operator_only(s)?;
    let name = posted.fields.text("name").unwrap_or("");
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        let e = format!("tenant name `{name}`: use 1-64 letters, digits, `-`, `_` or `.`");
        return tenants_page(&state, s, Some(e)).await;
    }
    if state.store.tenant_by_name(name).await?.is_some() {
        return tenants_page(&state, s, Some(format!("tenant `{name}` exists already"))).await;
    }
    state.store.create_tenant(name).await?;
    tracing::info!(tenant = %name, "tenant created in the console");
    Ok(see_other(&format!("/ui/tokens?tenant={}&new=1", seg(name))))
}
