//! What every page shares: the chrome (navigation, tenant, CSRF token), rendering, and the
//! error page. Errors go through the API's one error table (`ApiError::parts`), so the console
//! says the same thing the API would.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use server::ApiError;

/// The frame around every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub csrf: String,
    pub tenant: String,
    /// Whether the signed-in admin manages tenants (an admin of `default`).
    pub operator: bool,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub expires: String,
}

impl Chrome {
    /// `aria-current="page"` for the current section's link.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// A template rendered to HTML, or the error page if it could not be.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered; the server log has the details.",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    let html = page
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Error</p>".to_owned());
    (status, Html(html)).into_response()
}

/// A failed console request: the API error, shown as a page with its status and message.
#[derive(Debug)]
pub struct UiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for UiError {
    fn from(e: E) -> Self {
        UiError(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, scim_type, message) = self.0.parts();
        if status.is_server_error() {
            tracing::error!(%message, "console request failed");
        }
        let message = match scim_type {
            Some(t) => format!("{message} ({t})"),
            None => message,
        };
        error_page(status, &message)
    }
}

pub type UiResult<T = Response> = Result<T, UiError>;

pub async fn not_found(uri: axum::http::Uri) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        &format!("There is no console page at {}.", uri.path()),
    )
}

/// A timestamp as the console shows it: UTC, to the second.
pub fn short_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The message of an error, as a form shows it beside its fields.
pub fn message_of(e: impl Into<ApiError>) -> String {
    let (_, scim_type, message) = e.into().parts();
    match scim_type {
        Some(t) => format!("{message} ({t})"),
        None => message,
    }
}

/// A redirect after a successful POST (303: the browser follows with a GET).
pub fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}

/// A path segment, percent-encoded for a URL.
pub fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// An error in a text the admin typed, pointed at: the line it is on, and a caret line under
/// its span.
#[derive(Debug, Clone, Default)]
pub struct Located {
    pub message: String,
    /// 1-based.
    pub line_no: usize,
    pub line: String,
    pub caret: String,
}

/// Where the error `message` at the byte range `start..end` of `text` is, as `cli`'s
/// `lang::Located` prints it: columns in characters; a span over several lines is underlined to
/// the end of its first line.
pub fn locate(text: &str, start: usize, end: usize, message: &str) -> Located {
    let start = start.min(text.len());
    let before = text.get(..start).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |i| start + i);
    let line = text.get(line_start..line_end).unwrap_or_default();
    let column = text.get(line_start..start).map_or(0, |s| s.chars().count());
    let width = text
        .get(start..end.clamp(start, line_end))
        .map_or(0, |s| s.chars().count())
        .max(1);
    Located {
        message: message.to_owned(),
        line_no: before.matches('\n').count() + 1,
        // Tabs would move the caret; one space each keeps the columns.
        line: line.replace('\t', " "),
        caret: format!("{}{}", " ".repeat(column), "^".repeat(width)),
    }
}
