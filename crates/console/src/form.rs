//! Posted forms. Every state-changing request of the console is a POST taken through
//! [`Posted`], which requires a session and the session's CSRF token (form field `csrf`, or
//! the `X-CSRF-Token` header htmx sends); without them nothing runs.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use server::AppState;

use crate::session::{csrf_matches, Session, SignInRequired};

/// Largest form body the console accepts.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A urlencoded form's fields, in order (a name may repeat).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &str) -> Fields {
        Fields(
            form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, `None` when empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A POST from a signed-in admin whose CSRF token matched.
#[derive(Debug)]
pub struct Posted {
    pub session: Session,
    pub fields: Fields,
}

/// Why a post was refused.
#[derive(Debug)]
pub enum Refused {
    SignIn(SignInRequired),
    Csrf,
    TooLarge,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignIn(s) => s.into_response(),
            Refused::Csrf => (
                StatusCode::FORBIDDEN,
                axum::response::Html(
                    "<!doctype html><title>Form refused</title><p role=\"alert\">This form \
                     did not carry this session's security token (it may come from another \
                     site, or from before you signed in again). Nothing was changed. \
                     <a href=\"/ui\">Reload the console</a> and try again.</p>",
                ),
            )
                .into_response(),
            Refused::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::response::Html(
                    "<!doctype html><title>Form too large</title><p role=\"alert\">The form \
                     is larger than 256 KiB; nothing was changed.</p>",
                ),
            )
                .into_response(),
        }
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = <Session as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, state,
        )
        .await
        .map_err(Refused::SignIn)?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| Refused::TooLarge)?;
        let fields = Fields::parse(&String::from_utf8_lossy(&bytes));
        let header = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        let given = fields.get("csrf").or(header).unwrap_or("");
        if !csrf_matches(&session.csrf, given) {
            tracing::warn!(tenant = %session.principal.tenant_id, path = %parts.uri.path(), "console form refused: CSRF token missing or wrong");
            return Err(Refused::Csrf);
        }
        Ok(Posted { session, fields })
    }
}
