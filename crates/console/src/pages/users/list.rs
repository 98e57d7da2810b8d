//! `GET /ui/users?filter=…&start=…`: 25 users a page, by userName, searched with a SCIM filter
//! through the API's own list (`scim::list::run`), so a bad filter gets the API's message.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse as _;
use domain::ResourceKind;
use serde_json::Value;
use server::AppState;

use super::{active_of, json_text};
use crate::page::{render, seg, Chrome, UiResult};
use crate::pages::listing::{search, Kind, ListParams, Listing};
use crate::session::Session;

const USERS: Kind = Kind {
    kind: ResourceKind::User,
    path: "/ui/users",
    noun: "users",
    sort_by: "userName",
    placeholder: r#"userName sw "a" or name.familyName eq "Jensen""#,
};

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
            id: seg(&json_text(v, &["id"])),
            user_name: json_text(v, &["userName"]),
            display_name: json_text(v, &["displayName"]),
            active: active_of(v),
            department: json_text(v, &[scim_proto::ENTERPRISE_USER_SCHEMA, "department"]),
        }
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    list: Listing<UserRow>,
}

pub async fn list(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<ListParams>,
) -> UiResult {
    let attributes = format!(
        "userName,displayName,active,{}:department",
        scim_proto::ENTERPRISE_USER_SCHEMA
    );
    let (status, list) = search(&state, &s, USERS, attributes, &q, UserRow::of).await?;
    let page = UsersPage {
        chrome: s.chrome("users"),
        list,
    };
    Ok((status, render(&page)).into_response())
}
