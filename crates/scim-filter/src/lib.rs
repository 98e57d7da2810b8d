//! SCIM filter and attribute-path grammar (RFC 7644 §3.4.2.2, §3.5.2): lexer → parser → AST with
//! spans → `Display` that round-trips, and evaluation against a resource's JSON. Never panics.
//!
//! # Pipeline
//!
//! The lexer turns text into words, strings and brackets; the parser builds the
//! [`ast`] with byte spans; [`check`] rejects comparisons the schema makes meaningless;
//! [`Filter::matches`] evaluates. `Display` prints canonical text that parses back to the
//! same tree (up to spans).
//!
//! # Grammar
//!
//! RFC 7644 §3.4.2.2 and §3.5.2 in ABNF (RFC 5234), with the leniencies real clients need.
//! Keywords and operators match in any case; whitespace of any amount separates tokens.
//!
//! ```text
//! FILTER     = andExpr *("or" andExpr)                   ; `or` binds loosest
//! andExpr    = unary *("and" unary)
//! unary      = "not" "(" FILTER ")"                      ; space before "(" optional
//!            / "(" FILTER ")"
//!            / attrExp
//!            / valuePath
//! valuePath  = attrPath "[" valFilter "]"
//!            / attrPath "[" valFilter "]" "." subAttr ("pr" / compareOp compValue)
//!                                                        ; Entra ID; = `a[f and sub op v]`
//! valFilter  = FILTER                                    ; paths relative to each value
//! attrExp    = attrPath "pr"
//!            / attrPath compareOp compValue
//! compareOp  = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! compValue  = "false" / "null" / "true" / number / string
//!            / word                                      ; unquoted: a string (Entra ID)
//! number     = ["-"] int [frac] [exp]                    ; as in JSON
//! string     = DQUOTE *(char / escape) DQUOTE            ; JSON escapes, `\uXXXX`
//! attrPath   = [URI ":"] ATTRNAME ["." subAttr]          ; URI: starts `urn:`, ends at the last ":"
//! ATTRNAME   = ALPHA *(nameChar) / "$ref"
//! nameChar   = "-" / "_" / DIGIT / ALPHA
//! subAttr    = ATTRNAME
//!
//! PATH       = attrPath [ "[" valFilter "]" ["." subAttr] ]   ; PATCH paths (§3.5.2)
//! ```
//!
//! # Limits
//!
//! Inputs longer than [`MAX_LEN`] bytes are rejected, and so are `(`, `not (` and `attr[`
//! nested deeper than [`MAX_DEPTH`]. `and`/`or` chains are parsed iteratively and are bounded
//! only by the length. Invariant: no input makes any function here panic.

pub mod ast;
mod check;
mod display;
mod error;
mod eval;
mod lexer;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath, Span};
pub use check::check;
pub use error::ParseError;
pub use eval::{compare_for_sort, values_at};
pub use parser::{parse_attr_path, parse_filter, parse_path, MAX_DEPTH, MAX_LEN};

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
