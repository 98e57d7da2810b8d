//! The outbound port: a downstream SCIM app as the engine sees it. `scim-client` implements it over
//! HTTP; tests may implement it in memory. No HTTP types here: errors are classified into
//! [`TargetErrorKind`], which maps to the error codes Entra records (spec §1.5).
//!
//! Invariant: a `TargetError`'s message never contains a credential.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use scim_proto::probe::ProbeReport;

use crate::model::ResourceKind;

/// A downstream SCIM service provider.
#[async_trait]
pub trait Target: Send + Sync {
    /// Resources whose `attribute` equals `value` (`GET /Users?filter=attribute eq "value"`).
    ///
    /// More than one result is not an error here: the engine decides whether that is
    /// `DuplicateTargetEntries` for its matching attribute. An implementation that cannot return
    /// at least two of several matches (a target paging one at a time) answers
    /// `DuplicateTargetEntries` itself, so several matches never look like one.
    async fn find(
        &self,
        kind: ResourceKind,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetResource>, TargetError>;

    /// One page of all resources of `kind` (`GET /Users?startIndex=…&count=…`), with the
    /// target's `totalResults`. Reconciliation uses it to find accounts nobody provisioned.
    async fn list(
        &self,
        kind: ResourceKind,
        start_index: u64,
        count: u64,
    ) -> Result<(Vec<TargetResource>, u64), TargetError>;

    /// The resource with this target id, `None` if the target answers 404.
    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<TargetResource>, TargetError>;

    /// Creates a resource from a full SCIM body and returns what the target stored.
    async fn create(
        &self,
        kind: ResourceKind,
        body: &serde_json::Value,
    ) -> Result<TargetResource, TargetError>;

    /// Applies PATCH operations (`{"op": …, "path": …, "value": …}`); the implementation wraps them
    /// in a PatchOp message. A 200 with a body and a 204 both succeed.
    async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        operations: &[serde_json::Value],
    ) -> Result<(), TargetError>;

    /// Replaces a resource (PUT) and returns what the target stored.
    async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<TargetResource, TargetError>;

    /// Deletes a resource.
    async fn delete(&self, kind: ResourceKind, id: &str) -> Result<(), TargetError>;

    /// Tests the connection as an admin's "test connection" does: reads the discovery
    /// endpoints, then creates an inactive throwaway user, reads it, finds it by filter and
    /// deletes it again (also after a failed step). Never fails: the report says what did.
    async fn probe(&self) -> ProbeReport;
}

/// A resource as the target returned it: its target `id` and its full SCIM body.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResource {
    pub id: String,
    pub body: serde_json::Value,
}

/// A failed call to a target, classified.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetError {
    pub kind: TargetErrorKind,
    /// The HTTP status, if the target answered at all.
    pub status: Option<u16>,
    /// What went wrong, for the provisioning log. Never holds a secret.
    pub message: String,
    /// How long the target asked us to wait (`Retry-After` on 429/503).
    pub retry_after: Option<Duration>,
}

impl TargetError {
    pub fn new(kind: TargetErrorKind, message: impl Into<String>) -> Self {
        TargetError {
            kind,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "{} (HTTP {status}): {}",
                self.kind.entra_code(),
                self.message
            ),
            None => write!(f, "{}: {}", self.kind.entra_code(), self.message),
        }
    }
}

impl std::error::Error for TargetError {}

/// The classes of target failure the engine acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetErrorKind {
    /// 409: the target holds a conflicting entry.
    Conflict,
    /// 429: rate limited.
    TooManyRequests,
    /// 401: the credentials were refused.
    Unauthorized,
    /// 403: the credentials lack a permission.
    Forbidden,
    /// 404 on a resource by id (Entra: `InvalidAnchor`).
    NotFound,
    /// Other 4xx: the target refused the request's content.
    BadRequest,
    /// 5xx.
    ServerError,
    /// No answer within the configured timeout.
    Timeout,
    /// Connecting failed or the connection dropped.
    Connection,
    /// The response could not be understood (not JSON, no `id`, a ListResponse without `Resources`).
    Incompatible,
    /// More than one target entry matched where one was expected (decided by the engine).
    DuplicateTargetEntries,
}

impl TargetErrorKind {
    /// Whether retrying the same request later can succeed without anything else changing.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            TargetErrorKind::TooManyRequests
                | TargetErrorKind::ServerError
                | TargetErrorKind::Timeout
                | TargetErrorKind::Connection
        )
    }

    /// The error code Entra records for this class in its provisioning logs (spec §1.5).
    pub fn entra_code(self) -> &'static str {
        match self {
            TargetErrorKind::Conflict => "EntryConflict",
            TargetErrorKind::TooManyRequests => "TooManyRequests",
            TargetErrorKind::Unauthorized => "Unauthorized",
            TargetErrorKind::Forbidden => "InsufficientRights",
            TargetErrorKind::NotFound => "InvalidAnchor",
            TargetErrorKind::BadRequest => "UnprocessableEntity",
            TargetErrorKind::ServerError => "InternalServerError",
            TargetErrorKind::Timeout => "Timeout",
            TargetErrorKind::Connection => "WebExceptionProtocolError",
            TargetErrorKind::Incompatible => {
                "SystemForCrossDomainIdentityManagementServiceIncompatible"
            }
            TargetErrorKind::DuplicateTargetEntries => "DuplicateTargetEntries",
        }
    }

    /// The class of an HTTP error status (anything not 2xx).
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => TargetErrorKind::Unauthorized,
            403 => TargetErrorKind::Forbidden,
            404 => TargetErrorKind::NotFound,
            408 => TargetErrorKind::Timeout,
            409 => TargetErrorKind::Conflict,
            429 => TargetErrorKind::TooManyRequests,
            500..=599 => TargetErrorKind::ServerError,
            _ => TargetErrorKind::BadRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(TargetErrorKind::from_status(409), TargetErrorKind::Conflict);
        assert_eq!(
            TargetErrorKind::from_status(503),
            TargetErrorKind::ServerError
        );
        assert_eq!(
            TargetErrorKind::from_status(422),
            TargetErrorKind::BadRequest
        );
        assert!(TargetErrorKind::from_status(429).retryable());
        assert!(TargetErrorKind::from_status(502).retryable());
        assert!(!TargetErrorKind::from_status(400).retryable());
        assert!(!TargetErrorKind::Conflict.retryable());
        assert_eq!(TargetErrorKind::NotFound.entra_code(), "InvalidAnchor");
    }

    #[test]
    fn display_names_code_and_status() {
        let e = TargetError::new(TargetErrorKind::Conflict, "userName taken").with_status(409);
        assert_eq!(e.to_string(), "EntryConflict (HTTP 409): userName taken");
    }
}
