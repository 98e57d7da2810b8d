//! The provisioning engine's planner: (source user, app configuration, shadow) → the SCIM
//! operations one app needs, as data (DESIGN "How data flows": scope → map → diff → plan).
//!
//! - [`app`]: an app's configuration — prepared mappings ([`app::default_user_mappings`] is
//!   Entra's default), matching precedence, scope, scoping filters, deprovisioning, dialect.
//! - [`plan::plan_user`]: one source user → [`plan::UserPlan`]: operations, a human-readable
//!   reason, what is deferred (a manager not yet in the target), and the [`plan::Record`] the
//!   shadow holds once the operations succeed.
//! - [`target_body`]: SCIM bodies from mapping outputs (`emails[type eq "work"].value`, URNs).
//! - [`shadow`]: what the engine remembers per (app, source user).
//! - [`groups`]: group create/rename/delete plans and member deltas split per request.
//! - [`deletions`]: the accidental-deletions threshold, per cycle.
//!
//! Invariant: pure. No I/O, no clock reads, no sleeps (`clippy.toml` bans them here); time
//! comes in as an argument, so the same inputs always give the same plan. An applier sends
//! the operations; nothing here makes an HTTP call.

pub mod app;
pub mod deletions;
pub mod groups;
pub mod plan;
pub mod shadow;
pub mod target_body;
