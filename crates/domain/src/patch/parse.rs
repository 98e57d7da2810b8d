//! PatchOp request body → [`PatchOp`]s.

use serde_json::{Map, Value};

use super::{PatchOp, PatchOpKind};
use crate::{Error, Result};

/// Parses a PatchOp request body (RFC 7644 §3.5.2).
///
/// Lenient where clients differ: `op` in any case (`Add`, `REPLACE`), the `Operations` key in any
/// case, `schemas` may be missing (but if present must name the PatchOp URN), an empty `path`
/// means no path.
///
/// Errors: [`Error::InvalidSyntax`] for a body that is not an object, has no `Operations` array,
/// or holds an op other than add/remove/replace; [`Error::InvalidPath`] for a path that does not
/// parse; [`Error::InvalidValue`] for add/replace without `value` (or path-less with a non-object
/// value); [`Error::NoTarget`] for remove without a path (RFC 7644 §3.5.2.2).
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOp>> {
    let Value::Object(body) = body else {
        return Err(Error::InvalidSyntax(
            "a PATCH body must be a JSON object".into(),
        ));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let names_patch_op = |s: &Value| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(scim_proto::PATCH_OP))
        };
        let ok = match schemas {
            Value::Array(items) => items.iter().any(names_patch_op),
            other => names_patch_op(other),
        };
        if !ok {
            return Err(Error::InvalidSyntax(format!(
                "`schemas` must contain `{}`",
                scim_proto::PATCH_OP
            )));
        }
    }
    let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
        return Err(Error::InvalidSyntax(
            "a PATCH body needs an `Operations` array".into(),
        ));
    };
    ops.iter()
        .enumerate()
        .map(|(index, op)| parse_op(index, op))
        .collect()
}

fn parse_op(index: usize, op: &Value) -> Result<PatchOp> {
    let Value::Object(op) = op else {
        return Err(Error::InvalidSyntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let kind = match get_ci(op, "op") {
        Some(Value::String(name)) => match name.to_ascii_lowercase().as_str() {
            "add" => PatchOpKind::Add,
            "remove" => PatchOpKind::Remove,
            "replace" => PatchOpKind::Replace,
            _ => {
                return Err(Error::InvalidSyntax(format!(
                    "unknown PATCH op `{name}` in Operations[{index}]"
                )))
            }
        },
        _ => {
            return Err(Error::InvalidSyntax(format!(
                "missing `op` in Operations[{index}]"
            )))
        }
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(scim_filter::parse_path(p).map_err(|e| {
            Error::InvalidPath(format!("invalid path `{p}` in Operations[{index}]: {e}"))
        })?),
        Some(_) => {
            return Err(Error::InvalidPath(format!(
                "`path` in Operations[{index}] must be a string"
            )))
        }
    };
    let value = get_ci(op, "value").cloned();
    match kind {
        PatchOpKind::Add | PatchOpKind::Replace => match (&path, &value) {
            (_, None) => {
                return Err(Error::InvalidValue(format!(
                    "{} in Operations[{index}] needs a `value`",
                    kind.as_str()
                )))
            }
            (None, Some(v)) if !v.is_object() => {
                return Err(Error::InvalidValue(format!(
                    "{} without a path in Operations[{index}] needs an object `value`",
                    kind.as_str()
                )))
            }
            _ => {}
        },
        PatchOpKind::Remove if path.is_none() => {
            return Err(Error::NoTarget(format!(
                "remove needs a path (Operations[{index}])"
            )))
        }
        PatchOpKind::Remove => {}
    }
    Ok(PatchOp {
        op: kind,
        path,
        value,
    })
}

/// A key looked up case-insensitively (exact spelling first).
pub(super) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}
