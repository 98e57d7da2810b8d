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
pub use eval::{eval, is_redacted, Context, EvalError, Output, Value, DEFAULT_FUEL, MAX_VALUE_LEN};
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
