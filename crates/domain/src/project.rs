//! Projection (RFC 7644 §3.4.2.5, RFC 7643 §7 "returned"): which attributes of a rendered resource
//! a response carries, from the `attributes` / `excludedAttributes` query parameters.
//!
//! `always` attributes (`id`, `schemas`) are always there; `never` ones (`password`) never;
//! `default` ones unless excluded or left out of `attributes`; `request` ones only when named.
//! Unknown names are ignored: clients ask for attributes a tenant may not have defined.

use scim_proto::schema::{AttributeRepr, Returned};
use serde_json::{Map, Value};

use crate::schema::Registry;
use crate::{Error, ResourceKind, Result};

/// What to return of each resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    selection: Selection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// The default set.
    All,
    /// `attributes=…`: only these (and the `always` ones).
    Only(Vec<Named>),
    /// `excludedAttributes=…`: the default set without these.
    Except(Vec<Named>),
}

/// One resolved entry of the list, in canonical case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    /// The extension URN, `None` for core and common attributes.
    schema: Option<String>,
    /// `None`: the whole extension.
    attr: Option<String>,
    sub: Option<String>,
}

impl Named {
    fn is(&self, schema: Option<&str>, attr: &str) -> bool {
        self.schema.as_deref() == schema
            && self
                .attr
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(attr))
    }

    /// Names the whole attribute, or the whole extension it belongs to.
    fn covers(&self, schema: Option<&str>, attr: &str) -> bool {
        (self.is(schema, attr) && self.sub.is_none())
            || (schema.is_some() && self.schema.as_deref() == schema && self.attr.is_none())
    }
}

impl Projection {
    /// From the `attributes` / `excludedAttributes` query parameters (comma-separated attribute
    /// paths). RFC 7644 allows one of them; given both, `attributes` wins. Malformed paths are
    /// `Error::InvalidPath`; unknown attributes are ignored.
    pub fn parse(
        registry: &Registry,
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection> {
        fn present(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !s.trim().is_empty())
        }
        let (list, only) = match (present(attributes), present(excluded)) {
            (Some(list), _) => (list, true),
            (None, Some(list)) => (list, false),
            (None, None) => return Ok(Projection::all()),
        };
        let mut named = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(n) = resolve(registry, kind, item)? {
                if !named.contains(&n) {
                    named.push(n);
                }
            }
        }
        let selection = if only {
            Selection::Only(named)
        } else {
            Selection::Except(named)
        };
        Ok(Projection { selection })
    }

    /// The default set of attributes.
    pub fn all() -> Projection {
        Projection {
            selection: Selection::All,
        }
    }

    /// Whether responses carry a group's `members` (so the store should load them).
    pub fn wants_members(&self) -> bool {
        self.wants_core("members")
    }

    /// Whether responses carry a user's `groups` (so the store should load them).
    pub fn wants_groups(&self) -> bool {
        self.wants_core("groups")
    }

    fn wants_core(&self, attr: &str) -> bool {
        match &self.selection {
            Selection::All => true,
            Selection::Only(named) => named.iter().any(|n| n.is(None, attr)),
            Selection::Except(named) => !named.iter().any(|n| n.covers(None, attr)),
        }
    }

    /// Trims a rendered resource (`render::render`) to this projection. Extension objects left
    /// empty are removed.
    pub fn apply(
        &self,
        registry: &Registry,
        kind: ResourceKind,
        full: Map<String, Value>,
    ) -> Map<String, Value> {
        let def = registry.def(kind);
        if matches!(self.selection, Selection::All) && !has_hidden(def) {
            // The default set of a type with nothing `never` or `request` returned is everything.
            return full;
        }
        let mut out = Map::with_capacity(full.len());
        for (key, value) in full {
            if key == "schemas" {
                out.insert(key, value);
                continue;
            }
            let ext = def
                .extensions
                .iter()
                .find(|e| e.schema.id.eq_ignore_ascii_case(&key));
            if let Some(ext) = ext {
                let Value::Object(obj) = value else { continue };
                let uri = Some(ext.schema.id.as_str());
                let kept: Map<String, Value> = obj
                    .into_iter()
                    .filter_map(|(name, v)| {
                        let attr = find(&ext.schema.attributes, &name);
                        self.attribute(uri, &name, attr, v).map(|v| (name, v))
                    })
                    .collect();
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
                continue;
            }
            let attr = find(&def.core.attributes, &key).or_else(|| find(registry.common(), &key));
            if let Some(v) = self.attribute(None, &key, attr, value) {
                out.insert(key, v);
            }
        }
        out
    }

    /// The part of one attribute's value to return, if any.
    fn attribute(
        &self,
        schema: Option<&str>,
        name: &str,
        attr: Option<&AttributeRepr>,
        value: Value,
    ) -> Option<Value> {
        let returned = attr.map_or(Returned::Default, |a| a.returned);
        let subs = attr.map_or(&[][..], |a| a.sub_attributes.as_slice());
        let sub_returned = |sub: &str| find(subs, sub).map_or(Returned::Default, |s| s.returned);
        match returned {
            Returned::Never => return None,
            Returned::Always => return Some(value),
            Returned::Default | Returned::Request => {}
        }
        match &self.selection {
            Selection::All => (returned == Returned::Default).then(|| {
                retain_subs(value, |s| {
                    matches!(sub_returned(s), Returned::Default | Returned::Always)
                })
            })?,
            Selection::Only(named) => {
                let whole = named.iter().any(|n| n.is(schema, name) && n.sub.is_none())
                    || (returned == Returned::Default
                        && named.iter().any(|n| n.covers(schema, name)));
                if whole {
                    return retain_subs(value, |s| sub_returned(s) != Returned::Never);
                }
                let wanted: Vec<&str> = named
                    .iter()
                    .filter(|n| n.is(schema, name))
                    .filter_map(|n| n.sub.as_deref())
                    .collect();
                if wanted.is_empty() {
                    return None;
                }
                retain_subs(value, |s| match sub_returned(s) {
                    Returned::Never => false,
                    Returned::Always => true,
                    _ => wanted.iter().any(|w| w.eq_ignore_ascii_case(s)),
                })
            }
            Selection::Except(named) => {
                if returned == Returned::Request || named.iter().any(|n| n.covers(schema, name)) {
                    return None;
                }
                let excluded: Vec<&str> = named
                    .iter()
                    .filter(|n| n.is(schema, name))
                    .filter_map(|n| n.sub.as_deref())
                    .collect();
                retain_subs(value, |s| match sub_returned(s) {
                    Returned::Always => true,
                    Returned::Default => !excluded.iter().any(|x| x.eq_ignore_ascii_case(s)),
                    Returned::Never | Returned::Request => false,
                })
            }
        }
    }
}

/// Whether any attribute of the type is returned `never` or only on `request`. The core User's
/// `password` does not count: validation discards it, so it is never stored to hide.
fn has_hidden(def: &crate::schema::ResourceDef) -> bool {
    let hidden = |a: &AttributeRepr| matches!(a.returned, Returned::Never | Returned::Request);
    let core = def
        .core
        .attributes
        .iter()
        .filter(|a| !(def.core.id == scim_proto::USER_SCHEMA && a.name == "password"));
    let exts = def
        .extensions
        .iter()
        .flat_map(|e| e.schema.attributes.iter());
    core.chain(exts)
        .any(|a| hidden(a) || a.sub_attributes.iter().any(hidden))
}

fn find<'a>(attrs: &'a [AttributeRepr], name: &str) -> Option<&'a AttributeRepr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Keeps the sub-attributes `keep` accepts, in an object or in each object of an array; what
/// ends up empty is dropped. Values that are not objects are kept as they are.
fn retain_subs(value: Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    // In place: rebuilding each object would allocate and rehash on every response.
    let trim = |mut obj: Map<String, Value>| -> Option<Value> {
        obj.retain(|k, _| keep(k));
        (!obj.is_empty()).then_some(Value::Object(obj))
    };
    match value {
        Value::Object(obj) => trim(obj),
        Value::Array(mut items) => {
            items.retain_mut(|item| match item {
                Value::Object(obj) => {
                    obj.retain(|k, _| keep(k));
                    !obj.is_empty()
                }
                _ => true,
            });
            (!items.is_empty()).then_some(Value::Array(items))
        }
        other => Some(other),
    }
}

/// Resolves one entry of an attribute list; `None` for a name no schema of `kind` knows.
fn resolve(registry: &Registry, kind: ResourceKind, item: &str) -> Result<Option<Named>> {
    let def = registry.def(kind);
    // A whole extension: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    if let Some(ext) = def
        .extensions
        .iter()
        .find(|e| e.schema.id.eq_ignore_ascii_case(item))
    {
        return Ok(Some(Named {
            schema: Some(ext.schema.id.clone()),
            attr: None,
            sub: None,
        }));
    }
    let path = scim_filter::parse_attr_path(item)
        .map_err(|e| Error::InvalidPath(format!("invalid attribute path `{item}`: {e}")))?;
    let (schema, attrs): (Option<String>, Vec<&[AttributeRepr]>) = match &path.uri {
        Some(uri) if !def.core.id.eq_ignore_ascii_case(uri) => {
            match def
                .extensions
                .iter()
                .find(|e| e.schema.id.eq_ignore_ascii_case(uri))
            {
                Some(ext) => (Some(ext.schema.id.clone()), vec![&ext.schema.attributes]),
                None => return Ok(None),
            }
        }
        _ => (None, vec![&def.core.attributes, registry.common()]),
    };
    let Some(attr) = attrs.into_iter().find_map(|list| find(list, &path.name)) else {
        return Ok(None);
    };
    let sub = match &path.sub {
        None => None,
        Some(sub) => match find(&attr.sub_attributes, sub) {
            Some(s) => Some(s.name.clone()),
            None => return Ok(None),
        },
    };
    Ok(Some(Named {
        schema,
        attr: Some(attr.name.clone()),
        sub,
    }))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};
    use jiff::Timestamp;
    use serde_json::json;

    use super::*;
    use crate::render::render;
    use crate::{Member, StoredResource};

    const ENTERPRISE: &str = scim_proto::ENTERPRISE_USER_SCHEMA;

    fn registry() -> Registry {
        let ext = Registry::parse_extension(
            r#"{"id": "urn:example:acme:User", "attributes": [
                {"name": "badge"}, {"name": "secret", "returned": "request"}]}"#,
        )
        .unwrap();
        Registry::with_extensions(vec![ext]).unwrap()
    }

    fn user() -> Map<String, Value> {
        let body = json!({
            "schemas": [scim_proto::USER_SCHEMA, ENTERPRISE, "urn:example:acme:User"],
            "externalId": "e1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "password": "hunter2",
            "emails": [{"value": "b@x.org", "type": "work", "primary": true}, {"value": "h@x.org", "type": "home"}],
            ENTERPRISE: {"department": "Sales", "manager": {"value": "m1"}},
            "urn:example:acme:User": {"badge": "B1", "secret": "s"}
        });
        let res = StoredResource {
            id: "u1".into(),
            kind: ResourceKind::User,
            body: body.as_object().unwrap().clone(),
            created: Timestamp::UNIX_EPOCH,
            last_modified: Timestamp::UNIX_EPOCH,
            version: 1,
            members: None,
            groups: Some(vec![Member {
                value: "g1".into(),
                kind: ResourceKind::Group,
                display: None,
            }]),
        };
        render(res, "https://h/scim/v2")
    }

    /// Projects the sample user and shows the result on one line.
    fn check(attributes: Option<&str>, excluded: Option<&str>, expect: Expect) {
        let r = registry();
        let shown = match Projection::parse(&r, ResourceKind::User, attributes, excluded) {
            Ok(p) => serde_json::to_string(&p.apply(&r, ResourceKind::User, user())).unwrap(),
            Err(e) => format!("{e:?}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn default_set_hides_password_and_request_attributes() {
        check(
            None,
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","externalId":"e1","userName":"bjensen","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@x.org","type":"work","primary":true},{"value":"h@x.org","type":"home"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m1","$ref":"https://h/scim/v2/Users/m1"}},"urn:example:acme:User":{"badge":"B1"},"groups":[{"value":"g1","$ref":"https://h/scim/v2/Groups/g1","type":"direct"}],"meta":{"resourceType":"User","created":"1970-01-01T00:00:00Z","lastModified":"1970-01-01T00:00:00Z","location":"https://h/scim/v2/Users/u1","version":"W/\"1\""}}"#
            ]],
        );
    }

    #[test]
    fn attributes() {
        check(
            Some("userName"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","userName":"bjensen"}"#
            ]],
        );
        check(
            Some("USERNAME, name.givenName,emails.value"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","userName":"bjensen","name":{"givenName":"Barbara"},"emails":[{"value":"b@x.org"},{"value":"h@x.org"}]}"#
            ]],
        );
        check(
            Some("password,meta.version"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","meta":{"version":"W/\"1\""}}"#
            ]],
        );
        check(
            Some("id"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1"}"#
            ]],
        );
        check(
            Some("nosuch,userName"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","userName":"bjensen"}"#
            ]],
        );
    }

    #[test]
    fn attributes_urn_qualified() {
        check(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}"#
            ]],
        );
        check(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}"#
            ]],
        );
        check(
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","userName":"bjensen"}"#
            ]],
        );
        check(
            Some("urn:example:acme:User"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","urn:example:acme:User":{"badge":"B1"}}"#
            ]],
        );
        check(
            Some("urn:example:acme:User:secret"),
            None,
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","urn:example:acme:User":{"secret":"s"}}"#
            ]],
        );
    }

    #[test]
    fn excluded_attributes() {
        check(
            None,
            Some("emails,name.familyName"),
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","externalId":"e1","userName":"bjensen","name":{"givenName":"Barbara"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m1","$ref":"https://h/scim/v2/Users/m1"}},"urn:example:acme:User":{"badge":"B1"},"groups":[{"value":"g1","$ref":"https://h/scim/v2/Groups/g1","type":"direct"}],"meta":{"resourceType":"User","created":"1970-01-01T00:00:00Z","lastModified":"1970-01-01T00:00:00Z","location":"https://h/scim/v2/Users/u1","version":"W/\"1\""}}"#
            ]],
        );
        check(
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,meta,groups,id"),
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","externalId":"e1","userName":"bjensen","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"b@x.org","type":"work","primary":true},{"value":"h@x.org","type":"home"}],"urn:example:acme:User":{"badge":"B1"}}"#
            ]],
        );
        check(
            Some("userName"),
            Some("userName"),
            expect![[
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:example:acme:User"],"id":"u1","userName":"bjensen"}"#
            ]],
        );
    }

    #[test]
    fn malformed_paths_are_invalid_path() {
        check(
            Some("emails[type eq \"work\"]"),
            None,
            expect![[
                r#"InvalidPath("invalid attribute path `emails[type eq \"work\"]`: unexpected `[` at 6")"#
            ]],
        );
        check(
            None,
            Some("name..givenName"),
            expect![[
                r#"InvalidPath("invalid attribute path `name..givenName`: invalid attribute name `.givenName` at 5")"#
            ]],
        );
    }

    #[test]
    fn members_and_groups_loading() {
        let r = registry();
        let p = |a, e| Projection::parse(&r, ResourceKind::Group, a, e).unwrap();
        assert!(Projection::all().wants_members());
        assert!(!p(None, Some("members")).wants_members());
        assert!(p(None, Some("members.display")).wants_members());
        assert!(p(Some("members"), None).wants_members());
        assert!(p(Some("Members.value"), None).wants_members());
        assert!(!p(Some("displayName"), None).wants_members());
        let u = |a, e| Projection::parse(&r, ResourceKind::User, a, e).unwrap();
        assert!(u(None, None).wants_groups());
        assert!(!u(Some("userName"), None).wants_groups());
        assert!(!u(None, Some("groups")).wants_groups());
    }
}
