//! The mappings editor: every attribute mapping of the app as a row (target, kind, value,
//! default, when), each evaluated live against a chosen user (htmx posts the form with the
//! row's number; without JavaScript "Evaluate" does every row). An error shows its position
//! under the expression. Saving goes through the API's settings validation.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::ResourceKind;
use engine::app::default_user_mappings;
use mapping_lang::expr::mapping::{evaluate, Apply, Mapping, MappingKind};
use mapping_lang::expr::{self, Span};
use serde_json::{json, Value};
use server::AppState;

use super::{json_text, load, resolve_user, save_settings, settings_body, AppHeader};
use crate::form::{Fields, Posted};
use crate::page::{render, Chrome, UiResult};
use crate::session::Session;

/// One mapping as the editor shows it.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub index: usize,
    pub target: String,
    /// `attribute`, `expression`, `constant` or `none` (only a default).
    pub kind: String,
    pub value: String,
    pub default: String,
    /// `always` or `create`.
    pub apply: String,
    pub result: Option<Evaluated>,
}

/// A row's evaluation: the value, "no write", or an error with a caret under its span.
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    pub ok: bool,
    pub value: String,
    pub error: String,
    pub text: String,
    pub caret: String,
}

fn rows_of(spec: &Value) -> Vec<Row> {
    let from_settings = spec.get("mappings").and_then(Value::as_array).map(|ms| {
        ms.iter()
            .map(|m| {
                let (kind, value) = if let Some(s) = m.get("source").and_then(Value::as_str) {
                    ("attribute", s)
                } else if let Some(e) = m.get("expression").and_then(Value::as_str) {
                    ("expression", e)
                } else if let Some(c) = m.get("constant").and_then(Value::as_str) {
                    ("constant", c)
                } else {
                    ("none", "")
                };
                Row {
                    target: json_text(m, &["target"]),
                    kind: kind.into(),
                    value: value.into(),
                    default: json_text(m, &["default"]),
                    apply: match json_text(m, &["apply"]).as_str() {
                        "create" => "create".into(),
                        _ => "always".into(),
                    },
                    ..Row::default()
                }
            })
            .collect::<Vec<_>>()
    });
    let mut rows = from_settings.unwrap_or_else(|| {
        default_user_mappings()
            .unwrap_or_default()
            .into_iter()
            .map(|m| row_of_mapping(&m))
            .collect()
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    rows
}

fn row_of_mapping(m: &Mapping) -> Row {
    let (kind, value) = match &m.kind {
        MappingKind::Direct { source } => ("attribute", source.clone()),
        MappingKind::Expression { expr } => ("expression", expr.to_string()),
        MappingKind::Constant { value } => ("constant", value.clone()),
        MappingKind::None => ("none", String::new()),
    };
    Row {
        target: m.target.clone(),
        kind: kind.into(),
        value,
        default: m.default_if_null.clone().unwrap_or_default(),
        apply: match m.apply {
            Apply::Always => "always".into(),
            Apply::OnCreateOnly => "create".into(),
        },
        ..Row::default()
    }
}

/// The rows of a posted editor form (rows ticked for removal and empty targets are dropped
/// when saving, kept when only evaluating).
fn rows_posted(f: &Fields) -> Vec<Row> {
    let targets = f.all("target");
    let kinds = f.all("kind");
    let values = f.all("value");
    let defaults = f.all("default");
    let applies = f.all("apply");
    targets
        .iter()
        .enumerate()
        .map(|(i, t)| Row {
            index: i,
            target: t.trim().to_owned(),
            kind: kinds.get(i).copied().unwrap_or("attribute").to_owned(),
            value: values.get(i).copied().unwrap_or_default().to_owned(),
            default: defaults.get(i).copied().unwrap_or_default().to_owned(),
            apply: applies.get(i).copied().unwrap_or("always").to_owned(),
            result: None,
        })
        .collect()
}

/// The row as the API's mapping settings.
fn setting_of(r: &Row) -> Value {
    let mut m = json!({ "target": r.target });
    if let Some(o) = m.as_object_mut() {
        match r.kind.as_str() {
            "expression" => o.insert("expression".into(), r.value.clone().into()),
            "constant" => o.insert("constant".into(), r.value.clone().into()),
            "none" => None,
            _ => o.insert("source".into(), r.value.trim().to_owned().into()),
        };
        if !r.default.is_empty() {
            o.insert("default".into(), r.default.clone().into());
        }
        if r.apply == "create" {
            o.insert("apply".into(), "create".into());
        }
    }
    m
}

fn failed(message: String, text: &str, span: Span) -> Evaluated {
    let at = crate::page::locate(text, span.start, span.end, &message);
    Evaluated {
        ok: false,
        error: message,
        text: at.line,
        caret: at.caret,
        value: String::new(),
    }
}

/// Evaluates one row against `user` as a create would (defaults apply).
fn evaluate_row(
    row: &Row,
    user: &Value,
    schema: &domain::schema::ResourceSchema<'_>,
    now: jiff::Timestamp,
) -> Evaluated {
    let kind = match row.kind.as_str() {
        "expression" => {
            let parsed = match expr::parse(&row.value) {
                Ok(p) => p,
                Err(e) => return failed(e.message.clone(), &row.value, e.span),
            };
            if let Err(errors) = expr::check(
                &parsed,
                &expr::Env {
                    schema: Some(schema),
                },
            ) {
                if let Some(first) = errors.first() {
                    return failed(first.message.clone(), &row.value, first.span);
                }
            }
            MappingKind::Expression { expr: parsed }
        }
        "constant" => MappingKind::Constant {
            value: row.value.clone(),
        },
        "none" => MappingKind::None,
        _ => MappingKind::Direct {
            source: row.value.trim().to_owned(),
        },
    };
    let mapping = Mapping {
        kind,
        target: row.target.clone(),
        default_if_null: (!row.default.is_empty()).then(|| row.default.clone()),
        apply: Apply::Always,
    };
    let context = expr::Context::new(user, now);
    match evaluate(&mapping, &context, true) {
        Ok(Some(v)) => Evaluated {
            ok: true,
            value: v.to_json().to_string(),
            ..Evaluated::default()
        },
        Ok(None) => Evaluated {
            ok: true,
            value: "(nothing: the attribute is not written)".into(),
            ..Evaluated::default()
        },
        Err(e) => failed(e.message.clone(), &row.value, e.span),
    }
}

#[derive(Template)]
#[template(path = "app_mappings.html")]
struct MappingsPage {
    chrome: Chrome,
    app: AppHeader,
    rows: Vec<Row>,
    user: String,
    user_error: Option<String>,
    error: Option<String>,
    saved: bool,
    defaults: bool,
}

#[derive(Template)]
#[template(path = "mapping_result.html")]
struct ResultFragment {
    row: Row,
}

pub async fn show(State(state): State<AppState>, s: Session, Path(name): Path<String>) -> UiResult {
    let loaded = load(&state, &s, &name, "mappings").await?;
    let mut rows = rows_of(&loaded.record.spec);
    rows.push(Row {
        index: rows.len(),
        kind: "attribute".into(),
        apply: "always".into(),
        ..Row::default()
    });
    Ok(render(&MappingsPage {
        chrome: s.chrome("apps"),
        defaults: loaded
            .record
            .spec
            .get("mappings")
            .is_none_or(Value::is_null),
        app: loaded.header,
        rows,
        user: String::new(),
        user_error: None,
        error: None,
        saved: false,
    }))
}

/// The user to evaluate against, as SCIM JSON, or the message saying why there is none.
async fn eval_user(state: &AppState, s: &Session, given: &str) -> Result<Value, String> {
    let user = resolve_user(state, s, given)
        .await
        .map_err(|e| crate::page::message_of(e.0))?;
    Ok(Value::Object(domain::render::render(user, "")))
}

async fn evaluate_rows(
    state: &AppState,
    s: &Session,
    given: &str,
    rows: &mut [Row],
) -> UiResult<Option<String>> {
    if given.trim().is_empty() {
        return Ok(None);
    }
    let user = match eval_user(state, s, given).await {
        Ok(u) => u,
        Err(e) => return Ok(Some(e)),
    };
    let registry = state.registry(&s.principal.tenant_id).await?;
    let schema = registry.info(ResourceKind::User);
    let now = state.clock.now();
    for row in rows.iter_mut().filter(|r| !r.target.is_empty()) {
        row.result = Some(evaluate_row(row, &user, &schema, now));
    }
    Ok(None)
}

/// `action=evaluate` (every row against the user), `action=defaults` (back to Entra's
/// default mappings) or saving the rows.
pub async fn save(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    let loaded = load(&state, s, &name, "mappings").await?;
    let user = posted
        .fields
        .get("eval_user")
        .unwrap_or_default()
        .to_owned();
    let removed: Vec<usize> = posted
        .fields
        .all("remove")
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect();
    let mut rows = rows_posted(&posted.fields);
    let action = posted.fields.get("action").unwrap_or("save");
    let mut error = None;
    let mut saved = false;
    let mut status = StatusCode::OK;
    if action != "evaluate" {
        let mut body = settings_body(&loaded.record);
        if action == "defaults" {
            body.remove("mappings");
        } else {
            rows.retain(|r| !r.target.is_empty() && !removed.contains(&r.index));
            body.insert("mappings".into(), rows.iter().map(setting_of).collect());
        }
        match save_settings(&state, s, &name, body).await? {
            Ok(()) => {
                saved = true;
                let fresh = load(&state, s, &name, "mappings").await?;
                rows = rows_of(&fresh.record.spec);
            }
            Err(e) => {
                error = Some(e);
                status = StatusCode::BAD_REQUEST;
            }
        }
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    let user_error = evaluate_rows(&state, s, &user, &mut rows).await?;
    if !rows.last().is_some_and(|r| r.target.is_empty()) {
        rows.push(Row {
            index: rows.len(),
            kind: "attribute".into(),
            apply: "always".into(),
            ..Row::default()
        });
    }
    let defaults = if saved {
        action == "defaults"
    } else {
        loaded
            .record
            .spec
            .get("mappings")
            .is_none_or(Value::is_null)
    };
    let page = MappingsPage {
        chrome: s.chrome("apps"),
        app: loaded.header,
        rows,
        user,
        user_error,
        error,
        saved,
        defaults,
    };
    Ok((status, render(&page)).into_response())
}

/// The live result of one row (`row=N`), for htmx.
pub async fn eval_one(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> UiResult {
    let s = &posted.session;
    load(&state, s, &name, "mappings").await?;
    let index: usize = posted
        .fields
        .get("row")
        .and_then(|r| r.parse().ok())
        .unwrap_or(usize::MAX);
    let mut rows = rows_posted(&posted.fields);
    let Some(row) = rows.get_mut(index) else {
        return Err(domain::Error::InvalidValue(format!("there is no mapping row {index}")).into());
    };
    let given = posted.fields.get("eval_user").unwrap_or_default();
    let mut one = [row.clone()];
    let user_error = evaluate_rows(&state, s, given, &mut one).await?;
    let [mut row] = one;
    if let Some(e) = user_error {
        row.result = Some(Evaluated {
            ok: false,
            error: e,
            ..Evaluated::default()
        });
    } else if given.trim().is_empty() {
        row.result = Some(Evaluated {
            ok: false,
            error: "choose a user above to evaluate against".into(),
            ..Evaluated::default()
        });
    }
    Ok(render(&ResultFragment { row }))
}
