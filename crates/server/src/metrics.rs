//! Prometheus metrics: `GET /metrics` renders the process's recorder (installed by the binary),
//! and a middleware counts requests and times them.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Counts the request (`scimitar_http_requests_total{method,status}`) and records its duration
/// (`scimitar_http_request_duration_seconds{method}`).
pub async fn track(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("scimitar_http_requests_total", "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("scimitar_http_request_duration_seconds", "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The metrics in Prometheus text format; 404 when this server has no recorder.
pub async fn render(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are not enabled in this server\n",
        )
            .into_response(),
    }
}
