//! Static checks of a parsed expression: known functions, arities, known source attributes,
//! and where the documented restrictions put some functions.

use std::fmt;

use scim_filter::SchemaInfo;

use super::ast::{Arg, Expr, ExprKind, Span};
use super::signatures::{lookup, suggest, Signature};
use crate::source;

/// What the checker knows about the surroundings.
#[derive(Default, Clone, Copy)]
pub struct Env<'a> {
    /// The user's schemas; `None` accepts any well-formed attribute path.
    pub schema: Option<&'a dyn SchemaInfo>,
}

/// One problem, at a span of the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub message: String,
    pub span: Span,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}..{}",
            self.message, self.span.start, self.span.end
        )
    }
}

impl std::error::Error for CheckError {}

/// The attribute the app-role functions take; it is not a SCIM attribute (the user's `roles`
/// stand in for it).
pub(crate) const APP_ROLE_ASSIGNMENTS: &str = "appRoleAssignments";

/// Every problem of `expr`, in source order; `Ok` when there is none.
pub fn check(expr: &Expr, env: &Env) -> Result<(), Vec<CheckError>> {
    let mut errors = Vec::new();
    walk(expr, env, true, false, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `condition`: inside the condition of an `IIF`.
fn walk(expr: &Expr, env: &Env, top: bool, condition: bool, errors: &mut Vec<CheckError>) {
    match &expr.kind {
        ExprKind::Attr(name) => {
            if name == APP_ROLE_ASSIGNMENTS {
                return;
            }
            if let Err(e) = source::resolve(name, env.schema) {
                errors.push(CheckError {
                    message: e.to_string(),
                    span: expr.span,
                });
            }
        }
        ExprKind::Compare { lhs, rhs, .. } => {
            walk(lhs, env, false, condition, errors);
            walk(rhs, env, false, condition, errors);
        }
        ExprKind::Call {
            name,
            name_span,
            args,
        } => {
            check_call(name, *name_span, args, top, errors);
            if condition && name == "IgnoreFlowIfNullOrEmpty" {
                errors.push(CheckError {
                    message: "`IgnoreFlowIfNullOrEmpty` cannot be part of an `IIF` condition; wrap the whole `IIF` in it".into(),
                    span: *name_span,
                });
            }
            for (i, arg) in args.iter().enumerate() {
                if let Arg::Expr(e) = arg {
                    let in_condition = condition || (name == "IIF" && i == 0);
                    walk(e, env, false, in_condition, errors);
                }
            }
        }
        ExprKind::Str(_) | ExprKind::Number(_) | ExprKind::Hex(_) | ExprKind::Ident(_) => {}
    }
}

/// Empty arguments stand for the documented optional ones: `Replace`'s unused parameters,
/// `FormatDateTime`'s styles, `Switch`'s default (and values: null), and trailing optionals.
fn empty_allowed(name: &str, sig: &Signature, i: usize, n: usize) -> bool {
    match name {
        "Replace" | "Switch" => i >= 1,
        "FormatDateTime" => i == 1 && n == 4,
        _ => sig.max.is_some() && i >= sig.min,
    }
}

fn check_call(name: &str, span: Span, args: &[Arg], top: bool, errors: &mut Vec<CheckError>) {
    let Some(sig) = lookup(name) else {
        let message = match suggest(name) {
            Some(right) => format!("unknown function `{name}`; did you mean `{right}`?"),
            None => format!("unknown function `{name}`"),
        };
        errors.push(CheckError { message, span });
        return;
    };
    let n = args.len();
    let arity = match sig.max {
        Some(max) if max == sig.min => format!("exactly {max}"),
        Some(max) => format!("{} to {max}", sig.min),
        None => format!("at least {}", sig.min),
    };
    let too_few = n < sig.min;
    let too_many = sig.max.is_some_and(|max| n > max);
    if too_few || too_many {
        let plural = if sig.max.unwrap_or(sig.min) == 1 {
            ""
        } else {
            "s"
        };
        errors.push(CheckError {
            message: format!("`{name}` takes {arity} argument{plural}, found {n}"),
            span,
        });
    } else if sig.pairs && !n.is_multiple_of(2) {
        errors.push(CheckError {
            message: format!(
                "`{name}` takes a source, a default, then key/value pairs; found {n} arguments (a key without a value)"
            ),
            span,
        });
    }
    for (i, arg) in args.iter().enumerate() {
        if let Arg::Empty(at) = arg {
            if !empty_allowed(name, sig, i, n) {
                errors.push(CheckError {
                    message: format!("argument {} of `{name}` is empty", i + 1),
                    span: *at,
                });
            }
        }
    }
    if name == "SelectUniqueValue" && !top {
        errors.push(CheckError {
            message: "`SelectUniqueValue` must be the whole expression".into(),
            span,
        });
    }
}
