//! A page of users or groups: searched with a SCIM filter through the API's own list
//! (`scim::list::run`, so a bad filter gets the API's message beside the search box), sorted,
//! 25 a page, with previous and next links that keep the filter.

use axum::http::StatusCode;
use domain::ResourceKind;
use serde::Deserialize;
use serde_json::Value;
use server::scim::list::{run, ListRequest};
use server::scim::service::Ctx;
use server::AppState;

use crate::page::{message_of, seg, UiResult};
use crate::session::Session;

/// Resources per page.
pub const PAGE: u64 = 25;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    filter: Option<String>,
    start: Option<String>,
}

/// What is listed, and how.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub kind: ResourceKind,
    /// The console page, e.g. `/ui/users`.
    pub path: &'static str,
    /// `users`, `groups`.
    pub noun: &'static str,
    pub sort_by: &'static str,
    pub placeholder: &'static str,
}

/// One page of the list, as the templates show it (`listing_search.html`,
/// `listing_pager.html`).
pub struct Listing<R> {
    pub of: Kind,
    pub filter: String,
    /// The filter's error.
    pub error: Option<String>,
    pub rows: Vec<R>,
    pub total: u64,
    /// The 1-based position of the first row.
    pub first: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl<R> Listing<R> {
    /// The 1-based position of the last row.
    pub fn last(&self) -> u64 {
        (self.first + self.rows.len() as u64).saturating_sub(1)
    }

    fn link(&self, start: u64) -> String {
        if self.filter.is_empty() {
            format!("{}?start={start}", self.of.path)
        } else {
            format!(
                "{}?filter={}&start={start}",
                self.of.path,
                seg(&self.filter)
            )
        }
    }
}

/// Lists a page of `of.kind` with `attributes`; rows are made by `row`. A client's mistake
/// (a bad filter) comes back as the listing's error with its status.
pub async fn search<R>(
    state: &AppState,
    s: &Session,
    of: Kind,
    attributes: String,
    q: &ListParams,
    row: impl Fn(&Value) -> R,
) -> UiResult<(StatusCode, Listing<R>)> {
    let ctx = Ctx::new(state, s.principal.clone()).await?;
    let filter = q.filter.as_deref().map(str::trim).unwrap_or_default();
    let start = q
        .start
        .as_deref()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let mut list = Listing {
        of,
        filter: filter.to_owned(),
        error: None,
        rows: Vec::new(),
        total: 0,
        first: start,
        previous: None,
        next: None,
    };
    let req = ListRequest {
        filter: (!filter.is_empty()).then(|| filter.to_owned()),
        sort_by: Some(of.sort_by.into()),
        start_index: Some(i64::try_from(start).unwrap_or(i64::MAX)),
        count: Some(PAGE as i64),
        attributes: Some(attributes),
        ..ListRequest::default()
    };
    let base = state.config.public_url.as_deref().unwrap_or("/scim/v2");
    let body = match run(&ctx, &[of.kind], &req, base).await {
        Ok(body) => body,
        Err(e) => {
            let (status, _, _) = e.parts();
            if status.is_server_error() {
                return Err(e.into());
            }
            list.error = Some(message_of(e));
            return Ok((status, list));
        }
    };
    list.total = body
        .get("totalResults")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    list.rows = body
        .get("Resources")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(row).collect())
        .unwrap_or_default();
    if start > 1 {
        list.previous = Some(list.link(start.saturating_sub(PAGE).max(1)));
    }
    if start - 1 + (list.rows.len() as u64) < list.total && !list.rows.is_empty() {
        list.next = Some(list.link(start.saturating_add(PAGE)));
    }
    Ok((StatusCode::OK, list))
}
