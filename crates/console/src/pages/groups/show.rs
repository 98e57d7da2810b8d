//! `GET /ui/groups/{id}`: a group's members (the first [`MEMBERS_SHOWN`]), and for a dynamic
//! group its rule, the recomputation's progress (polled by htmx while it runs) and the
//! "why (not) a member" form. Also the page the rule and explain forms answer with when
//! they are posted without JavaScript.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use domain::{Load, ResourceKind, StoredResource};
use serde::Deserialize;
use server::scim::service::Ctx;
use server::AppState;

use super::explain::ExplainView;
use super::rule::PreviewView;
use super::{ctx, Link};
use crate::page::{render, seg, short_time, Chrome, UiResult};
use crate::session::Session;

/// Members listed on the page; the count says how many there are.
pub const MEMBERS_SHOWN: usize = 100;

/// A recomputation under way.
pub struct Progress {
    pub evaluated: u64,
    pub total: u64,
}

/// The recomputation's state, as its polled region shows it.
pub struct ProgressView {
    /// The group's id, percent-encoded.
    pub id_q: String,
    pub dynamic: bool,
    pub running: Option<Progress>,
}

struct GroupView {
    id: String,
    id_q: String,
    display_name: String,
    /// The stored rule; `None` for a static group.
    rule: Option<String>,
    member_count: usize,
    members: Vec<Link>,
    created: String,
    last_modified: String,
    version: u64,
}

/// What a posted form adds to the group page.
#[derive(Default)]
pub struct Extras {
    /// The rule editor's text; `None`: the stored rule.
    pub rule_text: Option<String>,
    pub preview: PreviewView,
    pub explain_user: String,
    pub explain: ExplainView,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "groups_show.html")]
struct GroupPage {
    chrome: Chrome,
    group: GroupView,
    progress: ProgressView,
    rule_text: String,
    preview: PreviewView,
    explain_user: String,
    explain: ExplainView,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "groups_progress.html")]
struct ProgressFragment {
    progress: ProgressView,
}

async fn progress_of(ctx: &Ctx, id: &str) -> UiResult<ProgressView> {
    let state = ctx
        .state
        .store
        .dynamic_rule(&ctx.principal.tenant_id, id)
        .await?;
    Ok(ProgressView {
        id_q: seg(id),
        dynamic: state.is_some(),
        running: state
            .and_then(|s| s.processing)
            .map(|(evaluated, total)| Progress { evaluated, total }),
    })
}

fn view(group: StoredResource) -> GroupView {
    let mut members: Vec<Link> = group
        .members
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| match m.kind {
            ResourceKind::User => Link::user(&m.value, m.display.as_deref()),
            ResourceKind::Group => Link::group(&m.value, m.display.as_deref()),
        })
        .collect();
    let member_count = members.len();
    members.sort_by_cached_key(|m| m.name.to_lowercase());
    members.truncate(MEMBERS_SHOWN);
    GroupView {
        id_q: seg(&group.id),
        display_name: group
            .body
            .get("displayName")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        rule: domain::dynamic::rule_text(&group.body).map(str::to_owned),
        member_count,
        members,
        created: short_time(group.created),
        last_modified: short_time(group.last_modified),
        version: group.version,
        id: group.id,
    }
}

/// The group page with what a posted form adds, answered with `status`.
pub async fn page(
    state: &AppState,
    s: &Session,
    id: &str,
    extras: Extras,
    status: StatusCode,
) -> UiResult {
    let ctx = ctx(state, s).await?;
    // The members are read whole: the store has no paged read of one group's members.
    let load = Load {
        members: true,
        groups: false,
    };
    let group = view(ctx.get(ResourceKind::Group, id, load).await?);
    let page = GroupPage {
        chrome: s.chrome("groups"),
        progress: progress_of(&ctx, id).await?,
        rule_text: extras
            .rule_text
            .or_else(|| group.rule.clone())
            .unwrap_or_default(),
        group,
        preview: extras.preview,
        explain_user: extras.explain_user,
        explain: extras.explain,
        error: extras.error,
        notice: extras.notice,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ShowParams {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<ShowParams>,
) -> UiResult {
    let notice = match q.saved.as_deref() {
        Some("rule") => Some("Rule saved; the membership is recomputed."),
        Some("static") => Some("The group is static now; it keeps its members."),
        Some(_) => Some("Saved."),
        None => None,
    };
    let extras = Extras {
        notice: notice.map(str::to_owned),
        ..Extras::default()
    };
    page(&state, &s, &id, extras, StatusCode::OK).await
}

/// `GET /ui/groups/{id}/progress`: the progress region, which htmx polls while it runs.
pub async fn progress(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> UiResult {
    let ctx = ctx(&state, &s).await?;
    // Reading the group first: a group of another tenant or none at all is a 404.
    ctx.get(ResourceKind::Group, &id, Load::NONE).await?;
    Ok(render(&ProgressFragment {
        progress: progress_of(&ctx, &id).await?,
    }))
}
