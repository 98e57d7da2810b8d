//! Inbound provisioning against a real SQLite store in a temp dir, with a stepped clock: the
//! processor (`Inbound::step`) and the lifecycle runner (`Runner::step`) are driven by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod lifecycle;
mod processing;
mod support;
