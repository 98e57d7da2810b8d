//! The syntax tree of SCIM filters (RFC 7644 §3.4.2.2) and attribute paths (§3.5.2), with spans.

use std::fmt;

/// A byte range `start..end` in the parsed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// `[uri ":"] name ["." sub]`, e.g. `userName`, `name.givenName`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
///
/// Names keep the case the client wrote; matching against schemas is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing `:`.
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
    pub span: Span,
}

/// The comparison operators of RFC 7644 §3.4.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`
    Present {
        attr: AttrPath,
        span: Span,
    },
    /// `attr op value`
    Compare {
        attr: AttrPath,
        op: CompareOp,
        value: CompValue,
        span: Span,
    },
    /// `attr[filter]`: the inner filter's paths are relative to each value of `attr`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
        span: Span,
    },
    /// `not (filter)`
    Not {
        filter: Box<Filter>,
        span: Span,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
///
/// `emails[type eq "work"].value` is `attr = emails`, `filter = Some(type eq "work")`,
/// `sub = Some("value")`. For a plain `name.givenName`, `attr.sub` holds `givenName` and
/// `sub` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}
