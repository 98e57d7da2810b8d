//! Text → tokens. Attribute references are lexed whole: `[emails[type eq "work"].value]` is one
//! token, with nested brackets and quoted strings tracked up to the matching `]`.

use super::ast::{CompareOp, Span};
use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    LParen,
    RParen,
    Comma,
    Attr(String),
    Str(String),
    Number(String),
    Hex(i64),
    Ident(String),
    Op(CompareOp),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Attr(a) => format!("attribute `[{a}]`"),
            Tok::Str(_) => "a string".into(),
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Hex(_) => "a hex number".into(),
            Tok::Ident(i) => format!("`{i}`"),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::Eof => "end of input".into(),
        }
    }
}

pub fn lex(src: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        chars.next();
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Op(CompareOp::Eq),
            '<' => match chars.peek() {
                Some((_, '>')) => {
                    chars.next();
                    Tok::Op(CompareOp::Ne)
                }
                Some((_, '=')) => {
                    chars.next();
                    Tok::Op(CompareOp::Le)
                }
                _ => Tok::Op(CompareOp::Lt),
            },
            '>' => match chars.peek() {
                Some((_, '=')) => {
                    chars.next();
                    Tok::Op(CompareOp::Ge)
                }
                _ => Tok::Op(CompareOp::Gt),
            },
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.peek() {
                            Some(&(_, e @ ('"' | '\\'))) => {
                                chars.next();
                                s.push(e);
                            }
                            // Any other backslash is literal (regex patterns such as `\d`).
                            _ => s.push('\\'),
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(ParseError::new(
                        src,
                        "unterminated string",
                        start,
                        src.len(),
                    ));
                }
                Tok::Str(s)
            }
            '[' => {
                let mut depth = 1usize;
                let mut in_quote = false;
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    if in_quote {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => in_quote = false,
                            _ => {}
                        }
                        continue;
                    }
                    match c {
                        '"' => in_quote = true,
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return Err(ParseError::new(
                        src,
                        "unterminated attribute, expected `]`",
                        start,
                        src.len(),
                    ));
                };
                Tok::Attr(src.get(start + 1..end).unwrap_or_default().to_owned())
            }
            '&' => {
                if !matches!(chars.peek(), Some((_, 'H' | 'h'))) {
                    return Err(ParseError::new(
                        src,
                        "expected `&H` hex number",
                        start,
                        start + 1,
                    ));
                }
                chars.next();
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_hexdigit() {
                        digits.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let end = start + 2 + digits.len();
                match i64::from_str_radix(&digits, 16) {
                    Ok(v) => Tok::Hex(v),
                    Err(_) => {
                        return Err(ParseError::new(src, "invalid hex number", start, end));
                    }
                }
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut text = String::from(c);
                let mut seen_dot = false;
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() || (d == '.' && !seen_dot) {
                        seen_dot |= d == '.';
                        text.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let valid = text.parse::<f64>().is_ok()
                    && text
                        .trim_start_matches('-')
                        .starts_with(|d: char| d.is_ascii_digit())
                    && !text.ends_with('.');
                if !valid {
                    return Err(ParseError::new(
                        src,
                        "invalid number",
                        start,
                        start + text.len(),
                    ));
                }
                Tok::Number(text)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::from(c);
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        name.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                Tok::Ident(name)
            }
            other => {
                return Err(ParseError::new(
                    src,
                    &format!("unexpected character `{other}`"),
                    start,
                    start + other.len_utf8(),
                ));
            }
        };
        let end = chars.peek().map_or(src.len(), |&(i, _)| i);
        out.push((tok, Span::new(start, end)));
    }
    out.push((Tok::Eof, Span::new(src.len(), src.len())));
    Ok(out)
}
