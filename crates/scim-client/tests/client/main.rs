//! Integration tests of `ScimClient`: against a real SCIM peer (`scim2-server`, Python) and against
//! small in-test axum servers that inject faults.

// Helpers outside `#[test]` functions are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod faults;
mod peer;
mod probe;

use std::time::Duration;

use scim_client::{ClientConfig, Credentials, RetryPolicy, ScimClient};

/// A client with test-friendly limits: fast backoff, no rate limit.
pub fn config(base: &str, credentials: Credentials) -> ClientConfig {
    let mut config = ClientConfig::new(base, credentials);
    config.request_timeout = Duration::from_secs(5);
    config.requests_per_second = None;
    config.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    };
    config
}

pub fn client(base: &str) -> ScimClient {
    ScimClient::new(config(base, Credentials::None)).unwrap()
}
