//! The web admin console under `/ui`: server-rendered pages (askama templates, escaped by
//! default), htmx for the live parts (previews, evaluation, progress), readable and usable
//! without JavaScript. Every page needs a session (`session`); every form carries its CSRF
//! token (`form::Posted`). Pages call the same domain, engine and admin-API functions the API
//! does, so the console has no rules of its own.

mod assets;
mod form;
mod page;
mod pages;
mod session;

use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use server::AppState;

pub use session::{SESSION_COOKIE, SESSION_TTL};

/// The console's routes, to be nested under `/ui` (see [`router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(session::routes())
        .merge(assets::routes())
        .merge(pages::routes())
        .fallback(page::not_found)
        .layer(middleware::from_fn(security_headers))
}

/// The console mounted at `/ui`, ready for `server::app_with`.
pub fn router() -> Router<AppState> {
    Router::new().nest("/ui", routes())
}

/// Headers on every console answer: scripts and styles only from `/ui/static`, no framing,
/// no caching of pages that hold directory data, no referrer leaving the console.
async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}
