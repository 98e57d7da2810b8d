//! The syntax tree of a rule, with spans, and its `Display` (which re-parses to the same tree).

use std::fmt;

use mapping_lang::source::Source;

/// A byte range of the rule text.
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

/// A parsed membership rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// A boolean expression over `user.` properties.
    Expr(Expr),
    /// `Direct Reports for "<managerId>"`: users whose manager is that id.
    DirectReports { manager_id: String, span: Span },
}

/// A boolean expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Compare(Box<Comparison>),
    /// `user.proxyAddresses -any (_ -startsWith "smtp")`.
    Quantified(Box<Quantified>),
    Not {
        expr: Box<Expr>,
        span: Span,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// `operand op value`.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub operand: Operand,
    pub op: Op,
    pub op_span: Span,
    pub value: Literal,
    pub value_span: Span,
    pub(crate) matcher: crate::eval::Matcher,
}

/// `-any` or `-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

/// `property -any (body)`: `body` is evaluated once per item of the collection.
#[derive(Debug, Clone)]
pub struct Quantified {
    pub property: Property,
    pub quantifier: Quantifier,
    pub quantifier_span: Span,
    pub body: Expr,
}

/// What a comparison reads.
#[derive(Debug, Clone)]
pub enum Operand {
    /// `user.<name>`.
    User(Property),
    /// `_`: the current item of an `-any`/`-all` (a string collection).
    Item { span: Span },
    /// `<var>.<field>`: a field of the current item (`assignedPlan.servicePlanId`).
    ItemField {
        var: String,
        field: String,
        span: Span,
    },
}

/// `user.<name>`, resolved to where its values come from.
#[derive(Debug, Clone)]
pub struct Property {
    /// The name after `user.`, as written.
    pub name: String,
    pub span: Span,
    pub source: Source,
    pub(crate) fast: Option<crate::eval::FastPath>,
}

/// Comparison operators; `Lt`/`Gt` are extensions (Entra documents only `-le`/`-ge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    Match,
    NotMatch,
    In,
    NotIn,
    Le,
    Ge,
    Lt,
    Gt,
}

impl Op {
    pub(crate) const ALL: [Op; 16] = [
        Op::Eq,
        Op::Ne,
        Op::StartsWith,
        Op::NotStartsWith,
        Op::EndsWith,
        Op::NotEndsWith,
        Op::Contains,
        Op::NotContains,
        Op::Match,
        Op::NotMatch,
        Op::In,
        Op::NotIn,
        Op::Le,
        Op::Ge,
        Op::Lt,
        Op::Gt,
    ];

    /// The canonical spelling, without the hyphen.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::StartsWith => "startsWith",
            Op::NotStartsWith => "notStartsWith",
            Op::EndsWith => "endsWith",
            Op::NotEndsWith => "notEndsWith",
            Op::Contains => "contains",
            Op::NotContains => "notContains",
            Op::Match => "match",
            Op::NotMatch => "notMatch",
            Op::In => "in",
            Op::NotIn => "notIn",
            Op::Le => "le",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Gt => "gt",
        }
    }

    /// The operator spelled `word` (without hyphen, any case).
    pub(crate) fn from_word(word: &str) -> Option<Op> {
        Op::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(word))
    }

    /// For a negated operator, its positive form.
    pub(crate) fn positive(self) -> (Op, bool) {
        match self {
            Op::Ne => (Op::Eq, true),
            Op::NotStartsWith => (Op::StartsWith, true),
            Op::NotEndsWith => (Op::EndsWith, true),
            Op::NotContains => (Op::Contains, true),
            Op::NotMatch => (Op::Match, true),
            Op::NotIn => (Op::In, true),
            other => (other, false),
        }
    }
}

/// `system.now -plus P1D`: a time relative to the evaluation's `now`.
#[derive(Debug, Clone)]
pub struct RelativeTime {
    /// `+1`, `-1`, or `0` for plain `system.now`.
    pub sign: i8,
    /// The ISO-8601 duration as written (upper-cased), empty for plain `system.now`.
    pub duration_text: String,
    pub duration: jiff::Span,
}

/// A value on the right of an operator.
#[derive(Debug, Clone)]
pub enum Literal {
    Str(String),
    /// As written, and its value.
    Num(String, f64),
    Bool(bool),
    Null,
    Array(Vec<Literal>),
    Now(RelativeTime),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Expr(e) => write_expr(f, e, 1),
            Rule::DirectReports { manager_id, .. } => {
                write!(f, "Direct Reports for {}", Quoted(manager_id))
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 1)
    }
}

fn level(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        Expr::Not { .. } => 3,
        Expr::Compare(_) | Expr::Quantified(_) => 4,
    }
}

/// Writes `e`, parenthesized if it binds looser than `min`.
fn write_expr(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if level(e) < min {
        f.write_str("(")?;
        write_expr(f, e, 1)?;
        return f.write_str(")");
    }
    match e {
        Expr::Or(a, b) => {
            write_expr(f, a, 1)?;
            f.write_str(" -or ")?;
            write_expr(f, b, 2)
        }
        Expr::And(a, b) => {
            write_expr(f, a, 2)?;
            f.write_str(" -and ")?;
            write_expr(f, b, 3)
        }
        Expr::Not { expr, .. } => {
            f.write_str("-not ")?;
            if level(expr) == 4 {
                write!(f, "({expr})")
            } else {
                write_expr(f, expr, 3)
            }
        }
        Expr::Compare(c) => write!(f, "{c}"),
        Expr::Quantified(q) => write!(f, "{q}"),
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -{} {}", self.operand, self.op.name(), self.value)
    }
}

impl fmt::Display for Quantified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = match self.quantifier {
            Quantifier::Any => "any",
            Quantifier::All => "all",
        };
        write!(f, "user.{} -{q} ({})", self.property.name, self.body)
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::User(p) => write!(f, "user.{}", p.name),
            Operand::Item { .. } => f.write_str("_"),
            Operand::ItemField { var, field, .. } => write!(f, "{var}.{field}"),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "{}", Quoted(s)),
            Literal::Num(text, _) => f.write_str(text),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
            Literal::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Literal::Now(t) => {
                f.write_str("system.now")?;
                match t.sign {
                    1 => write!(f, " -plus {}", t.duration_text),
                    -1 => write!(f, " -minus {}", t.duration_text),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// A string in double quotes, `"` and `` ` `` escaped with a backtick.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c == '"' || c == '`' {
                f.write_str("`")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

impl Rule {
    /// The `user.` properties the rule reads, in order of appearance (with repeats), so that a
    /// caller can tell which attribute changes need a re-evaluation. `Direct Reports` reads
    /// `manager` and lists nothing.
    pub fn properties(&self) -> Vec<&Property> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Property>) {
            match e {
                Expr::Compare(c) => {
                    if let Operand::User(p) = &c.operand {
                        out.push(p);
                    }
                }
                Expr::Quantified(q) => {
                    out.push(&q.property);
                    walk(&q.body, out);
                }
                Expr::Not { expr, .. } => walk(expr, out),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        if let Rule::Expr(e) = self {
            walk(e, &mut out);
        }
        out
    }

    /// The tree as an S-expression (for tests and debugging), with or without spans.
    pub fn to_sexpr(&self, spans: bool) -> String {
        let mut out = String::new();
        match self {
            Rule::Expr(e) => sexpr(&mut out, e, spans),
            Rule::DirectReports { manager_id, span } => {
                out.push_str(&format!("(direct-reports {}", Quoted(manager_id)));
                if spans {
                    out.push_str(&format!(" @{}..{}", span.start, span.end));
                }
                out.push(')');
            }
        }
        out
    }
}

fn sexpr(out: &mut String, e: &Expr, spans: bool) {
    let at = |s: Span| {
        if spans {
            format!("@{}..{}", s.start, s.end)
        } else {
            String::new()
        }
    };
    match e {
        Expr::Or(a, b) | Expr::And(a, b) => {
            out.push_str(if matches!(e, Expr::Or(..)) {
                "(or "
            } else {
                "(and "
            });
            sexpr(out, a, spans);
            out.push(' ');
            sexpr(out, b, spans);
            out.push(')');
        }
        Expr::Not { expr, span } => {
            out.push_str(&format!("(not{} ", at(*span)));
            sexpr(out, expr, spans);
            out.push(')');
        }
        Expr::Compare(c) => {
            let operand = match &c.operand {
                Operand::User(p) => format!("user.{}{}", p.name, at(p.span)),
                Operand::Item { span } => format!("_{}", at(*span)),
                Operand::ItemField { var, field, span } => format!("{var}.{field}{}", at(*span)),
            };
            out.push_str(&format!(
                "({}{} {operand} {}{})",
                c.op.name(),
                at(c.op_span),
                c.value,
                at(c.value_span)
            ));
        }
        Expr::Quantified(q) => {
            let name = match q.quantifier {
                Quantifier::Any => "any",
                Quantifier::All => "all",
            };
            out.push_str(&format!(
                "({name}{} user.{}{} ",
                at(q.quantifier_span),
                q.property.name,
                at(q.property.span)
            ));
            sexpr(out, &q.body, spans);
            out.push(')');
        }
    }
}
