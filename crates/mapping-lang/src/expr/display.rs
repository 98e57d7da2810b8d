//! Canonical text of an [`Expr`]: parses back to the same tree (up to spans).

use std::fmt;

use super::ast::{Arg, Expr, ExprKind};

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Arg::Expr(e) = arg {
                        write!(f, "{e}")?;
                    }
                }
                f.write_str(")")
            }
            ExprKind::Attr(a) => write!(f, "[{a}]"),
            ExprKind::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            ExprKind::Number(n) => f.write_str(n),
            ExprKind::Hex(h) => write!(f, "&H{h:X}"),
            ExprKind::Ident(i) => f.write_str(i),
            ExprKind::Compare { op, lhs, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
        }
    }
}
