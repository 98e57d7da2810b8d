//! HTTP integration tests of the SCIM server: one binary (STYLE 17), the real router and a real
//! SQLite store per test, requests through `tower::ServiceExt::oneshot` (STYLE 14).
//!
//! Modules by concern: `entra` (every request shape Entra ID and Okta send, spec §1 and §7),
//! `errors` (one test per SCIM error kind and HTTP failure), `tenants` (isolation and tokens),
//! `etag` (versions and preconditions), `bulk`, `queries` (filters, paging, sorting, projection,
//! discovery, tenant extension schemas).

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod harness;

mod apps;
mod bulk;
mod dynamic;
mod entra;
mod errors;
mod etag;
mod inbound;
mod queries;
mod tenants;
