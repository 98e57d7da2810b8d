//! The languages admins write for outbound provisioning, compatible with Entra ID: attribute
//! mapping expressions and scoping filters, over the attributes of a SCIM user (see [`source`]
//! for the attribute names and Entra's aliases). Pure: no I/O.

pub mod expr;
pub mod scoping;
pub mod source;
