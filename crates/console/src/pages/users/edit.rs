//! Changing a user: the edit form and the Disable/Enable button, each applied as one SCIM PATCH
//! through `Ctx::patch`, so a change is validated whole and written whole or not at all. The
//! form carries the version it was read at as `If-Match`: a concurrent change is reported, not
//! overwritten.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::{Error, Load, ResourceKind, StoredResource};
use serde_json::{json, Value};
use server::etag::{Precondition, Preconditions};
use server::AppState;

use super::{ctx, json_text, show};
use crate::form::{Fields, Posted};
use crate::page::{message_of, see_other, seg, UiError, UiResult};

const ENTERPRISE: &str = scim_proto::ENTERPRISE_USER_SCHEMA;
const WORK_EMAIL: &str = "emails[type eq \"work\"]";

/// The edit form's values, as shown and as submitted.
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub title: String,
    pub work_email: String,
    pub department: String,
    /// `"true"` or `"false"` (whatever was submitted, to show it back).
    pub active: String,
    /// The version the form was read at.
    pub version: String,
}

fn work_email(body: &Value) -> Option<String> {
    body.get("emails")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("work"))
        })
        .map(|e| json_text(e, &["value"]))
}

impl EditForm {
    pub fn of(user: &StoredResource) -> EditForm {
        let body = Value::Object(user.body.clone());
        EditForm {
            display_name: json_text(&body, &["displayName"]),
            given_name: json_text(&body, &["name", "givenName"]),
            family_name: json_text(&body, &["name", "familyName"]),
            title: json_text(&body, &["title"]),
            work_email: work_email(&body).unwrap_or_default(),
            department: json_text(&body, &[ENTERPRISE, "department"]),
            active: (body.get("active").and_then(Value::as_bool) != Some(false)).to_string(),
            version: user.version.to_string(),
        }
    }

    fn posted(fields: &Fields) -> EditForm {
        let get = |name: &str| fields.get(name).unwrap_or_default().to_owned();
        EditForm {
            display_name: get("displayName"),
            given_name: get("givenName"),
            family_name: get("familyName"),
            title: get("title"),
            work_email: get("workEmail"),
            department: get("department"),
            active: get("active"),
            version: get("version"),
        }
    }

    /// The PATCH that makes `current` say what the form says, one operation per field the
    /// form changed; `None` when it changed nothing. An emptied field is removed (a `replace`
    /// with `""` removes, as for Entra).
    fn patch(&self, current: &StoredResource) -> Option<Value> {
        let was = EditForm::of(current);
        let mut ops = Vec::new();
        let department = format!("{ENTERPRISE}:department");
        let fields = [
            ("displayName", &self.display_name, &was.display_name),
            ("name.givenName", &self.given_name, &was.given_name),
            ("name.familyName", &self.family_name, &was.family_name),
            ("title", &self.title, &was.title),
            (department.as_str(), &self.department, &was.department),
            // Passed on as text: the schema decides what a boolean is.
            ("active", &self.active, &was.active),
        ];
        for (path, new, old) in fields {
            if new.trim() != old {
                ops.push(json!({ "op": "replace", "path": path, "value": new.trim() }));
            }
        }
        let email = self.work_email.trim();
        if email != was.work_email {
            ops.push(if email.is_empty() {
                json!({ "op": "remove", "path": WORK_EMAIL })
            } else {
                json!({ "op": "replace", "path": format!("{WORK_EMAIL}.value"), "value": email })
            });
        }
        (!ops.is_empty()).then(|| json!({ "schemas": [scim_proto::PATCH_OP], "Operations": ops }))
    }

    fn if_match(&self) -> Result<Preconditions, Error> {
        let version = self.version.trim().parse::<u64>().map_err(|_| {
            Error::InvalidVersion(format!(
                "the form's version `{}` is not a number; reload the page",
                self.version
            ))
        })?;
        Ok(Preconditions {
            if_match: Some(Precondition::Versions(vec![version])),
            if_none_match: None,
        })
    }
}

/// `POST /ui/users/{id}`: the edit form.
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let ctx = ctx(&state, s).await?;
    let current = ctx.get(ResourceKind::User, &id, Load::ALL).await?;
    let form = EditForm::posted(&posted.fields);
    let result = match (form.if_match(), form.patch(&current)) {
        (Err(e), _) => Err(e.into()),
        (Ok(_), None) => Ok(()),
        (Ok(pre), Some(patch)) => ctx
            .patch(ResourceKind::User, &id, &patch, &pre, Load::NONE)
            .await
            .map(drop),
    };
    let e = match result {
        Ok(()) => return Ok(see_other(&format!("/ui/users/{}?saved=1", seg(&id)))),
        Err(e) => e,
    };
    let (status, _, _) = e.parts();
    if status.is_server_error() || status == StatusCode::NOT_FOUND {
        return Err(UiError(e));
    }
    let message = if status == StatusCode::PRECONDITION_FAILED {
        "This user was changed by someone else meanwhile; nothing was saved. Reload the page to \
         see the current values, then make your change again."
            .to_owned()
    } else {
        format!("Nothing was saved: {}", message_of(e))
    };
    Ok(show::page(&ctx, s, current, form, Some(message), None, status).await)
}

/// `POST /ui/users/{id}/active` with `active=true|false`: the Disable / Enable button.
pub async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> UiResult {
    let ctx = ctx(&state, &posted.session).await?;
    let active = match posted.fields.get("active") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(Error::InvalidValue("`active` must be `true` or `false`".into()).into()),
    };
    let patch = json!({
        "schemas": [scim_proto::PATCH_OP],
        "Operations": [{ "op": "replace", "path": "active", "value": active }],
    });
    ctx.patch(
        ResourceKind::User,
        &id,
        &patch,
        &Preconditions::default(),
        Load::NONE,
    )
    .await?;
    Ok(see_other(&format!("/ui/users/{}?saved=1", seg(&id))))
}
