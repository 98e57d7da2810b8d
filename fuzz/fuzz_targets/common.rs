//! What both targets share: a small user to evaluate against, and a schema that knows a few
//! of its attributes.

use scim_filter::{AttrInfo, AttrType, SchemaInfo};
use serde_json::{json, Value};

pub struct Schema;

impl SchemaInfo for Schema {
    fn attr_info(&self, _uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        let info = |ty, case_exact| {
            Some(AttrInfo {
                ty,
                case_exact,
                multi_valued: false,
            })
        };
        match (
            name.to_ascii_lowercase().as_str(),
            sub.map(str::to_ascii_lowercase).as_deref(),
        ) {
            ("id", None) => info(AttrType::String, true),
            ("active", None) => info(AttrType::Boolean, false),
            ("emails", None) => info(AttrType::Complex, false),
            ("emails", Some("primary")) => info(AttrType::Boolean, false),
            ("meta", Some("created" | "lastmodified")) => info(AttrType::DateTime, false),
            ("logincount", None) => info(AttrType::Integer, false),
            _ => None,
        }
    }
}

pub fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223",
        "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": true,
        "title": "",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "tags": ["a", "B"],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tours", "loginCount": 42, "manager": {"value": "26118915"}
        }
    })
}
