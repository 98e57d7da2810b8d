//! String functions. Null handling, per the table: `Left`, `Mid`, `Len`, `Append`, `Word`,
//! `InStr` and `CStr` read null as `""`; `ToLower`, `ToUpper`, `StripSpaces`, `PCase`,
//! `NormalizeDiacritics` and `Replace` (except its attribute-fallback mode) keep null as null,
//! so `Coalesce` and `IgnoreFlowIfNullOrEmpty` still see it.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::Args;
use crate::expr::eval::{EvalError, Value};

pub(crate) fn call(args: &Args) -> Result<Value, EvalError> {
    Ok(match args.name {
        "Append" => Value::Str(format!("{}{}", args.text(0), args.text(1))),
        "Left" => left(args)?,
        "Mid" => mid(args)?,
        "Len" => Value::Str(args.text(0).chars().count().to_string()),
        "Replace" => replace(args)?,
        "ToLower" => map(args.get(0), |s| s.to_lowercase()),
        "ToUpper" => map(args.get(0), |s| s.to_uppercase()),
        "StripSpaces" => map(args.get(0), |s| s.replace(' ', "")),
        "Word" => word(args)?,
        "InStr" => in_str(args)?,
        "PCase" => {
            let seps = args.given(1).then(|| args.text(1).to_owned());
            map(args.get(0), |s| pcase(s, seps.as_deref()))
        }
        "NormalizeDiacritics" => map(args.get(0), normalize_diacritics),
        "CStr" => Value::Str(args.text(0).to_owned()),
        // The value flows unchanged; `is_redacted` tells logs to hide it.
        "Redact" => args.get(0).clone(),
        _ => return Err(args.error("not a string function")),
    })
}

/// Applies `f` to each value; null stays null.
fn map(v: &Value, f: impl Fn(&str) -> String) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Str(s) => Value::Str(f(s)),
        Value::List(items) => Value::List(items.iter().map(|s| f(s)).collect()),
    }
}

/// `Left(s, n)`: n = 0 → ""; n < 0 → the input; null → ""; shorter → whole.
fn left(args: &Args) -> Result<Value, EvalError> {
    let s = args.text(0);
    let n = args.int(1, "numChars")?;
    Ok(Value::Str(if n < 0 {
        s.to_owned()
    } else {
        s.chars()
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .collect()
    }))
}

/// `Mid(s, start, length)`: 1-based; truncated at the end; a start before 1 counts from 1,
/// a negative length gives "".
fn mid(args: &Args) -> Result<Value, EvalError> {
    let s = args.text(0);
    let start = args.int(1, "start")?.max(1);
    let len = args.int(2, "length")?.max(0);
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(len).unwrap_or(usize::MAX);
    Ok(Value::Str(s.chars().skip(skip).take(take).collect()))
}

thread_local! {
    /// Compiled patterns by text: an expression's pattern is compiled once, not per user.
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Most patterns kept per thread; the cache starts over past this.
const REGEX_CACHE: usize = 64;

/// Calls `f` with `pattern` compiled, from the cache when it is there.
fn with_regex<T>(args: &Args, pattern: &str, f: impl FnOnce(&Regex) -> T) -> Result<T, EvalError> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(f(re));
        }
        let re = compile(args, pattern)?;
        if cache.len() >= REGEX_CACHE {
            cache.clear();
        }
        let out = f(&re);
        cache.insert(pattern.to_owned(), re);
        Ok(out)
    })
}

fn compile(args: &Args, pattern: &str) -> Result<Regex, EvalError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let e = e.to_string();
            let reason = e.lines().last().unwrap_or("").trim_start_matches("error: ");
            args.error(format!("invalid regex {pattern:?}: {reason}"))
        })
}

/// `Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
/// replacementAttributeName, template)`, in the documented modes (case-sensitive).
fn replace(args: &Args) -> Result<Value, EvalError> {
    let source = args.get(0);
    let given = |i| args.given(i);
    let (old, pattern, group, replacement, fallback, template) = (1, 2, 3, 4, 5, 6);
    if given(pattern) {
        return with_regex(args, args.text(pattern), |re| {
            if given(group) {
                let name = args.text(group);
                if given(fallback) && !given(replacement) {
                    // If the source has a value it wins; else the group of the other attribute.
                    if !source.is_null_or_empty() {
                        return source.clone();
                    }
                    let other = args.text(fallback);
                    return re
                        .captures(other)
                        .and_then(|c| c.name(name))
                        .map_or(Value::Null, |m| Value::str(m.as_str()));
                }
                let with = args.text(replacement);
                return map(source, |s| replace_group(re, s, name, with));
            }
            let with = args.text(replacement);
            map(source, |s| re.replace_all(s, with).into_owned())
        });
    }
    if given(old) {
        let needle = args.text(old);
        if given(template) && !given(replacement) {
            let tpl = args.text(template);
            return Ok(map(source, |s| {
                if needle.is_empty() {
                    tpl.to_owned()
                } else {
                    tpl.replace(needle, s)
                }
            }));
        }
        let with = args.text(replacement);
        return Ok(map(source, |s| {
            if needle.is_empty() {
                s.to_owned()
            } else {
                s.replace(needle, with)
            }
        }));
    }
    Err(args.error("give either oldValue or regexPattern"))
}

/// Replaces, in every match of `re`, the text of group `name` by `with`.
fn replace_group(re: &Regex, s: &str, name: &str, with: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        if let Some(m) = caps.name(name) {
            if m.start() < last {
                continue;
            }
            out.push_str(s.get(last..m.start()).unwrap_or(""));
            out.push_str(with);
            last = m.end();
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// `Word(s, n, delimiters)`: the n-th (1-based) non-empty word; "" when out of range.
fn word(args: &Args) -> Result<Value, EvalError> {
    let s = args.text(0);
    let n = args.int(1, "wordNumber")?;
    let delims: Vec<char> = args.text(2).chars().collect();
    if n < 1 {
        return Ok(Value::str(""));
    }
    let w = s
        .split(|c| delims.contains(&c))
        .filter(|w| !w.is_empty())
        .nth(usize::try_from(n - 1).unwrap_or(usize::MAX));
    Ok(Value::str(w.unwrap_or("")))
}

/// `InStr(haystack, needle, start?, compare?)`: 1-based character position, 0 when absent.
fn in_str(args: &Args) -> Result<Value, EvalError> {
    let hay: Vec<char> = args.text(0).chars().collect();
    let needle: Vec<char> = args.text(1).chars().collect();
    let start = if args.given(2) {
        args.int(2, "start")?
    } else {
        1
    };
    if start < 1 {
        return Err(args.error(format!("start must be 1 or more, found {start}")));
    }
    let text_compare = matches!(args.text(3).trim(), "vbTextCompare" | "1");
    let fold = |c: &char| {
        if text_compare {
            c.to_lowercase().next().unwrap_or(*c)
        } else {
            *c
        }
    };
    let hay: Vec<char> = hay.iter().map(fold).collect();
    let needle: Vec<char> = needle.iter().map(fold).collect();
    let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
    if from > hay.len() {
        return Ok(Value::str("0"));
    }
    if needle.is_empty() {
        return Ok(Value::Str(start.to_string()));
    }
    let pos = hay.get(from..).and_then(|rest| {
        rest.windows(needle.len())
            .position(|w| w == needle.as_slice())
    });
    Ok(Value::Str(pos.map_or(0, |p| p + from + 1).to_string()))
}

/// Title case: the first letter of each word upper, the rest lower. Words are separated by
/// `seps` when given, else by anything that is not a letter, digit or apostrophe.
fn pcase(s: &str, seps: Option<&str>) -> String {
    let is_sep = |c: char| match seps {
        Some(seps) => seps.contains(c),
        None => !(c.is_alphanumeric() || c == '\''),
    };
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if is_sep(c) {
            out.push(c);
            start = true;
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Letters that do not decompose into a base letter and marks.
const SPECIAL: &[(char, &str)] = &[
    ('æ', "ae"),
    ('Æ', "AE"),
    ('ø', "oe"),
    ('Ø', "OE"),
    ('œ', "oe"),
    ('Œ', "OE"),
    ('ß', "ss"),
    ('ẞ', "SS"),
    ('ł', "l"),
    ('Ł', "L"),
    ('đ', "d"),
    ('Đ', "D"),
    ('ð', "d"),
    ('Ð', "D"),
    ('þ', "th"),
    ('Þ', "TH"),
    ('ħ', "h"),
    ('Ħ', "H"),
    ('ı', "i"),
    ('ŀ', "l"),
    ('Ŀ', "L"),
    ('ŧ', "t"),
    ('Ŧ', "T"),
];

/// Diacritics removed: the special letters above, then canonical decomposition (NFD) without
/// the combining marks.
pub(crate) fn normalize_diacritics(s: &str) -> String {
    let mut mapped = String::with_capacity(s.len());
    for c in s.chars() {
        match SPECIAL.iter().find(|(k, _)| *k == c) {
            Some((_, r)) => mapped.push_str(r),
            None => mapped.push(c),
        }
    }
    mapped.nfd().filter(|c| !is_combining_mark(*c)).collect()
}
