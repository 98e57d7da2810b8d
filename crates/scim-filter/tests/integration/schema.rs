//! A test schema: the core User and Group attributes the cases use, with their RFC 7643 types
//! and caseExact flags, plus the enterprise extension.

use scim_filter::{AttrInfo, AttrType, SchemaInfo};

pub struct TestSchema;

const fn info(ty: AttrType, case_exact: bool, multi_valued: bool) -> AttrInfo {
    AttrInfo {
        ty,
        case_exact,
        multi_valued,
    }
}

/// `(name, sub, info)`; names match case-insensitively and the URN is not consulted.
const ATTRS: &[(&str, Option<&str>, AttrInfo)] = &[
    ("id", None, info(AttrType::String, true, false)),
    ("externalId", None, info(AttrType::String, true, false)),
    ("userName", None, info(AttrType::String, false, false)),
    ("title", None, info(AttrType::String, false, false)),
    ("userType", None, info(AttrType::String, false, false)),
    ("active", None, info(AttrType::Boolean, false, false)),
    ("name", None, info(AttrType::Complex, false, false)),
    (
        "name",
        Some("familyName"),
        info(AttrType::String, false, false),
    ),
    (
        "name",
        Some("givenName"),
        info(AttrType::String, false, false),
    ),
    ("emails", None, info(AttrType::Complex, false, true)),
    (
        "emails",
        Some("value"),
        info(AttrType::String, false, false),
    ),
    ("emails", Some("type"), info(AttrType::String, false, false)),
    (
        "emails",
        Some("primary"),
        info(AttrType::Boolean, false, false),
    ),
    ("ims", None, info(AttrType::Complex, false, true)),
    ("ims", Some("value"), info(AttrType::String, false, false)),
    ("ims", Some("type"), info(AttrType::String, false, false)),
    (
        "x509Certificates",
        None,
        info(AttrType::Complex, false, true),
    ),
    (
        "x509Certificates",
        Some("value"),
        info(AttrType::Binary, true, false),
    ),
    ("meta", None, info(AttrType::Complex, false, false)),
    (
        "meta",
        Some("created"),
        info(AttrType::DateTime, false, false),
    ),
    (
        "meta",
        Some("lastModified"),
        info(AttrType::DateTime, false, false),
    ),
    ("members", None, info(AttrType::Complex, false, true)),
    (
        "members",
        Some("value"),
        info(AttrType::String, true, false),
    ),
    (
        "members",
        Some("display"),
        info(AttrType::String, false, false),
    ),
    ("employeeNumber", None, info(AttrType::String, true, false)),
    ("department", None, info(AttrType::String, false, false)),
    ("manager", None, info(AttrType::Complex, false, false)),
    (
        "manager",
        Some("value"),
        info(AttrType::String, true, false),
    ),
    ("loginCount", None, info(AttrType::Integer, false, false)),
    ("birthday", None, info(AttrType::DateTime, false, false)),
];

impl SchemaInfo for TestSchema {
    fn attr_info(&self, _uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        ATTRS.iter().find_map(|(n, s, info)| {
            let same_sub = match (s, sub) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            };
            (n.eq_ignore_ascii_case(name) && same_sub).then_some(*info)
        })
    }
}

/// Knows nothing: every attribute is a case-insensitive string of unknown type.
pub struct NoSchema;

impl SchemaInfo for NoSchema {
    fn attr_info(&self, _: Option<&str>, _: &str, _: Option<&str>) -> Option<AttrInfo> {
        None
    }
}
