//! One attribute mapping (spec §2.1): where a target attribute's value comes from, its default
//! when the source is null, and whether it applies on updates.

use super::ast::{Expr, ExprKind, Span};
use super::eval::{eval_with, Context, EvalError, Output, Resolved, Value};

/// Where the value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingKind {
    /// Copy a source attribute (an Entra name or SCIM path, as in `[name]`).
    Direct { source: String },
    /// A fixed string.
    Constant { value: String },
    /// An expression, parsed (and checked) beforehand.
    Expression { expr: Expr },
    /// Leave the target alone; only the default is written, on create.
    None,
}

impl MappingKind {
    /// The kind a mapping's settings describe: exactly one of a source attribute, an expression
    /// (parsed and checked here) or a constant, or none of them when the mapping only has a
    /// default. The error says what is wrong, for the settings' own error message.
    pub fn from_settings(
        source: Option<&str>,
        expression: Option<&str>,
        constant: Option<&str>,
        has_default: bool,
    ) -> Result<MappingKind, String> {
        match (source, expression, constant) {
            (Some(source), None, None) => Ok(MappingKind::Direct {
                source: source.to_owned(),
            }),
            (None, Some(text), None) => {
                let expr = super::parse(text).map_err(|e| format!("expression: {e}"))?;
                super::check(&expr, &super::Env::default()).map_err(|errors| {
                    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    format!("expression: {}", list.join("; "))
                })?;
                Ok(MappingKind::Expression { expr })
            }
            (None, None, Some(value)) => Ok(MappingKind::Constant {
                value: value.to_owned(),
            }),
            (None, None, None) if has_default => Ok(MappingKind::None),
            _ => Err("give exactly one of `source`, `expression` or `constant`".to_owned()),
        }
    }
}

/// When the mapping runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Apply {
    /// On create and on update.
    #[default]
    Always,
    /// "Only during object creation".
    OnCreateOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub kind: MappingKind,
    /// The target attribute path, e.g. `emails[type eq "work"].value`.
    pub target: String,
    /// Written when the source is null — on create only, as documented.
    pub default_if_null: Option<String>,
    pub apply: Apply,
}

/// The value to write to `mapping.target`, or `None` for no write: an `OnCreateOnly` mapping
/// on update, an `IgnoreFlowIfNullOrEmpty` that found nothing, or a null source without a
/// default to use (the service never provisions null).
pub fn evaluate(
    mapping: &Mapping,
    ctx: &Context,
    creating: bool,
) -> Result<Option<Value>, EvalError> {
    evaluate_with(mapping, None, None, ctx, creating)
}

/// A mapping prepared for evaluating over many users: its attributes resolved (paths parsed)
/// once, so [`evaluate_prepared`] does no resolving per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub mapping: Mapping,
    /// A `Direct` mapping's source as the expression `[source]`.
    direct: Option<Expr>,
    sources: Resolved,
}

/// Prepares `mapping` for [`evaluate_prepared`].
pub fn prepare(mapping: Mapping) -> Prepared {
    let mut sources = Resolved::default();
    let direct = match &mapping.kind {
        MappingKind::Direct { source } => Some(attr_expr(source)),
        _ => None,
    };
    if let Some(e) = &direct {
        sources.add_all(e);
    }
    if let MappingKind::Expression { expr } = &mapping.kind {
        sources.add_all(expr);
    }
    Prepared {
        mapping,
        direct,
        sources,
    }
}

/// What [`evaluate`] gives for `prepared.mapping`, without resolving attributes again.
pub fn evaluate_prepared(
    prepared: &Prepared,
    ctx: &Context,
    creating: bool,
) -> Result<Option<Value>, EvalError> {
    evaluate_with(
        &prepared.mapping,
        prepared.direct.as_ref(),
        Some(&prepared.sources),
        ctx,
        creating,
    )
}

fn attr_expr(source: &str) -> Expr {
    Expr {
        kind: ExprKind::Attr(source.to_owned()),
        span: Span::default(),
    }
}

fn evaluate_with(
    mapping: &Mapping,
    direct: Option<&Expr>,
    sources: Option<&Resolved>,
    ctx: &Context,
    creating: bool,
) -> Result<Option<Value>, EvalError> {
    if mapping.apply == Apply::OnCreateOnly && !creating {
        return Ok(None);
    }
    let value = match &mapping.kind {
        MappingKind::Constant { value } => Value::Str(value.clone()),
        MappingKind::Direct { source } => {
            let built;
            let attr = match direct {
                Some(e) => e,
                None => {
                    built = attr_expr(source);
                    &built
                }
            };
            match eval_with(attr, sources, ctx)? {
                Output::Value(v) => v,
                Output::IgnoreFlow => return Ok(None),
            }
        }
        MappingKind::Expression { expr } => match eval_with(expr, sources, ctx)? {
            Output::Value(v) => v,
            Output::IgnoreFlow => return Ok(None),
        },
        MappingKind::None => Value::Null,
    };
    if value != Value::Null {
        return Ok(Some(value));
    }
    Ok(match (&mapping.default_if_null, creating) {
        (Some(default), true) => Some(Value::Str(default.clone())),
        _ => None,
    })
}
