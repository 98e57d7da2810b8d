//! Schemas (RFC 7643 §7): the built-in User, EnterpriseUser and Group definitions, tenant
//! extensions, the per-tenant `Registry`, and validation of resource bodies against it.

mod core;
mod registry;
mod validate;

#[cfg(test)]
mod tests;

pub(crate) use registry::ResourceDef;
pub use registry::{Extension, Registry, ResourceSchema};
pub use validate::Mode;
