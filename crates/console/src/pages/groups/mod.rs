//! Groups: the list, a group's page (members, and for a dynamic group its rule and the
//! recomputation's progress), the rule editor with its live preview, creating a dynamic group,
//! and "why is this user (not) a member". Writes go through the SCIM service (`Ctx`), which
//! validates the rule and recomputes the membership before it answers, as for the API.
//!
//! The live parts answer htmx requests (`HX-Request`) with a fragment and plain form posts
//! with the whole page, so everything works without JavaScript.

mod explain;
mod list;
mod rule;
mod show;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use server::AppState;

use crate::page::seg;
use crate::pages::ctx;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list::list).post(rule::create))
        .route("/groups/new", get(rule::new_page))
        .route("/groups/preview", post(rule::preview))
        .route("/groups/{id}", get(show::show))
        .route("/groups/{id}/progress", get(show::progress))
        .route("/groups/{id}/rule", post(rule::save))
        .route("/groups/{id}/rule/remove", post(rule::remove))
        .route("/groups/{id}/explain", post(explain::explain))
}

/// Whether htmx sent the request (it then wants a fragment, not a page).
fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A link to another console page.
pub struct Link {
    pub href: String,
    pub name: String,
}

impl Link {
    fn user(id: &str, name: Option<&str>) -> Link {
        Link {
            href: format!("/ui/users/{}", seg(id)),
            name: name.filter(|n| !n.is_empty()).unwrap_or(id).to_owned(),
        }
    }

    fn group(id: &str, name: Option<&str>) -> Link {
        Link {
            href: format!("/ui/groups/{}", seg(id)),
            name: name.filter(|n| !n.is_empty()).unwrap_or(id).to_owned(),
        }
    }
}
