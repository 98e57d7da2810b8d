//! `GET /ui/groups?filter=…&start=…`: 25 groups a page, by displayName, through the API's own
//! list. Member counts are left out: the store has no count of a group's members, and reading
//! the members of every group on the page (each possibly 100,000 long) is not worth a number.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse as _;
use domain::dynamic::DYNAMIC_GROUP_SCHEMA;
use domain::ResourceKind;
use serde::Deserialize;
use serde_json::Value;
use server::scim::list::{run, ListRequest};
use server::AppState;

use super::{ctx, Link};
use crate::page::{message_of, render, seg, Chrome, UiResult};
use crate::session::Session;

/// Groups per page.
const PAGE: u64 = 25;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    filter: Option<String>,
    start: Option<String>,
}

struct GroupRow {
    link: Link,
    dynamic: bool,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    chrome: Chrome,
    filter: String,
    error: Option<String>,
    rows: Vec<GroupRow>,
    total: u64,
    first: u64,
    previous: Option<String>,
    next: Option<String>,
}

impl GroupsPage {
    fn last(&self) -> u64 {
        (self.first + self.rows.len() as u64).saturating_sub(1)
    }
}

fn page_link(filter: &str, start: u64) -> String {
    if filter.is_empty() {
        format!("/ui/groups?start={start}")
    } else {
        format!("/ui/groups?filter={}&start={start}", seg(filter))
    }
}

fn row(v: &Value) -> GroupRow {
    let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
    let name = v.get("displayName").and_then(Value::as_str);
    let dynamic = v.as_object().and_then(domain::dynamic::rule_text).is_some();
    GroupRow {
        link: Link::group(id, name),
        dynamic,
    }
}

pub async fn list(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<ListParams>,
) -> UiResult {
    let ctx = ctx(&state, &s).await?;
    let filter = q.filter.as_deref().map(str::trim).unwrap_or_default();
    let start = q
        .start
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let req = ListRequest {
        filter: (!filter.is_empty()).then(|| filter.to_owned()),
        sort_by: Some("displayName".into()),
        start_index: Some(i64::try_from(start).unwrap_or(i64::MAX)),
        count: Some(PAGE as i64),
        attributes: Some(format!("displayName,{DYNAMIC_GROUP_SCHEMA}:membershipRule")),
        ..ListRequest::default()
    };
    let mut page = GroupsPage {
        chrome: s.chrome("groups"),
        filter: filter.to_owned(),
        error: None,
        rows: Vec::new(),
        total: 0,
        first: start,
        previous: None,
        next: None,
    };
    let base = state.config.public_url.as_deref().unwrap_or("/scim/v2");
    let body = match run(&ctx, &[ResourceKind::Group], &req, base).await {
        Ok(body) => body,
        Err(e) => {
            let (status, _, _) = e.parts();
            if status.is_server_error() {
                return Err(e.into());
            }
            page.error = Some(message_of(e));
            return Ok((status, render(&page)).into_response());
        }
    };
    page.total = body
        .get("totalResults")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    page.rows = body
        .get("Resources")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(row).collect())
        .unwrap_or_default();
    if start > 1 {
        page.previous = Some(page_link(filter, start.saturating_sub(PAGE).max(1)));
    }
    if start - 1 + (page.rows.len() as u64) < page.total && !page.rows.is_empty() {
        page.next = Some(page_link(filter, start.saturating_add(PAGE)));
    }
    Ok(render(&page))
}
