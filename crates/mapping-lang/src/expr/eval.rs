//! Evaluation of a parsed expression against one user, with a fuel budget.
//!
//! Values are strings in practice, as in Entra: booleans are `"True"`/`"False"`, numbers are
//! their decimal text without trailing zeros, dates are `M/d/yyyy h:mm:ss tt` (UTC). A missing
//! attribute is [`Value::Null`]; a multi-valued attribute with several values is a
//! [`Value::List`].

use std::fmt;

use jiff::Timestamp;

use super::ast::{Arg, CompareOp, Expr, ExprKind, Span};
use super::check::APP_ROLE_ASSIGNMENTS;
use super::functions;
use super::functions::dates::parse_date;
use crate::source::{self, Source};

/// Longest string a function may produce, in bytes: bounds the work of nested `Replace`s whose
/// templates multiply their input.
pub const MAX_VALUE_LEN: usize = 100_000;

/// Fuel a [`Context`] gets from [`Context::new`]: plenty for any expression within the length
/// limit.
pub const DEFAULT_FUEL: u64 = 100_000;

/// The value of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No value: an absent attribute, an out-of-range `Item`, a `Switch` without default.
    Null,
    Str(String),
    /// The values of a multi-valued attribute (two or more), or of `Split`.
    List(Vec<String>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn bool(b: bool) -> Value {
        Value::str(if b { "True" } else { "False" })
    }

    /// The scalar text: a list's first value; `None` for null.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s),
            Value::List(items) => items.first().map(String::as_str),
        }
    }

    /// The scalar text, null as `""`.
    pub fn text_or_empty(&self) -> &str {
        self.text().unwrap_or("")
    }

    /// Every value: none for null, one for a string.
    pub fn items(&self) -> Vec<String> {
        match self {
            Value::Null => Vec::new(),
            Value::Str(s) => vec![s.clone()],
            Value::List(items) => items.clone(),
        }
    }

    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::List(items) => items.is_empty(),
        }
    }

    /// The JSON form: `null`, a string, or an array of strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => items
                .iter()
                .map(|s| serde_json::Value::String(s.clone()))
                .collect(),
        }
    }

    pub(crate) fn from_items(mut items: Vec<String>) -> Value {
        match items.len() {
            0 => Value::Null,
            1 => items.pop().map_or(Value::Null, Value::Str),
            _ => Value::List(items),
        }
    }
}

/// What a mapping receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Value(Value),
    /// `IgnoreFlowIfNullOrEmpty` found nothing: leave the target attribute out of the flow.
    IgnoreFlow,
}

/// Everything an evaluation may read. Time and uniqueness come from the caller.
pub struct Context<'a> {
    /// The SCIM User resource (core attributes at the top, extensions under their URN).
    pub user: &'a serde_json::Value,
    /// What `Now()` returns.
    pub now: Timestamp,
    /// What `DefaultDomain()` returns; `None` makes it an error.
    pub default_domain: Option<String>,
    /// Whether a value already exists in the target, for `SelectUniqueValue`; `None` takes the
    /// first candidate.
    pub exists_in_target: Option<&'a dyn Fn(&str) -> bool>,
    /// The work budget: one unit per node, plus one per 64 bytes of each function's result.
    pub fuel: u64,
}

impl<'a> Context<'a> {
    pub fn new(user: &'a serde_json::Value, now: Timestamp) -> Self {
        Context {
            user,
            now,
            default_domain: None,
            exists_in_target: None,
            fuel: DEFAULT_FUEL,
        }
    }
}

/// Why an evaluation failed, at the span of the node that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub message: String,
    pub span: Span,
}

impl EvalError {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        EvalError {
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}..{}",
            self.message, self.span.start, self.span.end
        )
    }
}

impl std::error::Error for EvalError {}

/// The attribute references of an expression, resolved once ([`source::resolve`], path
/// parsed) so that evaluating it for many users resolves nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Each distinct name with its source, or the error resolving it gives.
    entries: Vec<(String, Result<Source, String>)>,
}

impl Resolved {
    /// Resolves every `[name]` in `expr`.
    pub fn of(expr: &Expr) -> Self {
        let mut r = Resolved::default();
        r.add_all(expr);
        r
    }

    /// Resolves every `[name]` in `expr` not resolved yet.
    pub fn add_all(&mut self, expr: &Expr) {
        let mut names = Vec::new();
        attributes(expr, &mut names);
        for (name, _) in names {
            self.add(name);
        }
    }

    /// Resolves `name` unless already resolved.
    pub fn add(&mut self, name: &str) {
        if self.get(name).is_none() {
            let src = source::resolve(name, None).map_err(|e| e.to_string());
            self.entries.push((name.to_owned(), src));
        }
    }

    fn get(&self, name: &str) -> Option<&Result<Source, String>> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// An expression prepared for evaluating many times: its attributes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub expr: Expr,
    pub sources: Resolved,
}

impl Prepared {
    pub fn new(expr: Expr) -> Self {
        let sources = Resolved::of(&expr);
        Prepared { expr, sources }
    }
}

/// Evaluates `expr` for `ctx.user`.
pub fn eval(expr: &Expr, ctx: &Context) -> Result<Output, EvalError> {
    eval_with(expr, None, ctx)
}

/// Evaluates a [`Prepared`] expression for `ctx.user`: the same result as [`eval`], without
/// resolving attributes again.
pub fn eval_prepared(prepared: &Prepared, ctx: &Context) -> Result<Output, EvalError> {
    eval_with(&prepared.expr, Some(&prepared.sources), ctx)
}

/// Evaluates `expr`, taking attribute sources from `sources` when it has them.
pub fn eval_with(
    expr: &Expr,
    sources: Option<&Resolved>,
    ctx: &Context,
) -> Result<Output, EvalError> {
    let mut ev = Evaluator {
        ctx,
        fuel: ctx.fuel,
        sources,
    };
    match ev.expr(expr) {
        Ok(v) => Ok(Output::Value(v)),
        Err(Stop::Ignore) => Ok(Output::IgnoreFlow),
        Err(Stop::Error(e)) => Err(e),
    }
}

/// Whether the expression contains `Redact`: its value flows, but logs must show `[Redact]`.
pub fn is_redacted(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Call { name, args, .. } => {
            name == "Redact" || args.iter().filter_map(Arg::expr).any(is_redacted)
        }
        ExprKind::Compare { lhs, rhs, .. } => is_redacted(lhs) || is_redacted(rhs),
        _ => false,
    }
}

pub(crate) enum Stop {
    Ignore,
    Error(EvalError),
}

impl From<EvalError> for Stop {
    fn from(e: EvalError) -> Self {
        Stop::Error(e)
    }
}

pub(crate) struct Evaluator<'c, 'u> {
    pub(crate) ctx: &'c Context<'u>,
    fuel: u64,
    sources: Option<&'c Resolved>,
}

impl Evaluator<'_, '_> {
    fn spend(&mut self, n: u64, span: Span) -> Result<(), Stop> {
        if self.fuel < n {
            self.fuel = 0;
            return Err(EvalError::new(
                format!(
                    "expression ran out of fuel (budget {}); simplify it",
                    self.ctx.fuel
                ),
                span,
            )
            .into());
        }
        self.fuel -= n;
        Ok(())
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> Result<Value, Stop> {
        self.spend(1, e.span)?;
        match &e.kind {
            ExprKind::Str(s) => Ok(Value::str(s.clone())),
            ExprKind::Number(n) => Ok(Value::str(n.clone())),
            ExprKind::Hex(h) => Ok(Value::str(h.to_string())),
            ExprKind::Ident(i) => Ok(Value::str(i.clone())),
            ExprKind::Attr(name) => self.attr(name, e.span),
            ExprKind::Compare { op, lhs, rhs } => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                Ok(Value::bool(compare(
                    *op,
                    l.text_or_empty(),
                    r.text_or_empty(),
                )))
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => {
                let v = self.call(name, *name_span, args)?;
                let len: usize = match &v {
                    Value::Null => 0,
                    Value::Str(s) => s.len(),
                    Value::List(items) => items.iter().map(String::len).sum(),
                };
                if len > MAX_VALUE_LEN {
                    return Err(EvalError::new(
                        format!("`{name}` produced {len} bytes, the limit is {MAX_VALUE_LEN}"),
                        *name_span,
                    )
                    .into());
                }
                self.spend((len / 64) as u64, *name_span)?;
                Ok(v)
            }
        }
    }

    fn attr(&mut self, name: &str, span: Span) -> Result<Value, Stop> {
        let resolved;
        let src = match self.sources.and_then(|s| s.get(name)) {
            Some(Ok(src)) => src,
            Some(Err(e)) => return Err(EvalError::new(e.clone(), span).into()),
            None => {
                resolved =
                    source::resolve(name, None).map_err(|e| EvalError::new(e.to_string(), span))?;
                &resolved
            }
        };
        let mut items: Vec<String> = Vec::new();
        source::visit(self.ctx.user, src, &mut |v| items.extend(json_text(v)));
        self.spend(items.len() as u64, span)?;
        Ok(Value::from_items(items))
    }

    fn arg(&mut self, args: &[Arg], i: usize) -> Result<Option<Value>, Stop> {
        match args.get(i) {
            Some(Arg::Expr(e)) => Ok(Some(self.expr(e)?)),
            _ => Ok(None),
        }
    }

    fn call(&mut self, name: &str, span: Span, args: &[Arg]) -> Result<Value, Stop> {
        match name {
            // Lazy: only the chosen branch is evaluated.
            "IIF" => self.iif(args),
            "Switch" => self.switch(args),
            "Coalesce" => {
                for i in 0..args.len() {
                    if let Some(v) = self.arg(args, i)? {
                        if v != Value::Null {
                            return Ok(v);
                        }
                    }
                }
                Ok(Value::Null)
            }
            "IgnoreFlowIfNullOrEmpty" => {
                let v = self.arg(args, 0)?.unwrap_or(Value::Null);
                if v.is_null_or_empty() {
                    return Err(Stop::Ignore);
                }
                Ok(v)
            }
            "SelectUniqueValue" => {
                for i in 0..args.len() {
                    let Some(v) = self.arg(args, i)? else {
                        continue;
                    };
                    let Some(text) = v.text().filter(|t| !t.is_empty()) else {
                        continue;
                    };
                    let taken = self.ctx.exists_in_target.is_some_and(|exists| exists(text));
                    if !taken {
                        return Ok(Value::str(text));
                    }
                }
                Err(EvalError::new(
                    "every candidate of `SelectUniqueValue` already exists in the target",
                    span,
                )
                .into())
            }
            "SingleAppRoleAssignment"
            | "AppRoleAssignmentsComplex"
            | "AssertiveAppRoleAssignmentsComplex" => {
                let roles = self.roles(args)?;
                self.spend(roles.len() as u64, span)?;
                Ok(functions::multi::app_roles(name, &roles))
            }
            _ => {
                let mut values = Vec::with_capacity(args.len());
                for i in 0..args.len() {
                    values.push(self.arg(args, i)?);
                }
                let count: usize = values
                    .iter()
                    .flatten()
                    .map(|v| match v {
                        Value::List(items) => items.len(),
                        _ => 1,
                    })
                    .sum();
                self.spend(count as u64, span)?;
                let args = functions::Args { name, span, values };
                Ok(functions::call(&args, self.ctx)?)
            }
        }
    }

    /// The app-role assignments: the user's `roles`, whatever attribute the argument names.
    fn roles(&mut self, args: &[Arg]) -> Result<Vec<serde_json::Value>, Stop> {
        match args.first() {
            Some(Arg::Expr(Expr {
                kind: ExprKind::Attr(a),
                ..
            })) if a == APP_ROLE_ASSIGNMENTS => {}
            _ => {
                self.arg(args, 0)?;
            }
        }
        let roles = self
            .ctx
            .user
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("roles")))
            .map(|(_, v)| v.clone());
        Ok(match roles {
            Some(serde_json::Value::Array(items)) => items,
            Some(serde_json::Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        })
    }

    /// `IIF(condition, ifTrue, ifFalse)`. As documented, when an attribute the condition reads
    /// is null or empty the condition fails, whatever it says.
    fn iif(&mut self, args: &[Arg]) -> Result<Value, Stop> {
        let Some(Arg::Expr(cond)) = args.first() else {
            return Ok(self.arg(args, 2)?.unwrap_or(Value::Null));
        };
        let mut attrs = Vec::new();
        attributes(cond, &mut attrs);
        let mut holds = true;
        for (name, span) in attrs {
            if self.attr(name, span)?.is_null_or_empty() {
                holds = false;
                break;
            }
        }
        if holds {
            holds = truthy(self.expr(cond)?.text_or_empty());
        }
        let branch = if holds { 1 } else { 2 };
        Ok(self.arg(args, branch)?.unwrap_or(Value::Null))
    }

    /// `Switch(source, default, key1, value1, …)`: case-sensitive; a `""` key matches a null
    /// or empty source.
    fn switch(&mut self, args: &[Arg]) -> Result<Value, Stop> {
        let source = self.arg(args, 0)?.unwrap_or(Value::Null);
        let mut i = 2;
        while i + 1 < args.len() {
            let key = self.arg(args, i)?.unwrap_or(Value::Null);
            let hit = match (key.text(), source.text()) {
                (Some(""), _) => source.is_null_or_empty(),
                (Some(k), Some(s)) => k == s,
                _ => false,
            };
            if hit {
                return Ok(self.arg(args, i + 1)?.unwrap_or(Value::Null));
            }
            i += 2;
        }
        Ok(self.arg(args, 1)?.unwrap_or(Value::Null))
    }
}

fn attributes<'e>(e: &'e Expr, out: &mut Vec<(&'e str, Span)>) {
    match &e.kind {
        ExprKind::Attr(a) => out.push((a, e.span)),
        ExprKind::Compare { lhs, rhs, .. } => {
            attributes(lhs, out);
            attributes(rhs, out);
        }
        ExprKind::Call { args, .. } => {
            for a in args.iter().filter_map(Arg::expr) {
                attributes(a, out);
            }
        }
        _ => {}
    }
}

/// `"True"` (any case) or a non-zero number.
pub(crate) fn truthy(s: &str) -> bool {
    let s = s.trim();
    s.eq_ignore_ascii_case("true") || s.parse::<f64>().is_ok_and(|n| n != 0.0)
}

/// Numbers compare as numbers, dates (`CDate`'s output, ISO 8601) as instants, everything else
/// as text (case-sensitive, ordinal).
fn compare(op: CompareOp, l: &str, r: &str) -> bool {
    use std::cmp::Ordering;
    let ord = match (l.trim().parse::<f64>(), r.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => match (parse_date(l), parse_date(r)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => l.cmp(r),
        },
    };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
    }
}

/// A JSON value as expression text: booleans `True`/`False`, numbers without trailing zeros,
/// objects and arrays as JSON; `None` for null.
pub(crate) fn json_text(v: &serde_json::Value) -> Option<String> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => (if *b { "True" } else { "False" }).to_owned(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => number_text(f),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// `f` without trailing zeros: `2` for 2.0, `1.5` for 1.50.
pub(crate) fn number_text(f: f64) -> String {
    format!("{f}")
}
