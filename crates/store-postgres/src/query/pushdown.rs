//! Which filters an index answers: an `eq` on an indexed attribute, alone or and-ed with
//! anything. The lookup's rows include every match of the filter, which still runs on them.

use domain::ResourceKind;
use scim_filter::{AttrPath, CompValue, CompareOp, Filter};

use crate::convert::fold;

/// The attribute an index can answer an `eq` on, with the value as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lookup {
    Id(String),
    UserName(String),
    ExternalId(String),
    DisplayName(String),
    Email(String),
    /// The enterprise extension's `employeeNumber` (inbound provisioning matches on it).
    EmployeeNumber(String),
}

impl Lookup {
    /// The value, as a statement parameter.
    pub(super) fn value(&self) -> &String {
        match self {
            Lookup::Id(v)
            | Lookup::UserName(v)
            | Lookup::ExternalId(v)
            | Lookup::DisplayName(v)
            | Lookup::Email(v)
            | Lookup::EmployeeNumber(v) => v,
        }
    }
}

/// Whether any top-level attribute path of `filter` names `name`.
pub(super) fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::Present { attr, .. }
        | Filter::Compare { attr, .. }
        | Filter::ValuePath { attr, .. } => attr.name.eq_ignore_ascii_case(name),
        Filter::Not { filter, .. } => mentions(filter, name),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
    }
}

/// An index lookup whose rows include every match of `filter`, if there is one.
pub(super) fn pushdown(filter: &Filter, kind: ResourceKind) -> Option<Lookup> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(value),
            ..
        } => lookup(attr, value, kind),
        Filter::And(a, b) => pushdown(a, kind).or_else(|| pushdown(b, kind)),
        // Entra's `emails[type eq "work"].value eq "x"` arrives as `emails[type eq "work" and
        // value eq "x"]`.
        Filter::ValuePath { attr, filter, .. }
            if kind == ResourceKind::User
                && attr.sub.is_none()
                && is_core(attr, kind, "emails") =>
        {
            value_eq(filter).map(|v| Lookup::Email(fold(v)))
        }
        _ => None,
    }
}

fn is_core(attr: &AttrPath, kind: ResourceKind, name: &str) -> bool {
    attr.name.eq_ignore_ascii_case(name)
        && attr
            .uri
            .as_deref()
            .is_none_or(|uri| uri.eq_ignore_ascii_case(kind.core_schema()))
}

fn lookup(attr: &AttrPath, value: &str, kind: ResourceKind) -> Option<Lookup> {
    let sub = attr.sub.as_deref();
    let user = kind == ResourceKind::User;
    if sub.is_none() && is_core(attr, kind, "id") {
        Some(Lookup::Id(value.to_owned()))
    } else if sub.is_none() && is_core(attr, kind, "externalId") {
        Some(Lookup::ExternalId(value.to_owned()))
    } else if user && sub.is_none() && is_core(attr, kind, "userName") {
        Some(Lookup::UserName(fold(value)))
    } else if sub.is_none() && is_core(attr, kind, "displayName") {
        Some(Lookup::DisplayName(fold(value)))
    } else if user
        && sub.is_none_or(|s| s.eq_ignore_ascii_case("value"))
        && is_core(attr, kind, "emails")
    {
        Some(Lookup::Email(fold(value)))
    } else if user
        && sub.is_none()
        && attr.name.eq_ignore_ascii_case("employeeNumber")
        && attr
            .uri
            .as_deref()
            .is_some_and(|uri| uri.eq_ignore_ascii_case(scim_proto::ENTERPRISE_USER_SCHEMA))
    {
        Some(Lookup::EmployeeNumber(fold(value)))
    } else {
        None
    }
}

/// `value eq "x"` inside a value filter, possibly and-ed with other conditions.
fn value_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(value),
            ..
        } if attr.uri.is_none()
            && attr.sub.is_none()
            && attr.name.eq_ignore_ascii_case("value") =>
        {
            Some(value)
        }
        Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
        _ => None,
    }
}
