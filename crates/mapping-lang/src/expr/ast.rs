//! The syntax tree of a mapping expression, with byte spans into the source text.

/// A byte range `start..end` of the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// One expression node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `Name(arg, …)`; `name_span` covers the name only.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Arg>,
    },
    /// `[name]`: the raw text between the outer brackets.
    Attr(String),
    /// `"…"`, unescaped.
    Str(String),
    /// A number as written (`42`, `-10`, `42568.75`); kept as text so `Len(42568.75)` is 8.
    Number(String),
    /// A VB hex literal `&HF7`, with its value.
    Hex(i64),
    /// A bare identifier, an enum constant such as `vbTextCompare`.
    Ident(String),
    /// `lhs op rhs`.
    Compare {
        op: CompareOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// A positional argument: an expression, or nothing between two commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Expr(Expr),
    Empty(Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => e.span,
            Arg::Empty(s) => *s,
        }
    }

    pub fn expr(&self) -> Option<&Expr> {
        match self {
            Arg::Expr(e) => Some(e),
            Arg::Empty(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

impl Expr {
    /// The same tree with every span zeroed, to compare trees regardless of layout.
    pub fn without_spans(&self) -> Expr {
        let kind = match &self.kind {
            ExprKind::Call { name, args, .. } => ExprKind::Call {
                name: name.clone(),
                name_span: Span::default(),
                args: args
                    .iter()
                    .map(|a| match a {
                        Arg::Expr(e) => Arg::Expr(e.without_spans()),
                        Arg::Empty(_) => Arg::Empty(Span::default()),
                    })
                    .collect(),
            },
            ExprKind::Compare { op, lhs, rhs } => ExprKind::Compare {
                op: *op,
                lhs: Box::new(lhs.without_spans()),
                rhs: Box::new(rhs.without_spans()),
            },
            other => other.clone(),
        };
        Expr {
            kind,
            span: Span::default(),
        }
    }
}
