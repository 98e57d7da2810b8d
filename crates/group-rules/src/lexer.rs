//! Tokens of a rule: words (`user.department`, `true`, `P1D`, hyphen-less operators), `-words`
//! (operators), strings, numbers and punctuation, each with its byte span.

use crate::ast::Span;
use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `-eq`, `-and`, `-plus`: the word after the hyphen.
    Dash(String),
    /// An unquoted word: property, keyword, hyphen-less operator, duration.
    Word(String),
    /// A quoted string (or a bare backtick-escaped value), unescaped.
    Str(String),
    /// A number, as written.
    Num(String),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '$'
}

pub(crate) fn lex(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        let single = |tok| Token {
            tok,
            span: Span::new(start, start + 1),
        };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' | ',' => {
                chars.next();
                out.push(single(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                }));
            }
            '"' | '\'' => {
                chars.next();
                let mut text = String::new();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    if c == '"' && ch == '`' {
                        // Backtick escapes the next character (`` `" `` is a quote).
                        match chars.next() {
                            Some((_, esc)) => text.push(esc),
                            None => break,
                        }
                    } else if ch == c {
                        if c == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                            chars.next();
                            text.push('\'');
                        } else {
                            end = Some(i + 1);
                            break;
                        }
                    } else {
                        text.push(ch);
                    }
                }
                let Some(end) = end else {
                    return Err(ParseError::new(
                        "unterminated string",
                        Span::new(start, input.len()),
                    ));
                };
                out.push(Token {
                    tok: Tok::Str(text),
                    span: Span::new(start, end),
                });
            }
            '`' => {
                // A bare value with backtick escapes: `` `"Sales`" `` is the string `"Sales"`.
                let mut text = String::new();
                let mut end = start;
                while let Some(&(i, ch)) = chars.peek() {
                    if ch.is_whitespace() || ch == ')' {
                        break;
                    }
                    chars.next();
                    end = i + ch.len_utf8();
                    if ch == '`' {
                        if let Some((j, esc)) = chars.next() {
                            text.push(esc);
                            end = j + esc.len_utf8();
                        }
                    } else {
                        text.push(ch);
                    }
                }
                out.push(Token {
                    tok: Tok::Str(text),
                    span: Span::new(start, end),
                });
            }
            '-' => {
                chars.next();
                let mut end = start + 1;
                let numeric = chars.peek().is_some_and(|&(_, n)| n.is_ascii_digit());
                let mut text = String::new();
                while let Some(&(i, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    chars.next();
                    text.push(ch);
                    end = i + ch.len_utf8();
                }
                let span = Span::new(start, end);
                if text.is_empty() {
                    return Err(ParseError::new("expected an operator after `-`", span));
                }
                let tok = if numeric {
                    Tok::Num(format!("-{text}"))
                } else {
                    Tok::Dash(text)
                };
                out.push(Token { tok, span });
            }
            c if is_word_char(c) => {
                let mut end = start;
                let mut text = String::new();
                while let Some(&(i, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    chars.next();
                    text.push(ch);
                    end = i + ch.len_utf8();
                }
                let numeric =
                    text.parse::<f64>().is_ok() && text.starts_with(|c: char| c.is_ascii_digit());
                let tok = if numeric {
                    Tok::Num(text)
                } else {
                    Tok::Word(text)
                };
                out.push(Token {
                    tok,
                    span: Span::new(start, end),
                });
            }
            other => {
                return Err(ParseError::new(
                    format!("unexpected character `{other}`"),
                    Span::new(start, start + other.len_utf8()),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(input.len(), input.len()),
    });
    Ok(out)
}
