//! The dynamic-group rule editor: the live preview (`POST /ui/groups/preview`: a fragment for
//! htmx, the whole page for a plain form post), saving a rule (which recomputes the membership
//! before it answers), making a group static, and creating a dynamic group.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use domain::dynamic::{self, UserRef, DYNAMIC_GROUP_SCHEMA};
use domain::{Load, ResourceKind, Scope};
use serde_json::json;
use server::etag::Preconditions;
use server::scim::service::Ctx;
use server::AppState;

use super::show::{self, Extras};
use super::{ctx, is_htmx, Link};
use crate::form::Posted;
use crate::page::{message_of, render, see_other, seg, Chrome, UiError, UiResult};
use crate::session::Session;

/// Example users a preview names per side.
const EXAMPLES: usize = 5;

/// A rule's parse error, pointed at.
pub type RuleError = crate::page::Located;

/// Where a rule's parse error is in `text`.
pub fn locate(text: &str, e: &group_rules::ParseError) -> RuleError {
    crate::page::locate(text, e.span.start, e.span.end, &e.message)
}

/// What saving the rule would do.
pub struct PreviewResult {
    pub evaluated: u64,
    pub matching: u64,
    pub added: u64,
    pub removed: u64,
    pub added_examples: Vec<Link>,
    pub removed_examples: Vec<Link>,
    /// There are more than the examples.
    pub more_added: bool,
    pub more_removed: bool,
}

/// The preview region's content: a hint, a parse error, or what the rule would do.
#[derive(Default)]
pub struct PreviewView {
    pub hint: Option<String>,
    pub error: Option<RuleError>,
    pub result: Option<PreviewResult>,
}

#[derive(Template)]
#[template(path = "groups_preview.html")]
struct PreviewFragment {
    preview: PreviewView,
}

/// Form text with the browser's CRLF line ends made LF (the caret columns count characters).
fn rule_of(posted: &Posted) -> String {
    posted
        .fields
        .get("rule")
        .unwrap_or_default()
        .replace("\r\n", "\n")
}

fn links(users: &[UserRef]) -> Vec<Link> {
    users
        .iter()
        .map(|u| Link::user(&u.id, u.display_name.as_deref().or(u.user_name.as_deref())))
        .collect()
}

/// Evaluates `text` over every user against the members of `group_id` (none: a new group).
pub async fn preview_of(ctx: &Ctx, text: &str, group_id: Option<&str>) -> UiResult<PreviewView> {
    ctx.principal.require(Scope::ScimRead)?;
    if text.trim().is_empty() {
        return Ok(PreviewView {
            hint: Some("Type a rule to see which users it matches.".into()),
            ..PreviewView::default()
        });
    }
    let rule = match group_rules::parse(text) {
        Ok(rule) => rule,
        Err(e) => {
            return Ok(PreviewView {
                error: Some(locate(text, &e)),
                ..PreviewView::default()
            })
        }
    };
    let p = dynamic::preview(
        ctx.state.store.as_ref(),
        &ctx.principal.tenant_id,
        &rule,
        group_id,
        ctx.state.clock.now(),
        EXAMPLES,
    )
    .await?;
    Ok(PreviewView {
        result: Some(PreviewResult {
            evaluated: p.evaluated,
            matching: p.matching,
            added: p.added,
            removed: p.removed,
            added_examples: links(&p.added_examples),
            removed_examples: links(&p.removed_examples),
            more_added: p.added > p.added_examples.len() as u64,
            more_removed: p.removed > p.removed_examples.len() as u64,
        }),
        ..PreviewView::default()
    })
}

#[derive(Template)]
#[template(path = "groups_new.html")]
struct NewGroupPage {
    chrome: Chrome,
    display_name: String,
    rule_text: String,
    preview: PreviewView,
    error: Option<String>,
}

fn new_group_page(s: &Session, name: &str, rule: String, preview: PreviewView) -> NewGroupPage {
    NewGroupPage {
        chrome: s.chrome("groups"),
        display_name: name.to_owned(),
        rule_text: rule,
        preview,
        error: None,
    }
}

/// `GET /ui/groups/new`: the form for a new dynamic group.
pub async fn new_page(s: Session) -> Response {
    render(&new_group_page(
        &s,
        "",
        String::new(),
        PreviewView::default(),
    ))
}

/// `POST /ui/groups/preview` (`rule`, and `group_id` on a group's page or `displayName` on the
/// new-group page).
pub async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let ctx = ctx(&state, s).await?;
    let text = rule_of(&posted);
    let group_id = posted.fields.text("group_id");
    let view = preview_of(&ctx, &text, group_id).await?;
    if is_htmx(&headers) {
        return Ok(render(&PreviewFragment { preview: view }));
    }
    match group_id {
        Some(id) => {
            let extras = Extras {
                rule_text: Some(text),
                preview: view,
                ..Extras::default()
            };
            show::page(&state, s, id, extras, StatusCode::OK).await
        }
        None => {
            let name = posted.fields.get("displayName").unwrap_or_default();
            Ok(render(&new_group_page(s, name, text, view)))
        }
    }
}

/// A write's client error (shown on the form, with `status`), or the error page for the rest.
fn form_error(e: server::ApiError) -> UiResult<(StatusCode, String)> {
    let (status, _, _) = e.parts();
    if status.is_server_error() || status == StatusCode::NOT_FOUND {
        return Err(UiError(e));
    }
    Ok((status, format!("Nothing was saved: {}", message_of(e))))
}

/// `POST /ui/groups/{id}/rule`: saves the rule; the answer waits for the recomputation.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let ctx = ctx(&state, s).await?;
    let text = rule_of(&posted);
    let result = if text.trim().is_empty() {
        Err(domain::Error::InvalidValue(
            "the rule is empty: type one, or use “Make static” to remove the rule".into(),
        )
        .into())
    } else {
        ctx.patch(
            ResourceKind::Group,
            &id,
            &server::groups::rule_patch(Some(&text)),
            &Preconditions::default(),
            Load::NONE,
        )
        .await
    };
    let e = match result {
        Ok(_) => return Ok(see_other(&format!("/ui/groups/{}?saved=rule", seg(&id)))),
        Err(e) => e,
    };
    let (status, message) = form_error(e)?;
    let extras = Extras {
        preview: preview_of(&ctx, &text, Some(&id)).await?,
        rule_text: Some(text),
        error: Some(message),
        ..Extras::default()
    };
    show::page(&state, s, &id, extras, status).await
}

/// `POST /ui/groups/{id}/rule/remove`: the group becomes static, keeping its members.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> UiResult {
    let ctx = ctx(&state, &posted.session).await?;
    ctx.patch(
        ResourceKind::Group,
        &id,
        &server::groups::rule_patch(None),
        &Preconditions::default(),
        Load::NONE,
    )
    .await?;
    Ok(see_other(&format!("/ui/groups/{}?saved=static", seg(&id))))
}

/// `POST /ui/groups` (`displayName`, `rule`): a new dynamic group, its membership computed
/// before the answer; without a rule, a static group.
pub async fn create(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let ctx = ctx(&state, s).await?;
    let name = posted.fields.get("displayName").unwrap_or_default();
    let text = rule_of(&posted);
    let body = if text.trim().is_empty() {
        json!({ "schemas": [scim_proto::GROUP_SCHEMA], "displayName": name.trim() })
    } else {
        json!({
            "schemas": [scim_proto::GROUP_SCHEMA, DYNAMIC_GROUP_SCHEMA],
            "displayName": name.trim(),
            DYNAMIC_GROUP_SCHEMA: { "membershipRule": text },
        })
    };
    let e = match ctx.create(ResourceKind::Group, body, Load::NONE).await {
        Ok(group) => return Ok(see_other(&format!("/ui/groups/{}", seg(&group.id)))),
        Err(e) => e,
    };
    let (status, message) = form_error(e)?;
    let preview = preview_of(&ctx, &text, None).await?;
    let mut page = new_group_page(s, name, text, preview);
    page.error = Some(message);
    Ok((status, render(&page)).into_response())
}
