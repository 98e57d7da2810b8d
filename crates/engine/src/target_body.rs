//! Builds a SCIM resource body from mapping outputs: target paths such as `name.givenName`,
//! `emails[type eq "work"].value` (an element `{"type": "work", "value": …}`) and
//! URN-qualified extension attributes (`urn:…:enterprise:2.0:User:department`).

use serde_json::{Map, Value};

use crate::app::ENTERPRISE;

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Target attributes that are booleans in SCIM while mappings produce `"True"`/`"False"`.
const BOOLEANS: &[&str] = &["active"];

/// A target attribute path, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPath {
    /// The extension schema URN, for `urn:…:attr` paths.
    pub schema: Option<String>,
    pub attribute: String,
    /// `(attribute, value)` of a `[attr eq "value"]` filter.
    pub filter: Option<(String, String)>,
    pub sub_attribute: Option<String>,
}

impl TargetPath {
    /// Parses the forms mappings write; `None` for anything else.
    pub fn parse(path: &str) -> Option<TargetPath> {
        let (schema, rest) = if path.len() > 4 && path.get(..4)?.eq_ignore_ascii_case("urn:") {
            let (urn, attr) = path.rsplit_once(':')?;
            (Some(urn.to_owned()), attr)
        } else {
            (None, path)
        };
        let end = rest.find(['[', '.']).unwrap_or(rest.len());
        let attribute = rest.get(..end)?.to_owned();
        let mut tail = rest.get(end..)?;
        let mut filter = None;
        if let Some(inner) = tail.strip_prefix('[') {
            let close = inner.find(']')?;
            let text = inner.get(..close)?;
            let mut words = text.splitn(3, ' ');
            let (attr, op, value) = (words.next()?, words.next()?, words.next()?);
            if !op.eq_ignore_ascii_case("eq") {
                return None;
            }
            let value = value.trim().trim_matches('"');
            filter = Some((attr.to_owned(), value.to_owned()));
            tail = inner.get(close + 1..)?;
        }
        let sub_attribute = match tail {
            "" => None,
            t => Some(t.strip_prefix('.')?.to_owned()),
        };
        if attribute.is_empty() {
            return None;
        }
        Some(TargetPath {
            schema,
            attribute,
            filter,
            sub_attribute,
        })
    }

    fn is_manager(&self) -> bool {
        self.schema.as_deref() == Some(ENTERPRISE) && self.attribute == "manager"
    }
}

/// The operation that adds `value` at a filtered path (`emails[type eq "work"].value`) where
/// the target has no such element yet: `Add` of the whole element on the attribute. A `Replace`
/// there would match nothing, which strict servers refuse (RFC 7644 §3.5.2.3 `noTarget`).
/// `None` for paths without a filter (a `Replace` adds those).
pub fn add_element_op(path: &str, value: &Value) -> Option<Value> {
    let target = TargetPath::parse(path)?;
    let (key, wanted) = target.filter.as_ref()?;
    let sub = target
        .sub_attribute
        .clone()
        .unwrap_or_else(|| "value".to_owned());
    let mut element = Map::new();
    if target.attribute == "emails" && wanted == "work" {
        element.insert("primary".to_owned(), Value::Bool(true));
    }
    element.insert(key.clone(), Value::String(wanted.clone()));
    element.insert(sub, value.clone());
    let attribute = match &target.schema {
        Some(urn) => format!("{urn}:{}", target.attribute),
        None => target.attribute.clone(),
    };
    Some(serde_json::json!({"op": "Add", "path": attribute, "value": [element]}))
}

/// Whether `path` is a boolean attribute.
pub fn is_boolean(path: &str) -> bool {
    BOOLEANS.iter().any(|b| b.eq_ignore_ascii_case(path))
}

/// `"True"`/`"False"` as a JSON boolean; anything else unchanged.
pub fn as_boolean(value: &Value) -> Value {
    match value.as_str() {
        Some(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Some(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        _ => value.clone(),
    }
}

/// The SCIM User body for `values` (target path → value, in mapping order); `schemas` lists the
/// core schema and every extension used. Paths that cannot be parsed are returned as the error
/// list alongside the body.
pub fn user_body(values: &Map<String, Value>) -> (Value, Vec<String>) {
    let mut body = Map::new();
    body.insert("schemas".to_owned(), Value::Array(Vec::new()));
    let mut schemas = vec![USER_SCHEMA.to_owned()];
    let mut rejected = Vec::new();
    for (path, value) in values {
        let Some(target) = TargetPath::parse(path) else {
            rejected.push(path.clone());
            continue;
        };
        let value = if is_boolean(path) {
            as_boolean(value)
        } else {
            value.clone()
        };
        let object = match &target.schema {
            Some(urn) => {
                if !schemas.contains(urn) {
                    schemas.push(urn.clone());
                }
                object_at(&mut body, urn)
            }
            None => Some(&mut body),
        };
        if let Some(object) = object {
            insert(object, &target, value);
        }
    }
    body.insert(
        "schemas".to_owned(),
        schemas.into_iter().map(Value::String).collect(),
    );
    (Value::Object(body), rejected)
}

/// The object under `key`, made one if it is absent or something else.
fn object_at<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

fn insert(object: &mut Map<String, Value>, target: &TargetPath, value: Value) {
    if target.is_manager() {
        let mut m = Map::new();
        m.insert("value".to_owned(), value);
        object.insert(target.attribute.clone(), Value::Object(m));
        return;
    }
    match (&target.filter, &target.sub_attribute) {
        (None, None) => {
            object.insert(target.attribute.clone(), value);
        }
        (None, Some(sub)) => {
            if let Some(o) = object_at(object, &target.attribute) {
                o.insert(sub.clone(), value);
            }
        }
        (Some((key, wanted)), sub) => {
            let sub = sub.clone().unwrap_or_else(|| "value".to_owned());
            let slot = object
                .entry(target.attribute.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            let Value::Array(elements) = slot else {
                return;
            };
            // A multi-valued mapping output becomes one element per value.
            let items = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            for (i, item) in items.into_iter().enumerate() {
                let existing = (i == 0)
                    .then(|| {
                        elements
                            .iter_mut()
                            .find(|e| e.get(key).and_then(Value::as_str) == Some(wanted.as_str()))
                    })
                    .flatten();
                match existing {
                    Some(Value::Object(e)) => {
                        e.insert(sub.clone(), item);
                    }
                    _ => {
                        let mut e = Map::new();
                        // Entra marks the work email primary (spec §1.2's create body).
                        if i == 0 && target.attribute == "emails" && wanted == "work" {
                            e.insert("primary".to_owned(), Value::Bool(true));
                        }
                        e.insert(key.clone(), Value::String(wanted.clone()));
                        e.insert(sub.clone(), item);
                        elements.push(Value::Object(e));
                    }
                }
            }
        }
    }
}
