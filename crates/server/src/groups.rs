//! Dynamic groups in the admin API under `/api/v1/groups` (admin-scoped tokens; the tenant is the
//! token's): create a dynamic group, read, set or remove its rule (with the recomputation's
//! progress), preview what a rule would do, and explain why a user is or is not a member.
//!
//! Writes go through the SCIM service (`scim::service::Ctx`), so the rule is validated and the
//! membership recomputed exactly as for a SCIM client.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use domain::dynamic::{self, Preview, UserRef, DYNAMIC_GROUP_SCHEMA};
use domain::{Error, Load, ResourceKind, Scope, Store, StoredResource};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::etag::Preconditions;
use crate::json::{ScimBody, ScimResponse};
use crate::scim::service::Ctx;
use crate::AppState;

/// Most example users a preview lists per side.
const MAX_EXAMPLES: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", post(create))
        .route("/groups/preview", post(preview))
        .route("/groups/explain", post(explain))
        .route(
            "/groups/{id}/rule",
            get(show).put(set_rule).delete(remove_rule),
        )
}

async fn admin(state: &AppState, p: Principal) -> ApiResult<Ctx> {
    p.require(Scope::Admin)?;
    Ctx::new(state, p).await
}

/// Finishes, in the background, the recomputations a previous run left unfinished (each resumes
/// from its cursor).
pub fn resume_recomputations(state: &AppState) {
    let store = Arc::clone(&state.store);
    let clock = Arc::clone(&state.clock);
    tokio::spawn(async move {
        let pending = match store.pending_dynamic_groups().await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!(error = %e, "cannot list unfinished dynamic-group recomputations");
                return;
            }
        };
        for (tenant, group) in pending {
            if let Err(e) = recompute(Arc::clone(&store), tenant, group.clone(), clock.now()).await
            {
                tracing::error!(group, error = %e, "dynamic-group recomputation failed");
            }
        }
    });
}

/// Recomputes a dynamic group's membership (see `domain::dynamic::recompute`) in a task of its
/// own, so that a client hanging up does not stop it half way, and logs what it did.
pub(crate) async fn recompute(
    store: Arc<dyn Store>,
    tenant: String,
    group: String,
    now: jiff::Timestamp,
) -> domain::Result<()> {
    let started = std::time::Instant::now();
    let task_group = group.clone();
    let totals = tokio::spawn(async move {
        dynamic::recompute(store.as_ref(), &tenant, &task_group, now, |_| {}).await
    })
    .await
    .map_err(|e| Error::Internal(format!("the recomputation task failed: {e}")))??;
    tracing::info!(
        group,
        evaluated = totals.evaluated,
        added = totals.added,
        removed = totals.removed,
        ms = started.elapsed().as_millis(),
        "recomputed a dynamic group's membership"
    );
    Ok(())
}

fn text<'a>(body: &'a Value, name: &str) -> ApiResult<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            Error::InvalidValue(format!("the body needs `{name}` (a non-empty string)")).into()
        })
}

/// A group's rule, recomputation progress and member count.
async fn state_json(ctx: &Ctx, group: &StoredResource) -> ApiResult<Value> {
    let state = ctx
        .state
        .store
        .dynamic_rule(&ctx.principal.tenant_id, &group.id)
        .await?;
    let members = group.members.as_ref().map(Vec::len);
    Ok(json!({
        "groupId": group.id,
        "displayName": group.body.get("displayName"),
        "rule": state.as_ref().map(|s| s.rule.clone()),
        "processing": state.and_then(|s| s.processing).map(|(evaluated, total)| json!({
            "evaluated": evaluated,
            "total": total,
        })),
        "members": members,
    }))
}

/// `POST /groups` `{"displayName": …, "rule": …}`: a new dynamic group, its membership computed
/// before the answer.
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let name = text(&body, "displayName")?;
    let rule = text(&body, "rule")?;
    let group = ctx
        .create(
            ResourceKind::Group,
            json!({
                "schemas": [scim_proto::GROUP_SCHEMA, DYNAMIC_GROUP_SCHEMA],
                "displayName": name,
                DYNAMIC_GROUP_SCHEMA: { "membershipRule": rule },
            }),
            Load::ALL,
        )
        .await?;
    Ok(ScimResponse {
        status: StatusCode::CREATED,
        ..ScimResponse::ok(state_json(&ctx, &group).await?)
    })
}

pub async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let group = ctx.get(ResourceKind::Group, &id, Load::ALL).await?;
    Ok(ScimResponse::ok(state_json(&ctx, &group).await?))
}

/// The PATCH that sets (`Some`) or removes (`None`) a group's membership rule.
pub fn rule_patch(value: Option<&str>) -> Value {
    let path = format!("{DYNAMIC_GROUP_SCHEMA}:membershipRule");
    let op = match value {
        Some(rule) => json!({ "op": "replace", "path": path, "value": rule }),
        None => json!({ "op": "remove", "path": path }),
    };
    json!({
        "schemas": [scim_proto::PATCH_OP],
        "Operations": [op],
    })
}

/// `PUT /groups/{id}/rule` `{"rule": …}`: makes the group dynamic (or changes its rule); answers
/// once the membership is recomputed. `GET` shows the progress meanwhile.
pub async fn set_rule(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let rule = text(&body, "rule")?;
    let group = ctx
        .patch(
            ResourceKind::Group,
            &id,
            &rule_patch(Some(rule)),
            &Preconditions::default(),
            Load::ALL,
        )
        .await?;
    Ok(ScimResponse::ok(state_json(&ctx, &group).await?))
}

/// `DELETE /groups/{id}/rule`: the group becomes static, keeping its members.
pub async fn remove_rule(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let group = ctx
        .patch(
            ResourceKind::Group,
            &id,
            &rule_patch(None),
            &Preconditions::default(),
            Load::ALL,
        )
        .await?;
    Ok(ScimResponse::ok(state_json(&ctx, &group).await?))
}

fn user_json(u: &UserRef) -> Value {
    json!({ "id": u.id, "userName": u.user_name, "displayName": u.display_name })
}

fn preview_json(p: &Preview) -> Value {
    json!({
        "evaluated": p.evaluated,
        "matching": p.matching,
        "added": p.added,
        "removed": p.removed,
        "addedExamples": p.added_examples.iter().map(user_json).collect::<Vec<_>>(),
        "removedExamples": p.removed_examples.iter().map(user_json).collect::<Vec<_>>(),
    })
}

/// `POST /groups/preview` `{"rule": …, "groupId"?: …, "examples"?: 5}`: what saving the rule
/// would do, without writing anything.
pub async fn preview(
    State(state): State<AppState>,
    p: Principal,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let rule = dynamic::parse_rule(text(&body, "rule")?)?;
    let group_id = body.get("groupId").and_then(Value::as_str);
    let examples = body
        .get("examples")
        .and_then(Value::as_u64)
        .map_or(5, |n| usize::try_from(n).unwrap_or(MAX_EXAMPLES))
        .min(MAX_EXAMPLES);
    let preview = dynamic::preview(
        ctx.state.store.as_ref(),
        &ctx.principal.tenant_id,
        &rule,
        group_id,
        ctx.state.clock.now(),
        examples,
    )
    .await?;
    Ok(ScimResponse::ok(preview_json(&preview)))
}

/// `POST /groups/explain` `{"userId": …, "groupId": …}` or `{"userId": …, "rule": …}`: whether
/// the rule matches the user, clause by clause, and whether the user is a member now.
pub async fn explain(
    State(state): State<AppState>,
    p: Principal,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let ctx = admin(&state, p).await?;
    let user_id = text(&body, "userId")?;
    let group_id = body.get("groupId").and_then(Value::as_str);
    let (rule_text, group) = match (body.get("rule").and_then(Value::as_str), group_id) {
        (Some(rule), _) => (rule.to_owned(), None),
        (None, Some(group_id)) => {
            // Membership from the user's groups: a group's member list may be 100,000 long.
            let group = ctx.get(ResourceKind::Group, group_id, Load::NONE).await?;
            let rule = dynamic::rule_text(&group.body)
                .ok_or_else(|| {
                    Error::InvalidValue(format!(
                        "group `{group_id}` has no membership rule: it is not a dynamic group"
                    ))
                })?
                .to_owned();
            (rule, Some(group_id))
        }
        (None, None) => {
            return Err(Error::InvalidValue(
                "the body needs `groupId` (a dynamic group) or `rule`".into(),
            )
            .into())
        }
    };
    let rule = dynamic::parse_rule(&rule_text)?;
    let user = ctx.get(ResourceKind::User, user_id, Load::ALL).await?;
    let member = group.map(|group_id| {
        user.groups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|g| g.value == group_id)
    });
    let (matches, explanation) = dynamic::explain(&rule, &user, ctx.state.clock.now());
    Ok(ScimResponse::ok(json!({
        "userId": user_id,
        "groupId": group_id,
        "rule": rule_text,
        "matches": matches,
        "member": member,
        "explanation": explanation,
    })))
}
