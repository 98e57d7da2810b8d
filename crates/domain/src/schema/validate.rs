//! Schema validation: a client's resource JSON in, a canonical `Validated` body out.
//!
//! Lenient where Entra ID and Okta need it (spec §1.2, §1.3): `null` and `""` mean absent, boolean
//! strings, unknown attributes and schema URNs ignored, single values for multi-valued attributes,
//! a bare string for `manager`, URN-prefixed extension keys. Strict about types, required
//! attributes, `primary` and immutability, with messages that name the attribute.

use std::collections::HashSet;

use scim_proto::schema::{AttributeRepr, AttributeType, Mutability};
use serde_json::{Map, Value};

use super::registry::{find, ResourceDef};
use super::Registry;
use crate::{Error, ResourceKind, Result, StoredResource, Validated};

/// What a body is validated for.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// POST: a new resource.
    Create,
    /// PUT (or the result of a PATCH): replaces this resource; immutable attributes must not change.
    Replace(&'a StoredResource),
}

/// Where a top-level attribute lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Common(usize),
    Core(usize),
    Ext(usize, usize),
}

/// The raw values sent for each attribute, by schema position.
struct Collected {
    common: Vec<Option<Value>>,
    core: Vec<Option<Value>>,
    ext: Vec<Vec<Option<Value>>>,
}

impl Collected {
    fn slot(&mut self, slot: Slot) -> Option<&mut Option<Value>> {
        match slot {
            Slot::Common(i) => self.common.get_mut(i),
            Slot::Core(i) => self.core.get_mut(i),
            Slot::Ext(e, i) => self.ext.get_mut(e).and_then(|v| v.get_mut(i)),
        }
    }
}

impl Registry {
    /// Validates a client's resource body (POST/PUT, or a PATCHed body) against this registry.
    pub fn validate(&self, kind: ResourceKind, input: Value, mode: Mode<'_>) -> Result<Validated> {
        let Value::Object(input) = input else {
            return Err(Error::InvalidSyntax(format!(
                "a {} must be a JSON object",
                kind.name()
            )));
        };
        let def = self.def(kind);
        let mut raw = Collected {
            common: vec![None; self.common().len()],
            core: vec![None; def.core.attributes.len()],
            ext: def
                .extensions
                .iter()
                .map(|e| vec![None; e.schema.attributes.len()])
                .collect(),
        };
        for (key, value) in input {
            self.collect(def, &mut raw, &key, value)?;
        }

        let common = normalize_all(self.common(), raw.common, None)?;
        let mut members = None;
        let mut core = Vec::with_capacity(raw.core.len());
        for (attr, value) in def.core.attributes.iter().zip(raw.core) {
            if kind == ResourceKind::Group && attr.name == "members" {
                members = value.map(group_members).transpose()?.flatten();
                core.push(None);
            } else if kind == ResourceKind::User && attr.name == "password" {
                // Checked like any string, then discarded: Scimitar is no authentication
                // source, and a password it does not keep cannot leak.
                normalize(attr, value, &attr.name)?;
                core.push(None);
            } else {
                core.push(normalize(attr, value, &attr.name)?);
            }
        }
        let mut ext = Vec::with_capacity(raw.ext.len());
        for (e, values) in def.extensions.iter().zip(raw.ext) {
            ext.push(normalize_all(
                &e.schema.attributes,
                values,
                Some(&e.schema.id),
            )?);
        }

        check_required(&def.core.attributes, &core, None)?;
        for (e, values) in def.extensions.iter().zip(&ext) {
            if e.required || values.iter().any(Option::is_some) {
                check_required(&e.schema.attributes, values, Some(&e.schema.id))?;
            }
        }

        let (common, core, ext) = match mode {
            Mode::Create => (common, core, ext),
            Mode::Replace(current) => {
                let body = &current.body;
                let common = keep_immutable(self.common(), common, body, None)?;
                let core = keep_immutable(&def.core.attributes, core, body, None)?;
                let empty = Map::new();
                let mut checked = Vec::with_capacity(ext.len());
                for (e, values) in def.extensions.iter().zip(ext) {
                    let current = get_ci(body, &e.schema.id).and_then(Value::as_object);
                    checked.push(keep_immutable(
                        &e.schema.attributes,
                        values,
                        current.unwrap_or(&empty),
                        Some(&e.schema.id),
                    )?);
                }
                (common, core, checked)
            }
        };

        let mut body = Map::new();
        let mut schemas = vec![Value::String(def.core.id.clone())];
        for (e, values) in def.extensions.iter().zip(&ext) {
            if values.iter().any(Option::is_some) {
                schemas.push(Value::String(e.schema.id.clone()));
            }
        }
        body.insert("schemas".into(), Value::Array(schemas));
        put_all(&mut body, self.common(), common);
        put_all(&mut body, &def.core.attributes, core);
        for (e, values) in def.extensions.iter().zip(ext) {
            if values.iter().any(Option::is_some) {
                let mut obj = Map::new();
                put_all(&mut obj, &e.schema.attributes, values);
                body.insert(e.schema.id.clone(), Value::Object(obj));
            }
        }
        Ok(Validated {
            kind,
            body,
            members,
        })
    }

    /// Files one top-level member of the input under the attribute it names, or drops it.
    fn collect(
        &self,
        def: &ResourceDef,
        raw: &mut Collected,
        key: &str,
        value: Value,
    ) -> Result<()> {
        if value.is_null() {
            return Ok(());
        }
        // The client's `schemas` is recomputed; unknown or typo'd URNs in it do no harm.
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        // A whole schema object: `"urn:…:enterprise:2.0:User": {…}`.
        if let Some(schema) = self.schema_index(def, key) {
            let Value::Object(members) = value else {
                return Err(Error::InvalidValue(format!(
                    "`{key}` must be an object, got {}",
                    describe(&value)
                )));
            };
            for (name, value) in members {
                if let Some((slot, sub)) = self.resolve(def, Some(schema), &name) {
                    put_raw(raw, slot, sub, value);
                }
            }
            return Ok(());
        }
        // A URN-prefixed key: `"urn:…:enterprise:2.0:User:department": "x"`.
        if let Some((schema, rest)) = self.split_urn(def, key) {
            if let Some((slot, sub)) = self.resolve(def, Some(schema), rest) {
                put_raw(raw, slot, sub, value);
            }
            return Ok(());
        }
        if let Some((slot, sub)) = self.resolve(def, None, key) {
            put_raw(raw, slot, sub, value);
        }
        Ok(())
    }

    /// `None` is the core schema, `Some(i)` extension `i`.
    fn schema_index(&self, def: &ResourceDef, uri: &str) -> Option<Option<usize>> {
        if def.core.id.eq_ignore_ascii_case(uri) {
            return Some(None);
        }
        def.extensions
            .iter()
            .position(|e| e.schema.id.eq_ignore_ascii_case(uri))
            .map(Some)
    }

    /// Splits `urn:…:User:attr` into the schema it names and `attr`.
    fn split_urn<'k>(&self, def: &ResourceDef, key: &'k str) -> Option<(Option<usize>, &'k str)> {
        let (uri, rest) = key.rsplit_once(':')?;
        // `attr` holds no colon, so the URN is everything before the last one.
        Some((self.schema_index(def, uri)?, rest))
    }

    /// The slot and (canonical) sub-attribute name of `name` or `name.sub` in one schema
    /// (`None`: core schema and common attributes).
    fn resolve(
        &self,
        def: &ResourceDef,
        schema: Option<Option<usize>>,
        key: &str,
    ) -> Option<(Slot, Option<String>)> {
        let lookup = |name: &str| -> Option<(Slot, &AttributeRepr)> {
            match schema {
                None | Some(None) => position(&def.core.attributes, name)
                    .map(|(i, a)| (Slot::Core(i), a))
                    .or_else(|| position(self.common(), name).map(|(i, a)| (Slot::Common(i), a))),
                Some(Some(e)) => {
                    let ext = def.extensions.get(e)?;
                    position(&ext.schema.attributes, name).map(|(i, a)| (Slot::Ext(e, i), a))
                }
            }
        };
        if let Some((slot, _)) = lookup(key) {
            return Some((slot, None));
        }
        let (name, sub) = key.split_once('.')?;
        let (slot, attr) = lookup(name)?;
        let sub = find(&attr.sub_attributes, sub)?;
        Some((slot, Some(sub.name.clone())))
    }
}

fn position<'a>(attrs: &'a [AttributeRepr], name: &str) -> Option<(usize, &'a AttributeRepr)> {
    attrs
        .iter()
        .enumerate()
        .find(|(_, a)| a.name.eq_ignore_ascii_case(name))
}

/// Stores a raw value; `sub` values (`name.givenName`) are merged into the attribute's object.
fn put_raw(raw: &mut Collected, slot: Slot, sub: Option<String>, value: Value) {
    let Some(entry) = raw.slot(slot) else { return };
    match sub {
        None => *entry = Some(value),
        Some(sub) => match entry {
            Some(Value::Object(obj)) => {
                obj.insert(sub, value);
            }
            _ => {
                let mut obj = Map::new();
                obj.insert(sub, value);
                *entry = Some(Value::Object(obj));
            }
        },
    }
}

fn qualified(uri: Option<&str>, name: &str) -> String {
    match uri {
        Some(uri) => format!("{uri}:{name}"),
        None => name.to_owned(),
    }
}

fn normalize_all(
    attrs: &[AttributeRepr],
    values: Vec<Option<Value>>,
    uri: Option<&str>,
) -> Result<Vec<Option<Value>>> {
    attrs
        .iter()
        .zip(values)
        .map(|(attr, value)| normalize(attr, value, &qualified(uri, &attr.name)))
        .collect()
}

/// Normalises one attribute's value; `None` means absent. `path` names it in messages.
fn normalize(attr: &AttributeRepr, value: Option<Value>, path: &str) -> Result<Option<Value>> {
    let Some(value) = value else { return Ok(None) };
    // RFC 7644 §3.5.1: readOnly values sent by the client are ignored.
    if attr.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    if !attr.multi_valued {
        return single(attr, value, path);
    }
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    // Keyed by the serialised value, so large arrays do not cost quadratic time.
    let mut seen = HashSet::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if let Some(v) = single(attr, item, &format!("{path}[{i}]"))? {
            if seen.insert(v.to_string()) {
                out.push(v);
            }
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if attr.ty == AttributeType::Complex {
        let primaries = out
            .iter()
            .filter(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
            .count();
        if primaries > 1 {
            return Err(Error::InvalidValue(format!(
                "`{path}` may have at most one value with `primary` true, got {primaries}"
            )));
        }
    }
    Ok(Some(Value::Array(out)))
}

/// One value of an attribute (the attribute itself if single-valued).
fn single(attr: &AttributeRepr, value: Value, path: &str) -> Result<Option<Value>> {
    let wrong = |expected: &str, got: &Value| {
        Err(Error::InvalidValue(format!(
            "`{path}` must be {expected}, got {}",
            describe(got)
        )))
    };
    match &value {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        _ => {}
    }
    match attr.ty {
        AttributeType::String => match value {
            Value::String(_) => Ok(Some(value)),
            other => wrong("a string", &other),
        },
        AttributeType::Reference => match value {
            Value::String(_) => Ok(Some(value)),
            other => wrong("a reference (string)", &other),
        },
        AttributeType::Boolean => match &value {
            Value::Bool(_) => Ok(Some(value)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            other => wrong("a boolean", other),
        },
        AttributeType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            Value::Number(n) => match n.as_f64() {
                #[allow(clippy::cast_possible_truncation)]
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(Value::from(f as i64))),
                _ => Err(Error::InvalidValue(format!(
                    "`{path}` must be an integer, got {n}"
                ))),
            },
            other => wrong("an integer", other),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => Ok(Some(value)),
            other => wrong("a decimal number", &other),
        },
        AttributeType::DateTime => match &value {
            Value::String(s) if s.parse::<jiff::Timestamp>().is_ok() => Ok(Some(value)),
            other => wrong(
                "an RFC 3339 date-time such as \"2024-05-01T09:30:00Z\"",
                other,
            ),
        },
        AttributeType::Binary => match &value {
            Value::String(s) if is_base64(s) => Ok(Some(value)),
            other => wrong("base64-encoded binary", other),
        },
        AttributeType::Complex => complex(attr, value, path),
    }
}

fn complex(attr: &AttributeRepr, value: Value, path: &str) -> Result<Option<Value>> {
    let obj = match value {
        Value::Object(obj) => obj,
        // Entra sends `manager` as the bare id (spec §1.3): `"id"` means `{"value": "id"}`.
        scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
            if find(&attr.sub_attributes, "value").is_some() =>
        {
            let mut obj = Map::new();
            obj.insert("value".into(), scalar);
            obj
        }
        other => {
            return Err(Error::InvalidValue(format!(
                "`{path}` must be an object, got {}",
                describe(&other)
            )))
        }
    };
    let mut values: Vec<Option<Value>> = vec![None; attr.sub_attributes.len()];
    for (key, value) in obj {
        if let Some((i, _)) = position(&attr.sub_attributes, &key) {
            if let Some(slot) = values.get_mut(i) {
                *slot = Some(value);
            }
        }
    }
    let mut out = Map::new();
    for (sub, value) in attr.sub_attributes.iter().zip(values) {
        let sub_path = format!("{path}.{}", sub.name);
        match normalize(sub, value, &sub_path)? {
            Some(v) => {
                out.insert(sub.name.clone(), v);
            }
            None if sub.required => {
                return Err(Error::InvalidValue(format!("`{sub_path}` is required")));
            }
            None => {}
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// `members` of a group: the member ids, in order, without repeats.
fn group_members(value: Value) -> Result<Option<Vec<String>>> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let id = match item {
            Value::Null => continue,
            Value::Object(mut obj) => match obj.remove("value") {
                Some(Value::String(id)) if !id.is_empty() => id,
                Some(other) => {
                    return Err(Error::InvalidValue(format!(
                        "`members[{i}].value` must be a non-empty string, got {}",
                        describe(&other)
                    )))
                }
                None => {
                    return Err(Error::InvalidValue(format!(
                        "`members[{i}].value` is required"
                    )))
                }
            },
            other => {
                return Err(Error::InvalidValue(format!(
                    "`members[{i}]` must be an object with a `value`, got {}",
                    describe(&other)
                )))
            }
        };
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

fn check_required(
    attrs: &[AttributeRepr],
    values: &[Option<Value>],
    uri: Option<&str>,
) -> Result<()> {
    for (attr, value) in attrs.iter().zip(values) {
        // readOnly attributes are the server's to set, whatever `required` says.
        if attr.required && value.is_none() && attr.mutability != Mutability::ReadOnly {
            return Err(Error::InvalidValue(format!(
                "`{}` is required",
                qualified(uri, &attr.name)
            )));
        }
    }
    Ok(())
}

/// On replace, an immutable attribute that has a value keeps it: a different new value is an
/// error, an absent one keeps the current value.
fn keep_immutable(
    attrs: &[AttributeRepr],
    mut values: Vec<Option<Value>>,
    current: &Map<String, Value>,
    uri: Option<&str>,
) -> Result<Vec<Option<Value>>> {
    for (attr, value) in attrs.iter().zip(values.iter_mut()) {
        if attr.mutability != Mutability::Immutable {
            continue;
        }
        let Some(old) = get_ci(current, &attr.name).filter(|v| !v.is_null()) else {
            continue;
        };
        match value {
            Some(new) if new != old => {
                return Err(Error::Mutability(format!(
                    "`{}` is immutable and already set",
                    qualified(uri, &attr.name)
                )))
            }
            Some(_) => {}
            None => *value = Some(old.clone()),
        }
    }
    Ok(values)
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn put_all(obj: &mut Map<String, Value>, attrs: &[AttributeRepr], values: Vec<Option<Value>>) {
    for (attr, value) in attrs.iter().zip(values) {
        if let Some(value) = value {
            obj.insert(attr.name.clone(), value);
        }
    }
}

/// How a wrong value is shown in a message: strings by value, the rest by JSON type.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "boolean".into(),
        Value::Number(_) => "number".into(),
        Value::String(s) if s.chars().count() > 40 => {
            format!(
                "{:?}",
                format!("{}…", s.chars().take(40).collect::<String>())
            )
        }
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// Standard or URL-safe base64, padding optional, whitespace (line breaks in PEM bodies) allowed.
fn is_base64(s: &str) -> bool {
    let data: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body_len = data.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    let (body, pad) = data.split_at(body_len);
    pad.len() <= 2
        && !body.is_empty()
        && body
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
        && body.len() % 4 != 1
}
