use axum::Router;
use server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
