//! The provisioning engine: keeps downstream SCIM apps in step with the directory
//! (DESIGN "How data flows": change log → scope → map → diff → plan → apply → shadow + log).
//!
//! The planner is pure:
//! - [`app`]: an app's configuration — prepared mappings ([`app::default_user_mappings`] is
//!   Entra's default), matching precedence, scope, scoping filters, deprovisioning, dialect.
//! - [`spec`]: the same settings as users write them (config file, admin API, CLI), checked.
//! - [`plan::plan_user`]: one source user → [`plan::UserPlan`]: operations, a reason, what is
//!   deferred, and the [`plan::Record`] the shadow holds once the operations succeed.
//! - [`target_body`]: SCIM bodies from mapping outputs (`emails[type eq "work"].value`, URNs).
//! - [`shadow`]: what the planner sees of the engine's memory per (app, source user).
//! - [`groups`]: group create/rename/delete plans and member deltas split per request.
//! - [`deletions`]: the accidental-deletions threshold, per cycle.
//!
//! The runtime does the I/O, through ports only (`domain::Store`, `domain::target::Target`,
//! `domain::Clock`):
//! - [`runtime`]: workers per app ([`runtime::Worker::step`]), the scheduler
//!   ([`runtime::Engine`]), status, dry runs and provisioning on demand.
//! - [`state`]: an app's persisted runtime state (watermark, cycle, quarantine, hold).
//!
//! Invariant: no clock reads and no sleeps outside the scheduler's waits (`clippy.toml` bans
//! them): time comes from the injected `Clock`, so tests step it.

pub mod app;
pub mod deletions;
pub mod groups;
pub mod plan;
pub mod runtime;
pub mod shadow;
pub mod spec;
pub mod state;
pub mod target_body;

pub use runtime::{Engine, Step, TargetFactory, Worker, WorkerCtx};
pub use spec::AppSpec;
