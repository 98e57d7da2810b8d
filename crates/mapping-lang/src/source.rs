//! Source attributes: what `[name]` in an expression, a scoping clause's attribute and a rule's
//! `user.name` mean, read from a SCIM User resource (core attributes at the top level, extension
//! attributes under their schema URN).
//!
//! A name is either a SCIM attribute path — `userName`, `name.givenName`,
//! `emails[type eq "work"].value`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department` — or one of Entra ID's
//! names, so that Entra expressions and rules paste unchanged:
//!
//! | Entra name | SCIM source |
//! | --- | --- |
//! | `userPrincipalName` | `userName` |
//! | `mailNickname` | the part of `userName` before `@` |
//! | `givenName` | `name.givenName` |
//! | `surname` | `name.familyName` |
//! | `displayName` | `displayName` |
//! | `mail` | `emails[type eq "work"].value`, else the primary email, else the first |
//! | `jobTitle` | `title` |
//! | `department` | enterprise `department` |
//! | `employeeId` | enterprise `employeeNumber` |
//! | `companyName` | enterprise `organization` |
//! | `manager` | enterprise `manager.value` |
//! | `accountEnabled` | `active` |
//! | `telephoneNumber` | `phoneNumbers[type eq "work"].value` |
//! | `mobile` | `phoneNumbers[type eq "mobile"].value` |
//! | `facsimileTelephoneNumber` | `phoneNumbers[type eq "fax"].value` |
//! | `city` / `state` / `country` / `streetAddress` / `postalCode` | the work address's `locality` / `region` / `country` / `streetAddress` / `postalCode` |
//! | `physicalDeliveryOfficeName` | `addresses[type eq "other"].formatted` |
//! | `preferredLanguage` | `preferredLanguage` |
//! | `userType` | `userType` |
//! | `objectId` | `id` |
//! | `otherMails` / `proxyAddresses` | every email's `value` |
//! | `IsSoftDeleted` | computed: `true` when `active` is `false` |
//!
//! Entra names are matched exactly first (they are case-sensitive in Entra), then
//! case-insensitively; SCIM paths are case-insensitive like SCIM itself.

use std::sync::{Arc, LazyLock};

use scim_filter::{parse_path, PatchPath, SchemaInfo};
use serde_json::Value;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A SCIM attribute path as written, parsed once when built so that reading it never parses.
#[derive(Debug, Clone)]
pub struct SourcePath {
    text: String,
    /// `None` when the text is not a well-formed path: it then reads nothing.
    parsed: Option<Arc<PatchPath>>,
}

impl SourcePath {
    /// Parses `text` once.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parsed = parse_path(&text).ok().map(Arc::new);
        SourcePath { text, parsed }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed path; `None` when the text is not a well-formed path.
    pub fn parsed(&self) -> Option<&PatchPath> {
        self.parsed.as_deref()
    }
}

impl PartialEq for SourcePath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SourcePath {}

impl std::ops::Deref for SourcePath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// Where a source attribute's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A SCIM attribute path (possibly with a value filter), parsed.
    Path(SourcePath),
    /// The part of `userName` before `@`.
    MailNickname,
    /// The work email, else the primary one, else the first.
    Mail,
    /// Every email's value.
    AllEmails,
    /// `true` when the user is disabled.
    IsSoftDeleted,
}

/// Entra's name → its SCIM source, as in the table above.
const ALIASES: &[(&str, Alias)] = &[
    ("userPrincipalName", Alias::Path("userName")),
    ("mailNickname", Alias::MailNickname),
    ("givenName", Alias::Path("name.givenName")),
    ("surname", Alias::Path("name.familyName")),
    ("displayName", Alias::Path("displayName")),
    ("mail", Alias::Mail),
    ("jobTitle", Alias::Path("title")),
    ("department", Alias::Enterprise("department")),
    ("employeeId", Alias::Enterprise("employeeNumber")),
    ("companyName", Alias::Enterprise("organization")),
    ("manager", Alias::Enterprise("manager.value")),
    ("accountEnabled", Alias::Path("active")),
    (
        "telephoneNumber",
        Alias::Path("phoneNumbers[type eq \"work\"].value"),
    ),
    (
        "mobile",
        Alias::Path("phoneNumbers[type eq \"mobile\"].value"),
    ),
    (
        "facsimileTelephoneNumber",
        Alias::Path("phoneNumbers[type eq \"fax\"].value"),
    ),
    ("city", Alias::Path("addresses[type eq \"work\"].locality")),
    ("state", Alias::Path("addresses[type eq \"work\"].region")),
    (
        "country",
        Alias::Path("addresses[type eq \"work\"].country"),
    ),
    (
        "streetAddress",
        Alias::Path("addresses[type eq \"work\"].streetAddress"),
    ),
    (
        "postalCode",
        Alias::Path("addresses[type eq \"work\"].postalCode"),
    ),
    (
        "physicalDeliveryOfficeName",
        Alias::Path("addresses[type eq \"other\"].formatted"),
    ),
    ("preferredLanguage", Alias::Path("preferredLanguage")),
    ("userType", Alias::Path("userType")),
    ("objectId", Alias::Path("id")),
    ("otherMails", Alias::AllEmails),
    ("proxyAddresses", Alias::AllEmails),
    ("IsSoftDeleted", Alias::IsSoftDeleted),
];

#[derive(Debug, Clone, Copy)]
enum Alias {
    Path(&'static str),
    Enterprise(&'static str),
    MailNickname,
    Mail,
    AllEmails,
    IsSoftDeleted,
}

impl Source {
    /// A SCIM attribute path, parsed once here.
    pub fn path(text: impl Into<String>) -> Source {
        Source::Path(SourcePath::new(text))
    }
}

impl Alias {
    fn source(self) -> Source {
        match self {
            Alias::Path(p) => Source::path(p),
            Alias::Enterprise(p) => Source::path(format!("{ENTERPRISE}:{p}")),
            Alias::MailNickname => Source::MailNickname,
            Alias::Mail => Source::Mail,
            Alias::AllEmails => Source::AllEmails,
            Alias::IsSoftDeleted => Source::IsSoftDeleted,
        }
    }
}

/// An attribute name that is neither an Entra name nor a valid SCIM attribute path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown attribute `{name}`: {reason}")]
pub struct UnknownAttribute {
    pub name: String,
    pub reason: String,
}

/// What `name` reads. `known` says whether a SCIM path names an attribute of the user's schemas
/// (`None` accepts any well-formed path).
pub fn resolve(name: &str, known: Option<&dyn SchemaInfo>) -> Result<Source, UnknownAttribute> {
    let alias = ALIASES
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| ALIASES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)));
    if let Some((_, alias)) = alias {
        return Ok(alias.source());
    }
    let path = parse_path(name).map_err(|e| UnknownAttribute {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    if let Some(schema) = known {
        let attr = &path.attr;
        let top = schema.attr_info(attr.uri.as_deref(), &attr.name, None);
        let sub = attr.sub.as_deref().or(path.sub.as_deref());
        let found = match (top, sub) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(s)) => schema
                .attr_info(attr.uri.as_deref(), &attr.name, Some(s))
                .is_some(),
        };
        if !found {
            return Err(UnknownAttribute {
                name: name.to_owned(),
                reason: "no such attribute in the user's schemas, and not one of Entra's names"
                    .into(),
            });
        }
    }
    Ok(Source::Path(SourcePath {
        text: name.to_owned(),
        parsed: Some(Arc::new(path)),
    }))
}

/// A constant path, parsed on first use.
struct Constant(LazyLock<Option<PatchPath>>);

macro_rules! constant {
    ($name:ident, $text:expr) => {
        static $name: Constant = Constant(LazyLock::new(|| parse_path($text).ok()));
    };
}

constant!(USER_NAME, "userName");
constant!(WORK_EMAIL, "emails[type eq \"work\"].value");
constant!(PRIMARY_EMAIL, "emails[primary eq true].value");
constant!(EMAIL_VALUES, "emails.value");
constant!(ACTIVE, "active");

impl Constant {
    fn refs<'a>(&self, user: &'a Value, out: &mut Vec<&'a Value>) {
        if let Some(p) = self.0.as_ref() {
            path_refs(user, p, out);
        }
    }
}

/// The values of `source` on `user`: empty when absent; several for multi-valued attributes.
pub fn values(user: &Value, source: &Source) -> Vec<Value> {
    let mut out = Vec::new();
    visit(user, source, &mut |v| out.push(v.clone()));
    out
}

/// Calls `f` on each of [`values`]`(user, source)`, in order, without cloning them.
pub fn visit(user: &Value, source: &Source, f: &mut dyn FnMut(&Value)) {
    let mut refs = Vec::new();
    match source {
        Source::Path(p) => {
            if let Some(path) = p.parsed() {
                path_refs(user, path, &mut refs);
            }
        }
        Source::MailNickname => {
            USER_NAME.refs(user, &mut refs);
            for v in refs {
                if let Some(s) = v.as_str() {
                    f(&Value::String(s.split('@').next().unwrap_or(s).to_owned()));
                }
            }
            return;
        }
        Source::Mail => {
            WORK_EMAIL.refs(user, &mut refs);
            if refs.is_empty() {
                PRIMARY_EMAIL.refs(user, &mut refs);
            }
            if refs.is_empty() {
                EMAIL_VALUES.refs(user, &mut refs);
            }
            refs.truncate(1);
        }
        Source::AllEmails => EMAIL_VALUES.refs(user, &mut refs),
        Source::IsSoftDeleted => {
            ACTIVE.refs(user, &mut refs);
            let disabled = refs.first().is_some_and(|v| {
                *v == &Value::Bool(false)
                    || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
            });
            f(&Value::Bool(disabled));
            return;
        }
    }
    for v in refs {
        f(v);
    }
}

/// A schema that knows nothing: case-insensitive comparisons everywhere.
struct NoSchema;

impl SchemaInfo for NoSchema {
    fn attr_info(
        &self,
        _: Option<&str>,
        _: &str,
        _: Option<&str>,
    ) -> Option<scim_filter::AttrInfo> {
        None
    }
}

fn path_refs<'a>(user: &'a Value, path: &PatchPath, out: &mut Vec<&'a Value>) {
    match &path.filter {
        None => values_at(user, &path.attr, out),
        Some(filter) => {
            // `key eq "text"` with ASCII text, decided here without the general evaluator
            // when the element's `key` is an ASCII string (same answer, no allocation).
            let simple = match filter {
                scim_filter::Filter::Compare {
                    attr,
                    op: scim_filter::CompareOp::Eq,
                    value: scim_filter::CompValue::String(text),
                    ..
                } if attr.uri.is_none() && attr.sub.is_none() && text.is_ascii() => {
                    Some((attr.name.as_str(), text.as_str()))
                }
                _ => None,
            };
            for element in raw_elements(user, path.attr.uri.as_deref(), &path.attr.name) {
                let hit = match (simple, element) {
                    (Some((key, text)), Value::Object(obj)) => match get_ci(obj, key) {
                        Some(Value::String(s)) if s.is_ascii() => s.eq_ignore_ascii_case(text),
                        _ => filter.matches(element, &NoSchema),
                    },
                    _ => filter.matches(element, &NoSchema),
                };
                if !hit {
                    continue;
                }
                let value = match (&path.sub, element) {
                    (Some(sub), Value::Object(obj)) => obj
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(sub))
                        .map(|(_, v)| v),
                    (None, Value::Object(obj)) => obj
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                        .map(|(_, v)| v),
                    (None, other) => Some(other),
                    (Some(_), _) => None,
                };
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    out.push(v);
                }
            }
        }
    }
}

/// `name`'s value in `object`: the exact key, else the first key equal in any case. One linear
/// pass, no hashing: user objects are small.
fn get_ci<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    let mut folded = None;
    for (k, v) in object {
        if k.len() != name.len() {
            continue;
        }
        if k == name {
            return Some(v);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(v);
        }
    }
    folded
}

/// What `scim_filter::values_at(user, attr)` gives (the same lookup rules), appended to `out`.
fn values_at<'a>(user: &'a Value, attr: &scim_filter::AttrPath, out: &mut Vec<&'a Value>) {
    let Value::Object(resource) = user else {
        return;
    };
    let base = match &attr.uri {
        Some(uri) => match get_ci(resource, uri) {
            Some(Value::Object(extension)) => get_ci(extension, &attr.name),
            _ => get_ci(resource, &attr.name),
        },
        None => get_ci(resource, &attr.name).or_else(|| {
            resource
                .iter()
                .filter(|(k, _)| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")))
                .filter_map(|(_, v)| v.as_object())
                .find_map(|extension| get_ci(extension, &attr.name))
        }),
    };
    let Some(base) = base else {
        return;
    };
    let mut scalar = |value: &'a Value| {
        let mut element = |e: &'a Value| {
            let s = match e {
                Value::Object(object) => get_ci(object, "value"),
                other => Some(other),
            };
            if let Some(s) =
                s.filter(|s| matches!(s, Value::String(_) | Value::Number(_) | Value::Bool(_)))
            {
                out.push(s);
            }
        };
        match value {
            Value::Array(items) => items.iter().for_each(&mut element),
            other => element(other),
        }
    };
    match &attr.sub {
        None => scalar(base),
        Some(sub) => match base {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_object().and_then(|o| get_ci(o, sub)))
                .for_each(scalar),
            Value::Object(object) => {
                if let Some(v) = get_ci(object, sub) {
                    scalar(v);
                }
            }
            _ => {}
        },
    }
}

/// The elements of a multi-valued attribute (or the single value), unflattened.
fn raw_elements<'a>(user: &'a Value, uri: Option<&str>, name: &str) -> &'a [Value] {
    let Value::Object(obj) = user else {
        return &[];
    };
    let scope = match uri {
        Some(uri) => obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(uri))
            .map(|(_, v)| v),
        None => Some(user),
    };
    let Some(Value::Object(scope)) = scope else {
        return &[];
    };
    match scope
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => &[],
        Some(other) => std::slice::from_ref(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "id": "u1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "Tour Guide",
            "active": false,
            "emails": [
                {"value": "b@home.example", "type": "home"},
                {"value": "bjensen@example.com", "type": "work", "primary": true}
            ],
            "phoneNumbers": [{"value": "555-1", "type": "work"}, {"value": "555-2", "type": "mobile"}],
            "addresses": [{"type": "work", "locality": "Hollywood", "country": "USA"}],
            ENTERPRISE: {"department": "Tour Operations", "employeeNumber": "701984",
                         "manager": {"value": "m1"}}
        })
    }

    fn read(name: &str) -> Vec<Value> {
        values(&user(), &resolve(name, None).unwrap())
    }

    #[test]
    fn entra_names_read_their_scim_sources() {
        assert_eq!(
            read("userPrincipalName"),
            vec![json!("bjensen@example.com")]
        );
        assert_eq!(read("mailNickname"), vec![json!("bjensen")]);
        assert_eq!(read("givenName"), vec![json!("Barbara")]);
        assert_eq!(read("surname"), vec![json!("Jensen")]);
        assert_eq!(read("mail"), vec![json!("bjensen@example.com")]);
        assert_eq!(read("jobTitle"), vec![json!("Tour Guide")]);
        assert_eq!(read("department"), vec![json!("Tour Operations")]);
        assert_eq!(read("employeeId"), vec![json!("701984")]);
        assert_eq!(read("manager"), vec![json!("m1")]);
        assert_eq!(read("accountEnabled"), vec![json!(false)]);
        assert_eq!(read("telephoneNumber"), vec![json!("555-1")]);
        assert_eq!(read("mobile"), vec![json!("555-2")]);
        assert_eq!(read("city"), vec![json!("Hollywood")]);
        assert_eq!(read("country"), vec![json!("USA")]);
        assert_eq!(read("objectId"), vec![json!("u1")]);
        assert_eq!(read("proxyAddresses").len(), 2);
        assert_eq!(read("IsSoftDeleted"), vec![json!(true)]);
        assert!(read("companyName").is_empty());
    }

    #[test]
    fn scim_paths_read_directly() {
        assert_eq!(read("name.givenName"), vec![json!("Barbara")]);
        assert_eq!(
            read("emails[type eq \"home\"].value"),
            vec![json!("b@home.example")]
        );
        assert_eq!(
            read(&format!("{ENTERPRISE}:department")),
            vec![json!("Tour Operations")]
        );
        assert_eq!(read("USERNAME"), vec![json!("bjensen@example.com")]);
    }

    #[test]
    fn mail_falls_back_to_primary_then_first() {
        let u = json!({"emails": [{"value": "a@x", "type": "home"}, {"value": "p@x", "primary": true}]});
        assert_eq!(values(&u, &Source::Mail), vec![json!("p@x")]);
        let u = json!({"emails": [{"value": "a@x"}]});
        assert_eq!(values(&u, &Source::Mail), vec![json!("a@x")]);
    }

    #[test]
    fn values_at_agrees_with_scim_filter() {
        let odd = json!({
            "UserName": "x", "username": "y", "tags": ["a", 1, true, null, {"value": "v"}],
            "name": {"givenName": "G"}, "emails": {"value": "single"},
            "urn:example:ext": {"shoeSize": 9, "nested": {"VALUE": "n"}},
            "phoneNumbers": [{"value": "1"}, {"Value": "2", "type": "work"}, "bare"]
        });
        let paths = [
            "userName",
            "USERNAME",
            "name.givenName",
            "name",
            "emails",
            "emails.value",
            "emails.type",
            "tags",
            "shoeSize",
            "urn:example:ext:shoeSize",
            "urn:example:ext:nested",
            "urn:example:ext:missing",
            "urn:other:x:userName",
            "phoneNumbers.value",
            "phoneNumbers",
            "addresses.locality",
            "active",
            "missing.sub",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ];
        for u in [user(), odd, json!("scalar"), json!(null)] {
            for p in paths {
                let attr = parse_path(p).unwrap().attr;
                let mut ours = Vec::new();
                values_at(&u, &attr, &mut ours);
                assert_eq!(ours, scim_filter::values_at(&u, &attr), "{p} on {u}");
            }
        }
    }

    #[test]
    fn malformed_names_are_unknown() {
        let err = resolve("emails[type eq", None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown attribute `emails[type eq`"),
            "{err}"
        );
    }
}
