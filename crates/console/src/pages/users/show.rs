//! `GET /ui/users/{id}`: one user, its groups, meta, full JSON, and the edit form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use domain::{Load, ResourceKind, StoredResource};
use serde::Deserialize;
use serde_json::Value;
use server::scim::service::Ctx;
use server::AppState;

use super::edit::EditForm;
use super::{active_of, base_url, ctx, json_text};
use crate::page::{render, seg, short_time, Chrome, UiResult};
use crate::session::Session;

const ENTERPRISE: &str = scim_proto::ENTERPRISE_USER_SCHEMA;

struct Email {
    value: String,
    kind: String,
    primary: bool,
}

/// A link to another resource of the console.
pub struct Link {
    pub href: String,
    pub name: String,
}

struct UserView {
    id: String,
    /// `id`, percent-encoded for URLs.
    id_q: String,
    user_name: String,
    display_name: String,
    given_name: String,
    family_name: String,
    title: String,
    external_id: String,
    active: Option<bool>,
    emails: Vec<Email>,
    department: String,
    employee_number: String,
    manager: Option<Link>,
    groups: Vec<Link>,
    created: String,
    last_modified: String,
    version: u64,
    json: String,
}

/// The name a user goes by: displayName, else userName.
fn name_of(user: &StoredResource) -> Option<String> {
    ["displayName", "userName"]
        .iter()
        .find_map(|k| user.body.get(*k).and_then(Value::as_str))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

impl UserView {
    /// `manager_name`: the manager's own name (a reference carries at most the name it was
    /// written with).
    fn of(user: StoredResource, base: &str, manager_name: Option<String>) -> UserView {
        let (id, created, last_modified, version) = (
            user.id.clone(),
            short_time(user.created),
            short_time(user.last_modified),
            user.version,
        );
        let groups = user
            .groups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|g| Link {
                href: format!("/ui/groups/{}", seg(&g.value)),
                name: g.display.clone().unwrap_or_else(|| g.value.clone()),
            })
            .collect();
        let v = Value::Object(domain::render::render(user, base));
        let emails = v
            .get("emails")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|e| Email {
                        value: json_text(e, &["value"]),
                        kind: json_text(e, &["type"]),
                        primary: e.get("primary").and_then(Value::as_bool) == Some(true),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let manager_id = json_text(&v, &[ENTERPRISE, "manager", "value"]);
        let manager = (!manager_id.is_empty()).then(|| {
            let written = json_text(&v, &[ENTERPRISE, "manager", "displayName"]);
            let name = manager_name
                .or((!written.is_empty()).then_some(written))
                .unwrap_or_else(|| manager_id.clone());
            Link {
                href: format!("/ui/users/{}", seg(&manager_id)),
                name,
            }
        });
        UserView {
            id_q: seg(&id),
            id,
            user_name: json_text(&v, &["userName"]),
            display_name: json_text(&v, &["displayName"]),
            given_name: json_text(&v, &["name", "givenName"]),
            family_name: json_text(&v, &["name", "familyName"]),
            title: json_text(&v, &["title"]),
            external_id: json_text(&v, &["externalId"]),
            active: active_of(&v),
            emails,
            department: json_text(&v, &[ENTERPRISE, "department"]),
            employee_number: json_text(&v, &[ENTERPRISE, "employeeNumber"]),
            manager,
            groups,
            created,
            last_modified,
            version,
            json: serde_json::to_string_pretty(&v).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "users_show.html")]
struct UserPage {
    chrome: Chrome,
    user: UserView,
    form: EditForm,
    error: Option<String>,
    notice: Option<String>,
}

/// The user page: `form` holds the edit form's values (the stored ones, or what was submitted
/// when `error` says why it was not saved).
pub async fn page(
    ctx: &Ctx,
    s: &Session,
    user: StoredResource,
    form: EditForm,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let manager_id = user
        .body
        .get(ENTERPRISE)
        .and_then(|e| e.get("manager"))
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str);
    let manager_name = match manager_id {
        // A manager that is gone (or unreadable) is shown by its id.
        Some(id) => ctx
            .get(ResourceKind::User, id, Load::NONE)
            .await
            .ok()
            .and_then(|m| name_of(&m)),
        None => None,
    };
    let page = UserPage {
        chrome: s.chrome("users"),
        user: UserView::of(user, base_url(&ctx.state), manager_name),
        form,
        error,
        notice,
    };
    (status, render(&page)).into_response()
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
    let ctx = ctx(&state, &s).await?;
    let user = ctx.get(ResourceKind::User, &id, Load::ALL).await?;
    let form = EditForm::of(&user);
    let notice = q.saved.map(|_| "Saved.".to_owned());
    Ok(page(&ctx, &s, user, form, None, notice, StatusCode::OK).await)
}
