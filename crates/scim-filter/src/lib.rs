//! SCIM filter and attribute-path grammar (RFC 7644 §3.4.2.2, §3.5.2): lexer → parser → AST with
//! spans → `Display` that round-trips, and evaluation against a resource's JSON. Never panics.

pub mod ast;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath, Span};

/// The type of an attribute, as far as comparison cares (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// What filtering needs to know about one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrInfo {
    pub ty: AttrType,
    pub case_exact: bool,
    pub multi_valued: bool,
}

/// Schema knowledge for evaluation: the resource's schemas decide caseExact and types.
pub trait SchemaInfo {
    /// `uri`: the schema URN if the path named one; `name`: the attribute; `sub`: its
    /// sub-attribute. Names match case-insensitively. `None` for an unknown attribute.
    fn attr_info(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo>;
}
