//! The connection test behind [`domain::target::Target::probe`]: read the discovery endpoints,
//! then create an inactive throwaway user, read it, find it by filter and delete it, timing and
//! recording every request in a [`ProbeReport`].
//!
//! Each step is one request through the app's own client (base URL, credentials, timeout,
//! concurrency cap, rate limit) without the retries provisioning adds: an admin testing a
//! connection wants the target's first answer, and soon.
//!
//! Invariant: whenever the user may exist on the target, a delete is attempted before the report
//! is returned, and the report says whether it worked.
//! Invariant: no message holds the app's credentials, even when the target echoes them.

use std::time::Instant;

use domain::target::{TargetError, TargetErrorKind};
use reqwest::{Method, Url};
use scim_proto::probe::{
    BulkSupport, Cleanup, FilterSupport, ProbeReport, ProbeStep, StepName, Supports,
};
use serde_json::{json, Value};

use crate::{eq_filter, Answer, Failure, ScimClient};

/// The throwaway user's `displayName`, so that whoever finds one knows what it is.
const DISPLAY_NAME: &str = "Scimitar connection test (safe to delete)";

/// Runs the whole test; never fails.
pub(crate) async fn run(client: &ScimClient) -> ProbeReport {
    let user_name = format!(
        "scimitar-probe-{:016x}@probe.invalid",
        rand::random::<u64>()
    );
    let mut probe = Probe {
        client,
        steps: Vec::new(),
    };
    let supports = probe.discover().await;
    let (user_id, cleanup) = match probe.create(&user_name).await {
        Created::Yes(id) => {
            probe.read(&id, &user_name).await;
            probe.filter(&id, &user_name).await;
            let cleanup = if probe.delete(&id).await {
                Cleanup::Deleted
            } else {
                Cleanup::LeftBehind
            };
            (Some(id), cleanup)
        }
        Created::No => (None, Cleanup::NothingToDelete),
        Created::Unknown => probe.remove_leftover(&user_name).await,
    };
    let ok = probe.steps.iter().all(|s| s.ok || !s.required) && cleanup != Cleanup::LeftBehind;
    let mut steps = probe.steps;
    // Messages quote the target's answers, and a target may echo the request's credentials.
    let secrets = client.auth.secrets().await;
    for message in steps.iter_mut().filter_map(|s| s.message.as_mut()) {
        for secret in &secrets {
            if message.contains(secret.as_str()) {
                *message = message.replace(secret.as_str(), "<redacted>");
            }
        }
    }
    ProbeReport {
        ok,
        steps,
        user_name,
        user_id,
        cleanup,
        supports,
    }
}

/// What the create step tells about the user.
enum Created {
    Yes(String),
    /// The target refused the request, or it never reached the target.
    No,
    /// No answer, or a 5xx: the target may have created the user all the same.
    Unknown,
}

struct Probe<'a> {
    client: &'a ScimClient,
    steps: Vec<ProbeStep>,
}

/// A finished request: its step is recorded by the caller once it has checked the answer.
struct Exchange {
    step: ProbeStep,
    result: Result<Answer, Failure>,
}

impl Probe<'_> {
    /// Sends one request and times it; `path` is how the step shows it.
    async fn exchange(
        &self,
        name: StepName,
        method: Method,
        url: Url,
        path: String,
        body: Option<&Value>,
    ) -> Exchange {
        let start = Instant::now();
        let result = self.client.send_once(method.clone(), url, body).await;
        let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, message) = match &result {
            Ok(answer) => (Some(answer.status), None),
            Err(failure) => (
                failure.error.status,
                Some(failure_message(&failure.error, name)),
            ),
        };
        Exchange {
            step: ProbeStep {
                name,
                method: method.to_string(),
                path,
                status,
                ok: result.is_ok(),
                required: !name.is_discovery(),
                duration_ms,
                message,
            },
            result,
        }
    }

    /// Records `step`, failed with `message` if that is given.
    fn record(&mut self, mut step: ProbeStep, failure: Option<String>) {
        if let Some(message) = failure {
            step.ok = false;
            step.message = Some(message);
        }
        self.steps.push(step);
    }

    /// The JSON body of a successful answer, or the step recorded as failed.
    fn json_of(&mut self, exchange: Exchange) -> Option<Value> {
        let Exchange { step, result } = exchange;
        match result {
            Ok(answer) => match serde_json::from_slice::<Value>(&answer.body) {
                Ok(json) => {
                    self.record(step, None);
                    Some(json)
                }
                Err(e) => {
                    self.record(step, Some(format!("the answer is not JSON ({e})")));
                    None
                }
            },
            Err(_) => {
                self.record(step, None);
                None
            }
        }
    }

    /// `GET /ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. After a request that got no
    /// answer at all, the others are not sent: they would wait out the same timeout.
    async fn discover(&mut self) -> Supports {
        let mut supports = Supports::default();
        for (name, endpoint) in [
            (StepName::ServiceProviderConfig, "ServiceProviderConfig"),
            (StepName::ResourceTypes, "ResourceTypes"),
            (StepName::Schemas, "Schemas"),
        ] {
            let url = self.client.url(&[endpoint]);
            let exchange = self
                .exchange(name, Method::GET, url, format!("/{endpoint}"), None)
                .await;
            let unanswered = exchange.step.status.is_none() && exchange.result.is_err();
            let Some(json) = self.json_of(exchange) else {
                if unanswered {
                    break;
                }
                continue;
            };
            match name {
                StepName::ServiceProviderConfig => read_config(&json, &mut supports),
                StepName::ResourceTypes => {
                    supports.resource_types = Some(resource_strings(&json, &["name", "id"]));
                }
                _ => supports.schemas = Some(resource_strings(&json, &["id"])),
            }
        }
        supports
    }

    /// `POST /Users` with an inactive user that says what it is.
    async fn create(&mut self, user_name: &str) -> Created {
        let body = json!({
            "schemas": [scim_proto::USER_SCHEMA],
            "userName": user_name,
            "active": false,
            "displayName": DISPLAY_NAME,
            "name": {"givenName": "Scimitar", "familyName": "Connection test"},
            "emails": [{"value": user_name, "type": "work", "primary": true}],
        });
        let url = self.client.url(&["Users"]);
        let exchange = self
            .exchange(
                StepName::CreateUser,
                Method::POST,
                url,
                "/Users".into(),
                Some(&body),
            )
            .await;
        let unknown = match &exchange.result {
            // A success whose body cannot be read: the user is probably there.
            Ok(_) => true,
            // Refused before it was processed (connection refused, 429, 503), or a 4xx: no user.
            Err(f) => !f.unprocessed && f.error.status.is_none_or(|s| s >= 500),
        };
        let Some(json) = self.json_of(exchange) else {
            return if unknown {
                Created::Unknown
            } else {
                Created::No
            };
        };
        match json
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        {
            Some(id) => Created::Yes(id.to_owned()),
            None => {
                if let Some(step) = self.steps.last_mut() {
                    step.ok = false;
                    step.message = Some(
                        "the target answered without the new user's `id`, so it cannot be \
                         read or deleted; look for the userName on the target"
                            .into(),
                    );
                }
                Created::Unknown
            }
        }
    }

    /// `GET /Users/{id}`: the user just created, with its userName.
    async fn read(&mut self, id: &str, user_name: &str) {
        let url = self.client.url(&["Users", id]);
        let exchange = self
            .exchange(
                StepName::ReadUser,
                Method::GET,
                url,
                format!("/Users/{id}"),
                None,
            )
            .await;
        let problem = match &exchange.result {
            Ok(answer) => match serde_json::from_slice::<Value>(&answer.body) {
                Err(e) => Some(format!("the answer is not JSON ({e})")),
                Ok(user) => check_user(&user, id, user_name),
            },
            Err(_) => None,
        };
        self.record(exchange.step, problem);
    }

    /// `GET /Users?filter=userName eq "…"`: exactly one result, the user just created.
    async fn filter(&mut self, id: &str, user_name: &str) {
        let filter = eq_filter("userName", user_name);
        let mut url = self.client.url(&["Users"]);
        url.query_pairs_mut().append_pair("filter", &filter);
        let exchange = self
            .exchange(
                StepName::FilterUsers,
                Method::GET,
                url,
                format!("/Users?filter={filter}"),
                None,
            )
            .await;
        let problem = match &exchange.result {
            Ok(answer) => match serde_json::from_slice::<Value>(&answer.body) {
                Err(e) => Some(format!("the answer is not JSON ({e})")),
                Ok(list) => check_found_once(&list, id),
            },
            Err(_) => None,
        };
        self.record(exchange.step, problem);
    }

    /// `DELETE /Users/{id}`; whether it worked.
    async fn delete(&mut self, id: &str) -> bool {
        let url = self.client.url(&["Users", id]);
        let exchange = self
            .exchange(
                StepName::DeleteUser,
                Method::DELETE,
                url,
                format!("/Users/{id}"),
                None,
            )
            .await;
        let ok = exchange.result.is_ok();
        self.record(exchange.step, None);
        ok
    }

    /// After a create whose outcome is unknown: finds the user by filter and deletes what it
    /// finds.
    async fn remove_leftover(&mut self, user_name: &str) -> (Option<String>, Cleanup) {
        let filter = eq_filter("userName", user_name);
        let mut url = self.client.url(&["Users"]);
        url.query_pairs_mut().append_pair("filter", &filter);
        let exchange = self
            .exchange(
                StepName::FindLeftover,
                Method::GET,
                url,
                format!("/Users?filter={filter}"),
                None,
            )
            .await;
        let Some(list) = self.json_of(exchange) else {
            return (None, Cleanup::LeftBehind);
        };
        let ids: Vec<String> = list
            .get("Resources")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|u| u.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let total = list.get("totalResults").and_then(Value::as_u64);
        if ids.is_empty() && total.is_some_and(|t| t > 0) {
            if let Some(step) = self.steps.last_mut() {
                step.ok = false;
                step.message = Some(format!(
                    "the target reports {} matches but lists none, so they cannot be deleted",
                    total.unwrap_or_default()
                ));
            }
            return (None, Cleanup::LeftBehind);
        }
        let mut cleanup = Cleanup::NothingToDelete;
        for id in &ids {
            cleanup = match (self.delete(id).await, cleanup) {
                (false, _) | (_, Cleanup::LeftBehind) => Cleanup::LeftBehind,
                (true, _) => Cleanup::Deleted,
            };
        }
        (ids.into_iter().next(), cleanup)
    }
}

/// A failed request in words an admin can act on: the target's own message (with the SCIM
/// `detail` and `scimType` when it sent an error), without the request line the step shows, and
/// a hint for the usual causes.
fn failure_message(error: &TargetError, name: StepName) -> String {
    // The client's messages start with "METHOD /path: ", which the step already shows.
    let reason = error
        .message
        .split_once(": ")
        .filter(|(what, _)| what.contains(' ') && what.contains('/'))
        .map_or(error.message.as_str(), |(_, rest)| rest);
    let hint = match (error.kind, error.status) {
        (TargetErrorKind::Unauthorized, _) => {
            " — the target refused the credentials; check the app's token or OAuth settings"
        }
        (TargetErrorKind::Forbidden, _) => {
            " — the credentials lack a permission the target requires for this request"
        }
        (TargetErrorKind::NotFound, _) if name == StepName::CreateUser => {
            " — is the app's URL the SCIM base (the URL that /Users is below)?"
        }
        (TargetErrorKind::NotFound, _) if name.is_discovery() => {
            " — the target does not implement this discovery endpoint"
        }
        (TargetErrorKind::Connection, None) | (TargetErrorKind::Timeout, None) => {
            " — check the app's URL and that the target is reachable from this server"
        }
        _ => "",
    };
    format!("{reason}{hint}")
}

/// `supported` read leniently: a boolean, or the strings `"true"`/`"false"` that some targets
/// send.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A count, as a number or a string of digits.
fn count(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn supported(config: &Value, feature: &str) -> Option<bool> {
    config.get(feature)?.get("supported").and_then(flag)
}

/// The capabilities a `ServiceProviderConfig` advertises (RFC 7643 §5); what it leaves out
/// stays unknown.
fn read_config(config: &Value, supports: &mut Supports) {
    supports.patch = supported(config, "patch");
    supports.sort = supported(config, "sort");
    supports.etag = supported(config, "etag");
    supports.change_password = supported(config, "changePassword");
    supports.bulk = supported(config, "bulk").map(|supported| BulkSupport {
        supported,
        max_operations: count(config.get("bulk").and_then(|b| b.get("maxOperations"))),
        max_payload_size: count(config.get("bulk").and_then(|b| b.get("maxPayloadSize"))),
    });
    supports.filter = supported(config, "filter").map(|supported| FilterSupport {
        supported,
        max_results: count(config.get("filter").and_then(|f| f.get("maxResults"))),
    });
    supports.authentication_schemes = config
        .get("authenticationSchemes")
        .and_then(Value::as_array)
        .map(|schemes| {
            schemes
                .iter()
                .filter_map(|s| {
                    s.get("name")
                        .or_else(|| s.get("type"))
                        .and_then(Value::as_str)
                })
                .map(str::to_owned)
                .collect()
        });
}

/// The first of `keys` that is a string, of each resource of a ListResponse (or of a bare array,
/// which some targets answer instead).
fn resource_strings(json: &Value, keys: &[&str]) -> Vec<String> {
    let items = json
        .get("Resources")
        .and_then(Value::as_array)
        .or_else(|| json.as_array());
    items
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    keys.iter()
                        .find_map(|k| item.get(*k).and_then(Value::as_str))
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with the user read back, if anything.
fn check_user(user: &Value, id: &str, user_name: &str) -> Option<String> {
    match (
        user.get("id").and_then(Value::as_str),
        user.get("userName").and_then(Value::as_str),
    ) {
        (Some(got), _) if got != id => Some(format!(
            "the target answered with the user `{got}` instead of `{id}`"
        )),
        (None, _) => Some("the user read back has no `id`".into()),
        (_, Some(got)) if !got.eq_ignore_ascii_case(user_name) => Some(format!(
            "the user read back has the userName `{got}` instead of `{user_name}`"
        )),
        (_, None) => Some("the user read back has no `userName`".into()),
        _ => None,
    }
}

/// What is wrong with the filter's ListResponse, if anything: it must hold the user `id` once.
fn check_found_once(list: &Value, id: &str) -> Option<String> {
    let Some(items) = list.get("Resources").and_then(Value::as_array) else {
        return match count(list.get("totalResults")) {
            Some(0) => Some(
                "the user just created is not found by userName (totalResults 0): the \
                 target's filter does not work on userName, and provisioning matches users \
                 with it"
                    .into(),
            ),
            _ => Some("the answer is not a ListResponse with `Resources`".into()),
        };
    };
    let hits = items
        .iter()
        .filter(|u| u.get("id").and_then(Value::as_str) == Some(id))
        .count();
    match (items.len(), hits) {
        (1, 1) => None,
        (0, _) => Some(
            "the user just created is not found by userName: the target's filter does not \
             work on userName, and provisioning matches users with it"
                .into(),
        ),
        (n, 0) => Some(format!(
            "the filter answered {n} other user(s) and not the one just created: the target \
             ignores the filter or matches loosely"
        )),
        (n, _) => Some(format!(
            "the filter answered {n} users where exactly one has this userName: the target \
             ignores the filter or matches loosely"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_provider_config_leniently_and_unknown_when_absent() {
        let mut s = Supports::default();
        read_config(
            &json!({
                "patch": {"supported": "True"},
                "bulk": {"supported": true, "maxOperations": "100", "maxPayloadSize": 1048576},
                "filter": {"supported": true},
                "etag": {"supported": false},
                "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer"},
                                          {"type": "httpbasic"}],
            }),
            &mut s,
        );
        assert_eq!(s.patch, Some(true));
        assert_eq!(
            s.bulk,
            Some(BulkSupport {
                supported: true,
                max_operations: Some(100),
                max_payload_size: Some(1048576)
            })
        );
        assert_eq!(
            s.filter,
            Some(FilterSupport {
                supported: true,
                max_results: None
            })
        );
        assert_eq!(s.etag, Some(false));
        assert_eq!(s.sort, None);
        assert_eq!(s.change_password, None);
        assert_eq!(
            s.authentication_schemes,
            Some(vec!["OAuth Bearer".to_owned(), "httpbasic".to_owned()])
        );
    }

    #[test]
    fn found_once_means_one_result_with_that_id() {
        assert_eq!(
            check_found_once(&json!({"totalResults": 1, "Resources": [{"id": "a"}]}), "a"),
            None
        );
        for (list, expect) in [
            (json!({"totalResults": 0}), "not found"),
            (json!({"totalResults": 0, "Resources": []}), "not found"),
            (
                json!({"totalResults": 1, "Resources": [{"id": "b"}]}),
                "other user",
            ),
            (
                json!({"totalResults": 2, "Resources": [{"id": "a"}, {"id": "b"}]}),
                "2 users",
            ),
            (json!({"totalResults": 3}), "not a ListResponse"),
        ] {
            let problem = check_found_once(&list, "a").unwrap();
            assert!(problem.contains(expect), "{list}: {problem}");
        }
    }

    #[test]
    fn user_read_back_must_be_the_one_created() {
        assert_eq!(
            check_user(&json!({"id": "a", "userName": "X@y"}), "a", "x@y"),
            None
        );
        assert!(
            check_user(&json!({"id": "b", "userName": "x@y"}), "a", "x@y")
                .unwrap()
                .contains("`b`")
        );
        assert!(check_user(&json!({"id": "a", "userName": "z"}), "a", "x@y")
            .unwrap()
            .contains("`z`"));
    }

    #[test]
    fn messages_drop_the_request_line_and_add_a_hint() {
        let e = TargetError::new(
            TargetErrorKind::ServerError,
            "GET /scim/v2/Users: HTTP 500: boom (scimType tooMany)",
        )
        .with_status(500);
        assert_eq!(
            failure_message(&e, StepName::FilterUsers),
            "HTTP 500: boom (scimType tooMany)"
        );
        let e = TargetError::new(
            TargetErrorKind::Connection,
            "POST /Users: could not connect (Connection refused (os error 111))",
        );
        let m = failure_message(&e, StepName::CreateUser);
        assert!(
            m.starts_with("could not connect (Connection refused") && m.contains("reachable"),
            "{m}"
        );
        let e = TargetError::new(TargetErrorKind::Unauthorized, "token endpoint refused");
        assert!(failure_message(&e, StepName::ServiceProviderConfig)
            .starts_with("token endpoint refused — "));
    }
}
