//! Evaluation of a rule against a SCIM User resource.
//!
//! The semantics are documented in the crate docs ("Evaluation").

use std::cmp::Ordering;
use std::fmt;

use jiff::{tz::TimeZone, Timestamp};
use mapping_lang::source::{self, Source};
use serde_json::Value;

use crate::ast::*;
use crate::error::ParseError;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A comparison's value, prepared once at parse time.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Null,
    /// A lower-cased string.
    Text(String),
    Bool(bool),
    /// A number, and its lower-cased text.
    Num(f64, String),
    Regex(regex::Regex),
    /// Lower-cased texts of an `-in` array.
    Set(Vec<String>),
    Fixed(Timestamp),
    Relative(RelativeTime),
}

impl Matcher {
    pub(crate) fn compile(op: Op, value: &Literal, span: Span) -> Result<Matcher, ParseError> {
        let err = |m: String| Err(ParseError::new(m, span));
        match (op, value) {
            (Op::Eq | Op::Ne, Literal::Null) => Ok(Matcher::Null),
            (_, Literal::Null) => err(format!(
                "`null` only works with `-eq` and `-ne`, not `-{}`",
                op.name()
            )),
            (Op::In | Op::NotIn, Literal::Array(items)) => Ok(Matcher::Set(
                items
                    .iter()
                    .map(|i| literal_text(i).to_lowercase())
                    .collect(),
            )),
            (Op::In | Op::NotIn, _) => err(format!(
                "`-{}` needs an array like `[\"a\", \"b\"]`",
                op.name()
            )),
            (_, Literal::Array(_)) => err(format!(
                "an array only works with `-in` and `-notIn`, not `-{}`",
                op.name()
            )),
            (Op::Le | Op::Ge | Op::Lt | Op::Gt, Literal::Now(t)) => {
                Ok(Matcher::Relative(t.clone()))
            }
            (_, Literal::Now(_)) => err(format!(
                "`system.now` only works with `-le`, `-ge`, `-lt` and `-gt`, not `-{}`",
                op.name()
            )),
            (Op::Match | Op::NotMatch, v) => {
                let pattern = literal_text(v);
                regex::RegexBuilder::new(&pattern)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map(Matcher::Regex)
                    .or_else(|e| {
                        // The syntax error's last line says what is wrong; the rest repeats the pattern.
                        let text = e.to_string();
                        let why = text
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .trim_start_matches("error: ");
                        err(format!("invalid regular expression: {why}"))
                    })
            }
            (Op::Le | Op::Ge | Op::Lt | Op::Gt, Literal::Str(s)) => Ok(match parse_time(s) {
                Some(t) => Matcher::Fixed(t),
                None => Matcher::Text(s.to_lowercase()),
            }),
            (Op::Eq | Op::Ne, Literal::Bool(b)) => Ok(Matcher::Bool(*b)),
            (_, Literal::Num(text, n)) => Ok(Matcher::Num(*n, text.to_lowercase())),
            (_, v) => Ok(Matcher::Text(literal_text(v).to_lowercase())),
        }
    }
}

fn literal_text(v: &Literal) -> String {
    match v {
        Literal::Str(s) => s.clone(),
        Literal::Num(t, _) => t.clone(),
        other => other.to_string(),
    }
}

/// A source read without allocating: a SCIM path (with at most an `attr[key eq "text"]`
/// filter), split once at parse time, or Entra's `mail`.
#[derive(Debug, Clone)]
pub(crate) enum FastPath {
    Path {
        uri: Option<String>,
        name: String,
        /// `[key eq "text"]`: the elements whose `key` equals `text` (any case).
        filter: Option<(String, String)>,
        sub: Option<String>,
    },
    /// The work email, else the primary one, else the first (as `Source::Mail`).
    Mail,
    /// The part of `userName` before `@`.
    MailNickname,
}

impl FastPath {
    pub(crate) fn new(source: &Source) -> Option<FastPath> {
        let p = match source {
            Source::Path(p) => p.as_str(),
            Source::Mail => return Some(FastPath::Mail),
            Source::MailNickname => return Some(FastPath::MailNickname),
            Source::AllEmails => "emails.value",
            _ => return None,
        };
        let (uri, rest) =
            if p.len() > 4 && p.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:")) {
                let (uri, rest) = p.rsplit_once(':')?;
                (Some(uri.to_owned()), rest)
            } else {
                (None, p)
            };
        let (head, filter, tail) = match rest.split_once('[') {
            None => (rest, None, None),
            Some((head, after)) => {
                let (inside, tail) = after.split_once(']')?;
                let (key, text) = inside.split_once(" eq ")?;
                let text = text.strip_prefix('"')?.strip_suffix('"')?;
                if key.contains([' ', '"']) || text.contains(['"', '\\']) {
                    return None;
                }
                let tail = match tail {
                    "" => None,
                    t => Some(t.strip_prefix('.')?),
                };
                (head, Some((key.to_owned(), text.to_owned())), tail)
            }
        };
        let (name, sub) = match (head.split_once('.'), tail) {
            (Some(_), Some(_)) => return None,
            (Some((n, s)), None) => (n, Some(s)),
            (None, t) => (head, t),
        };
        if name.contains(['"', ' ', ']'])
            || sub.is_some_and(|s| s.contains(['"', ' ', '[', ']', '.']))
        {
            return None;
        }
        Some(FastPath::Path {
            uri,
            name: name.to_owned(),
            filter,
            sub: sub.map(str::to_owned),
        })
    }

    /// Calls `f` on each value until it returns true. `raw`: the elements of a multi-valued
    /// attribute as they are (objects included), for `-any`/`-all`.
    fn visit(&self, user: &Value, raw: bool, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        let (uri, name, filter, sub) = match self {
            FastPath::Path {
                uri,
                name,
                filter,
                sub,
            } => (uri, name, filter, sub),
            FastPath::Mail => {
                let Some(Value::Array(emails)) = field(user, "emails") else {
                    return false;
                };
                let typed = |key: &str, want: &Value| {
                    emails.iter().find_map(|e| {
                        let v = field(e, "value").filter(|v| !v.is_null())?;
                        let k = field(e, key)?;
                        let hit = match (k, want) {
                            (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                            (a, b) => a == b,
                        };
                        hit.then_some(v)
                    })
                };
                let mail = typed("type", &Value::String("work".into()))
                    .or_else(|| typed("primary", &Value::Bool(true)))
                    .or_else(|| emails.iter().find_map(|e| field(e, "value")));
                return mail.is_some_and(f);
            }
            FastPath::MailNickname => {
                let Some(Value::String(name)) = field(user, "userName") else {
                    return false;
                };
                let nick = name.split('@').next().unwrap_or(name);
                return f(&Value::String(nick.to_owned()));
            }
        };
        let scope = match uri {
            Some(uri) => field(user, uri),
            None => Some(user),
        };
        let Some(v) = scope.and_then(|s| field(s, name)) else {
            return false;
        };
        let mut one = |e: &Value| -> bool {
            if let Some((key, text)) = filter {
                let keep = field(e, key).is_some_and(|k| match k {
                    Value::String(k) => k.eq_ignore_ascii_case(text),
                    other => with_text(other, |k| k.eq_ignore_ascii_case(text)),
                });
                if !keep {
                    return false;
                }
            }
            let e = match (sub, e) {
                (Some(sub), _) => field(e, sub),
                (None, Value::Object(_)) if !raw => field(e, "value"),
                (None, other) => Some(other),
            };
            match e {
                Some(e) => f(e),
                None => false,
            }
        };
        match v {
            Value::Array(items) => items.iter().any(one),
            other => one(other),
        }
    }
}

/// An object's member, the exact name first, then case-insensitively.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let Value::Object(obj) = v else {
        return None;
    };
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn is_absent(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_str().is_some_and(str::is_empty)
}

/// What an evaluation reads: the user, and the current item inside `-any`/`-all`.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    user: &'a Value,
    item: Option<&'a Value>,
    now: Timestamp,
}

impl Operand {
    /// Calls `f` on each present value until it returns true; `None` when there is none.
    fn visit(&self, ctx: Ctx<'_>, f: &mut dyn FnMut(&Value) -> bool) -> Option<bool> {
        let mut seen = false;
        let mut g = |v: &Value| {
            if is_absent(v) {
                return false;
            }
            seen = true;
            f(v)
        };
        let hit = match self {
            Operand::User(p) => p.visit(ctx.user, false, &mut g),
            Operand::Item { .. } => ctx.item.is_some_and(&mut g),
            Operand::ItemField { field: name, .. } => {
                let v = ctx.item.and_then(|i| {
                    field(i, name).or_else(|| {
                        // `group.objectId` in `memberOf` reads a SCIM group reference's `value`.
                        name.eq_ignore_ascii_case("objectId")
                            .then(|| field(i, "value"))
                            .flatten()
                    })
                });
                match v {
                    Some(Value::Array(items)) => items.iter().any(&mut g),
                    Some(v) => g(v),
                    None => false,
                }
            }
        };
        seen.then_some(hit)
    }

    fn collect(&self, ctx: Ctx<'_>) -> Vec<Value> {
        let mut out = Vec::new();
        self.visit(ctx, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }
}

impl Property {
    fn visit(&self, user: &Value, raw: bool, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        match &self.fast {
            Some(fast) => fast.visit(user, raw, f),
            None => source::values(user, &self.source).iter().any(f),
        }
    }

    /// The items of a collection, for `-any`/`-all`.
    fn items(&self, user: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        self.visit(user, true, &mut |v| {
            if !is_absent(v) {
                out.push(v.clone());
            }
            false
        });
        out
    }
}

/// Runs `f` on the text of a scalar (`true`/`false` for booleans, numbers as written by JSON).
fn with_text(v: &Value, f: impl FnOnce(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Number(n) => f(&n.to_string()),
        _ => false,
    }
}

/// `s` equals the lower-cased `lit`, ignoring case.
fn eq_ci(s: &str, lit: &str) -> bool {
    if s.is_ascii() {
        s.eq_ignore_ascii_case(lit)
    } else {
        s.to_lowercase() == lit
    }
}

fn starts_ci(s: &str, lit: &str) -> bool {
    if s.is_ascii() {
        s.as_bytes()
            .get(..lit.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(lit.as_bytes()))
    } else {
        s.to_lowercase().starts_with(lit)
    }
}

fn ends_ci(s: &str, lit: &str) -> bool {
    if s.is_ascii() {
        s.len() >= lit.len()
            && s.as_bytes()
                .get(s.len() - lit.len()..)
                .is_some_and(|p| p.eq_ignore_ascii_case(lit.as_bytes()))
    } else {
        s.to_lowercase().ends_with(lit)
    }
}

fn contains_ci(s: &str, lit: &str) -> bool {
    if lit.is_empty() {
        return true;
    }
    if s.is_ascii() {
        s.as_bytes()
            .windows(lit.len())
            .any(|w| w.eq_ignore_ascii_case(lit.as_bytes()))
    } else {
        s.to_lowercase().contains(lit)
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An RFC 3339 timestamp, or a date (midnight UTC), or a civil date-time (UTC).
fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(d) = s.parse::<jiff::civil::DateTime>() {
        return d.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

fn relative(t: &RelativeTime, now: Timestamp) -> Option<Timestamp> {
    let d = &t.duration;
    if d.get_years() == 0 && d.get_months() == 0 && d.get_weeks() == 0 {
        // Days are 24 hours in UTC: plain instant arithmetic, no calendar.
        let nanos = i128::from(d.get_days()) * 86_400_000_000_000
            + i128::from(d.get_hours()) * 3_600_000_000_000
            + i128::from(d.get_minutes()) * 60_000_000_000
            + i128::from(d.get_seconds()) * 1_000_000_000
            + i128::from(d.get_milliseconds()) * 1_000_000
            + i128::from(d.get_microseconds()) * 1_000
            + i128::from(d.get_nanoseconds());
        let secs = i64::try_from(nanos / 1_000_000_000).ok()?;
        let subsec = i32::try_from(nanos % 1_000_000_000).ok()?;
        let delta = jiff::SignedDuration::new(secs, subsec);
        return match t.sign {
            1 => now.checked_add(delta).ok(),
            -1 => now.checked_sub(delta).ok(),
            _ => Some(now),
        };
    }
    let z = now.to_zoned(TimeZone::UTC);
    let z = match t.sign {
        1 => z.checked_add(t.duration).ok()?,
        -1 => z.checked_sub(t.duration).ok()?,
        _ => z,
    };
    Some(z.timestamp())
}

impl Comparison {
    fn evaluate(&self, ctx: Ctx<'_>) -> bool {
        let (positive, negated) = self.op.positive();
        if let Matcher::Null = self.matcher {
            let present = self.operand.visit(ctx, &mut |_| true).is_some();
            return if self.op == Op::Eq { !present } else { present };
        }
        let target = match &self.matcher {
            Matcher::Relative(t) => relative(t, ctx.now),
            _ => None,
        };
        let hit = self
            .operand
            .visit(ctx, &mut |v| self.matches(positive, v, target))
            .unwrap_or(false);
        hit != negated
    }

    fn matches(&self, op: Op, v: &Value, target: Option<Timestamp>) -> bool {
        match op {
            Op::Eq => match &self.matcher {
                Matcher::Text(l) => with_text(v, |s| eq_ci(s, l)),
                Matcher::Bool(b) => bool_of(v) == Some(*b),
                Matcher::Num(n, text) => {
                    number_of(v) == Some(*n) || with_text(v, |s| eq_ci(s, text))
                }
                _ => false,
            },
            Op::StartsWith | Op::EndsWith | Op::Contains => {
                let lit = match &self.matcher {
                    Matcher::Text(l) | Matcher::Num(_, l) => l,
                    Matcher::Bool(b) => {
                        if *b {
                            "true"
                        } else {
                            "false"
                        }
                    }
                    _ => return false,
                };
                with_text(v, |s| match op {
                    Op::StartsWith => starts_ci(s, lit),
                    Op::EndsWith => ends_ci(s, lit),
                    _ => contains_ci(s, lit),
                })
            }
            Op::Match => match &self.matcher {
                Matcher::Regex(re) => with_text(v, |s| re.is_match(s)),
                _ => false,
            },
            Op::In => match &self.matcher {
                Matcher::Set(items) => with_text(v, |s| items.iter().any(|l| eq_ci(s, l))),
                _ => false,
            },
            Op::Le | Op::Ge | Op::Lt | Op::Gt => {
                let ord = match &self.matcher {
                    Matcher::Relative(_) => v
                        .as_str()
                        .and_then(parse_time)
                        .zip(target)
                        .map(|(a, b)| a.cmp(&b)),
                    Matcher::Fixed(t) => v.as_str().and_then(parse_time).map(|a| a.cmp(t)),
                    Matcher::Num(n, _) => number_of(v).and_then(|a| a.partial_cmp(n)),
                    Matcher::Text(l) => v
                        .as_str()
                        .map(|s| s.to_lowercase().as_str().cmp(l.as_str())),
                    _ => None,
                };
                ord.is_some_and(|o| match op {
                    Op::Le => o != Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                    Op::Lt => o == Ordering::Less,
                    _ => o == Ordering::Greater,
                })
            }
            // Negated operators were turned positive by the caller.
            _ => false,
        }
    }
}

impl Quantified {
    fn evaluate(&self, ctx: Ctx<'_>) -> bool {
        let mut hit = false;
        let mut fail = false;
        self.property.visit(ctx.user, true, &mut |item| {
            if is_absent(item) {
                return false;
            }
            let r = self.body.evaluate_in(Ctx {
                item: Some(item),
                ..ctx
            });
            match self.quantifier {
                Quantifier::Any => {
                    hit = r;
                    r
                }
                Quantifier::All => {
                    fail = !r;
                    !r
                }
            }
        });
        match self.quantifier {
            Quantifier::Any => hit,
            Quantifier::All => !fail,
        }
    }
}

impl Expr {
    fn evaluate_in(&self, ctx: Ctx<'_>) -> bool {
        match self {
            Expr::Compare(c) => c.evaluate(ctx),
            Expr::Quantified(q) => q.evaluate(ctx),
            Expr::Not { expr, .. } => !expr.evaluate_in(ctx),
            Expr::And(a, b) => a.evaluate_in(ctx) && b.evaluate_in(ctx),
            Expr::Or(a, b) => a.evaluate_in(ctx) || b.evaluate_in(ctx),
        }
    }
}

impl Rule {
    /// Whether `user` (a SCIM User resource) is a member, with `now` for `system.now`.
    pub fn evaluate(&self, user: &Value, now: Timestamp) -> bool {
        match self {
            Rule::Expr(e) => e.evaluate_in(Ctx {
                user,
                item: None,
                now,
            }),
            Rule::DirectReports { manager_id, .. } => {
                let manager = field(user, ENTERPRISE)
                    .and_then(|e| field(e, "manager"))
                    .and_then(|m| field(m, "value"));
                manager
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case(manager_id))
            }
        }
    }

    /// Evaluates like [`Rule::evaluate`], recording which comparisons decided the result.
    pub fn explain(&self, user: &Value, now: Timestamp) -> Explanation {
        match self {
            Rule::Expr(e) => explain(
                e,
                Ctx {
                    user,
                    item: None,
                    now,
                },
            ),
            Rule::DirectReports { .. } => {
                let manager = source::resolve("manager", None)
                    .map(|s| source::values(user, &s))
                    .unwrap_or_default();
                Explanation {
                    clause: self.to_string(),
                    actual: Some(manager),
                    result: self.evaluate(user, now),
                    children: Vec::new(),
                    note: None,
                }
            }
        }
    }
}

/// How a rule (or one of its parts) was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The clause, as the rule's `Display` prints it.
    pub clause: String,
    /// For a comparison or `-any`/`-all`: the property's values (empty when absent).
    pub actual: Option<Vec<Value>>,
    pub result: bool,
    /// The parts that were evaluated, in order (short-circuited parts are left out).
    pub children: Vec<Explanation>,
    /// E.g. "right side not evaluated", or which item decided an `-any`.
    pub note: Option<String>,
}

fn explain(e: &Expr, ctx: Ctx<'_>) -> Explanation {
    let leaf = |actual, result, children, note| Explanation {
        clause: e.to_string(),
        actual,
        result,
        children,
        note,
    };
    match e {
        Expr::Compare(c) => leaf(Some(c.operand.collect(ctx)), c.evaluate(ctx), vec![], None),
        Expr::Quantified(q) => {
            let items = q.property.items(ctx.user);
            let mut children = Vec::new();
            let mut note = None;
            for (i, item) in items.iter().enumerate() {
                let mut x = explain(
                    &q.body,
                    Ctx {
                        item: Some(item),
                        ..ctx
                    },
                );
                x.note = Some(match x.note.take() {
                    Some(n) => format!("item {i}; {n}"),
                    None => format!("item {i}"),
                });
                let r = x.result;
                children.push(x);
                let decided = match q.quantifier {
                    Quantifier::Any => r,
                    Quantifier::All => !r,
                };
                if decided {
                    if i + 1 < items.len() {
                        note = Some(format!(
                            "{} later item(s) not evaluated",
                            items.len() - i - 1
                        ));
                    }
                    break;
                }
            }
            leaf(Some(items), q.evaluate(ctx), children, note)
        }
        Expr::Not { expr, .. } => {
            let inner = explain(expr, ctx);
            leaf(None, !inner.result, vec![inner], None)
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            let is_and = matches!(e, Expr::And(..));
            let left = explain(a, ctx);
            if left.result != is_and {
                let note = Some(format!(
                    "left side is {}: right side not evaluated",
                    left.result
                ));
                let result = left.result;
                return leaf(None, result, vec![left], note);
            }
            let right = explain(b, ctx);
            let result = right.result;
            leaf(None, result, vec![left, right], None)
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

impl Explanation {
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        write!(f, "{:width$}{}", "", self.clause, width = depth * 2)?;
        if let Some(actual) = &self.actual {
            match actual.as_slice() {
                [] => f.write_str(": (absent)")?,
                [one] => write!(f, ": {one}")?,
                many => {
                    f.write_str(": [")?;
                    for (i, v) in many.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{v}")?;
                    }
                    f.write_str("]")?;
                }
            }
        }
        write!(f, " → {}", self.result)?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        for c in &self.children {
            f.write_str("\n")?;
            c.write(f, depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    /// The allocation-free readers agree with the shared source table.
    #[test]
    fn fast_paths_read_what_the_source_table_reads() {
        let users = [
            json!({
                "id": "u1",
                "userName": "bjensen@example.com",
                "name": {"givenName": "Barbara", "familyName": "Jensen"},
                "title": "Tour Guide",
                "active": false,
                "emails": [
                    {"value": "b@home.example", "type": "home"},
                    {"value": "bjensen@example.com", "type": "WORK", "primary": true}
                ],
                "phoneNumbers": [{"value": "555-1", "type": "work"}, {"value": "555-2", "type": "mobile"}],
                "addresses": [{"type": "work", "locality": "Hollywood", "country": "USA"},
                              {"type": "other", "formatted": "Bldg 7"}],
                ENTERPRISE: {"department": "Tour Operations", "employeeNumber": "701984",
                             "manager": {"value": "m1"}}
            }),
            json!({"emails": [{"value": "a@x", "type": "home"}, {"value": "p@x", "primary": true}]}),
            json!({"emails": [{"value": "a@x"}, {"value": "b@x"}], "userName": "nobody"}),
            json!({}),
        ];
        let names = [
            "userPrincipalName",
            "mailNickname",
            "givenName",
            "surname",
            "displayName",
            "mail",
            "jobTitle",
            "department",
            "employeeId",
            "companyName",
            "manager",
            "accountEnabled",
            "telephoneNumber",
            "mobile",
            "facsimileTelephoneNumber",
            "city",
            "state",
            "country",
            "streetAddress",
            "postalCode",
            "physicalDeliveryOfficeName",
            "preferredLanguage",
            "userType",
            "objectId",
            "otherMails",
            "proxyAddresses",
        ];
        for name in names {
            let source = source::resolve(name, None).unwrap();
            let fast = FastPath::new(&source).unwrap_or_else(|| panic!("no fast path for {name}"));
            for user in &users {
                let mut got = Vec::new();
                fast.visit(user, false, &mut |v| {
                    got.push(v.clone());
                    false
                });
                assert_eq!(got, source::values(user, &source), "{name} of {user}");
            }
        }
    }
}
