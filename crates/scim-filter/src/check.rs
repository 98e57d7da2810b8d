//! The checker: rejects comparisons the schema makes meaningless, before evaluation.
//!
//! Unknown attributes pass: resources may carry attributes of extensions the server does not
//! describe, and a filter on them simply matches nothing.

use crate::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::ParseError;
use crate::{AttrType, SchemaInfo};

/// Rejects `gt`/`ge`/`lt`/`le` on Boolean and Binary attributes, and comparisons of complex
/// attributes with anything but a string (their `value`) or `null`.
pub fn check(filter: &Filter, schema: &dyn SchemaInfo) -> Result<(), ParseError> {
    walk(filter, None, schema)
}

fn walk(
    filter: &Filter,
    parent: Option<&AttrPath>,
    schema: &dyn SchemaInfo,
) -> Result<(), ParseError> {
    match filter {
        Filter::Present { .. } => Ok(()),
        Filter::Compare {
            attr,
            op,
            value,
            span,
        } => {
            let info = match parent {
                Some(p) => schema.attr_info(p.uri.as_deref(), &p.name, Some(&attr.name)),
                None => schema.attr_info(attr.uri.as_deref(), &attr.name, attr.sub.as_deref()),
            };
            let Some(info) = info else {
                return Ok(());
            };
            let ordering = matches!(
                op,
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            );
            let kind = match info.ty {
                AttrType::Boolean => Some("a boolean"),
                AttrType::Binary => Some("binary"),
                _ => None,
            };
            if let (true, Some(kind)) = (ordering, kind) {
                return Err(ParseError::new(
                    format!("`{attr}` is {kind}: {op} is not defined for it"),
                    *span,
                ));
            }
            if info.ty == AttrType::Complex
                && !matches!(value, CompValue::String(_) | CompValue::Null)
            {
                return Err(ParseError::new(
                    format!("`{attr}` is complex: it can only be compared with a string"),
                    *span,
                ));
            }
            Ok(())
        }
        Filter::ValuePath { attr, filter, .. } => walk(filter, Some(attr), schema),
        Filter::Not { filter, .. } => walk(filter, parent, schema),
        Filter::And(l, r) | Filter::Or(l, r) => {
            walk(l, parent, schema)?;
            walk(r, parent, schema)
        }
    }
}
