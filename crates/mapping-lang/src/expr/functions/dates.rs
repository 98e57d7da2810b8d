//! Dates. Entra prints them in UTC as `M/d/yyyy h:mm:ss tt` (CDate, Now, DateAdd, DateFromNum);
//! `FormatDateTime` speaks a subset of .NET's custom format strings; `DateDiff` counts calendar
//! boundaries as VB does (`"m"` between 8/25 and 9/1 is 1).

use std::sync::LazyLock;

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{Span, Timestamp};
use regex::Regex;

use super::Args;
use crate::expr::eval::{Context, EvalError, Value};

/// Seconds from 1601-01-01 (Windows FILETIME epoch) to 1970-01-01.
const FILETIME_EPOCH: i128 = 11_644_473_600;

pub(crate) fn call(args: &Args, ctx: &Context) -> Result<Value, EvalError> {
    Ok(match args.name {
        "Now" => Value::Str(format_us(ctx.now)),
        "CDate" => match args.get(0).text() {
            None => Value::Null,
            Some(s) => Value::Str(format_us(date_arg(args, s)?)),
        },
        "DateAdd" => date_add(args)?,
        "DateDiff" => date_diff(args)?,
        "DateFromNum" => {
            let n: i128 =
                args.text(0).trim().parse().map_err(|_| {
                    args.error(format!("{:?} is not a FILETIME number", args.text(0)))
                })?;
            let nanos = (n - FILETIME_EPOCH * 10_000_000).saturating_mul(100);
            let ts = Timestamp::from_nanosecond(nanos)
                .map_err(|_| args.error(format!("{n} is out of range")))?;
            Value::Str(format_us(ts))
        }
        "NumFromDate" => match args.get(0).text() {
            None => Value::Null,
            Some(s) => {
                let ts = date_arg(args, s)?;
                let ticks = (ts.as_nanosecond() / 100) + FILETIME_EPOCH * 10_000_000;
                Value::Str(ticks.to_string())
            }
        },
        "FormatDateTime" => format_date_time(args)?,
        _ => return Err(args.error("not a date function")),
    })
}

fn date_arg(args: &Args, s: &str) -> Result<Timestamp, EvalError> {
    parse_date(s).ok_or_else(|| args.error(format!("{s:?} is not a date")))
}

/// `M/d/yyyy h:mm:ss tt` in UTC.
pub(crate) fn format_us(ts: Timestamp) -> String {
    let dt = Offset::UTC.to_datetime(ts);
    let h = dt.hour();
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    let tt = if h < 12 { "AM" } else { "PM" };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        dt.month(),
        dt.day(),
        dt.year(),
        h12,
        dt.minute(),
        dt.second(),
        tt
    )
}

static ISO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .ok()
});

static US: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .ok()
});

/// Parses the date forms seen in Entra: ISO 8601 dates and date-times with or without an
/// offset (`2020-03-16-07:00`, `2009-06-15T01:45:30-07:00`), and Entra's own
/// `M/d/yyyy h:mm:ss tt`. Without an offset the time is UTC.
pub(crate) fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let num = |c: &regex::Captures, i: usize| -> Option<i64> {
        c.get(i).map_or(Some(0), |m| m.as_str().parse().ok())
    };
    let (y, mo, d, mut h, mi, sec, frac, ampm, off);
    if let Some(c) = ISO.as_ref().and_then(|re| re.captures(s)) {
        (y, mo, d) = (num(&c, 1)?, num(&c, 2)?, num(&c, 3)?);
        (h, mi, sec) = (num(&c, 4)?, num(&c, 5)?, num(&c, 6)?);
        frac = c.get(7).map(|m| m.as_str().to_owned());
        ampm = None;
        off = c.get(8).map(|m| m.as_str().to_owned());
    } else if let Some(c) = US.as_ref().and_then(|re| re.captures(s)) {
        (mo, d, y) = (num(&c, 1)?, num(&c, 2)?, num(&c, 3)?);
        (h, mi, sec) = (num(&c, 4)?, num(&c, 5)?, num(&c, 6)?);
        frac = None;
        ampm = c.get(7).map(|m| m.as_str().to_ascii_uppercase());
        off = c.get(8).map(|m| m.as_str().to_owned());
    } else {
        return None;
    }
    match ampm.as_deref() {
        Some("AM") if h == 12 => h = 0,
        Some("PM") if h < 12 => h += 12,
        _ => {}
    }
    let nanos = frac.map_or(Some(0), |f| {
        format!("{f:0<9}")
            .get(..9)
            .and_then(|f| f.parse::<i32>().ok())
    })?;
    let dt = DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(sec).ok()?,
        nanos,
    )
    .ok()?;
    let offset = match off.as_deref() {
        None | Some("Z" | "z") => Offset::UTC,
        Some(o) => parse_offset(o)?,
    };
    offset.to_timestamp(dt).ok()
}

/// `+hh`, `+hhmm`, `+hh:mm`.
fn parse_offset(o: &str) -> Option<Offset> {
    let sign = if o.starts_with('-') { -1 } else { 1 };
    let digits: String = o.chars().filter(char::is_ascii_digit).collect();
    let hh: i32 = digits.get(..2)?.parse().ok()?;
    let mm: i32 = digits
        .get(2..)
        .filter(|m| !m.is_empty())
        .map_or(Some(0), |m| m.parse().ok())?;
    Offset::from_seconds(sign * (hh * 3600 + mm * 60)).ok()
}

fn interval_span(args: &Args, interval: &str, n: i64) -> Result<Span, EvalError> {
    let span = match interval {
        "yyyy" => Span::new().try_years(n),
        "q" => Span::new().try_months(n.saturating_mul(3)),
        "m" => Span::new().try_months(n),
        "y" | "d" | "w" => Span::new().try_days(n),
        "ww" => Span::new().try_weeks(n),
        "h" => Span::new().try_hours(n),
        "n" => Span::new().try_minutes(n),
        "s" => Span::new().try_seconds(n),
        other => return Err(args.error(format!("unknown interval {other:?}"))),
    };
    span.map_err(|_| args.error(format!("{n} is out of range")))
}

/// `DateAdd(interval, n, date)`.
fn date_add(args: &Args) -> Result<Value, EvalError> {
    let interval = args.text(0).trim().to_owned();
    let n = args.int(1, "value")?;
    let Some(date) = args.get(2).text() else {
        return Ok(Value::Null);
    };
    let ts = date_arg(args, date)?;
    let span = interval_span(args, &interval, n)?;
    let dt = Offset::UTC
        .to_datetime(ts)
        .checked_add(span)
        .map_err(|_| args.error("the result is out of range"))?;
    let ts = Offset::UTC
        .to_timestamp(dt)
        .map_err(|_| args.error("the result is out of range"))?;
    Ok(Value::Str(format_us(ts)))
}

/// `DateDiff(interval, date1, date2)`: date2 − date1 in calendar boundaries crossed.
fn date_diff(args: &Args) -> Result<Value, EvalError> {
    let interval = args.text(0).trim().to_owned();
    let (Some(a), Some(b)) = (args.get(1).text(), args.get(2).text()) else {
        return Ok(Value::Null);
    };
    let (t1, t2) = (date_arg(args, a)?, date_arg(args, b)?);
    let (d1, d2) = (Offset::UTC.to_datetime(t1), Offset::UTC.to_datetime(t2));
    let (s1, s2) = (t1.as_second(), t2.as_second());
    let day = |s: i64| s.div_euclid(86_400);
    let months = |d: DateTime| i64::from(d.year()) * 12 + i64::from(d.month()) - 1;
    let diff = match interval.as_str() {
        "yyyy" => i64::from(d2.year()) - i64::from(d1.year()),
        "q" => months(d2).div_euclid(3) - months(d1).div_euclid(3),
        "m" => months(d2) - months(d1),
        "y" | "d" => day(s2) - day(s1),
        "w" => (day(s2) - day(s1)) / 7,
        // Sundays crossed: 1970-01-04 was a Sunday.
        "ww" => (day(s2) + 4).div_euclid(7) - (day(s1) + 4).div_euclid(7),
        "h" => s2.div_euclid(3600) - s1.div_euclid(3600),
        "n" => s2.div_euclid(60) - s1.div_euclid(60),
        "s" => s2 - s1,
        other => return Err(args.error(format!("unknown interval {other:?}"))),
    };
    Ok(Value::Str(diff.to_string()))
}

/// One piece of a .NET custom date format.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Year(usize),
    Month(usize),
    Day(usize),
    Hour24(usize),
    Hour12(usize),
    Minute(usize),
    Second(usize),
    /// `f…` (exact digits) or `F…` (optional).
    Fraction(usize, bool),
    AmPm(usize),
    Offset(usize),
    /// `K`: `Z` for UTC, else `+hh:mm`.
    Kind,
    Lit(char),
}

fn pieces(format: &str) -> Vec<Piece> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|&&x| x == c).count());
        let piece = match c {
            'y' => Piece::Year(run),
            'M' => Piece::Month(run),
            'd' => Piece::Day(run),
            'H' => Piece::Hour24(run),
            'h' => Piece::Hour12(run),
            'm' => Piece::Minute(run),
            's' => Piece::Second(run),
            'f' => Piece::Fraction(run, false),
            'F' => Piece::Fraction(run, true),
            't' => Piece::AmPm(run),
            'z' => Piece::Offset(run),
            'K' => Piece::Kind,
            '\'' | '"' => {
                let mut j = i + 1;
                while let Some(&l) = chars.get(j) {
                    if l == c {
                        break;
                    }
                    out.push(Piece::Lit(l));
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            '\\' => {
                if let Some(&l) = chars.get(i + 1) {
                    out.push(Piece::Lit(l));
                }
                i += 2;
                continue;
            }
            other => {
                out.push(Piece::Lit(other));
                i += 1;
                continue;
            }
        };
        out.push(piece);
        i += if c == 'K' { 1 } else { run };
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A parsed date: its wall-clock time and offset.
struct Parsed {
    dt: DateTime,
    offset: Offset,
}

fn take_digits(s: &[char], pos: &mut usize, min: usize, max: usize) -> Option<i64> {
    let digits: String = s
        .get(*pos..)?
        .iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.len() < min {
        return None;
    }
    *pos += digits.len();
    digits.parse().ok()
}

fn parse_with(input: &str, format: &str) -> Option<Parsed> {
    let s: Vec<char> = input.trim().chars().collect();
    let mut pos = 0;
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut nanos) = (1i64, 1, 1, 0, 0, 0, 0i64);
    let mut pm = None;
    let mut offset = Offset::UTC;
    for piece in pieces(format) {
        match piece {
            Piece::Year(n) => {
                let v = take_digits(&s, &mut pos, n.min(4), n.max(4))?;
                y = if n <= 2 {
                    if v <= 29 {
                        2000 + v
                    } else {
                        1900 + v
                    }
                } else {
                    v
                };
            }
            Piece::Month(n) if n >= 3 => {
                let rest: String = s.get(pos..)?.iter().collect();
                let (i, name) = MONTHS.iter().enumerate().find_map(|(i, m)| {
                    let name = if n == 3 { m.get(..3)? } else { m };
                    rest.to_lowercase()
                        .starts_with(&name.to_lowercase())
                        .then_some((i, name))
                })?;
                mo = i as i64 + 1;
                pos += name.chars().count();
            }
            Piece::Month(n) => mo = take_digits(&s, &mut pos, n, 2)?,
            Piece::Day(n) => d = take_digits(&s, &mut pos, n.min(2), 2)?,
            Piece::Hour24(n) | Piece::Hour12(n) => h = take_digits(&s, &mut pos, n, 2)?,
            Piece::Minute(n) => mi = take_digits(&s, &mut pos, n, 2)?,
            Piece::Second(n) => sec = take_digits(&s, &mut pos, n, 2)?,
            Piece::Fraction(n, optional) => {
                let min = if optional { 0 } else { n };
                let before = pos;
                let v = take_digits(&s, &mut pos, min, n).unwrap_or(0);
                let len = u32::try_from(pos - before).ok()?;
                nanos = v * 10i64.pow(9u32.checked_sub(len)?);
            }
            Piece::AmPm(_) => {
                let rest: String = s.get(pos..)?.iter().take(2).collect();
                let upper = rest.to_ascii_uppercase();
                if upper.starts_with("AM") || upper.starts_with("PM") {
                    pm = Some(upper.starts_with("PM"));
                    pos += 2;
                } else {
                    return None;
                }
            }
            Piece::Offset(_) | Piece::Kind => {
                let rest: String = s.get(pos..)?.iter().collect();
                if rest.starts_with('Z') {
                    pos += 1;
                } else if rest.starts_with(['+', '-']) {
                    let len = rest
                        .chars()
                        .skip(1)
                        .take_while(|c| c.is_ascii_digit() || *c == ':')
                        .count()
                        .min(5);
                    offset = parse_offset(rest.get(..len + 1)?)?;
                    pos += len + 1;
                } else if piece != Piece::Kind {
                    return None;
                }
            }
            Piece::Lit(c) => {
                if s.get(pos) == Some(&c) {
                    pos += 1;
                } else if c.is_whitespace() {
                    // Literal blanks are optional (AllowInnerWhite-like leniency).
                } else {
                    return None;
                }
            }
        }
    }
    if pos != s.len() {
        return None;
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let dt = DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(sec).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()?;
    Some(Parsed { dt, offset })
}

fn format_with(p: &Parsed, format: &str) -> String {
    let dt = p.dt;
    let mut out = String::new();
    let pad = |v: i64, n: usize| format!("{v:0n$}");
    for piece in pieces(format) {
        let h = i64::from(dt.hour());
        match piece {
            Piece::Year(n) if n <= 2 => out.push_str(&pad(i64::from(dt.year()) % 100, n)),
            Piece::Year(n) => out.push_str(&pad(i64::from(dt.year()), n)),
            Piece::Month(n) if n >= 3 => {
                let name = MONTHS
                    .get(usize::try_from(dt.month() - 1).unwrap_or(0))
                    .copied()
                    .unwrap_or("");
                out.push_str(if n == 3 {
                    name.get(..3).unwrap_or(name)
                } else {
                    name
                });
            }
            Piece::Month(n) => out.push_str(&pad(i64::from(dt.month()), n.min(2))),
            Piece::Day(n) if n >= 3 => {
                let name = format!("{:?}", dt.weekday());
                out.push_str(if n == 3 {
                    name.get(..3).unwrap_or(&name)
                } else {
                    &name
                });
            }
            Piece::Day(n) => out.push_str(&pad(i64::from(dt.day()), n)),
            Piece::Hour24(n) => out.push_str(&pad(h, n.min(2))),
            Piece::Hour12(n) => {
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                out.push_str(&pad(h12, n.min(2)));
            }
            Piece::Minute(n) => out.push_str(&pad(i64::from(dt.minute()), n.min(2))),
            Piece::Second(n) => out.push_str(&pad(i64::from(dt.second()), n.min(2))),
            Piece::Fraction(n, optional) => {
                let digits = format!("{:09}", dt.subsec_nanosecond());
                let mut f = digits.get(..n.min(9)).unwrap_or("").to_owned();
                if optional {
                    f = f.trim_end_matches('0').to_owned();
                }
                out.push_str(&f);
            }
            Piece::AmPm(n) => {
                let tt = if h < 12 { "AM" } else { "PM" };
                out.push_str(if n == 1 {
                    tt.get(..1).unwrap_or(tt)
                } else {
                    tt
                });
            }
            Piece::Offset(n) => {
                let secs = p.offset.seconds();
                let sign = if secs < 0 { '-' } else { '+' };
                let (hh, mm) = (secs.abs() / 3600, (secs.abs() % 3600) / 60);
                match n {
                    1 => out.push_str(&format!("{sign}{hh}")),
                    2 => out.push_str(&format!("{sign}{hh:02}")),
                    _ => out.push_str(&format!("{sign}{hh:02}:{mm:02}")),
                }
            }
            Piece::Kind => {
                let secs = p.offset.seconds();
                if secs == 0 {
                    out.push('Z');
                } else {
                    let sign = if secs < 0 { '-' } else { '+' };
                    let (hh, mm) = (secs.abs() / 3600, (secs.abs() % 3600) / 60);
                    out.push_str(&format!("{sign}{hh:02}:{mm:02}"));
                }
            }
            Piece::Lit(c) => out.push(c),
        }
    }
    out
}

/// `FormatDateTime(source, dateTimeStyles?, inputFormat, outputFormat)`: the wall-clock time
/// as parsed is printed, offset and all (no conversion).
fn format_date_time(args: &Args) -> Result<Value, EvalError> {
    let (input, output) = if args.values.len() == 4 {
        (args.text(2), args.text(3))
    } else {
        (args.text(1), args.text(2))
    };
    let Some(source) = args.get(0).text() else {
        return Ok(Value::Null);
    };
    let parsed = parse_with(source, input)
        .ok_or_else(|| args.error(format!("{source:?} does not match the format {input:?}")))?;
    Ok(Value::Str(format_with(&parsed, output)))
}
