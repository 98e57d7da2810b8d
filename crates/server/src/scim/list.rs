//! Lists: `GET /Users`, `GET /Groups` with filter, sort, paging (index and RFC 9865 cursors) and
//! projection; `POST …/.search` with the same in a SearchRequest body (RFC 7644 §3.4.2–3.4.3).

use axum::extract::{Path, State};
use domain::render::render;
use domain::{Error, Query as StoreQuery, ResourceKind};
use serde_json::{json, Map, Value};

use super::service::Ctx;
use super::{kind_of, projection, Params, Req};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::json::{ScimBody, ScimResponse};
use crate::AppState;

/// A list request from either the query string or a SearchRequest body.
#[derive(Debug, Default, Clone)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub cursor: Option<String>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

impl ListRequest {
    fn from_params(p: &Params) -> ApiResult<Self> {
        let int = |name: &str| -> ApiResult<Option<i64>> {
            p.get(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        Error::InvalidValue(format!("`{name}` must be an integer, got `{v}`"))
                            .into()
                    })
                })
                .transpose()
        };
        Ok(ListRequest {
            filter: p.get("filter").map(str::to_owned),
            sort_by: p.get("sortBy").map(str::to_owned),
            sort_order: p.get("sortOrder").map(str::to_owned),
            start_index: int("startIndex")?,
            count: int("count")?,
            // `?cursor` with no value asks for the first page (RFC 9865 §2).
            cursor: p.raw("cursor").map(str::to_owned),
            attributes: p.get("attributes").map(str::to_owned),
            excluded: p.get("excludedAttributes").map(str::to_owned),
        })
    }

    fn from_search_body(body: &Value) -> ApiResult<Self> {
        let Value::Object(obj) = body else {
            return Err(
                Error::InvalidSyntax("a SearchRequest must be a JSON object".into()).into(),
            );
        };
        let field = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let string = |name: &str| -> ApiResult<Option<String>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    let mut parts = Vec::new();
                    for item in items {
                        match item {
                            Value::String(s) => parts.push(s.clone()),
                            _ => {
                                return Err(Error::InvalidValue(format!(
                                    "`{name}` must be a list of strings"
                                ))
                                .into())
                            }
                        }
                    }
                    Ok(Some(parts.join(",")))
                }
                Some(_) => Err(Error::InvalidValue(format!("`{name}` must be a string")).into()),
            }
        };
        let int = |name: &str| -> ApiResult<Option<i64>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                    Error::InvalidValue(format!("`{name}` must be an integer")).into()
                }),
                Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                    Error::InvalidValue(format!("`{name}` must be an integer")).into()
                }),
                Some(_) => Err(Error::InvalidValue(format!("`{name}` must be an integer")).into()),
            }
        };
        Ok(ListRequest {
            filter: string("filter")?,
            sort_by: string("sortBy")?,
            sort_order: string("sortOrder")?,
            start_index: int("startIndex")?,
            count: int("count")?,
            cursor: string("cursor")?,
            attributes: string("attributes")?,
            excluded: string("excludedAttributes")?,
        })
    }
}

pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(endpoint): Path<String>,
    http: Req,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let req = ListRequest::from_params(&http.params)?;
    let ctx = Ctx::new(&state, principal).await?;
    let body = run(&ctx, &[kind], &req, &http.base).await?;
    Ok(ScimResponse::ok(body))
}

pub async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Path(endpoint): Path<String>,
    http: Req,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let kind = kind_of(&endpoint)?;
    let req = ListRequest::from_search_body(&body)?;
    let ctx = Ctx::new(&state, principal).await?;
    let body = run(&ctx, &[kind], &req, &http.base).await?;
    Ok(ScimResponse::ok(body))
}

/// `POST /.search` at the root searches users and groups together.
pub async fn search_root(
    State(state): State<AppState>,
    principal: Principal,
    http: Req,
    ScimBody(body): ScimBody,
) -> ApiResult<ScimResponse> {
    let req = ListRequest::from_search_body(&body)?;
    let ctx = Ctx::new(&state, principal).await?;
    let kinds = [ResourceKind::User, ResourceKind::Group];
    let body = run(&ctx, &kinds, &req, &http.base).await?;
    Ok(ScimResponse::ok(body))
}

/// Runs a list over one or more resource types and builds the ListResponse.
pub async fn run(
    ctx: &Ctx,
    kinds: &[ResourceKind],
    req: &ListRequest,
    base: &str,
) -> ApiResult<Value> {
    ctx.principal.require(domain::Scope::ScimRead)?;
    let config = &ctx.state.config;
    let filter = req
        .filter
        .as_deref()
        .map(|f| {
            scim_filter::parse_filter(f)
                .map_err(|e| Error::InvalidFilter(format!("invalid filter `{f}`: {e}")))
        })
        .transpose()?;
    let sort_by = req
        .sort_by
        .as_deref()
        .map(|s| {
            scim_filter::parse_attr_path(s)
                .map_err(|e| Error::InvalidPath(format!("invalid sortBy `{s}`: {e}")))
        })
        .transpose()?;
    let descending = match req.sort_order.as_deref() {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(Error::InvalidValue(format!(
                "sortOrder must be `ascending` or `descending`, got `{o}`"
            ))
            .into())
        }
    };
    let start_index = req.start_index.unwrap_or(1).max(1) as u64;
    let count = req
        .count
        .map_or(config.default_count, |c| c.max(0) as u64)
        .min(config.max_results);
    let cursor_paging = req.cursor.is_some();

    let mut total = 0u64;
    let mut resources = Vec::new();
    let mut next_cursor = None;
    let mut previous_cursor = None;
    // Over several types the page is cut from their concatenation.
    let mut skip = start_index - 1;
    let mut room = count;
    for &kind in kinds {
        let (proj, load) = projection(
            &ctx.registry,
            kind,
            req.attributes.as_deref(),
            req.excluded.as_deref(),
        )?;
        let info = ctx.registry.info(kind);
        if let Some(f) = &filter {
            if let Err(e) = scim_filter::check(f, &info) {
                return Err(Error::InvalidFilter(format!("invalid filter: {e}")).into());
            }
        }
        let query = StoreQuery {
            filter: filter.clone(),
            sort_by: sort_by.clone(),
            descending,
            start_index: if kinds.len() == 1 { start_index } else { 1 },
            count: if kinds.len() == 1 { count } else { skip + room },
            cursor: if kinds.len() == 1 {
                req.cursor.clone()
            } else {
                None
            },
            load,
        };
        let page = ctx
            .state
            .store
            .query(&ctx.principal.tenant_id, kind, &query, &info)
            .await?;
        total += page.total;
        next_cursor = page.next_cursor;
        previous_cursor = page.previous_cursor;
        let mut items = page.resources.into_iter();
        if kinds.len() > 1 {
            let skipped = (skip as usize).min(items.len());
            items.by_ref().take(skipped).for_each(drop);
            skip = skip.saturating_sub(page.total);
        }
        for res in items.take(room as usize) {
            let full = render(res, base);
            resources.push(Value::Object(proj.apply(&ctx.registry, kind, full)));
            room -= 1;
        }
    }
    let mut body = Map::new();
    body.insert("schemas".into(), json!([scim_proto::LIST_RESPONSE]));
    body.insert("totalResults".into(), json!(total));
    body.insert("itemsPerPage".into(), json!(resources.len()));
    if !cursor_paging {
        body.insert("startIndex".into(), json!(start_index));
    }
    if let Some(c) = next_cursor {
        body.insert("nextCursor".into(), json!(c));
    }
    if let Some(c) = previous_cursor {
        body.insert("previousCursor".into(), json!(c));
    }
    body.insert("Resources".into(), Value::Array(resources));
    Ok(Value::Object(body))
}
