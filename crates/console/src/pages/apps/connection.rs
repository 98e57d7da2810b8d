//! An app's connection and general settings: the new-app form, the settings form (the secret
//! is write-only: empty keeps it), and "test connection", which probes the target.

use askama::Template;
use axum::extract::{Path, State};
use serde_json::{Map, Value};
use server::AppState;

use super::{json_text, load, save_settings, settings_body, AppHeader};
use crate::form::{Fields, Posted};
use crate::page::{render, see_other, seg, Chrome, UiResult};
use crate::session::Session;

/// The fields of the connection form, as shown (from the app or from a failed post).
#[derive(Debug, Clone, Default)]
pub struct ConnectionForm {
    pub name: String,
    pub url: String,
    pub auth: String,
    pub token_url: String,
    pub client_id: String,
    pub oauth_scope: String,
    pub has_secret: bool,
    pub scope: String,
    pub provision_groups: bool,
    pub deprovisioning: String,
    pub deletion_threshold: String,
    pub matching: String,
    pub reconcile_minutes: String,
    pub enabled: bool,
}

impl ConnectionForm {
    fn of(record: &domain::AppRecord) -> ConnectionForm {
        let spec = &record.spec;
        ConnectionForm {
            name: record.name.clone(),
            url: json_text(spec, &["url"]),
            auth: match json_text(spec, &["auth", "type"]).as_str() {
                "" => "bearer".into(),
                other => other.into(),
            },
            token_url: json_text(spec, &["auth", "token_url"]),
            client_id: json_text(spec, &["auth", "client_id"]),
            oauth_scope: json_text(spec, &["auth", "scope"]),
            has_secret: record.sealed_secret.is_some(),
            scope: json_text(spec, &["scope"]),
            provision_groups: spec
                .get("provision_groups")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            deprovisioning: json_text(spec, &["deprovisioning"]),
            deletion_threshold: json_text(spec, &["deletion_threshold"]),
            matching: spec
                .get("matching")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            reconcile_minutes: json_text(spec, &["reconcile_minutes"]),
            enabled: record.enabled,
        }
    }

    fn posted(f: &Fields, has_secret: bool) -> ConnectionForm {
        let get = |k: &str| f.get(k).unwrap_or_default().trim().to_owned();
        ConnectionForm {
            name: get("name"),
            url: get("url"),
            auth: get("auth"),
            token_url: get("token_url"),
            client_id: get("client_id"),
            oauth_scope: get("oauth_scope"),
            has_secret,
            scope: get("scope"),
            provision_groups: f.checked("provision_groups"),
            deprovisioning: get("deprovisioning"),
            deletion_threshold: get("deletion_threshold"),
            matching: get("matching"),
            reconcile_minutes: get("reconcile_minutes"),
            enabled: f.checked("enabled"),
        }
    }

    /// Writes the form's settings into an app body (the API's shape).
    fn apply(&self, body: &mut Map<String, Value>, secret: Option<&str>) -> Result<(), String> {
        body.insert("url".into(), self.url.clone().into());
        let auth = match self.auth.as_str() {
            "oauth" => serde_json::json!({
                "type": "oauth",
                "token_url": self.token_url,
                "client_id": self.client_id,
                "scope": (!self.oauth_scope.is_empty()).then_some(&self.oauth_scope),
            }),
            _ => serde_json::json!({"type": "bearer"}),
        };
        if let Some(a) = auth.as_object() {
            let mut a = a.clone();
            a.retain(|_, v| !v.is_null());
            body.insert("auth".into(), Value::Object(a));
        }
        body.insert("scope".into(), self.scope.clone().into());
        body.insert("provision_groups".into(), self.provision_groups.into());
        if !self.deprovisioning.is_empty() {
            body.insert("deprovisioning".into(), self.deprovisioning.clone().into());
        }
        let whole = |label: &str, v: &str| -> Result<Option<u64>, String> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| format!("{label}: `{v}` is not a whole number"))
        };
        if let Some(n) = whole("deletion threshold", &self.deletion_threshold)? {
            body.insert("deletion_threshold".into(), n.into());
        }
        if let Some(n) = whole("reconcile every (minutes)", &self.reconcile_minutes)? {
            body.insert("reconcile_minutes".into(), n.into());
        }
        if !self.matching.is_empty() {
            let attrs: Vec<Value> = self
                .matching
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| a.to_owned().into())
                .collect();
            body.insert("matching".into(), Value::Array(attrs));
        }
        body.insert("enabled".into(), self.enabled.into());
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            let key = if self.auth == "oauth" {
                "clientSecret"
            } else {
                "token"
            };
            body.insert(key.into(), secret.to_owned().into());
        }
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewPage {
    chrome: Chrome,
    form: ConnectionForm,
    error: Option<String>,
}

pub async fn new_form(s: Session) -> UiResult {
    Ok(render(&NewPage {
        chrome: s.chrome("apps"),
        form: ConnectionForm {
            auth: "bearer".into(),
            scope: "assigned".into(),
            provision_groups: true,
            deprovisioning: "disable".into(),
            deletion_threshold: "500".into(),
            matching: "userName".into(),
            reconcile_minutes: "40".into(),
            ..ConnectionForm::default()
        },
        error: None,
    }))
}

pub async fn create(State(state): State<AppState>, posted: Posted) -> UiResult {
    let s = &posted.session;
    let form = ConnectionForm::posted(&posted.fields, false);
    let failed = |error: String, status: axum::http::StatusCode| {
        let page = NewPage {
            chrome: s.chrome("apps"),
            form: form.clone(),
            error: Some(error),
        };
        (status, render(&page))
    };
    let mut body = Map::new();
    body.insert("name".into(), form.name.clone().into());
    if let Err(e) = form.apply(&mut body, posted.fields.get("secret")) {
        return Ok(axum::response::IntoResponse::into_response(failed(
            e,
            axum::http::StatusCode::BAD_REQUEST,
        )));
    }
    let created = server::apps::settings::create(
        State(state.clone()),
        s.principal.clone(),
        server::json::ScimBody(Value::Object(body)),
    )
    .await;
    match created {
        Ok(_) => {
            tracing::info!(app = %form.name, "app created in the console");
            Ok(see_other(&format!(
                "/ui/apps/{}/connection",
                seg(&form.name)
            )))
        }
        Err(e) if e.parts().0.is_client_error() => {
            let status = e.parts().0;
            Ok(axum::response::IntoResponse::into_response(failed(
                crate::page::message_of(e),
                status,
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "app_connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    app: AppHeader,
    form: ConnectionForm,
    error: Option<String>,
    saved: bool,
    probe: Option<super::run::ProbeView>,
}

pub async fn show(State(state): State<AppState>, s: Session, Path(name): Path<String>) -> UiResult {
    let loaded = load(&state, &s, &name, "connection").await?;
    Ok(render(&ConnectionPage {
        chrome: s.chrome("apps"),
        form: ConnectionForm::of(&loaded.record),
        app: loaded.header,
        error: None,
        saved: false,
        probe: None,
    }))
}

pub async fn save(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let loaded = load(&state, s, &name, "connection").await?;
    let form = ConnectionForm::posted(&posted.fields, loaded.record.sealed_secret.is_some());
    let mut body = settings_body(&loaded.record);
    let result = match form.apply(&mut body, posted.fields.get("secret")) {
        Ok(()) => save_settings(&state, s, &name, body).await?,
        Err(e) => Err(e),
    };
    let (status, error, saved, form) = match result {
        Ok(()) => {
            let fresh = load(&state, s, &name, "connection").await?;
            (
                axum::http::StatusCode::OK,
                None,
                true,
                ConnectionForm::of(&fresh.record),
            )
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, Some(e), false, form),
    };
    let page = ConnectionPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        form,
        error,
        saved,
        probe: None,
    };
    Ok(axum::response::IntoResponse::into_response((
        status,
        render(&page),
    )))
}

/// Probes the target (discovery; create, read, filter and delete a probe user) and shows
/// what it supports.
pub async fn test(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let loaded = load(&state, s, &name, "connection").await?;
    let probe = super::run::probe(&state, &loaded.record).await?;
    Ok(render(&ConnectionPage {
        chrome: s.chrome("apps"),
        form: ConnectionForm::of(&loaded.record),
        app: loaded.header,
        error: None,
        saved: false,
        probe: Some(probe),
    }))
}
