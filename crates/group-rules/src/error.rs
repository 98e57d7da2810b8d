//! The one error type of this crate: what went wrong in the rule, and where.

use crate::ast::Span;

/// A rule that could not be parsed or checked.
///
/// `message` already names the byte position (`"expected a value after `-eq` at 20"`), so it can
/// be shown as it is; `span` is the offending range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl ParseError {
    /// `problem` without a position; the position of `span.start` is appended.
    pub(crate) fn new(problem: impl std::fmt::Display, span: Span) -> Self {
        ParseError {
            message: format!("{problem} at {}", span.start),
            span,
        }
    }
}
