//! SCIM JSON in and out: `application/scim+json` (plain `application/json` accepted), a body limit
//! that answers with a SCIM 413, and invalid JSON as `invalidSyntax`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

pub const SCIM_JSON: &str = "application/scim+json";

/// A request body parsed as JSON, within the server's body limit.
#[derive(Debug)]
pub struct ScimBody(pub Value);

impl FromRequest<AppState> for ScimBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let limit = state.config.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                ApiError::PayloadTooLarge(format!(
                    "the request body is over the limit of {limit} bytes"
                ))
            })?;
        parse_json(&bytes).map(ScimBody)
    }
}

/// Parses a JSON body, naming where it broke.
pub fn parse_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Err(domain::Error::InvalidSyntax(
            "the request body is empty; a JSON object is required".into(),
        )
        .into());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        domain::Error::InvalidSyntax(format!(
            "the request body is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
        .into()
    })
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(()); // lenient: clients that send no type still mean JSON
    };
    let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence == SCIM_JSON || essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "content type `{essence}` is not supported; send application/scim+json"
        )))
    }
}

pub fn scim_json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A SCIM JSON response with optional ETag and Location headers.
#[derive(Debug)]
pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        ScimResponse {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => (self.status, scim_json_bytes(body)).into_response(),
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        if self.body.is_some() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        }
        if let Some(v) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, v);
        }
        if let Some(v) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, v);
        }
        response
    }
}
