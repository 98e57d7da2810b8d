//! The provisioning engine's planner: (source user, app configuration, shadow) → the SCIM
//! operations one app needs, as data. Pure: no I/O and no clock reads; time comes in as an
//! argument. Invariant: nothing here sends a request; an applier elsewhere does.

pub mod app;
pub mod deletions;
pub mod groups;
pub mod plan;
pub mod shadow;
pub mod target_body;
