//! Canonical text for the AST: lower-case operators, quoted strings, and only the parentheses
//! the tree needs, so `parse(x.to_string())` equals `x` up to spans.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath, Span};

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl CompareOp {
    /// The operator as written in a filter, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// A JSON string literal: the lexer decodes exactly these escapes.
fn write_json_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present { attr, .. } => write!(f, "{attr} pr"),
            Filter::Compare {
                attr, op, value, ..
            } => write!(f, "{attr} {op} {value}"),
            Filter::ValuePath { attr, filter, .. } => write!(f, "{attr}[{filter}]"),
            Filter::Not { filter, .. } => write!(f, "not ({filter})"),
            // Both chains are left-associative and `and` binds tighter than `or`: a right
            // operand of the same kind, or an `or` under an `and`, needs parentheses.
            Filter::Or(left, right) => {
                write!(f, "{left} or ")?;
                if matches!(**right, Filter::Or(..)) {
                    write!(f, "({right})")
                } else {
                    write!(f, "{right}")
                }
            }
            Filter::And(left, right) => {
                if matches!(**left, Filter::Or(..)) {
                    write!(f, "({left}) and ")?;
                } else {
                    write!(f, "{left} and ")?;
                }
                if matches!(**right, Filter::Or(..) | Filter::And(..)) {
                    write!(f, "({right})")
                } else {
                    write!(f, "{right}")
                }
            }
        }
    }
}

impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl AttrPath {
    /// The same path with its span zeroed, for comparing trees regardless of layout.
    pub fn without_span(&self) -> AttrPath {
        AttrPath {
            span: Span::default(),
            ..self.clone()
        }
    }
}

impl Filter {
    /// The same tree with every span zeroed, for comparing trees regardless of layout.
    pub fn without_spans(&self) -> Filter {
        let none = Span::default();
        match self {
            Filter::Present { attr, .. } => Filter::Present {
                attr: attr.without_span(),
                span: none,
            },
            Filter::Compare {
                attr, op, value, ..
            } => Filter::Compare {
                attr: attr.without_span(),
                op: *op,
                value: value.clone(),
                span: none,
            },
            Filter::ValuePath { attr, filter, .. } => Filter::ValuePath {
                attr: attr.without_span(),
                filter: Box::new(filter.without_spans()),
                span: none,
            },
            Filter::Not { filter, .. } => Filter::Not {
                filter: Box::new(filter.without_spans()),
                span: none,
            },
            Filter::And(l, r) => {
                Filter::And(Box::new(l.without_spans()), Box::new(r.without_spans()))
            }
            Filter::Or(l, r) => {
                Filter::Or(Box::new(l.without_spans()), Box::new(r.without_spans()))
            }
        }
    }

    /// The input range this filter was parsed from (for `and`/`or`, from the start of the
    /// left operand to the end of the right one; enclosing parentheses are not included).
    pub fn span(&self) -> Span {
        match self {
            Filter::Present { span, .. }
            | Filter::Compare { span, .. }
            | Filter::ValuePath { span, .. }
            | Filter::Not { span, .. } => *span,
            Filter::And(l, r) | Filter::Or(l, r) => Span {
                start: l.span().start,
                end: r.span().end,
            },
        }
    }
}

impl PatchPath {
    /// The same path with every span zeroed.
    pub fn without_spans(&self) -> PatchPath {
        PatchPath {
            attr: self.attr.without_span(),
            filter: self.filter.as_ref().map(Filter::without_spans),
            sub: self.sub.clone(),
        }
    }
}
