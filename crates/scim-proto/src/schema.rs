//! The schema representation of RFC 7643 §7, as `GET /Schemas` returns it and as tenants define
//! extensions. Absent values are omitted, never `null` (Entra rejects nulls here).

use serde::{Deserialize, Serialize};

/// One schema: `urn:ietf:params:scim:schemas:core:2.0:User` and the like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRepr {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: Vec<AttributeRepr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<SchemaMeta>,
}

/// `meta` of a schema resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// One attribute definition (RFC 7643 §7 "attributes"). Missing members take the RFC's defaults
/// when parsed: type string, single-valued, optional, not caseExact, readWrite, returned default,
/// uniqueness none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeRepr {
    pub name: String,
    #[serde(rename = "type", default)]
    pub ty: AttributeType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default)]
    pub uniqueness: Uniqueness,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeRepr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
}

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    #[default]
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 "mutability".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 "returned".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// RFC 7643 §7 "uniqueness".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_camel_case_without_nulls_or_empty_lists() {
        let schema = SchemaRepr {
            id: "urn:x".into(),
            name: Some("X".into()),
            description: None,
            attributes: vec![AttributeRepr {
                name: "when".into(),
                ty: AttributeType::DateTime,
                multi_valued: false,
                description: None,
                required: false,
                case_exact: false,
                mutability: Mutability::ReadWrite,
                returned: Returned::Default,
                uniqueness: Uniqueness::None,
                sub_attributes: vec![],
                canonical_values: vec![],
                reference_types: vec![],
            }],
            meta: None,
        };
        let json = serde_json::to_string(&schema).unwrap();
        assert_eq!(
            json,
            r#"{"id":"urn:x","name":"X","attributes":[{"name":"when","type":"dateTime","multiValued":false,"required":false,"caseExact":false,"mutability":"readWrite","returned":"default","uniqueness":"none"}]}"#
        );
        let back: SchemaRepr = serde_json::from_str(&json).unwrap();
        assert_eq!(back, schema);
    }

    #[test]
    fn parsing_applies_rfc_defaults() {
        let attr: AttributeRepr = serde_json::from_str(r#"{"name":"badge"}"#).unwrap();
        assert_eq!(attr.ty, AttributeType::String);
        assert_eq!(attr.mutability, Mutability::ReadWrite);
        assert_eq!(attr.returned, Returned::Default);
        assert_eq!(attr.uniqueness, Uniqueness::None);
        assert!(serde_json::from_str::<AttributeRepr>(r#"{"name":"b","type":"text"}"#).is_err());
    }
}
