//! The strict functions of spec §2.3 (those that evaluate every argument), by family. The lazy
//! ones (`IIF`, `Switch`, `Coalesce`, `IgnoreFlowIfNullOrEmpty`, `SelectUniqueValue`) live in
//! the evaluator.

pub(crate) mod dates;
pub(crate) mod encoding;
pub(crate) mod logic;
pub(crate) mod multi;
pub(crate) mod strings;

use super::ast::Span;
use super::eval::{Context, EvalError, Value};

/// A call's evaluated arguments; `None` for an empty positional argument.
pub(crate) struct Args<'a> {
    pub name: &'a str,
    pub span: Span,
    pub values: Vec<Option<Value>>,
}

impl Args<'_> {
    /// Argument `i`, null when empty or absent.
    pub fn get(&self, i: usize) -> &Value {
        self.values
            .get(i)
            .and_then(Option::as_ref)
            .unwrap_or(&Value::Null)
    }

    /// Whether argument `i` was written (even as `""`).
    pub fn given(&self, i: usize) -> bool {
        self.values.get(i).is_some_and(Option::is_some)
    }

    /// The text of argument `i`, null as `""`.
    pub fn text(&self, i: usize) -> &str {
        self.get(i).text_or_empty()
    }

    pub fn error(&self, message: impl std::fmt::Display) -> EvalError {
        EvalError::new(format!("`{}`: {message}", self.name), self.span)
    }

    /// Argument `i` as an integer (decimal, `&H` hex, or a decimal number truncated).
    pub fn int(&self, i: usize, what: &str) -> Result<i64, EvalError> {
        let text = self.text(i).trim();
        parse_int(text)
            .ok_or_else(|| self.error(format!("{what} must be a number, found {text:?}")))
    }
}

pub(crate) fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("&H").or_else(|| text.strip_prefix("&h")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(i);
    }
    let f = text.parse::<f64>().ok()?;
    (f.is_finite() && f.abs() < 9.0e18).then_some(f.trunc() as i64)
}

pub(crate) fn call(args: &Args, ctx: &Context) -> Result<Value, EvalError> {
    match args.name {
        "Append"
        | "Left"
        | "Mid"
        | "Len"
        | "Replace"
        | "ToLower"
        | "ToUpper"
        | "StripSpaces"
        | "Word"
        | "InStr"
        | "PCase"
        | "NormalizeDiacritics"
        | "CStr"
        | "Redact" => strings::call(args),
        "Not" | "CBool" | "IsNull" | "IsNullOrEmpty" | "IsPresent" | "IsString" | "BitAnd" => {
            logic::call(args)
        }
        "Join" | "Item" | "Count" | "Split" | "RemoveDuplicates" => multi::call(args),
        "ConvertToBase64" | "ConvertToUTF8Hex" | "Guid" | "RandomString" => encoding::call(args),
        "CDate" | "DateAdd" | "DateDiff" | "Now" | "FormatDateTime" | "DateFromNum"
        | "NumFromDate" => dates::call(args, ctx),
        "DefaultDomain" => ctx
            .default_domain
            .clone()
            .map(Value::Str)
            .ok_or_else(|| args.error("the tenant has no default domain configured")),
        other => Err(args.error(match super::signatures::suggest(other) {
            Some(right) if right != other => format!("unknown function; did you mean `{right}`?"),
            _ => "unknown function".to_owned(),
        })),
    }
}
