//! `GET /ui/groups?filter=…&start=…`: 25 groups a page, by displayName, through the API's own
//! list. Member counts are left out: the store has no count of a group's members, and reading
//! the members of every group on the page (each possibly 100,000 long) is not worth a number.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse as _;
use domain::dynamic::DYNAMIC_GROUP_SCHEMA;
use domain::ResourceKind;
use serde_json::Value;
use server::AppState;

use super::Link;
use crate::page::{render, Chrome, UiResult};
use crate::pages::listing::{search, Kind, ListParams, Listing};
use crate::session::Session;

const GROUPS: Kind = Kind {
    kind: ResourceKind::Group,
    path: "/ui/groups",
    noun: "groups",
    sort_by: "displayName",
    placeholder: r#"displayName sw "Sales""#,
};

struct GroupRow {
    link: Link,
    dynamic: bool,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    chrome: Chrome,
    list: Listing<GroupRow>,
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
    let attributes = format!("displayName,{DYNAMIC_GROUP_SCHEMA}:membershipRule");
    let (status, list) = search(&state, &s, GROUPS, attributes, &q, row).await?;
    let page = GroupsPage {
        chrome: s.chrome("groups"),
        list,
    };
    Ok((status, render(&page)).into_response())
}
