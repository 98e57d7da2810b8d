//! The schemas one tenant's resources follow: the built-in ones plus the tenant's extensions, and
//! the lookups validation, filtering and projection need.

use std::sync::Arc;

use scim_filter::{AttrInfo, AttrType, SchemaInfo};
use scim_proto::schema::{AttributeRepr, AttributeType, SchemaRepr};
use serde_json::Value;

use super::core;
use crate::{Error, ResourceKind, Result};

/// The schema registry of one tenant. Cheap to clone (shared behind an `Arc`).
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `id`, `externalId`, `meta`: on every resource, in no schema.
    common: Vec<AttributeRepr>,
    user: ResourceDef,
    group: ResourceDef,
}

impl Inner {
    fn builtin() -> Inner {
        Inner {
            common: core::common_attributes(),
            user: ResourceDef {
                core: core::user(),
                extensions: vec![ExtensionDef {
                    schema: core::enterprise_user(),
                    required: false,
                }],
            },
            group: ResourceDef {
                core: core::group(),
                extensions: vec![ExtensionDef {
                    schema: core::dynamic_group(),
                    required: false,
                }],
            },
        }
    }
}

/// The schemas of one resource type.
#[derive(Debug)]
pub(crate) struct ResourceDef {
    pub(crate) core: SchemaRepr,
    pub(crate) extensions: Vec<ExtensionDef>,
}

#[derive(Debug)]
pub(crate) struct ExtensionDef {
    pub(crate) schema: SchemaRepr,
    pub(crate) required: bool,
}

/// A tenant-defined schema extension, parsed and checked (`Registry::parse_extension`).
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    pub resource_type: ResourceKind,
    pub schema: SchemaRepr,
}

impl Extension {
    /// The extension's schema URN.
    pub fn uri(&self) -> &str {
        &self.schema.id
    }
}

impl Registry {
    /// User with the enterprise extension, and Group.
    pub fn builtin() -> Registry {
        Registry {
            inner: Arc::new(Inner::builtin()),
        }
    }

    /// Parses a tenant extension definition: a SCIM schema JSON object (RFC 7643 §7) with an
    /// optional extra member `"resourceType": "User" | "Group"`; without it the resource type is
    /// the URN's last segment (`urn:…:acme:2.0:User` → User).
    pub fn parse_extension(json: &str) -> Result<Extension> {
        let invalid = |msg: String| Error::InvalidValue(format!("invalid schema extension: {msg}"));
        let value: Value = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        let declared = match value.get("resourceType") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(ResourceKind::from_name(name).ok_or_else(|| {
                invalid(format!(
                    "`resourceType` must be \"User\" or \"Group\", got {name:?}"
                ))
            })?),
            Some(other) => {
                return Err(invalid(format!(
                    "`resourceType` must be \"User\" or \"Group\", got {other}"
                )))
            }
        };
        let schema: SchemaRepr =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        check_urn(&schema.id).map_err(invalid)?;
        let resource_type = match declared {
            Some(kind) => kind,
            None => schema
                .id
                .rsplit(':')
                .next()
                .and_then(ResourceKind::from_name)
                .ok_or_else(|| {
                    invalid(format!(
                        "cannot tell which resource type `{}` extends: add \"resourceType\": \"User\" or \"Group\"",
                        schema.id
                    ))
                })?,
        };
        if schema.attributes.is_empty() {
            return Err(invalid(format!("`{}` defines no attributes", schema.id)));
        }
        check_attributes(&schema.attributes, None).map_err(invalid)?;
        Ok(Extension {
            resource_type,
            schema,
        })
    }

    /// The built-in schemas plus these tenant extensions. A URN used twice is `Error::Conflict`.
    pub fn with_extensions(exts: Vec<Extension>) -> Result<Registry> {
        let mut inner = Inner::builtin();
        for ext in exts {
            let clash = [&inner.user, &inner.group].into_iter().any(|def| {
                def.core.id.eq_ignore_ascii_case(ext.uri())
                    || def
                        .extensions
                        .iter()
                        .any(|e| e.schema.id.eq_ignore_ascii_case(ext.uri()))
            });
            if clash {
                return Err(Error::Conflict(format!(
                    "schema `{}` is already defined",
                    ext.uri()
                )));
            }
            let def = match ext.resource_type {
                ResourceKind::User => &mut inner.user,
                ResourceKind::Group => &mut inner.group,
            };
            def.extensions.push(ExtensionDef {
                schema: ext.schema,
                required: false,
            });
        }
        Ok(Registry {
            inner: Arc::new(inner),
        })
    }

    /// Every schema, for `GET /Schemas`: User, its extensions, Group, its extensions.
    pub fn schemas(&self) -> Vec<&SchemaRepr> {
        [&self.inner.user, &self.inner.group]
            .into_iter()
            .flat_map(|def| {
                std::iter::once(&def.core).chain(def.extensions.iter().map(|e| &e.schema))
            })
            .collect()
    }

    /// The schema with this URN, compared case-insensitively.
    pub fn schema(&self, uri: &str) -> Option<&SchemaRepr> {
        self.schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(uri))
    }

    /// `(schema URN, required)` of each extension of a resource type, for `/ResourceTypes`.
    pub fn extensions_of(&self, kind: ResourceKind) -> Vec<(&str, bool)> {
        self.def(kind)
            .extensions
            .iter()
            .map(|e| (e.schema.id.as_str(), e.required))
            .collect()
    }

    /// Schema knowledge for filtering and sorting resources of this type.
    pub fn info(&self, kind: ResourceKind) -> ResourceSchema<'_> {
        ResourceSchema {
            registry: self,
            kind,
        }
    }

    /// The definition of `[uri:]name[.sub]` on this resource type; names match case-insensitively.
    /// Without a URN, the core schema and the common attributes (`id`, `externalId`, `meta`) are
    /// searched; extension attributes must be named with their URN.
    pub fn attribute(
        &self,
        kind: ResourceKind,
        uri: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<&AttributeRepr> {
        let def = self.def(kind);
        let top = match uri {
            Some(uri) if !def.core.id.eq_ignore_ascii_case(uri) => {
                let ext = def
                    .extensions
                    .iter()
                    .find(|e| e.schema.id.eq_ignore_ascii_case(uri))?;
                find(&ext.schema.attributes, name)
            }
            _ => find(&def.core.attributes, name).or_else(|| find(&self.inner.common, name)),
        }?;
        match sub {
            None => Some(top),
            Some(sub) => find(&top.sub_attributes, sub),
        }
    }

    pub(crate) fn def(&self, kind: ResourceKind) -> &ResourceDef {
        match kind {
            ResourceKind::User => &self.inner.user,
            ResourceKind::Group => &self.inner.group,
        }
    }

    pub(crate) fn common(&self) -> &[AttributeRepr] {
        &self.inner.common
    }
}

/// The attribute with this name, compared case-insensitively.
pub(crate) fn find<'a>(attrs: &'a [AttributeRepr], name: &str) -> Option<&'a AttributeRepr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The schema knowledge of one resource type, as filtering wants it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema<'a> {
    registry: &'a Registry,
    kind: ResourceKind,
}

impl SchemaInfo for ResourceSchema<'_> {
    /// For a sub-attribute (`emails.value`), the sub-attribute's own type and caseExact, and
    /// `multi_valued` of its parent: the path can yield several values.
    fn attr_info(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        let top = self.registry.attribute(self.kind, uri, name, None)?;
        let attr = match sub {
            None => top,
            Some(sub) => find(&top.sub_attributes, sub)?,
        };
        Some(AttrInfo {
            ty: attr_type(attr.ty),
            case_exact: attr.case_exact,
            multi_valued: top.multi_valued || attr.multi_valued,
        })
    }
}

fn attr_type(ty: AttributeType) -> AttrType {
    match ty {
        AttributeType::String => AttrType::String,
        AttributeType::Boolean => AttrType::Boolean,
        AttributeType::Decimal => AttrType::Decimal,
        AttributeType::Integer => AttrType::Integer,
        AttributeType::DateTime => AttrType::DateTime,
        AttributeType::Binary => AttrType::Binary,
        AttributeType::Reference => AttrType::Reference,
        AttributeType::Complex => AttrType::Complex,
    }
}

/// `urn:` followed by at least two non-empty segments, no spaces.
fn check_urn(id: &str) -> Result<(), String> {
    let ok = id.len() > 4
        && id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        && id.split(':').count() >= 3
        && id.split(':').all(|seg| !seg.is_empty())
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("`id` must be a URN such as urn:ietf:params:scim:schemas:extension:acme:2.0:User, got {id:?}"))
    }
}

/// RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); `$ref` is allowed for sub-attributes.
fn valid_name(name: &str, is_sub: bool) -> bool {
    if is_sub && name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_attributes(attrs: &[AttributeRepr], parent: Option<&str>) -> Result<(), String> {
    for (i, attr) in attrs.iter().enumerate() {
        let path = match parent {
            Some(p) => format!("{p}.{}", attr.name),
            None => attr.name.clone(),
        };
        if !valid_name(&attr.name, parent.is_some()) {
            return Err(format!(
                "attribute name {:?} is invalid: it must start with a letter and contain only letters, digits, `-` and `_`",
                attr.name
            ));
        }
        if attrs
            .iter()
            .take(i)
            .any(|a| a.name.eq_ignore_ascii_case(&attr.name))
        {
            return Err(format!("attribute `{path}` is defined twice"));
        }
        match (attr.ty, parent) {
            (AttributeType::Complex, Some(_)) => {
                return Err(format!(
                    "`{path}` is complex, but sub-attributes cannot be complex"
                ))
            }
            (AttributeType::Complex, None) if attr.sub_attributes.is_empty() => {
                return Err(format!("complex attribute `{path}` needs `subAttributes`"))
            }
            (AttributeType::Complex, None) => check_attributes(&attr.sub_attributes, Some(&path))?,
            (_, _) if !attr.sub_attributes.is_empty() => {
                return Err(format!("`{path}` has `subAttributes` but is not complex"))
            }
            _ => {}
        }
    }
    Ok(())
}
