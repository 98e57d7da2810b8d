//! The engine's runtime, stepped with an injected clock (STYLE 12) against a real SQLite store
//! and a real SCIM peer (`scim2-server`, a server no one here wrote). A fault-injecting wrapper
//! around the peer only adds failures (5xx, 401); it never answers in the peer's place.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Starting the peer waits on the wall clock; the engine under test never does.
#![allow(clippy::disallowed_methods)]

mod connection;
mod failures;
mod groups;
mod lifecycle;
mod reconcile;
mod support;
