//! Encodings and random values.

use base64::Engine as _;
use rand::seq::SliceRandom;
use rand::Rng;

use super::Args;
use crate::expr::eval::{EvalError, Value};

/// Longest `RandomString` (documented limit).
pub const MAX_RANDOM_LEN: i64 = 256;

const DIGITS: &str = "0123456789";
const SPECIAL: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

pub(crate) fn call(args: &Args) -> Result<Value, EvalError> {
    Ok(match args.name {
        // Base64 of the UTF-16LE ("Unicode") bytes, as .NET's Encoding.Unicode.
        "ConvertToBase64" => match args.get(0).text() {
            None => Value::Null,
            Some(s) => {
                let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
                Value::Str(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        },
        "ConvertToUTF8Hex" => match args.get(0).text() {
            None => Value::Null,
            Some(s) => Value::Str(s.bytes().map(|b| format!("{b:02X}")).collect()),
        },
        "Guid" => Value::Str(guid()),
        "RandomString" => random_string(args)?,
        _ => return Err(args.error("not an encoding function")),
    })
}

/// A random (version 4) GUID, lower-case with hyphens.
fn guid() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x40;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or("").to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// `RandomString(length, minNumbers, minSpecial, minCapital, minLower, charsToAvoid?)`.
fn random_string(args: &Args) -> Result<Value, EvalError> {
    let len = args.int(0, "length")?;
    let mins = [
        args.int(1, "minNumbers")?,
        args.int(2, "minSpecialCharacters")?,
        args.int(3, "minCapital")?,
        args.int(4, "minLower")?,
    ];
    if !(1..=MAX_RANDOM_LEN).contains(&len) {
        return Err(args.error(format!("length must be 1 to {MAX_RANDOM_LEN}, found {len}")));
    }
    if mins.iter().any(|m| *m < 0) || mins.iter().sum::<i64>() > len {
        return Err(args.error(format!(
            "the minimums {mins:?} must be non-negative and add up to at most {len}"
        )));
    }
    let avoid = args.text(5);
    let pool = |set: &str| -> Vec<char> { set.chars().filter(|c| !avoid.contains(*c)).collect() };
    let sets = [pool(DIGITS), pool(SPECIAL), pool(UPPER), pool(LOWER)];
    let mut rng = rand::thread_rng();
    let mut out = Vec::new();
    for (set, min) in sets.iter().zip(mins) {
        if min > 0 && set.is_empty() {
            return Err(args.error("charsToAvoid removes every character of a required class"));
        }
        for _ in 0..min {
            if let Some(c) = set.choose(&mut rng) {
                out.push(*c);
            }
        }
    }
    // The rest from the classes that were asked for (all of them when none was).
    let asked: Vec<char> = sets
        .iter()
        .zip(mins)
        .filter(|(_, m)| *m > 0)
        .flat_map(|(s, _)| s.iter().copied())
        .collect();
    let rest: Vec<char> = if asked.is_empty() {
        sets.iter().flatten().copied().collect()
    } else {
        asked
    };
    if rest.is_empty() {
        return Err(args.error("charsToAvoid removes every character"));
    }
    while (out.len() as i64) < len {
        if let Some(c) = rest.choose(&mut rng) {
            out.push(*c);
        }
    }
    out.shuffle(&mut rng);
    Ok(Value::Str(out.into_iter().collect()))
}
