//! The report of an app's connection test ("test connection" in the admin API, the CLI and the
//! console): what each request to the downstream SCIM target did, and what the target says it
//! supports. `scim-client` produces it; the admin API returns it as JSON; the CLI reads it back.
//!
//! Invariant: a report never holds a credential (the token, the OAuth client secret or an access
//! token); messages come from the target's answers and from Scimitar's own words.
//!
//! The JSON is camelCase: `{"ok": false, "steps": [{"name": "filterUsers", "method": "GET",
//! "path": "/Users?filter=…", "status": 500, "ok": false, "required": true, "durationMs": 3,
//! "message": "HTTP 500: …"}], "cleanup": "deleted", "supports": {"patch": true, …}}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The whole connection test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// Every required step succeeded and nothing was left behind on the target. Failed discovery
    /// steps are warnings and do not make this false.
    pub ok: bool,
    /// The steps that ran, in order. A step that did not run (reading a user that could not be
    /// created) is absent.
    pub steps: Vec<ProbeStep>,
    /// The `userName` of the throwaway user, so an admin can find it if cleanup failed.
    pub user_name: String,
    /// The target's `id` of the throwaway user, once it was created.
    pub user_id: Option<String>,
    /// Whether the throwaway user was removed again.
    pub cleanup: Cleanup,
    /// What the target advertises in its discovery endpoints.
    pub supports: Supports,
}

impl ProbeReport {
    /// The first step that failed and fails the test, if any.
    pub fn first_failure(&self) -> Option<&ProbeStep> {
        self.steps.iter().find(|s| !s.ok && s.required)
    }

    /// The discovery steps that failed: warnings, the test went on.
    pub fn warnings(&self) -> impl Iterator<Item = &ProbeStep> {
        self.steps.iter().filter(|s| !s.ok && !s.required)
    }
}

/// One request of the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeStep {
    pub name: StepName,
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// Below the app's base URL, readable rather than percent-encoded:
    /// `/Users?filter=userName eq "scimitar-probe-…@probe.invalid"`.
    pub path: String,
    /// The HTTP status, if the target answered at all.
    pub status: Option<u16>,
    pub ok: bool,
    /// Whether a failure fails the test (discovery steps are not required: their failure is a
    /// warning).
    pub required: bool,
    /// Wall time of the step: rate-limit wait, token fetch and the request.
    pub duration_ms: u64,
    /// What went wrong, with the target's SCIM `detail` and `scimType` when it sent an error;
    /// absent on success.
    pub message: Option<String>,
}

/// The steps of a connection test, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepName {
    /// `GET /ServiceProviderConfig` (discovery: a warning on failure).
    ServiceProviderConfig,
    /// `GET /ResourceTypes` (discovery: a warning on failure).
    ResourceTypes,
    /// `GET /Schemas` (discovery: a warning on failure).
    Schemas,
    /// `POST /Users`: the throwaway user, inactive.
    CreateUser,
    /// `GET /Users/{id}`.
    ReadUser,
    /// `GET /Users?filter=userName eq "…"`: the user is found exactly once.
    FilterUsers,
    /// `DELETE /Users/{id}`: also the cleanup, run whenever the user was created.
    DeleteUser,
    /// `GET /Users?filter=userName eq "…"` after a create whose outcome is unknown (a timeout, a
    /// dropped connection, a 5xx): finds a user the target may have created after all, to delete.
    FindLeftover,
}

impl StepName {
    /// Whether this step reads the target's discovery endpoints (a failure is a warning).
    pub fn is_discovery(self) -> bool {
        matches!(
            self,
            StepName::ServiceProviderConfig | StepName::ResourceTypes | StepName::Schemas
        )
    }

    /// The name as the JSON has it.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::ServiceProviderConfig => "serviceProviderConfig",
            StepName::ResourceTypes => "resourceTypes",
            StepName::Schemas => "schemas",
            StepName::CreateUser => "createUser",
            StepName::ReadUser => "readUser",
            StepName::FilterUsers => "filterUsers",
            StepName::DeleteUser => "deleteUser",
            StepName::FindLeftover => "findLeftover",
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of the throwaway user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cleanup {
    /// No user was created (as far as the target's answers tell).
    NothingToDelete,
    /// The user was created and deleted again.
    Deleted,
    /// The user was (or may have been) created and could not be deleted: the report's
    /// `userName` is still on the target.
    LeftBehind,
}

/// The target's capabilities as its discovery endpoints advertise them. `None` means unknown:
/// the endpoint failed or did not say, which is not the same as "not supported".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supports {
    /// `patch.supported` of `/ServiceProviderConfig`.
    pub patch: Option<bool>,
    pub bulk: Option<BulkSupport>,
    pub filter: Option<FilterSupport>,
    pub sort: Option<bool>,
    pub etag: Option<bool>,
    pub change_password: Option<bool>,
    /// The `name` (else `type`) of each of `authenticationSchemes`.
    pub authentication_schemes: Option<Vec<String>>,
    /// The `name` of each resource type of `/ResourceTypes` (`User`, `Group`, …).
    pub resource_types: Option<Vec<String>>,
    /// The `id` (schema URI) of each schema of `/Schemas`.
    pub schemas: Option<Vec<String>>,
}

/// `bulk` of `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkSupport {
    pub supported: bool,
    pub max_operations: Option<u64>,
    pub max_payload_size: Option<u64>,
}

/// `filter` of `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSupport {
    pub supported: bool,
    pub max_results: Option<u64>,
}
