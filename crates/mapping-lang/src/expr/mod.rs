//! Attribute-mapping expressions, compatible with Entra ID's expression language: lexer →
//! parser → [`ast`] with spans → `Display` that round-trips → [`check`] → [`eval`].
//!
//! # Grammar
//!
//! ```text
//! expr      = operand [ compareOp operand ]      ; comparisons bind looser than calls and
//!                                                ; do not chain: `a = b = c` is an error
//! operand   = call / attribute / string / number / hex / ident
//! call      = NAME "(" [ arg *( "," arg ) ] ")"  ; `F()` has no arguments
//! arg       = [ expr ]                           ; empty: `Replace([x], , "re", , "", , )`
//! attribute = "[" *( char / "[" … "]" / string ) "]"
//!                                                ; up to the matching `]`, so
//!                                                ; `[emails[type eq "work"].value]` is one name
//! string    = DQUOTE *( char / "\" DQUOTE / "\\" ) DQUOTE
//!                                                ; any other `\` is literal (regex `\d`)
//! number    = [ "-" ] 1*DIGIT [ "." 1*DIGIT ]    ; kept as written: `Len(42568.75)` is 8
//! hex       = "&H" 1*HEXDIG                      ; VB hex, `&HF7`
//! ident     = ALPHA *( ALPHA / DIGIT / "_" )     ; enum constants: `vbTextCompare`
//! compareOp = "=" / "<>" / ">" / ">=" / "<" / "<="
//! ```
//!
//! Function and attribute names are case-sensitive (Entra's rule; [`check`] suggests the right
//! case). Whitespace between tokens is free.
//!
//! # Values
//!
//! As in Entra, values are strings ([`Value::Str`]): booleans are `"True"`/`"False"`, numbers
//! their decimal text (`Len` returns `"8"`, JSON numbers print without trailing zeros), dates
//! `M/d/yyyy h:mm:ss tt` in UTC. A multi-valued attribute with several values, `Split` and
//! `RemoveDuplicates` give a [`Value::List`]; scalar functions read a list's first value. A
//! missing attribute is [`Value::Null`]; [`Output::IgnoreFlow`] is what
//! `IgnoreFlowIfNullOrEmpty` returns for null or `""` (the attribute leaves the flow). Time,
//! the default domain and target uniqueness come from the [`Context`]; nothing here reads the
//! clock. [`mapping`] applies the mapping rules of spec §2.1 on top.
//!
//! # Null
//!
//! - Read as `""`: `Append`, `Left`, `Mid`, `Len` (0), `Word`, `InStr`, `CStr`, `Join` (skips
//!   null and `""` parts, per the doc's example), comparisons.
//! - Kept null (so `Coalesce`, `IsNull` and `IgnoreFlowIfNullOrEmpty` still see it): `ToLower`,
//!   `ToUpper`, `StripSpaces`, `PCase`, `NormalizeDiacritics`, `Replace`, `Split`,
//!   `ConvertToBase64`, `ConvertToUTF8Hex`, `CDate`, `DateAdd`, `DateDiff`, `NumFromDate`,
//!   `FormatDateTime`, `Item` out of range, `Switch` without default.
//! - `IIF`: a null or empty attribute anywhere in the condition makes it false (documented).
//!   `Switch`: a `""` key matches a null or empty source. `Not(null)` is `"True"`.
//!
//! Deliberate deviations from the doc's examples (pinned in the tests): `Split` keeps the
//! spaces around parts as .NET does; `Replace([mobile], , "[()\\s-]+", …)` keeps the `+` its
//! pattern does not match. `SingleAppRoleAssignment` and `AppRoleAssignmentsComplex` read the
//! user's `roles` (value, else display), whatever attribute they are given.
//!
//! # Limits
//!
//! Expressions longer than [`MAX_LEN`] characters and calls nested deeper than [`MAX_DEPTH`]
//! are rejected by the parser; evaluation spends one unit of fuel per node and per value a
//! function walks, and stops with an error when the budget is spent. Invariant: no input makes
//! any function here panic.

pub mod ast;
mod check;
mod display;
mod eval;
mod functions;
mod lexer;
pub mod mapping;
mod parser;
mod signatures;

use std::fmt;

pub use ast::{Arg, CompareOp, Expr, ExprKind, Span};
pub use check::{check, CheckError, Env};
pub use eval::{
    eval, eval_prepared, eval_with, is_redacted, Context, EvalError, Output, Prepared, Resolved,
    Value, DEFAULT_FUEL, MAX_VALUE_LEN,
};
pub use parser::{parse, MAX_DEPTH, MAX_LEN};
pub use signatures::{Signature, SIGNATURES};

/// A syntax error: what was expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    /// 1-based character position of `span.start`, as shown in the message.
    pub at: usize,
}

impl ParseError {
    pub(crate) fn new(src: &str, message: &str, start: usize, end: usize) -> Self {
        let at = src.get(..start).map_or(start, |s| s.chars().count()) + 1;
        ParseError {
            message: message.to_owned(),
            span: Span::new(start, end),
            at,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.at)
    }
}

impl std::error::Error for ParseError {}
