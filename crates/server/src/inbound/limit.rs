//! The bulkUpload rate limit: at most `requests` per `window` for each tenant and source (Entra
//! documents 40 calls in any 5-second window; Scimitar's default is 1,000).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Requests allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            requests: 1000,
            window: Duration::from_secs(5),
        }
    }
}

/// Fixed windows per (tenant, source), started by their first request.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<(String, String), (Instant, u32)>>,
}

/// Windows kept beyond this many are dropped wholesale (a flood of distinct sources).
const MAX_WINDOWS: usize = 10_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            windows: Mutex::default(),
        }
    }

    /// Counts a request, or refuses it with 429 and the seconds until its window ends.
    pub fn check(&self, tenant_id: &str, source: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(()); // a poisoned limiter limits nothing rather than everything
        };
        if windows.len() >= MAX_WINDOWS {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.limit.window);
        }
        let entry = windows
            .entry((tenant_id.to_owned(), source.to_owned()))
            .or_insert((now, 0));
        if now.duration_since(entry.0) >= self.limit.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit.requests {
            let left = self
                .limit
                .window
                .saturating_sub(now.duration_since(entry.0));
            let retry_after = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "more than {} bulkUpload requests in {} s for source `{source}`; retry after \
                     {retry_after} s",
                    self.limit.requests,
                    self.limit.window.as_secs_f64()
                ),
                retry_after: retry_after.max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}
