//! Tests and conversions to the booleans `"True"`/`"False"`, and `BitAnd`.

use super::{parse_int, Args};
use crate::expr::eval::{truthy, EvalError, Value};

pub(crate) fn call(args: &Args) -> Result<Value, EvalError> {
    let v = args.get(0);
    Ok(match args.name {
        // "True" (any case) → "False"; anything else, null included → "True".
        "Not" => Value::bool(
            !v.text()
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
        ),
        "CBool" => Value::bool(truthy(v.text_or_empty())),
        "IsNull" => Value::bool(*v == Value::Null),
        "IsNullOrEmpty" => Value::bool(v.is_null_or_empty()),
        "IsPresent" => Value::bool(!v.is_null_or_empty()),
        // A single value is a string; null and multi-valued attributes are not.
        "IsString" => Value::bool(matches!(v, Value::Str(_))),
        "BitAnd" => {
            let a = parse_int(args.text(0).trim());
            let b = parse_int(args.text(1).trim());
            match (a, b) {
                (Some(a), Some(b)) => Value::Str((a & b).to_string()),
                _ => {
                    return Err(args.error(format!(
                        "both values must be integers, found {:?} and {:?}",
                        args.text(0),
                        args.text(1)
                    )))
                }
            }
        }
        _ => return Err(args.error("not a logic function")),
    })
}
