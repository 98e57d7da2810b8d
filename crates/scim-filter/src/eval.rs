//! Evaluates a filter against a resource's JSON, and the value access the store shares with it.
//!
//! Semantics (RFC 7644 §3.4.2.2, with the choices the RFC leaves open):
//! - Attribute names match case-insensitively (RFC 7643 §2.1). A path without a URN is looked
//!   up at the top level and, if absent there, inside each extension object (keys `urn:…`).
//!   A path with a URN looks inside the object under that key, or at the top level when there
//!   is no such object (the core schema's URN).
//! - A multi-valued attribute matches if any of its values matches. A complex attribute
//!   compared without a sub-attribute (`emails co "x"`, `members eq "id"`) compares its
//!   `value` sub-attribute.
//! - `ne` is the negation of `eq` over all values: true when no value equals the literal, so
//!   a missing attribute is `ne` anything, and every other operator is false on it. A value
//!   that cannot be compared with the literal (a timestamp that does not parse, a boolean
//!   against `"maybe"`) satisfies no operator, `ne` included.
//! - `attr eq null` means "not present" (as `not (attr pr)`); `attr ne null` means present.
//! - `pr`: present and not null, not `""`, not `[]`, not `{}`.
//! - Strings compare case-insensitively unless the schema says `caseExact`; `gt`/`ge`/`lt`/`le`
//!   are lexicographic on them. DateTime attributes (by schema, or `meta.created` and
//!   `meta.lastModified`) compare chronologically, and are false when either side is not an
//!   RFC 3339 timestamp. Numbers compare as `f64`. Booleans also compare with the strings
//!   `"true"`/`"false"` in any case.

use std::borrow::Cow;
use std::cmp::Ordering;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::{AttrInfo, AttrType, SchemaInfo};

impl Filter {
    /// Whether `resource` (a SCIM resource's JSON) satisfies this filter.
    pub fn matches(&self, resource: &Value, schema: &dyn SchemaInfo) -> bool {
        eval(self, resource, None, schema)
    }

    /// `Some((attr, value))` when the whole filter is `attr eq "value"`, so a store can use an
    /// index; the filter must still be evaluated for case rules the index may not share.
    pub fn simple_eq(&self) -> Option<(&AttrPath, &str)> {
        match self {
            Filter::Compare {
                attr,
                op: CompareOp::Eq,
                value: CompValue::String(s),
                ..
            } => Some((attr, s.as_str())),
            _ => None,
        }
    }
}

/// `parent`: inside `parent[…]`, `node` is one value of `parent` and paths are relative to it.
fn eval(filter: &Filter, node: &Value, parent: Option<&AttrPath>, schema: &dyn SchemaInfo) -> bool {
    match filter {
        Filter::Present { attr, .. } => resolve(node, parent.is_some(), attr)
            .into_iter()
            .any(is_present),
        Filter::Compare {
            attr, op, value, ..
        } => compare(node, parent, attr, *op, value, schema),
        Filter::ValuePath { attr, filter, .. } => resolve(node, parent.is_some(), attr)
            .into_iter()
            .flat_map(elements)
            .any(|element| eval(filter, element, Some(attr), schema)),
        Filter::Not { filter, .. } => !eval(filter, node, parent, schema),
        Filter::And(l, r) => eval(l, node, parent, schema) && eval(r, node, parent, schema),
        Filter::Or(l, r) => eval(l, node, parent, schema) || eval(r, node, parent, schema),
    }
}

/// The values of a multi-valued attribute, or the single value itself.
fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn is_extension_key(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// The raw JSON at `attr` (before `.value` is taken from complex values): one entry, or one
/// per element when a sub-attribute is taken from a multi-valued attribute.
fn resolve<'a>(node: &'a Value, relative: bool, attr: &AttrPath) -> Vec<&'a Value> {
    let base = match node {
        Value::Object(object) if relative => get_ci(object, &attr.name),
        Value::Object(object) => lookup_top(object, attr),
        // Inside `tags[value eq "x"]` over a multi-valued string, `value` is the string itself.
        scalar if relative && attr.name.eq_ignore_ascii_case("value") && attr.sub.is_none() => {
            Some(scalar)
        }
        _ => None,
    };
    let Some(base) = base else {
        return Vec::new();
    };
    match &attr.sub {
        None => vec![base],
        Some(sub) => match base {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_object().and_then(|o| get_ci(o, sub)))
                .collect(),
            Value::Object(object) => get_ci(object, sub).into_iter().collect(),
            _ => Vec::new(),
        },
    }
}

fn lookup_top<'a>(resource: &'a Map<String, Value>, attr: &AttrPath) -> Option<&'a Value> {
    if let Some(uri) = &attr.uri {
        if let Some(Value::Object(extension)) = get_ci(resource, uri) {
            return get_ci(extension, &attr.name);
        }
        return get_ci(resource, &attr.name);
    }
    get_ci(resource, &attr.name).or_else(|| {
        resource
            .iter()
            .filter(|(k, _)| is_extension_key(k))
            .filter_map(|(_, v)| v.as_object())
            .find_map(|extension| get_ci(extension, &attr.name))
    })
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(object) => !object.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Every non-null scalar at `path`, flattening multi-valued attributes and taking the `value`
/// sub-attribute of complex values when the path names none.
pub fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    scalars(resolve(resource, false, path))
}

fn scalars(raw: Vec<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    for value in raw {
        for element in elements(value) {
            let scalar = match element {
                Value::Object(object) => get_ci(object, "value"),
                other => Some(other),
            };
            if let Some(s) =
                scalar.filter(|s| matches!(s, Value::String(_) | Value::Number(_) | Value::Bool(_)))
            {
                out.push(s);
            }
        }
    }
    out
}

/// The schema's view of `attr`; a complex attribute without a sub-attribute stands for its
/// `value` sub-attribute.
fn info_for(
    parent: Option<&AttrPath>,
    attr: &AttrPath,
    schema: &dyn SchemaInfo,
) -> Option<AttrInfo> {
    match (parent, &attr.sub) {
        (Some(p), _) => schema.attr_info(p.uri.as_deref(), &p.name, Some(&attr.name)),
        (None, Some(sub)) => schema.attr_info(attr.uri.as_deref(), &attr.name, Some(sub)),
        (None, None) => {
            let info = schema.attr_info(attr.uri.as_deref(), &attr.name, None);
            match info {
                Some(AttrInfo {
                    ty: AttrType::Complex,
                    ..
                }) => schema.attr_info(attr.uri.as_deref(), &attr.name, Some("value")),
                other => other,
            }
        }
    }
}

/// `meta.created` and `meta.lastModified` are timestamps whatever the schema source says.
fn is_meta_timestamp(parent: Option<&AttrPath>, attr: &AttrPath) -> bool {
    parent.is_none()
        && attr.name.eq_ignore_ascii_case("meta")
        && attr.sub.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("created") || s.eq_ignore_ascii_case("lastModified")
        })
}

#[derive(Clone, Copy)]
struct Rules {
    case_exact: bool,
    timestamp: bool,
}

fn compare(
    node: &Value,
    parent: Option<&AttrPath>,
    attr: &AttrPath,
    op: CompareOp,
    literal: &CompValue,
    schema: &dyn SchemaInfo,
) -> bool {
    let raw = resolve(node, parent.is_some(), attr);
    if *literal == CompValue::Null {
        let present = raw.into_iter().any(is_present);
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    let info = info_for(parent, attr, schema);
    let rules = Rules {
        case_exact: info.is_some_and(|i| i.case_exact),
        timestamp: info.is_some_and(|i| i.ty == AttrType::DateTime)
            || is_meta_timestamp(parent, attr),
    };
    let values = scalars(raw);
    match op {
        // `ne` holds when every value is comparable and none equals: a missing attribute is
        // `ne` anything, an unparseable timestamp is `ne` nothing.
        CompareOp::Ne => values
            .into_iter()
            .all(|v| scalar_op(v, CompareOp::Eq, literal, rules) == Some(false)),
        _ => values
            .into_iter()
            .any(|v| scalar_op(v, op, literal, rules) == Some(true)),
    }
}

/// One value against the literal; `None` when they cannot be compared (a boolean against
/// `"maybe"`, a timestamp that does not parse), which satisfies no operator.
fn scalar_op(value: &Value, op: CompareOp, literal: &CompValue, rules: Rules) -> Option<bool> {
    match (value, literal) {
        (Value::String(s), CompValue::String(l)) => string_op(s, l, op, rules),
        (Value::String(s), CompValue::Number(n)) if is_ordering(op) => {
            number_op(s.trim().parse().ok(), n.as_f64(), op)
        }
        (Value::String(s), CompValue::Number(n)) => string_op(s, &n.to_string(), op, rules),
        (Value::String(s), CompValue::Bool(b)) => bool_op(parse_bool(s)?, *b, op),
        (Value::Number(a), CompValue::Number(b)) => number_op(a.as_f64(), b.as_f64(), op),
        (Value::Number(a), CompValue::String(l)) => {
            number_op(a.as_f64(), l.trim().parse().ok(), op)
        }
        (Value::Bool(a), CompValue::Bool(b)) => bool_op(*a, *b, op),
        (Value::Bool(a), CompValue::String(l)) => bool_op(*a, parse_bool(l)?, op),
        _ => None,
    }
}

fn is_ordering(op: CompareOp) -> bool {
    matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    )
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn bool_op(a: bool, b: bool, op: CompareOp) -> Option<bool> {
    match op {
        CompareOp::Eq => Some(a == b),
        CompareOp::Ne => Some(a != b),
        _ => None,
    }
}

fn number_op(a: Option<f64>, b: Option<f64>, op: CompareOp) -> Option<bool> {
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => None,
        _ => ordering_op(a?.partial_cmp(&b?)?, op),
    }
}

/// `eq`, `ne` and the orderings from a comparison result; `None` for `co`/`sw`/`ew`.
fn ordering_op(ordering: Ordering, op: CompareOp) -> Option<bool> {
    Some(match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

fn string_op(value: &str, literal: &str, op: CompareOp, rules: Rules) -> Option<bool> {
    if rules.timestamp && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        let (a, b) = (
            value.parse::<Timestamp>().ok()?,
            literal.parse::<Timestamp>().ok()?,
        );
        return ordering_op(a.cmp(&b), op);
    }
    let (a, b) = fold(value, literal, rules.case_exact);
    match op {
        CompareOp::Co => Some(a.contains(b.as_ref())),
        CompareOp::Sw => Some(a.starts_with(b.as_ref())),
        CompareOp::Ew => Some(a.ends_with(b.as_ref())),
        _ => ordering_op(a.cmp(&b), op),
    }
}

fn fold<'a>(a: &'a str, b: &'a str, case_exact: bool) -> (Cow<'a, str>, Cow<'a, str>) {
    if case_exact {
        (Cow::Borrowed(a), Cow::Borrowed(b))
    } else {
        (Cow::Owned(a.to_lowercase()), Cow::Owned(b.to_lowercase()))
    }
}

/// Orders two attribute values for `sortBy`: strings by the attribute's case rule (or as
/// timestamps for DateTime), numbers as `f64`, `false < true`. Values of different JSON types
/// order booleans < numbers < strings < arrays < objects < null; where missing values go is
/// the caller's choice.
pub fn compare_for_sort(a: &Value, b: &Value, info: Option<AttrInfo>) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if info.is_some_and(|i| i.ty == AttrType::DateTime) {
                if let (Ok(tx), Ok(ty)) = (x.parse::<Timestamp>(), y.parse::<Timestamp>()) {
                    return tx.cmp(&ty);
                }
            }
            let (x, y) = fold(x, y, info.is_some_and(|i| i.case_exact));
            x.cmp(&y)
        }
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(f64::NAN)
            .total_cmp(&y.as_f64().unwrap_or(f64::NAN)),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn type_rank(value: &Value) -> u8 {
    match value {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}
