//! The backend-independent store tests: each takes a fresh `Arc<dyn Store>`.

pub mod changes;
pub mod dynamic;
pub mod inbound;
pub mod members;
pub mod provisioning;
pub mod query;
pub mod resources;
pub mod tenancy;
