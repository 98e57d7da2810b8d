//! What one app's client needs: where the target is, how to authenticate, and how hard to push it.
//! `Debug` redacts every secret.

use std::fmt;
use std::time::Duration;

/// Configuration of a [`crate::ScimClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The SCIM root, e.g. `https://api.example.com/scim/v2`; `/Users` and `/Groups` go below it.
    /// A query string on it (Entra-style feature flags) is kept on every request.
    pub base_url: String,
    pub credentials: Credentials,
    /// Limit on one whole request (connect, send, read the body).
    pub request_timeout: Duration,
    /// At most this many requests in flight at once.
    pub max_concurrent_requests: usize,
    /// Requests per second (token bucket, burst of one second's worth); `None` for no limit.
    pub requests_per_second: Option<f64>,
    pub retry: RetryPolicy,
    /// Send `excludedAttributes=members` on group reads (what Entra does, spec §1.4): a group of
    /// 100,000 members is not downloaded to learn its id.
    pub exclude_group_members: bool,
}

impl ClientConfig {
    /// Defaults for everything but the target and its credentials: 30 s timeout, 8 concurrent
    /// requests, 25 requests/s (Entra's gallery minimum), 4 attempts.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            credentials,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 8,
            requests_per_second: Some(25.0),
            retry: RetryPolicy::default(),
            exclude_group_members: true,
        }
    }
}

/// How the client authenticates to the target.
#[derive(Clone)]
pub enum Credentials {
    /// No `Authorization` header.
    None,
    /// A long-lived secret token sent as `Authorization: Bearer <token>`.
    Bearer(String),
    /// OAuth 2.0 client credentials: the access token is fetched from `token_url`, cached, and
    /// refreshed shortly before it expires or once after a 401.
    OAuthClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::OAuthClientCredentials {
                token_url,
                client_id,
                scope,
                ..
            } => f
                .debug_struct("OAuthClientCredentials")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// Retries of retryable failures (429, 5xx, timeouts, connection errors): exponential backoff with
/// full jitter, or the target's `Retry-After` (seconds or HTTP-date) when it sends one.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included; 1 means no retry.
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// Cap on a backoff delay. A `Retry-After` longer than this is not waited for: the error is
    /// returned (with `retry_after` set) so the engine can reschedule instead of holding a slot.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}
