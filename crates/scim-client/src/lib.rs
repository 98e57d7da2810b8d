//! The outbound SCIM 2.0 client: Scimitar's only crate that calls out. [`ScimClient`] implements
//! [`domain::target::Target`] for one downstream app over one keep-alive `reqwest::Client`.
//!
//! Per request: a concurrency permit (`max_concurrent_requests`), a rate-limit slot (token
//! bucket), the `Authorization` header (static or OAuth client credentials), then the call with a
//! timeout. Failures are classified into [`TargetErrorKind`]; retryable ones (429, 5xx, timeouts,
//! connection errors) are retried with exponential backoff and full jitter, or after the target's
//! `Retry-After`. A POST is retried only when the target certainly did not process it (429, 503,
//! connection refused), so a retry never creates a duplicate. A 401 with OAuth credentials
//! refreshes the token once.
//!
//! Invariants: secrets never reach `Debug` output or error messages; the permit is not held while
//! backing off.
//!
//! Transport: HTTP/1.1 with keep-alive over one connection pool; `https://` through rustls with
//! the Mozilla root store (`webpki-roots`), so no system OpenSSL is needed.

mod auth;
mod config;
mod limit;
mod probe;

use std::time::Duration;

use async_trait::async_trait;
use domain::target::{Target, TargetError, TargetErrorKind, TargetResource};
use domain::ResourceKind;
use rand::Rng;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Url};
use scim_proto::probe::ProbeReport;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

pub use config::{ClientConfig, Credentials, RetryPolicy};

const SCIM_JSON: &str = "application/scim+json";
const ACCEPT_VALUE: &str = "application/scim+json, application/json";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Longest piece of a target's error body quoted in an error message.
const MAX_DETAIL: usize = 300;

/// A configuration that cannot work (bad URL, zero concurrency, …).
#[derive(Debug, thiserror::Error)]
#[error("invalid SCIM client configuration: {0}")]
pub struct ConfigError(String);

/// A SCIM client for one downstream app. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ScimClient {
    http: reqwest::Client,
    base: Url,
    auth: auth::Auth,
    permits: Semaphore,
    limiter: Option<limit::RateLimiter>,
    retry: RetryPolicy,
    exclude_group_members: bool,
}

/// A successful answer: status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl ScimClient {
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let base =
            Url::parse(&config.base_url).map_err(|e| ConfigError(format!("base URL: {e}")))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ConfigError("base URL must be an http(s) URL".into()));
        }
        if config.max_concurrent_requests == 0 {
            return Err(ConfigError(
                "max_concurrent_requests must be at least 1".into(),
            ));
        }
        if config.retry.max_attempts == 0 {
            return Err(ConfigError("retry.max_attempts must be at least 1".into()));
        }
        let limiter = match config.requests_per_second {
            None => None,
            Some(rate) if rate.is_finite() && rate > 0.0 => Some(limit::RateLimiter::new(rate)),
            Some(_) => return Err(ConfigError("requests_per_second must be positive".into())),
        };
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        Ok(ScimClient {
            http,
            base,
            auth: auth::Auth::new(config.credentials),
            permits: Semaphore::new(config.max_concurrent_requests),
            limiter,
            retry: config.retry,
            exclude_group_members: config.exclude_group_members,
        })
    }

    /// `base/segments…`, each segment percent-encoded, the base's own query kept.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn group_reads_exclude_members(&self, kind: ResourceKind, url: &mut Url) {
        if kind == ResourceKind::Group && self.exclude_group_members {
            url.query_pairs_mut()
                .append_pair("excludedAttributes", "members");
        }
    }

    /// Sends one logical request, with retries; returns the 2xx answer or the classified error.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, TargetError> {
        let what = format!("{method} {}", url.path());
        let body = match body {
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| {
                TargetError::new(TargetErrorKind::BadRequest, format!("{what}: body: {e}"))
            })?),
            None => None,
        };
        // A POST that may have reached the target is not repeated: a retry could create a
        // duplicate. The engine re-matches with `find` on its next pass instead.
        let idempotent = method != Method::POST;
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            let result = self.attempt(&method, &url, body.as_deref(), &what).await;
            let Failure {
                error,
                token,
                unprocessed,
            } = match result {
                Ok(answer) => {
                    tracing::debug!(request = %what, status = answer.status, attempt, "SCIM call");
                    return Ok(answer);
                }
                Err(failure) => failure,
            };
            tracing::debug!(
                request = %what,
                status = ?error.status,
                attempt,
                error = %error,
                "SCIM call failed"
            );
            if error.kind == TargetErrorKind::Unauthorized && self.auth.can_refresh() && !refreshed
            {
                refreshed = true;
                if let Some(token) = token {
                    self.auth.invalidate(&token).await;
                }
                continue;
            }
            let may_retry = error.kind.retryable() && (idempotent || unprocessed);
            if !may_retry || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let delay = match error.retry_after {
                Some(wait) if wait > self.retry.max_delay => return Err(error),
                Some(wait) => wait,
                None => self.backoff(attempt),
            };
            tracing::info!(
                request = %what,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying SCIM call"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One logical request without retries: what the connection test sends, so that it reports
    /// the target's first answer at once. A 401 with OAuth credentials still refreshes the token
    /// once, as `send` does, since that is how the credentials work rather than a retry.
    async fn send_once(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, Failure> {
        let what = format!("{method} {}", url.path());
        let body = match body {
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| {
                Failure::unsent(
                    TargetError::new(TargetErrorKind::BadRequest, format!("{what}: body: {e}")),
                    None,
                )
            })?),
            None => None,
        };
        let first = self.attempt(&method, &url, body.as_deref(), &what).await;
        match first {
            Err(failure)
                if failure.error.kind == TargetErrorKind::Unauthorized
                    && self.auth.can_refresh() =>
            {
                if let Some(token) = &failure.token {
                    self.auth.invalidate(token).await;
                }
                self.attempt(&method, &url, body.as_deref(), &what).await
            }
            other => other,
        }
    }

    /// Full jitter: uniform in `[0, min(max_delay, base_delay * 2^(attempt-1))]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.retry.max_delay);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        what: &str,
    ) -> Result<Answer, Failure> {
        let token = self
            .auth
            .token(&self.http)
            .await
            .map_err(|error| Failure::unsent(error, None))?;
        // The semaphore is never closed, so acquire cannot fail; treat it as "no limit" if it did.
        let _permit = self.permits.acquire().await.ok();
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, ACCEPT_VALUE);
        if let Some(token) = &token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                let error = TargetError::new(
                    TargetErrorKind::Unauthorized,
                    "token is not a valid header value",
                );
                Failure::unsent(error, None)
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, SCIM_JSON).body(body.to_vec());
        }
        let response = request.send().await.map_err(|e| Failure {
            error: transport_error(what, &e),
            token: token.clone(),
            unprocessed: e.is_connect(),
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
        let body = response.bytes().await.map_err(|e| Failure {
            error: transport_error(what, &e),
            token: token.clone(),
            unprocessed: false,
        })?;
        if (200..300).contains(&status) {
            return Ok(Answer {
                status,
                body: body.to_vec(),
            });
        }
        let kind = TargetErrorKind::from_status(status);
        let mut error = TargetError::new(kind, format!("{what}: {}", error_detail(status, &body)))
            .with_status(status);
        if matches!(status, 429 | 503) {
            error.retry_after = retry_after;
        }
        Err(Failure {
            error,
            token,
            // A rate limit or an unavailable service refused the request before doing anything.
            unprocessed: matches!(status, 429 | 503),
        })
    }
}

/// A failed attempt, with what `send` needs to decide on a retry.
struct Failure {
    error: TargetError,
    /// The token that was sent, to invalidate after a 401.
    token: Option<String>,
    /// Certainly not processed by the target (never sent, 429, 503): safe to repeat even a POST.
    unprocessed: bool,
}

impl Failure {
    fn unsent(error: TargetError, token: Option<String>) -> Self {
        Failure {
            error,
            token,
            unprocessed: true,
        }
    }
}

/// `Retry-After` as delay-seconds or as an HTTP-date (RFC 9110 §10.2.3); a date in the past is
/// no wait.
fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.as_millisecond().saturating_sub(now.as_millisecond());
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

/// The message of a non-2xx answer: the SCIM error's `detail` (and `scimType`), else the start of
/// the body as text.
fn error_detail(status: u16, body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let detail = v.get("detail").and_then(Value::as_str)?.to_owned();
        Some(match v.get("scimType").and_then(Value::as_str) {
            Some(t) => format!("{detail} (scimType {t})"),
            None => detail,
        })
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    let text: String = text.chars().take(MAX_DETAIL).collect();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// Classifies a `reqwest` failure. The message is ours and the innermost cause's (`Connection
/// refused`, a DNS or TLS failure): reqwest's own text would carry the full URL.
pub(crate) fn transport_error(what: &str, e: &reqwest::Error) -> TargetError {
    let cause = root_cause(e).map(|c| format!(" ({c})")).unwrap_or_default();
    if e.is_timeout() {
        TargetError::new(TargetErrorKind::Timeout, format!("{what}: timed out"))
    } else if e.is_connect() {
        TargetError::new(
            TargetErrorKind::Connection,
            format!("{what}: could not connect{cause}"),
        )
    } else if e.is_decode() {
        TargetError::new(
            TargetErrorKind::Incompatible,
            format!("{what}: unreadable response"),
        )
    } else {
        TargetError::new(
            TargetErrorKind::Connection,
            format!("{what}: connection failed before a complete answer"),
        )
    }
}

/// The innermost source of an error: the I/O, DNS or TLS error itself, without reqwest's URL.
fn root_cause(e: &reqwest::Error) -> Option<String> {
    let mut cause = std::error::Error::source(e)?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    (!text.is_empty()).then_some(text)
}

fn incompatible(what: &str, reason: &str) -> TargetError {
    TargetError::new(TargetErrorKind::Incompatible, format!("{what}: {reason}"))
}

fn parse_json(what: &str, answer: &Answer) -> Result<Value, TargetError> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        incompatible(what, &format!("response is not JSON ({e})")).with_status(answer.status)
    })
}

/// A resource body must be an object with a string `id`.
fn into_resource(what: &str, body: Value) -> Result<TargetResource, TargetError> {
    if !body.is_object() {
        return Err(incompatible(what, "resource is not a JSON object"));
    }
    let id = match body.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(incompatible(what, "resource has no id")),
    };
    Ok(TargetResource { id, body })
}

/// `attribute eq "value"`, the value quoted and escaped as a JSON string (RFC 7644 §3.4.2.2).
pub fn eq_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", Value::String(value.to_owned()))
}

#[async_trait]
impl Target for ScimClient {
    async fn find(
        &self,
        kind: ResourceKind,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetResource>, TargetError> {
        let mut url = self.url(&[kind.endpoint()]);
        url.query_pairs_mut()
            .append_pair("filter", &eq_filter(attribute, value));
        self.group_reads_exclude_members(kind, &mut url);
        let what = format!("GET {} filter {attribute}", url.path());
        let answer = self.send(Method::GET, url, None).await?;
        let mut json = parse_json(&what, &answer)?;
        let total = json.get("totalResults").and_then(Value::as_u64);
        let Some(total) = total else {
            return Err(incompatible(&what, "ListResponse has no totalResults"));
        };
        // Only the first page is read: the caller needs to tell none, one and several apart.
        match json.get_mut("Resources").map(Value::take) {
            // A target paging one result at a time must not make several matches look like one.
            Some(Value::Array(items)) if total > 1 && items.len() < 2 => Err(TargetError::new(
                TargetErrorKind::DuplicateTargetEntries,
                format!("{what}: {total} matches"),
            )),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| into_resource(&what, item))
                .collect(),
            None | Some(Value::Null) if total == 0 => Ok(Vec::new()),
            None | Some(Value::Null) => Err(incompatible(
                &what,
                &format!("ListResponse has totalResults {total} but no Resources"),
            )),
            Some(_) => Err(incompatible(
                &what,
                "ListResponse Resources is not an array",
            )),
        }
    }

    async fn list(
        &self,
        kind: ResourceKind,
        start_index: u64,
        count: u64,
    ) -> Result<(Vec<TargetResource>, u64), TargetError> {
        let mut url = self.url(&[kind.endpoint()]);
        url.query_pairs_mut()
            .append_pair("startIndex", &start_index.max(1).to_string())
            .append_pair("count", &count.to_string());
        self.group_reads_exclude_members(kind, &mut url);
        let what = format!("GET {} page at {start_index}", url.path());
        let answer = self.send(Method::GET, url, None).await?;
        let mut json = parse_json(&what, &answer)?;
        let Some(total) = json.get("totalResults").and_then(Value::as_u64) else {
            return Err(incompatible(&what, "ListResponse has no totalResults"));
        };
        let items = match json.get_mut("Resources").map(Value::take) {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(incompatible(
                    &what,
                    "ListResponse Resources is not an array",
                ))
            }
        };
        let resources = items
            .into_iter()
            .map(|item| into_resource(&what, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((resources, total))
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<TargetResource>, TargetError> {
        let mut url = self.url(&[kind.endpoint(), id]);
        self.group_reads_exclude_members(kind, &mut url);
        let what = format!("GET {}", url.path());
        match self.send(Method::GET, url, None).await {
            Ok(answer) => into_resource(&what, parse_json(&what, &answer)?).map(Some),
            Err(e) if e.kind == TargetErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create(
        &self,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        let url = self.url(&[kind.endpoint()]);
        let what = format!("POST {}", url.path());
        let answer = self.send(Method::POST, url, Some(body)).await?;
        into_resource(&what, parse_json(&what, &answer)?)
    }

    async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        operations: &[Value],
    ) -> Result<(), TargetError> {
        let url = self.url(&[kind.endpoint(), id]);
        let body = json!({ "schemas": [PATCH_OP], "Operations": operations });
        // 200 with the resource, 200 empty, and 204 all mean success (spec §1.1).
        self.send(Method::PATCH, url, Some(&body)).await.map(drop)
    }

    async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
    ) -> Result<TargetResource, TargetError> {
        let url = self.url(&[kind.endpoint(), id]);
        let what = format!("PUT {}", url.path());
        let answer = self.send(Method::PUT, url, Some(body)).await?;
        into_resource(&what, parse_json(&what, &answer)?)
    }

    async fn delete(&self, kind: ResourceKind, id: &str) -> Result<(), TargetError> {
        let url = self.url(&[kind.endpoint(), id]);
        self.send(Method::DELETE, url, None).await.map(drop)
    }

    async fn probe(&self) -> ProbeReport {
        probe::run(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ScimClient {
        ScimClient::new(ClientConfig::new(base, Credentials::None)).unwrap()
    }

    #[test]
    fn retry_after_seconds_or_http_date() {
        let now: jiff::Timestamp = "2015-10-21T07:28:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn backoff_is_capped_full_jitter() {
        let mut config = ClientConfig::new("http://h", Credentials::None);
        config.retry.base_delay = Duration::from_millis(100);
        config.retry.max_delay = Duration::from_millis(350);
        let c = ScimClient::new(config).unwrap();
        for attempt in 1..40 {
            let cap = Duration::from_millis(100 * 2u64.pow(attempt.min(10) - 1))
                .min(Duration::from_millis(350));
            for _ in 0..20 {
                assert!(c.backoff(attempt) <= cap, "attempt {attempt}");
            }
        }
    }

    #[test]
    fn filters_escape_like_json() {
        assert_eq!(
            eq_filter("userName", r#"a"b\c"#),
            r#"userName eq "a\"b\\c""#
        );
    }

    #[test]
    fn urls_keep_base_path_and_query_and_encode_ids() {
        let c = client("http://h/scim/v2/?aadOptscim062020");
        let url = c.url(&["Users", "a/b c"]);
        assert_eq!(
            url.as_str(),
            "http://h/scim/v2/Users/a%2Fb%20c?aadOptscim062020"
        );
        let c = client("http://h/scim");
        assert_eq!(c.url(&["Groups"]).as_str(), "http://h/scim/Groups");
    }

    #[test]
    fn bad_config_is_refused() {
        assert!(ScimClient::new(ClientConfig::new("not a url", Credentials::None)).is_err());
        let mut config = ClientConfig::new("http://h", Credentials::None);
        config.max_concurrent_requests = 0;
        assert!(ScimClient::new(config).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let config = ClientConfig::new(
            "http://h",
            Credentials::OAuthClientCredentials {
                token_url: "http://h/token".into(),
                client_id: "id".into(),
                client_secret: "hunter2".into(),
                scope: None,
            },
        );
        let text = format!("{config:?} {:?}", ScimClient::new(config.clone()).unwrap());
        assert!(!text.contains("hunter2"), "{text}");
        let bearer = format!("{:?}", Credentials::Bearer("s3cret".into()));
        assert!(!bearer.contains("s3cret"));
    }

    #[test]
    fn error_detail_prefers_scim_detail() {
        let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"taken"}"#;
        assert_eq!(
            error_detail(409, body),
            "HTTP 409: taken (scimType uniqueness)"
        );
        assert_eq!(error_detail(500, b""), "HTTP 500");
    }
}
