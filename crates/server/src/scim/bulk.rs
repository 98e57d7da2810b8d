//! `/Bulk` (RFC 7644 §3.7): operations in order, `bulkId` references resolved (an operation that
//! refers to a later one waits for it), `failOnErrors`, and the advertised limits enforced.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use domain::{Error, Load};
use serde_json::{json, Map, Value};

use super::service::Ctx;
use super::{base_url, kind_of};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::etag::{etag, Precondition, Preconditions};
use crate::json::{parse_json, ScimResponse};
use crate::AppState;

#[derive(Debug, Clone)]
struct Operation {
    method: String,
    bulk_id: Option<String>,
    path: String,
    data: Option<Value>,
    version: Option<String>,
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse_request(body: &Value, max_ops: usize) -> ApiResult<(Vec<Operation>, Option<usize>)> {
    let Value::Object(obj) = body else {
        return Err(Error::InvalidSyntax("a BulkRequest must be a JSON object".into()).into());
    };
    let fail_on_errors = match field(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
        Some(_) => {
            return Err(Error::InvalidValue("`failOnErrors` must be an integer".into()).into())
        }
    };
    let Some(Value::Array(raw_ops)) = field(obj, "Operations") else {
        return Err(
            Error::InvalidSyntax("a BulkRequest needs an `Operations` array".into()).into(),
        );
    };
    if raw_ops.len() > max_ops {
        return Err(ApiError::TooManyOperations(format!(
            "the bulk request has {} operations; the maximum is {max_ops} (maxOperations)",
            raw_ops.len()
        )));
    }
    let mut ops = Vec::with_capacity(raw_ops.len());
    for (i, raw) in raw_ops.iter().enumerate() {
        let Value::Object(o) = raw else {
            return Err(Error::InvalidSyntax(format!("Operations[{i}] must be an object")).into());
        };
        let string = |name: &str| field(o, name).and_then(Value::as_str).map(str::to_owned);
        let Some(method) = string("method") else {
            return Err(Error::InvalidSyntax(format!("Operations[{i}] has no `method`")).into());
        };
        let Some(path) = string("path") else {
            return Err(Error::InvalidSyntax(format!("Operations[{i}] has no `path`")).into());
        };
        ops.push(Operation {
            method: method.to_ascii_uppercase(),
            bulk_id: string("bulkId"),
            path,
            data: field(o, "data").cloned(),
            version: string("version"),
        });
    }
    Ok((ops, fail_on_errors))
}

/// Replaces every `"bulkId:x"` string with the id created for `x`. Returns the first unresolved
/// bulkId, if any.
fn substitute(v: &mut Value, ids: &HashMap<String, String>) -> Option<String> {
    match v {
        Value::String(s) => {
            if let Some(key) = s.strip_prefix("bulkId:") {
                match ids.get(key) {
                    Some(id) => *s = id.clone(),
                    None => return Some(key.to_owned()),
                }
            }
            None
        }
        Value::Array(items) => items.iter_mut().find_map(|i| substitute(i, ids)),
        Value::Object(map) => map.values_mut().find_map(|i| substitute(i, ids)),
        _ => None,
    }
}

pub async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<ScimResponse> {
    let limit = state.config.bulk_max_payload;
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!(
                "the bulk request is over maxPayloadSize ({limit} bytes)"
            ))
        })?;
    let body = parse_json(&bytes)?;
    let (ops, fail_on_errors) = parse_request(&body, state.config.bulk_max_operations)?;
    let ctx = Ctx::new(&state, principal).await?;
    let base = base_url(&state, &headers);

    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0usize;
    'passes: loop {
        let mut progressed = false;
        let mut deferred = Vec::new();
        for i in std::mem::take(&mut pending) {
            let Some(op) = ops.get(i) else { continue };
            let mut op = op.clone();
            let unresolved = op
                .data
                .as_mut()
                .and_then(|d| substitute(d, &ids))
                .or_else(|| {
                    let mut p =
                        Value::String(op.path.rsplit('/').next().unwrap_or_default().to_owned());
                    let missing = substitute(&mut p, &ids);
                    if missing.is_none() {
                        if let (Some((head, _)), Value::String(id)) = (op.path.rsplit_once('/'), &p)
                        {
                            op.path = format!("{head}/{id}");
                        }
                    }
                    missing
                });
            if unresolved.is_some() {
                deferred.push(i);
                continue;
            }
            progressed = true;
            let outcome = execute(&ctx, &op, &base).await;
            let result = match outcome {
                Ok((status, location, version, new_id)) => {
                    if let (Some(bid), Some(id)) = (&op.bulk_id, new_id) {
                        ids.insert(bid.clone(), id);
                    }
                    op_result(&op, status, location, version, None)
                }
                Err(e) => {
                    errors += 1;
                    let (status, _, _) = e.parts();
                    op_result(&op, status, None, None, Some(e.body()))
                }
            };
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(result);
            }
            if fail_on_errors.is_some_and(|max| errors >= max) {
                break 'passes;
            }
        }
        pending = deferred;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    // What is still pending refers to a bulkId that never came (or a cycle).
    if fail_on_errors.is_none_or(|max| errors < max) {
        for i in pending {
            let Some(op) = ops.get(i) else { continue };
            let mut data = op.data.clone().unwrap_or(Value::Null);
            let missing = substitute(&mut data, &ids).unwrap_or_default();
            let e = ApiError::Domain(Error::InvalidValue(format!(
                "bulkId `{missing}` is not created by any operation of this request (or the references form a cycle)"
            )));
            let (status, _, _) = e.parts();
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(op_result(op, status, None, None, Some(e.body())));
            }
        }
    }
    let operations: Vec<Value> = results.into_iter().flatten().collect();
    Ok(ScimResponse::ok(json!({
        "schemas": [scim_proto::BULK_RESPONSE],
        "Operations": operations,
    })))
}

fn op_result(
    op: &Operation,
    status: StatusCode,
    location: Option<String>,
    version: Option<String>,
    response: Option<Value>,
) -> Value {
    let mut r = Map::new();
    r.insert("method".into(), json!(op.method));
    if let Some(b) = &op.bulk_id {
        r.insert("bulkId".into(), json!(b));
    }
    if let Some(l) = location {
        r.insert("location".into(), json!(l));
    }
    if let Some(v) = version {
        r.insert("version".into(), json!(v));
    }
    r.insert("status".into(), json!(status.as_u16().to_string()));
    if let Some(resp) = response {
        r.insert("response".into(), resp);
    }
    Value::Object(r)
}

type Executed = (StatusCode, Option<String>, Option<String>, Option<String>);

async fn execute(ctx: &Ctx, op: &Operation, base: &str) -> ApiResult<Executed> {
    let trimmed = op.path.trim_start_matches('/');
    let (endpoint, id) = match trimmed.split_once('/') {
        Some((e, id)) => (e, Some(id)),
        None => (trimmed, None),
    };
    let kind = kind_of(endpoint).map_err(|_| {
        Error::InvalidPath(format!(
            "bulk path `{}` names no resource type; use /Users or /Groups",
            op.path
        ))
    })?;
    let pre = Preconditions {
        if_match: op.version.as_deref().map(|v| {
            let inner = v.trim_start_matches("W/").trim_matches('"');
            inner
                .parse()
                .map(|n| Precondition::Versions(vec![n]))
                .unwrap_or(Precondition::Versions(vec![]))
        }),
        if_none_match: None,
    };
    let location = |id: &str| format!("{base}/{}/{id}", kind.endpoint());
    let need_data = || {
        op.data.clone().ok_or_else(|| {
            ApiError::from(Error::InvalidSyntax(format!(
                "{} {} needs `data`",
                op.method, op.path
            )))
        })
    };
    let need_id = || {
        id.ok_or_else(|| {
            ApiError::from(Error::InvalidPath(format!(
                "{} needs a path with an id, e.g. /{}/<id>",
                op.method,
                kind.endpoint()
            )))
        })
    };
    match op.method.as_str() {
        "POST" => {
            if id.is_some() {
                return Err(Error::InvalidPath(format!(
                    "POST goes to /{}, not to an id",
                    kind.endpoint()
                ))
                .into());
            }
            if op.bulk_id.is_none() {
                return Err(Error::InvalidSyntax("a bulk POST needs a `bulkId`".into()).into());
            }
            let res = ctx.create(kind, need_data()?, Load::NONE).await?;
            Ok((
                StatusCode::CREATED,
                Some(location(&res.id)),
                Some(etag(res.version)),
                Some(res.id),
            ))
        }
        "PUT" => {
            let id = need_id()?;
            let res = ctx
                .replace(kind, id, need_data()?, &pre, Load::NONE)
                .await?;
            Ok((
                StatusCode::OK,
                Some(location(&res.id)),
                Some(etag(res.version)),
                None,
            ))
        }
        "PATCH" => {
            let id = need_id()?;
            let res = ctx.patch(kind, id, &need_data()?, &pre, Load::NONE).await?;
            Ok((
                StatusCode::OK,
                Some(location(&res.id)),
                Some(etag(res.version)),
                None,
            ))
        }
        "DELETE" => {
            let id = need_id()?;
            ctx.delete(kind, id, &pre).await?;
            Ok((StatusCode::NO_CONTENT, Some(location(id)), None, None))
        }
        other => Err(Error::InvalidSyntax(format!(
            "bulk method `{other}` is not one of POST, PUT, PATCH, DELETE"
        ))
        .into()),
    }
}
