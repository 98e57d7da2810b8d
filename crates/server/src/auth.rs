//! Bearer tokens: 256 random bits shown once, stored as a SHA-256 hash, compared in constant time,
//! bound to one tenant and to scopes, with optional expiry. Several may be active (rotation).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine as _;
use domain::{Scope, TokenInfo};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::AppState;

/// The prefix every Scimitar token carries, so that leaked tokens are recognisable by scanners.
pub const TOKEN_PREFIX: &str = "scimitar_";

/// A fresh random token: the secret to show once.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash_token(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A token record for `secret`, ready for `Store::insert_token`.
pub fn new_token_info(
    tenant_id: &str,
    name: &str,
    secret: &str,
    scopes: Vec<Scope>,
    now: jiff::Timestamp,
    expires: Option<jiff::Timestamp>,
) -> TokenInfo {
    TokenInfo {
        id: uuid_like(),
        tenant_id: tenant_id.to_owned(),
        name: name.to_owned(),
        hash: hash_token(secret),
        scopes,
        created: now,
        expires,
        revoked: false,
    }
}

fn uuid_like() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Who is calling: the tenant and what the token may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: String,
    pub token_id: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token lacks the `{}` scope",
                scope.as_str()
            )))
        }
    }
}

/// The token whose secret this is, if it may be used now: known (compared in constant time),
/// not revoked, not expired. Checks are cached for `token_cache_ttl`.
pub async fn live_token(state: &AppState, secret: &str) -> Result<TokenInfo, ApiError> {
    let hash = hash_token(secret);
    let token = state
        .token(&hash)
        .await?
        .filter(|t| bool::from(t.hash.ct_eq(&hash)));
    let Some(token) = token else {
        return Err(ApiError::Unauthorized(
            "the bearer token is not valid".into(),
        ));
    };
    if token.revoked {
        return Err(ApiError::Unauthorized(
            "the bearer token has been revoked".into(),
        ));
    }
    if token.expires.is_some_and(|e| e <= state.clock.now()) {
        return Err(ApiError::Unauthorized(
            "the bearer token has expired".into(),
        ));
    }
    Ok(token)
}

/// Resolves the bearer token of a request.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "authentication required: send `Authorization: Bearer <token>`".into(),
        ));
    };
    let value = value.to_str().unwrap_or_default().trim();
    let secret = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => {
            return Err(ApiError::Unauthorized(
                "the Authorization header must use the Bearer scheme".into(),
            ))
        }
    };
    let token = live_token(state, secret).await?;
    Ok(Principal {
        tenant_id: token.tenant_id,
        token_id: token.id,
        scopes: token.scopes,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.headers).await
    }
}

/// The principal if the request carries a token, `None` if it carries none; an invalid token is
/// still refused. Discovery endpoints answer anonymous callers with the built-in schemas.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            authenticate(state, &parts.headers)
                .await
                .map(|p| MaybePrincipal(Some(p)))
        } else {
            Ok(MaybePrincipal(None))
        }
    }
}
