//! The `Authorization` header: a static bearer token, or an OAuth 2.0 client-credentials access
//! token fetched on first use, cached, and refreshed a minute before it expires or after a 401.

use std::time::Duration;

use domain::target::{TargetError, TargetErrorKind};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::Credentials;

/// Refresh this long before the token's stated expiry, so no request is sent with a token that
/// expires in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Used when the token endpoint does not say (`expires_in` is RECOMMENDED, not required).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

pub(crate) struct Auth {
    credentials: Credentials,
    cached: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub(crate) fn new(credentials: Credentials) -> Self {
        Auth {
            credentials,
            cached: Mutex::new(None),
        }
    }

    /// Whether a 401 may be cured by fetching a new token.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::OAuthClientCredentials { .. })
    }

    /// The bearer token to send, if any.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
    ) -> Result<Option<String>, TargetError> {
        match &self.credentials {
            Credentials::None => Ok(None),
            Credentials::Bearer(token) => Ok(Some(token.clone())),
            Credentials::OAuthClientCredentials { .. } => {
                // Held across the fetch: concurrent requests wait for one token instead of each
                // asking the token endpoint.
                let mut cached = self.cached.lock().await;
                if let Some(token) = cached.as_ref() {
                    if Instant::now() < token.refresh_at {
                        return Ok(Some(token.value.clone()));
                    }
                }
                let fresh = self.fetch(http).await?;
                let value = fresh.value.clone();
                *cached = Some(fresh);
                Ok(Some(value))
            }
        }
    }

    /// The secrets in use that no message may show: the static token or the client secret, and
    /// the cached access token. Values under 8 characters are left out: replacing them would
    /// garble messages, and a target echoing them is the lesser risk.
    pub(crate) async fn secrets(&self) -> Vec<String> {
        let mut secrets = match &self.credentials {
            Credentials::None => Vec::new(),
            Credentials::Bearer(token) => vec![token.clone()],
            Credentials::OAuthClientCredentials { client_secret, .. } => {
                vec![client_secret.clone()]
            }
        };
        if let Some(token) = self.cached.lock().await.as_ref() {
            secrets.push(token.value.clone());
        }
        secrets.retain(|s| s.len() >= 8);
        secrets
    }

    /// Forgets the cached token if it is still `rejected`, so the next `token` fetches a new one.
    pub(crate) async fn invalidate(&self, rejected: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == rejected) {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<CachedToken, TargetError> {
        let Credentials::OAuthClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.credentials
        else {
            return Err(TargetError::new(
                TargetErrorKind::Unauthorized,
                "no OAuth credentials",
            ));
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.as_str()));
        }
        let response = http
            .post(token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| crate::transport_error("token request", &e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| crate::transport_error("token response", &e))?;
        if !(200..300).contains(&status) {
            // The token endpoint's own error text (RFC 6749 `error`) names no secret; a 5xx or 429
            // keeps its retryable class, anything else means the credentials are wrong.
            let kind = match TargetErrorKind::from_status(status) {
                k if k.retryable() => k,
                _ => TargetErrorKind::Unauthorized,
            };
            let reason = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            return Err(TargetError::new(
                kind,
                format!("token endpoint refused client credentials ({status}) {reason}")
                    .trim_end()
                    .to_owned(),
            )
            .with_status(status));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            TargetError::new(TargetErrorKind::Incompatible, "token response is not JSON")
        })?;
        let value = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                TargetError::new(
                    TargetErrorKind::Incompatible,
                    "token response has no access_token",
                )
            })?
            .to_owned();
        let lifetime = json
            .get("expires_in")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        // Short-lived tokens: refresh at half-life rather than never using them.
        let margin = EXPIRY_MARGIN.min(lifetime / 2);
        Ok(CachedToken {
            value,
            refresh_at: Instant::now() + (lifetime - margin),
        })
    }
}
