//! The JSON edits PATCH operations are made of: case-insensitive keys, merging, multi-valued
//! element handling, extension objects.

use scim_filter::{AttrInfo, AttrType, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

use super::parse::get_ci;
use crate::{Error, Result};

/// `null` and `""` clear an attribute (Microsoft's validator, "SCIM_Null_Update_Test").
pub(super) fn is_clear(v: &Value) -> bool {
    v.is_null() || v.as_str() == Some("")
}

pub(super) fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(is_true)
}

pub(super) fn is_multi(info: Option<AttrInfo>, existing: Option<&Value>, value: &Value) -> bool {
    match info {
        Some(info) => info.multi_valued,
        None => value.is_array() || existing.is_some_and(Value::is_array),
    }
}

pub(super) fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

pub(super) fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Sets `name`, keeping the spelling of an existing key.
pub(super) fn set_key(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = find_key(map, name).unwrap_or_else(|| name.to_owned());
    map.insert(key, value);
}

pub(super) fn remove_key(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = find_key(map, name) {
        map.shift_remove(&key);
    }
}

/// Sets the sub-attributes given in `new`; `null`/`""` ones are removed.
pub(super) fn merge_object(target: &mut Map<String, Value>, new: &Map<String, Value>) {
    for (k, v) in new {
        if is_clear(v) {
            remove_key(target, k);
        } else {
            set_key(target, k, v.clone());
        }
    }
}

/// Sets a single-valued attribute; a complex one is merged (RFC 7644 §3.5.2.1, §3.5.2.3).
pub(super) fn set_single(
    c: &mut Map<String, Value>,
    name: &str,
    info: Option<AttrInfo>,
    value: &Value,
) {
    let complex = info.is_some_and(|i| i.ty == AttrType::Complex);
    let value = if complex {
        single_complex(value)
    } else {
        value.clone()
    };
    let key = find_key(c, name).unwrap_or_else(|| name.to_owned());
    match (c.get_mut(&key), &value) {
        (Some(Value::Object(existing)), Value::Object(new)) if complex || info.is_none() => {
            // A different `value` is a different referent (a new manager): its old
            // `displayName` and `$ref` must not survive the merge.
            let old_id = get_ci(existing, "value");
            let new_id = get_ci(new, "value");
            if new_id.is_some() && old_id != new_id {
                c.insert(key, value);
            } else {
                merge_object(existing, new);
                if existing.is_empty() {
                    c.shift_remove(&key);
                }
            }
        }
        _ => {
            c.insert(key, value);
        }
    }
}

/// Entra's shapes of a single complex value: the manager as a bare id string (observed) or a
/// one-element array (legacy tutorial), both meaning `{"value": …}` (spec §1.3).
fn single_complex(value: &Value) -> Value {
    match value {
        Value::String(id) => {
            let mut m = Map::new();
            m.insert("value".into(), Value::String(id.clone()));
            Value::Object(m)
        }
        Value::Array(items) if items.len() == 1 => {
            items.first().map(single_complex).unwrap_or(Value::Null)
        }
        other => other.clone(),
    }
}

/// `name.givenName`: sets the sub-attribute, creating the parent (on every element if the
/// attribute is multi-valued).
pub(super) fn set_sub(c: &mut Map<String, Value>, name: &str, sub: &str, value: &Value) {
    let key = find_key(c, name).unwrap_or_else(|| name.to_owned());
    let slot = c.entry(key).or_insert_with(|| Value::Object(Map::new()));
    match slot {
        Value::Object(fields) => set_key(fields, sub, value.clone()),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(fields) = item {
                    set_key(fields, sub, value.clone());
                }
            }
        }
        other => {
            let mut fields = Map::new();
            fields.insert(sub.to_owned(), value.clone());
            *other = Value::Object(fields);
        }
    }
}

/// Appends to a multi-valued attribute: an element already present (same value, or same `value`
/// and `type`) is merged rather than duplicated; a new primary demotes the others.
pub(super) fn add_elements(c: &mut Map<String, Value>, name: &str, new: Vec<Value>) {
    let key = find_key(c, name).unwrap_or_else(|| name.to_owned());
    let slot = c
        .entry(key.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        let old = slot.take();
        *slot = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    let Value::Array(items) = slot else {
        return;
    };
    for element in new {
        if is_clear(&element) {
            continue;
        }
        let at = match items.iter().position(|e| same_element(e, &element)) {
            Some(i) => {
                if let (Some(Value::Object(existing)), Value::Object(fields)) =
                    (items.get_mut(i), &element)
                {
                    merge_object(existing, fields);
                }
                i
            }
            None => {
                items.push(element.clone());
                items.len() - 1
            }
        };
        if is_primary(&element) {
            clear_primary_except(items, at);
        }
    }
    if items.is_empty() {
        c.shift_remove(&key);
    }
}

fn same_element(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            get_ci(a, "value").is_some()
                && get_ci(a, "value") == get_ci(b, "value")
                && get_ci(a, "type") == get_ci(b, "type")
        }
        _ => false,
    }
}

pub(super) fn clear_primary_except(items: &mut [Value], keep: usize) {
    for (i, item) in items.iter_mut().enumerate() {
        if i == keep || !is_primary(item) {
            continue;
        }
        if let Value::Object(fields) = item {
            set_key(fields, "primary", Value::Bool(false));
        }
    }
}

/// Removes the elements listed in a remove's `value`, compared by their `value` sub-attribute.
pub(super) fn remove_listed(items: &mut Vec<Value>, listed: &Value) {
    fn ident(v: &Value) -> &Value {
        v.as_object().and_then(|o| get_ci(o, "value")).unwrap_or(v)
    }
    let listed = as_list(listed);
    items.retain(|item| !listed.iter().any(|l| ident(l) == ident(item)));
}

/// The element a filter like `type eq "work"` (or an `and` of such) describes.
pub(super) fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value,
            ..
        } if attr.uri.is_none() && attr.sub.is_none() => {
            let value = match value {
                CompValue::Null => Value::Null,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::String(s) => Value::String(s.clone()),
            };
            let mut element = Map::new();
            element.insert(attr.name.clone(), value);
            Some(element)
        }
        Filter::And(a, b) => {
            let mut element = element_from_filter(a)?;
            element.extend(element_from_filter(b)?);
            Some(element)
        }
        _ => None,
    }
}

pub(super) fn container_mut<'b>(
    body: &'b mut Map<String, Value>,
    ext: Option<&str>,
) -> Option<&'b mut Map<String, Value>> {
    match ext {
        None => Some(body),
        Some(urn) => {
            let key = find_key(body, urn)?;
            body.get_mut(&key)?.as_object_mut()
        }
    }
}

pub(super) fn container_create<'b>(
    body: &'b mut Map<String, Value>,
    ext: Option<&str>,
) -> Result<&'b mut Map<String, Value>> {
    match ext {
        None => Ok(body),
        Some(urn) => extension_mut(body, urn),
    }
}

/// The extension object under `urn`, created (and listed in `schemas`) if missing.
pub(super) fn extension_mut<'b>(
    body: &'b mut Map<String, Value>,
    urn: &str,
) -> Result<&'b mut Map<String, Value>> {
    let key = match find_key(body, urn) {
        Some(key) => key,
        None => {
            if let Some(Value::Array(schemas)) =
                find_key(body, "schemas").and_then(|k| body.get_mut(&k))
            {
                if !schemas
                    .iter()
                    .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
                {
                    schemas.push(Value::String(urn.to_owned()));
                }
            }
            urn.to_owned()
        }
    };
    let slot = body.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| Error::Internal(format!("extension `{urn}` is not an object")))
}

/// Removes an extension object and its URN from `schemas`.
pub(super) fn remove_extension(body: &mut Map<String, Value>, urn: &str) {
    remove_key(body, urn);
    if let Some(Value::Array(schemas)) = find_key(body, "schemas").and_then(|k| body.get_mut(&k)) {
        schemas.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}
