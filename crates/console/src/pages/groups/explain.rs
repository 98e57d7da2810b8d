//! `POST /ui/groups/{id}/explain` (`user`: a userName or a user id): whether the group's rule
//! matches the user, whether the user is a member now, and the rule's clause-by-clause
//! evaluation. A fragment for htmx, the whole group page for a plain form post.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use domain::{dynamic, Load, ResourceKind};
use server::scim::service::Ctx;
use server::AppState;

use super::show::{self, Extras};
use super::{ctx, is_htmx, Link};
use crate::form::Posted;
use crate::page::{message_of, render, UiResult};

pub struct ExplainResult {
    pub user: Link,
    pub matches: bool,
    pub member: bool,
    pub explanation: String,
}

/// The explain region's content: nothing yet, an error, or the answer.
#[derive(Default)]
pub struct ExplainView {
    pub error: Option<String>,
    pub result: Option<ExplainResult>,
}

#[derive(Template)]
#[template(path = "groups_explain.html")]
struct ExplainFragment {
    explain: ExplainView,
}

/// Explains the group's rule for the user `who`; a problem with the request is the view's
/// error (with the status a full page answers with).
async fn explain_of(ctx: &Ctx, group_id: &str, who: &str) -> UiResult<(StatusCode, ExplainView)> {
    let failed = |status, message: String| {
        Ok((
            status,
            ExplainView {
                error: Some(message),
                result: None,
            },
        ))
    };
    let group = ctx.get(ResourceKind::Group, group_id, Load::NONE).await?;
    let Some(rule_text) = dynamic::rule_text(&group.body) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "This group has no membership rule: it is a static group.".into(),
        );
    };
    let rule = match dynamic::parse_rule(rule_text) {
        Ok(rule) => rule,
        Err(e) => return failed(StatusCode::BAD_REQUEST, message_of(e)),
    };
    if who.is_empty() {
        return failed(
            StatusCode::BAD_REQUEST,
            "Give a userName or a user id.".into(),
        );
    }
    let Some(user) =
        crate::pages::find(ctx, ResourceKind::User, "userName", who, Load::ALL).await?
    else {
        return failed(
            StatusCode::NOT_FOUND,
            format!("There is no user with the userName or id `{who}`."),
        );
    };
    let member = user
        .groups
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|g| g.value == group.id);
    let (matches, explanation) = dynamic::explain(&rule, &user, ctx.state.clock.now());
    let name = user
        .body
        .get("userName")
        .and_then(serde_json::Value::as_str);
    Ok((
        StatusCode::OK,
        ExplainView {
            error: None,
            result: Some(ExplainResult {
                user: Link::user(&user.id, name),
                matches,
                member,
                explanation,
            }),
        },
    ))
}

pub async fn explain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let ctx = ctx(&state, s).await?;
    let who = posted.fields.text("user").unwrap_or_default();
    let (status, view) = explain_of(&ctx, &id, who).await?;
    if is_htmx(&headers) {
        // htmx swaps only 2xx answers: the error is in the fragment.
        return Ok(render(&ExplainFragment { explain: view }));
    }
    let extras = Extras {
        explain_user: who.to_owned(),
        explain: view,
        ..Extras::default()
    };
    show::page(&state, s, &id, extras, status).await
}
