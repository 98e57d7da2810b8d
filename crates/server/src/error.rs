//! The one error table: every failure becomes an HTTP status, a SCIM `scimType` and a message,
//! here and nowhere else (RFC 7644 §3.12).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::Error as DomainError;

/// Everything a request can fail with: the domain's errors plus the HTTP-only ones.
#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    /// No or unknown bearer token (401 + `WWW-Authenticate`).
    Unauthorized(String),
    /// A valid token without the scope this request needs.
    Forbidden(String),
    /// The path exists but not with this method.
    MethodNotAllowed(String),
    /// No such endpoint.
    NoRoute(String),
    /// The body is over the limit.
    PayloadTooLarge(String),
    /// A bulk request with more operations than `maxOperations` (413 `tooMany`).
    TooManyOperations(String),
    /// The body's content type is not JSON.
    UnsupportedMediaType(String),
    /// Something SCIM allows the server not to do (`/Me`).
    NotImplemented(String),
    /// Several replicas or requests raced; try again.
    Busy(String),
    /// Over a rate limit or backlog cap (429 + `Retry-After` in seconds).
    TooManyRequests {
        message: String,
        retry_after: u64,
    },
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::Domain(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The table: (status, scimType, message).
    pub fn parts(&self) -> (StatusCode, Option<&'static str>, String) {
        use DomainError as D;
        match self {
            ApiError::Domain(e) => {
                let (status, scim_type) = match e {
                    D::InvalidFilter(_) => (StatusCode::BAD_REQUEST, Some("invalidFilter")),
                    D::InvalidPath(_) => (StatusCode::BAD_REQUEST, Some("invalidPath")),
                    D::InvalidValue(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
                    D::InvalidSyntax(_) => (StatusCode::BAD_REQUEST, Some("invalidSyntax")),
                    D::Mutability(_) => (StatusCode::BAD_REQUEST, Some("mutability")),
                    D::Uniqueness(_) => (StatusCode::CONFLICT, Some("uniqueness")),
                    D::TooMany(_) => (StatusCode::BAD_REQUEST, Some("tooMany")),
                    D::NoTarget(_) => (StatusCode::BAD_REQUEST, Some("noTarget")),
                    D::InvalidVersion(_) => (StatusCode::BAD_REQUEST, Some("invalidVers")),
                    D::NotFound(_) => (StatusCode::NOT_FOUND, None),
                    D::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, None),
                    D::Conflict(_) => (StatusCode::CONFLICT, None),
                    D::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
                };
                let message = match e {
                    // 5xx bodies are generic; the cause is logged once, in the request's span.
                    D::Internal(_) => "internal error; the server log has the details".to_owned(),
                    other => other.to_string(),
                };
                (status, scim_type, message)
            }
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, None, m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, None, m.clone()),
            ApiError::MethodNotAllowed(m) => (StatusCode::METHOD_NOT_ALLOWED, None, m.clone()),
            ApiError::NoRoute(m) => (StatusCode::NOT_FOUND, None, m.clone()),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, None, m.clone()),
            ApiError::TooManyOperations(m) => {
                (StatusCode::PAYLOAD_TOO_LARGE, Some("tooMany"), m.clone())
            }
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("invalidSyntax"),
                m.clone(),
            ),
            ApiError::NotImplemented(m) => (StatusCode::NOT_IMPLEMENTED, None, m.clone()),
            ApiError::Busy(m) => (StatusCode::SERVICE_UNAVAILABLE, None, m.clone()),
            ApiError::TooManyRequests { message, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, None, message.clone())
            }
        }
    }

    /// The SCIM error body (RFC 7644 §3.12).
    pub fn body(&self) -> serde_json::Value {
        let (status, scim_type, detail) = self.parts();
        let mut body = serde_json::json!({
            "schemas": [scim_proto::ERROR],
            "status": status.as_u16().to_string(),
            "detail": detail,
        });
        if let (Some(t), Some(obj)) = (scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), t.into());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        if let ApiError::Domain(DomainError::Internal(cause)) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = (status, crate::json::scim_json_bytes(&self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::json::SCIM_JSON),
        );
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scimitar\""),
            );
        }
        response
    }
}
