//! The console's static files, compiled into the binary: htmx (vendored, no build chain) and
//! the style sheet. Served with a long cache lifetime; their names change with their content.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use server::AppState;

const HTMX: &str = include_str!("../assets/htmx-2.0.11.min.js");
const CONSOLE_JS: &str = include_str!("../assets/console.js");
const STYLE: &str = include_str!("../assets/style.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/static/htmx-2.0.11.min.js",
            get(|| file("text/javascript", HTMX)),
        )
        .route(
            "/static/console-1.js",
            get(|| file("text/javascript", CONSOLE_JS)),
        )
        .route("/static/style-2.css", get(|| file("text/css", STYLE)))
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}
