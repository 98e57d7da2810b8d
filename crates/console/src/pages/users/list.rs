//! `GET /ui/users?filter=…&start=…`: 25 users a page, by userName, searched with a SCIM filter
//! through the API's own list (`scim::list::run`), so a bad filter gets the API's message.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse as _;
use domain::ResourceKind;
use serde::Deserialize;
use serde_json::Value;
use server::scim::list::{run, ListRequest};
use server::AppState;

use super::{active_of, base_url, ctx, text_at};
use crate::page::{message_of, render, seg, Chrome, UiResult};
use crate::session::Session;

/// Users per page.
const PAGE: u64 = 25;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    filter: Option<String>,
    start: Option<String>,
}

struct UserRow {
    id: String,
    user_name: String,
    display_name: String,
    active: Option<bool>,
    department: String,
}

impl UserRow {
    fn of(v: &Value) -> UserRow {
        UserRow {
            id: seg(&text_at(v, &["id"])),
            user_name: text_at(v, &["userName"]),
            display_name: text_at(v, &["displayName"]),
            active: active_of(v),
            department: text_at(v, &[scim_proto::ENTERPRISE_USER_SCHEMA, "department"]),
        }
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    filter: String,
    /// The filter's error, shown beside the search box.
    error: Option<String>,
    rows: Vec<UserRow>,
    total: u64,
    first: u64,
    previous: Option<String>,
    next: Option<String>,
}

impl UsersPage {
    fn last(&self) -> u64 {
        (self.first + self.rows.len() as u64).saturating_sub(1)
    }
}

fn page_link(filter: &str, start: u64) -> String {
    if filter.is_empty() {
        format!("/ui/users?start={start}")
    } else {
        format!("/ui/users?filter={}&start={start}", seg(filter))
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
        sort_by: Some("userName".into()),
        start_index: Some(i64::try_from(start).unwrap_or(i64::MAX)),
        count: Some(PAGE as i64),
        attributes: Some(format!(
            "userName,displayName,active,{}:department",
            scim_proto::ENTERPRISE_USER_SCHEMA
        )),
        ..ListRequest::default()
    };
    let mut page = UsersPage {
        chrome: s.chrome("users"),
        filter: filter.to_owned(),
        error: None,
        rows: Vec::new(),
        total: 0,
        first: start,
        previous: None,
        next: None,
    };
    let body = match run(&ctx, &[ResourceKind::User], &req, base_url(&state)).await {
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
        .map(|items| items.iter().map(UserRow::of).collect())
        .unwrap_or_default();
    if start > 1 {
        page.previous = Some(page_link(filter, start.saturating_sub(PAGE).max(1)));
    }
    if start - 1 + (page.rows.len() as u64) < page.total && !page.rows.is_empty() {
        page.next = Some(page_link(filter, start.saturating_add(PAGE)));
    }
    Ok(render(&page))
}
