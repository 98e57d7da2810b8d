//! Functions over multi-valued attributes, and the app-role assignments.

use super::Args;
use crate::expr::eval::{json_text, EvalError, Value};

pub(crate) fn call(args: &Args) -> Result<Value, EvalError> {
    let v = args.get(0);
    Ok(match args.name {
        // Null and empty sources are skipped (`Join(", ", "", [sn], [gn])` → "Doe, John"); a
        // multi-valued source contributes every value.
        "Join" => {
            let sep = args.text(0);
            let parts: Vec<String> = (1..args.values.len())
                .flat_map(|i| args.get(i).items())
                .filter(|s| !s.is_empty())
                .collect();
            Value::Str(parts.join(sep))
        }
        // 1-based; out of range → null.
        "Item" => {
            let i = args.int(1, "index")?;
            let items = v.items();
            usize::try_from(i)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.get(i))
                .map_or(Value::Null, |s| Value::Str(s.clone()))
        }
        "Count" => Value::Str(v.items().len().to_string()),
        // `.NET String.Split`: parts keep their spaces; the doc's example shows them trimmed.
        "Split" => match v.text() {
            None => Value::Null,
            Some(s) => {
                let delim = args.text(1);
                if delim.is_empty() {
                    Value::List(vec![s.to_owned()])
                } else {
                    Value::List(s.split(delim).map(str::to_owned).collect())
                }
            }
        },
        "RemoveDuplicates" => {
            let mut seen: Vec<String> = Vec::new();
            for s in v.items() {
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
            match v {
                Value::Null => Value::Null,
                Value::Str(_) => Value::from_items(seen),
                Value::List(_) => Value::List(seen),
            }
        }
        _ => return Err(args.error("not a multi-valued function")),
    })
}

/// The role name of one assignment: its `value`, else its `display`.
fn role_name(role: &serde_json::Value) -> Option<String> {
    match role {
        serde_json::Value::Object(o) => o
            .get("value")
            .or_else(|| o.get("display"))
            .and_then(json_text),
        other => json_text(other),
    }
}

/// `SingleAppRoleAssignment`: the primary role's name, else the first; the `…Complex` forms:
/// every role's name.
pub(crate) fn app_roles(name: &str, roles: &[serde_json::Value]) -> Value {
    if name == "SingleAppRoleAssignment" {
        let primary = roles.iter().find(|r| {
            r.get("primary").is_some_and(|p| {
                p == &serde_json::Value::Bool(true)
                    || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
            })
        });
        return primary
            .or(roles.first())
            .and_then(role_name)
            .map_or(Value::Null, Value::Str);
    }
    let names: Vec<String> = roles.iter().filter_map(role_name).collect();
    if names.is_empty() {
        Value::Null
    } else {
        Value::List(names)
    }
}
