//! SCIM PATCH (RFC 7644 §3.5.2) as Entra ID and Okta send it: parse a PatchOp body into
//! operations, then apply them to a resource body and compute the group-membership change.
//!
//! Leniency is deliberate (Entra's own shapes are not all RFC-conformant, see
//! `spec/entra-provisioning.md` §1.3, §1.4, §7): op names in any case, path-less values with
//! dotted and URN-qualified keys, a manager given as a bare id, `value` arrays on `remove`,
//! `null`/`""` meaning "clear". Type checking is left to schema validation, which the caller
//! runs on the patched body.
//!
//! Invariant: group members never enter the body; they come out as a [`MembersChange`].

mod apply;
mod edit;
mod members;
mod parse;

use scim_filter::PatchPath;
use serde_json::Value;

pub use apply::apply_patch;
pub use members::needs_members;
pub use parse::parse_patch;

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

impl PatchOpKind {
    /// The op as RFC 7644 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

/// One parsed operation. `value` is kept as sent (`null` included); `path` is `None` for a
/// path-less add/replace.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}
