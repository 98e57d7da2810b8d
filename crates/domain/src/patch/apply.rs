//! Applying parsed operations to a resource body (RFC 7644 §3.5.2.1–3, plus Entra's shapes).

use scim_filter::{AttrInfo, Filter, PatchPath, SchemaInfo};
use serde_json::{Map, Value};

use super::edit::{
    add_elements, as_list, clear_primary_except, container_create, container_mut,
    element_from_filter, extension_mut, find_key, is_clear, is_multi, is_primary, is_true,
    merge_object, remove_extension, remove_key, remove_listed, set_key, set_single, set_sub,
};
use super::members::{member_ids, value_eq_ids};
use super::parse::get_ci;
use super::{PatchOp, PatchOpKind};
use crate::{Error, Member, MembersChange, ResourceKind, Result};

/// Applies `ops`, in order, to a resource body: the SCIM JSON object without `id`/`meta` and, for
/// groups, without `members` (memberships are rows; the change to them is returned, `Keep` when no
/// op touched `members`). `members` is the group's current member list, needed only when
/// [`super::needs_members`] says so.
///
/// Values are placed, not type-checked: the caller validates the resulting body against the
/// schema (types, mutability of immutable attributes, canonical casing of new keys).
pub fn apply_patch(
    kind: ResourceKind,
    body: &mut Map<String, Value>,
    members: Option<&[Member]>,
    ops: &[PatchOp],
    schema: &dyn SchemaInfo,
) -> Result<MembersChange> {
    let mut patcher = Patcher {
        kind,
        schema,
        members,
        change: MembersChange::Keep,
        index: 0,
    };
    for (index, op) in ops.iter().enumerate() {
        patcher.index = index;
        match &op.path {
            Some(path) => patcher.apply_path(body, op.op, path, op.value.as_ref())?,
            None => patcher.apply_pathless(body, op.op, op.value.as_ref())?,
        }
    }
    Ok(patcher.change)
}

struct Patcher<'a> {
    kind: ResourceKind,
    schema: &'a dyn SchemaInfo,
    members: Option<&'a [Member]>,
    change: MembersChange,
    /// The op being applied, for messages.
    index: usize,
}

/// Where a path points once resolved against the schema.
enum Target<'p> {
    /// The whole extension object stored under this URN key.
    Extension(String),
    Attr(Attr<'p>),
}

struct Attr<'p> {
    /// The extension URN whose object holds the attribute; `None` for the core schema.
    ext: Option<String>,
    name: &'p str,
    filter: Option<&'p Filter>,
    /// `name.givenName`'s `givenName`, or `emails[…].value`'s `value`.
    sub: Option<&'p str>,
}

impl Patcher<'_> {
    fn apply_path(
        &mut self,
        body: &mut Map<String, Value>,
        op: PatchOpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<()> {
        match self.resolve(body, path, value)? {
            Target::Extension(urn) => self.apply_extension(body, op, &urn, value),
            Target::Attr(attr)
                if attr.ext.is_none()
                    && self.kind == ResourceKind::Group
                    && attr.name.eq_ignore_ascii_case("members") =>
            {
                self.apply_members(op, &attr, value)
            }
            Target::Attr(attr) => match op {
                PatchOpKind::Add => self.add(body, &attr, self.require(op, value)?),
                PatchOpKind::Replace => self.replace(body, &attr, self.require(op, value)?),
                PatchOpKind::Remove => self.remove(body, &attr, value, false),
            },
        }
    }

    /// A path-less add/replace: each key of the value object is a path of its own (Entra sends
    /// `name.givenName` and URN-qualified keys here, spec §7).
    fn apply_pathless(
        &mut self,
        body: &mut Map<String, Value>,
        op: PatchOpKind,
        value: Option<&Value>,
    ) -> Result<()> {
        if op == PatchOpKind::Remove {
            return Err(Error::NoTarget(format!(
                "remove needs a path (Operations[{}])",
                self.index
            )));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err(Error::InvalidValue(format!(
                "{} without a path in Operations[{}] needs an object `value`",
                op.as_str(),
                self.index
            )));
        };
        for (key, v) in attrs {
            // Clients echo the whole resource back; its read-only parts are ignored as in a PUT.
            if self.is_read_only(key) {
                continue;
            }
            let path = self.parse_key(key)?;
            self.apply_path(body, op, &path, Some(v))?;
        }
        Ok(())
    }

    fn apply_extension(
        &mut self,
        body: &mut Map<String, Value>,
        op: PatchOpKind,
        urn: &str,
        value: Option<&Value>,
    ) -> Result<()> {
        if op == PatchOpKind::Remove {
            remove_extension(body, urn);
            return Ok(());
        }
        match self.require(op, value)? {
            v if is_clear(v) => remove_extension(body, urn),
            Value::Object(attrs) => {
                extension_mut(body, urn)?;
                for (key, v) in attrs {
                    let mut path = self.parse_key(key)?;
                    if path.attr.uri.is_none() {
                        path.attr.uri = Some(urn.to_owned());
                    }
                    self.apply_path(body, op, &path, Some(v))?;
                }
            }
            _ => {
                return Err(Error::InvalidValue(format!(
                    "`{urn}` in Operations[{}] needs an object value",
                    self.index
                )))
            }
        }
        Ok(())
    }

    fn apply_members(
        &mut self,
        op: PatchOpKind,
        attr: &Attr<'_>,
        value: Option<&Value>,
    ) -> Result<()> {
        let value = value.filter(|v| !is_clear(v));
        if let Some(sub) = attr.sub {
            return Err(Error::InvalidPath(format!(
                "`members.{sub}` is not patchable: member details come from the member resources \
                 (Operations[{}])",
                self.index
            )));
        }
        let ids = |v: Option<&Value>| match v {
            Some(v) => member_ids(v, self.index),
            None => Ok(Vec::new()),
        };
        match (op, attr.filter) {
            (PatchOpKind::Add, _) => {
                let ids = ids(value)?;
                self.change.then_add(ids);
            }
            (PatchOpKind::Replace, None) => {
                let ids = ids(value)?;
                self.change.then_set(ids);
            }
            (PatchOpKind::Replace, Some(filter)) => {
                let new = ids(value)?;
                let old = self.matched_members(attr, filter)?;
                if old.is_empty() {
                    return Err(self.no_target(attr, filter));
                }
                self.change.then_remove(old);
                self.change.then_add(new);
            }
            (PatchOpKind::Remove, None) => match value {
                Some(v) => {
                    let ids = member_ids(v, self.index)?;
                    self.change.then_remove(ids);
                }
                None => self.change.then_set(Vec::new()),
            },
            // `members[value eq "id"]` of a non-member is a no-op: Entra sends it for members
            // that may already be gone (spec §1.4).
            (PatchOpKind::Remove, Some(filter)) => match value_eq_ids(filter) {
                Some(ids) => self.change.then_remove(ids),
                None => {
                    let ids = self.matched_members(attr, filter)?;
                    if ids.is_empty() {
                        return Err(self.no_target(attr, filter));
                    }
                    self.change.then_remove(ids);
                }
            },
        }
        Ok(())
    }

    /// The current members (after this request's earlier ops) that `filter` selects.
    fn matched_members(&self, attr: &Attr<'_>, filter: &Filter) -> Result<Vec<String>> {
        if let Some(ids) = value_eq_ids(filter) {
            return Ok(ids);
        }
        let Some(members) = self.members else {
            return Err(Error::Internal(format!(
                "PATCH filter on `{}` needs the group's members loaded (see needs_members)",
                attr.name
            )));
        };
        let before: Vec<String> = members.iter().map(|m| m.value.clone()).collect();
        let schema = ElementSchema {
            inner: self.schema,
            uri: self.kind.core_schema(),
            parent: attr.name,
            core: true,
        };
        Ok(self
            .change
            .applied_to(&before)
            .into_iter()
            .filter(|id| {
                let mut element = Map::new();
                element.insert("value".into(), Value::String(id.clone()));
                if let Some(m) = members.iter().find(|m| &m.value == id) {
                    if let Some(display) = &m.display {
                        element.insert("display".into(), Value::String(display.clone()));
                    }
                    element.insert("type".into(), Value::String(m.kind.name().into()));
                }
                filter.matches(&Value::Object(element), &schema)
            })
            .collect())
    }

    fn add(&self, body: &mut Map<String, Value>, attr: &Attr<'_>, value: &Value) -> Result<()> {
        if is_clear(value) {
            return self.remove(body, attr, None, true);
        }
        let info = self.info(attr.ext.as_deref(), attr.name);
        let c = container_create(body, attr.ext.as_deref())?;
        match (attr.filter, attr.sub) {
            (None, None) => {
                if is_multi(info, get_ci(c, attr.name), value) {
                    add_elements(c, attr.name, as_list(value));
                } else {
                    set_single(c, attr.name, info, value);
                }
            }
            (None, Some(sub)) => set_sub(c, attr.name, sub, value),
            (Some(filter), sub) => self.set_filtered(c, attr, filter, sub, value, false)?,
        }
        Ok(())
    }

    fn replace(&self, body: &mut Map<String, Value>, attr: &Attr<'_>, value: &Value) -> Result<()> {
        if is_clear(value) {
            return self.remove(body, attr, None, true);
        }
        let info = self.info(attr.ext.as_deref(), attr.name);
        let c = container_create(body, attr.ext.as_deref())?;
        match (attr.filter, attr.sub) {
            (None, None) => {
                if is_multi(info, get_ci(c, attr.name), value) {
                    let items: Vec<Value> = as_list(value)
                        .into_iter()
                        .filter(|v| !is_clear(v))
                        .collect();
                    if items.is_empty() {
                        remove_key(c, attr.name);
                    } else {
                        set_key(c, attr.name, Value::Array(items));
                    }
                } else {
                    set_single(c, attr.name, info, value);
                }
            }
            (None, Some(sub)) => set_sub(c, attr.name, sub, value),
            (Some(filter), sub) => self.set_filtered(c, attr, filter, sub, value, true)?,
        }
        Ok(())
    }

    /// Add/replace through a value filter: `emails[type eq "work"]` or `emails[type eq "work"].value`.
    fn set_filtered(
        &self,
        c: &mut Map<String, Value>,
        attr: &Attr<'_>,
        filter: &Filter,
        sub: Option<&str>,
        value: &Value,
        replace: bool,
    ) -> Result<()> {
        let matched = self.matching(c, attr, filter);
        if matched.is_empty() {
            if replace && sub.is_none() {
                return Err(self.no_target(attr, filter));
            }
            // Entra replaces `emails[type eq "work"].value` when the user has no work email yet
            // and expects one to be added (spec §1.3).
            let Some(mut element) = element_from_filter(filter) else {
                return Err(self.no_target(attr, filter));
            };
            match (sub, value) {
                (Some(sub), v) => set_key(&mut element, sub, v.clone()),
                (None, Value::Object(fields)) => merge_object(&mut element, fields),
                (None, _) => {
                    return Err(Error::InvalidValue(format!(
                        "{} of `{}[{filter}]` in Operations[{}] needs an object value",
                        if replace { "replace" } else { "add" },
                        attr.name,
                        self.index
                    )))
                }
            }
            add_elements(c, attr.name, vec![Value::Object(element)]);
            return Ok(());
        }
        let Some(items) = find_key(c, attr.name)
            .and_then(|k| c.get_mut(&k))
            .and_then(Value::as_array_mut)
        else {
            return Ok(());
        };
        for &i in &matched {
            let Some(element) = items.get_mut(i) else {
                continue;
            };
            match (sub, element) {
                (Some(sub), Value::Object(fields)) => set_key(fields, sub, value.clone()),
                (Some(_), _) => {}
                (None, Value::Object(fields)) if !replace => {
                    if let Value::Object(new) = value {
                        merge_object(fields, new);
                    }
                }
                (None, element) => {
                    // The filter's own `type eq "work"` survives a value that leaves it out.
                    *element = match (element_from_filter(filter), value) {
                        (Some(mut base), Value::Object(new)) => {
                            merge_object(&mut base, new);
                            Value::Object(base)
                        }
                        _ => value.clone(),
                    };
                }
            }
        }
        let made_primary = match sub {
            Some(sub) => sub.eq_ignore_ascii_case("primary") && is_true(value),
            None => is_primary(value),
        };
        if let (true, Some(&first)) = (made_primary, matched.first()) {
            clear_primary_except(items, first);
        }
        Ok(())
    }

    fn remove(
        &self,
        body: &mut Map<String, Value>,
        attr: &Attr<'_>,
        value: Option<&Value>,
        lenient: bool,
    ) -> Result<()> {
        let value = value.filter(|v| !is_clear(v));
        let Some(c) = container_mut(body, attr.ext.as_deref()) else {
            return Ok(());
        };
        let Some(key) = find_key(c, attr.name) else {
            return match attr.filter {
                Some(filter) if !lenient => Err(self.no_target(attr, filter)),
                _ => Ok(()),
            };
        };
        match (attr.filter, attr.sub) {
            (None, None) => {
                if let (Some(Value::Array(items)), Some(listed)) = (c.get_mut(&key), value) {
                    // Entra's member-style removal: only the listed values go (spec §1.4).
                    remove_listed(items, listed);
                    if !items.is_empty() {
                        return Ok(());
                    }
                }
                c.shift_remove(&key);
            }
            (None, Some(sub)) => match c.get_mut(&key) {
                Some(Value::Object(fields)) => {
                    remove_key(fields, sub);
                    if fields.is_empty() {
                        c.shift_remove(&key);
                    }
                }
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        if let Value::Object(fields) = item {
                            remove_key(fields, sub);
                        }
                    }
                }
                _ => {}
            },
            (Some(filter), sub) => {
                let matched = self.matching(c, attr, filter);
                if matched.is_empty() {
                    return if lenient {
                        Ok(())
                    } else {
                        Err(self.no_target(attr, filter))
                    };
                }
                if let Some(Value::Array(items)) = c.get_mut(&key) {
                    match sub {
                        None => {
                            let mut i = 0;
                            items.retain(|_| {
                                let keep = !matched.contains(&i);
                                i += 1;
                                keep
                            });
                            if items.is_empty() {
                                c.shift_remove(&key);
                            }
                        }
                        Some(sub) => {
                            for &i in &matched {
                                if let Some(Value::Object(fields)) = items.get_mut(i) {
                                    remove_key(fields, sub);
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(ext) = &attr.ext {
            if find_key(body, ext)
                .and_then(|k| body.get(&k))
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                remove_extension(body, ext);
            }
        }
        Ok(())
    }

    /// Indexes of the elements of `attr` that `filter` selects.
    fn matching(&self, c: &Map<String, Value>, attr: &Attr<'_>, filter: &Filter) -> Vec<usize> {
        let schema = ElementSchema {
            inner: self.schema,
            uri: attr.ext.as_deref().unwrap_or(self.kind.core_schema()),
            parent: attr.name,
            core: attr.ext.is_none(),
        };
        match get_ci(c, attr.name) {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, e)| filter.matches(e, &schema))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn resolve<'p>(
        &self,
        body: &Map<String, Value>,
        path: &'p PatchPath,
        value: Option<&Value>,
    ) -> Result<Target<'p>> {
        let attr = &path.attr;
        let ext = match &attr.uri {
            Some(uri) => {
                if attr.sub.is_none() && path.filter.is_none() && path.sub.is_none() {
                    let full = format!("{uri}:{}", attr.name);
                    if self.names_extension(body, uri, &attr.name, &full, value) {
                        return Ok(Target::Extension(full));
                    }
                }
                if uri.eq_ignore_ascii_case(self.kind.core_schema()) {
                    None
                } else {
                    Some(uri.clone())
                }
            }
            None => self.home_of(body, &attr.name),
        };
        if ext.is_none() && self.is_read_only(&attr.name) {
            return Err(Error::Mutability(format!("`{}` is readOnly", attr.name)));
        }
        Ok(Target::Attr(Attr {
            ext,
            name: &attr.name,
            filter: path.filter.as_ref(),
            sub: path.sub.as_deref().or(attr.sub.as_deref()),
        }))
    }

    /// Whether `uri:name` is a whole extension's URN rather than one of its attributes. The schema
    /// port lists attributes, not schemas, so: the enterprise URN, a URN the body already holds,
    /// or an unknown "attribute" given an object value.
    fn names_extension(
        &self,
        body: &Map<String, Value>,
        uri: &str,
        name: &str,
        full: &str,
        value: Option<&Value>,
    ) -> bool {
        if uri.eq_ignore_ascii_case(self.kind.core_schema()) {
            return false;
        }
        full.eq_ignore_ascii_case(scim_proto::ENTERPRISE_USER_SCHEMA)
            || get_ci(body, full).is_some_and(Value::is_object)
            || (self.schema.attr_info(Some(uri), name, None).is_none()
                && matches!(value, Some(Value::Object(_))))
    }

    /// The extension an unqualified name belongs to: `None` (core) if the core schema knows it,
    /// else the one extension that does (a bare `manager` is the enterprise manager).
    fn home_of(&self, body: &Map<String, Value>, name: &str) -> Option<String> {
        let core = self.kind.core_schema();
        if self.schema.attr_info(Some(core), name, None).is_some() {
            return None;
        }
        let mut candidates: Vec<&str> = Vec::new();
        if self.kind == ResourceKind::User {
            candidates.push(scim_proto::ENTERPRISE_USER_SCHEMA);
        }
        for (key, v) in body {
            let is_urn = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
            if is_urn && v.is_object() && !candidates.iter().any(|c| c.eq_ignore_ascii_case(key)) {
                candidates.push(key);
            }
        }
        let mut known = candidates
            .into_iter()
            .filter(|uri| self.schema.attr_info(Some(uri), name, None).is_some());
        match (known.next(), known.next()) {
            (Some(uri), None) => Some(uri.to_owned()),
            _ => None,
        }
    }

    fn info(&self, ext: Option<&str>, name: &str) -> Option<AttrInfo> {
        match ext {
            Some(uri) => self.schema.attr_info(Some(uri), name, None),
            None => self
                .schema
                .attr_info(Some(self.kind.core_schema()), name, None)
                .or_else(|| self.schema.attr_info(None, name, None)),
        }
    }

    fn is_read_only(&self, name: &str) -> bool {
        ["id", "meta", "schemas"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
            || (self.kind == ResourceKind::User && name.eq_ignore_ascii_case("groups"))
    }

    fn parse_key(&self, key: &str) -> Result<PatchPath> {
        scim_filter::parse_path(key).map_err(|e| {
            Error::InvalidPath(format!(
                "invalid attribute `{key}` in the value of Operations[{}]: {e}",
                self.index
            ))
        })
    }

    fn require<'v>(&self, op: PatchOpKind, value: Option<&'v Value>) -> Result<&'v Value> {
        value.ok_or_else(|| {
            Error::InvalidValue(format!(
                "{} in Operations[{}] needs a `value`",
                op.as_str(),
                self.index
            ))
        })
    }

    fn no_target(&self, attr: &Attr<'_>, filter: &Filter) -> Error {
        Error::NoTarget(format!(
            "no value of `{}` matches `{filter}` (Operations[{}])",
            attr.name, self.index
        ))
    }
}

/// The schema as seen from inside one multi-valued attribute: a filter's `type` is
/// `emails.type` (valuePath filters are relative to the element).
struct ElementSchema<'a> {
    inner: &'a dyn SchemaInfo,
    uri: &'a str,
    parent: &'a str,
    /// Whether `uri` is the core schema, which the port may also know as "no URN".
    core: bool,
}

impl SchemaInfo for ElementSchema<'_> {
    fn attr_info(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        match (uri, sub) {
            (None, None) => self
                .inner
                .attr_info(Some(self.uri), self.parent, Some(name))
                .or_else(|| {
                    self.core
                        .then(|| self.inner.attr_info(None, self.parent, Some(name)))
                        .flatten()
                }),
            _ => self.inner.attr_info(uri, name, sub),
        }
    }
}
