//! Which SCIM filters an index answers: an `eq` on `id`, `externalId`, `userName`,
//! `displayName`, `emails` (also Entra's `emails[type eq "work"].value eq`) or the enterprise
//! `employeeNumber`, alone or and-ed with anything. Each backend maps a [`Lookup`] to its own SQL;
//! the lookup's rows include every match of the filter, which the store still evaluates on them,
//! so pushdown only ever narrows the rows read, never changes the answer.

use scim_filter::{AttrPath, CompValue, CompareOp, Filter};

use crate::model::{Query, ResourceKind};
use crate::storage::encode::fold;
use crate::storage::resources::list_name;

/// The attribute an index can answer an `eq` on, with the value as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
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
    pub fn value(&self) -> &String {
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

/// Whether the query is answered from an index (a handful of rows), not a scan.
pub fn is_lookup(kind: ResourceKind, query: &Query) -> bool {
    query.sort_by.is_none()
        && query
            .filter
            .as_ref()
            .is_some_and(|f| pushdown(f, kind).is_some())
}

/// Whether the query's filter or sort looks at the resources' list (a group's `members`, a
/// user's `groups`), which the filter view then has to carry.
pub fn reads_list(kind: ResourceKind, query: &Query) -> bool {
    let name = list_name(kind);
    query.filter.as_ref().is_some_and(|f| mentions(f, name))
        || query
            .sort_by
            .as_ref()
            .is_some_and(|p| p.name.eq_ignore_ascii_case(name))
}

/// Whether any top-level attribute path of `filter` names `name`.
fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::Present { attr, .. }
        | Filter::Compare { attr, .. }
        | Filter::ValuePath { attr, .. } => attr.name.eq_ignore_ascii_case(name),
        Filter::Not { filter, .. } => mentions(filter, name),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
    }
}

/// An index lookup whose rows include every match of `filter`, if there is one.
pub fn pushdown(filter: &Filter, kind: ResourceKind) -> Option<Lookup> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(kind: ResourceKind, filter: &str) -> Option<Lookup> {
        pushdown(&scim_filter::parse_filter(filter).unwrap(), kind)
    }

    #[test]
    fn index_lookups() {
        use Lookup::*;
        let user = ResourceKind::User;
        let group = ResourceKind::Group;
        let cases = [
            (user, r#"id eq "A""#, Some(Id("A".into()))),
            (
                user,
                r#"userName eq "Bo" and active eq true"#,
                Some(UserName("bo".into())),
            ),
            (
                user,
                r#"active eq true and externalId eq "X""#,
                Some(ExternalId("X".into())),
            ),
            (
                group,
                r#"displayName eq "Ops""#,
                Some(DisplayName("ops".into())),
            ),
            (group, r#"userName eq "bo""#, None),
            (user, r#"emails.value eq "A@x""#, Some(Email("a@x".into()))),
            (
                user,
                r#"emails[type eq "work" and value eq "A@x"]"#,
                Some(Email("a@x".into())),
            ),
            (
                user,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
                Some(EmployeeNumber("7".into())),
            ),
            (user, r#"employeeNumber eq "7""#, None),
            (user, r#"userName eq "bo" or id eq "A""#, None),
            (user, r#"userName ne "bo""#, None),
        ];
        for (kind, filter, expected) in cases {
            assert_eq!(pushed(kind, filter), expected, "{kind:?} {filter}");
        }
    }

    #[test]
    fn lists_read_by_filters_and_sorts() {
        let query = |filter: &str| Query {
            filter: Some(scim_filter::parse_filter(filter).unwrap()),
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 10,
            cursor: None,
            load: crate::model::Load::NONE,
        };
        assert!(reads_list(
            ResourceKind::Group,
            &query(r#"members[value eq "u"]"#)
        ));
        assert!(!reads_list(
            ResourceKind::User,
            &query(r#"members[value eq "u"]"#)
        ));
        assert!(reads_list(ResourceKind::User, &query(r#"not (groups pr)"#)));
        assert!(is_lookup(ResourceKind::User, &query(r#"id eq "u""#)));
        assert!(!is_lookup(ResourceKind::User, &query(r#"groups pr"#)));
    }
}
