//! Splits filter and path text into tokens with byte spans.
//!
//! Keywords (`and`, `eq`, `not`, …) are not decided here: they are plain words, and the parser
//! reads them by position, case-insensitively. That keeps an attribute that happens to be named
//! like an operator parseable and keeps the lexer free of grammar.

use crate::ast::Span;
use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A run of characters that are neither whitespace nor one of `()[]"`: an attribute path,
    /// an operator, a keyword, or an unquoted value.
    Word(String),
    /// A double-quoted string with its JSON escapes decoded.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// How the token is quoted in an error message.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Word(w) => format!("`{w}`"),
            TokenKind::Str(_) => "a string".to_owned(),
            TokenKind::LParen => "`(`".to_owned(),
            TokenKind::RParen => "`)`".to_owned(),
            TokenKind::LBracket => "`[`".to_owned(),
            TokenKind::RBracket => "`]`".to_owned(),
            TokenKind::Eof => "the end of the input".to_owned(),
        }
    }
}

fn is_delimiter(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '"')
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// Tokenizes `input`; the last token is always `Eof` at `input.len()`.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '[' => Some(TokenKind::LBracket),
            ']' => Some(TokenKind::RBracket),
            _ => None,
        };
        if let Some(kind) = single {
            chars.next();
            tokens.push(Token {
                kind,
                span: Span {
                    start,
                    end: start + 1,
                },
            });
            continue;
        }
        if c == '"' {
            chars.next();
            let (text, end) = string(&mut chars, start)?;
            tokens.push(Token {
                kind: TokenKind::Str(text),
                span: Span { start, end },
            });
            continue;
        }
        let mut word = String::new();
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || is_delimiter(c) {
                break;
            }
            word.push(c);
            end = i + c.len_utf8();
            chars.next();
        }
        tokens.push(Token {
            kind: TokenKind::Word(word),
            span: Span { start, end },
        });
    }
    let len = input.len();
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span {
            start: len,
            end: len,
        },
    });
    Ok(tokens)
}

/// The rest of a string literal after its opening quote at `start`; returns the decoded text
/// and the end of the closing quote.
fn string(chars: &mut Chars<'_>, start: usize) -> Result<(String, usize), ParseError> {
    let unterminated = |end: usize| ParseError::new("unterminated string", Span { start, end });
    let mut text = String::new();
    let mut last = start + 1;
    loop {
        let Some((i, c)) = chars.next() else {
            return Err(unterminated(last));
        };
        last = i + c.len_utf8();
        match c {
            '"' => return Ok((text, last)),
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    return Err(unterminated(last));
                };
                last = j + e.len_utf8();
                let decoded = match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => unicode_escape(chars, i, &mut last)?,
                    other => {
                        return Err(ParseError::new(
                            format!("invalid escape `\\{other}`"),
                            Span {
                                start: i,
                                end: last,
                            },
                        ))
                    }
                };
                text.push(decoded);
            }
            other => text.push(other),
        }
    }
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, whose backslash is at `at`.
fn unicode_escape(chars: &mut Chars<'_>, at: usize, last: &mut usize) -> Result<char, ParseError> {
    let invalid = |end: usize| ParseError::new("invalid unicode escape", Span { start: at, end });
    let first = hex4(chars, last).ok_or_else(|| invalid(*last))?;
    let code = if (0xD800..0xDC00).contains(&first) {
        let backslash = chars.next().map(|(_, c)| c);
        let u = chars.next().map(|(_, c)| c);
        if backslash != Some('\\') || u != Some('u') {
            return Err(invalid(*last));
        }
        *last += 2;
        let second = hex4(chars, last).ok_or_else(|| invalid(*last))?;
        if !(0xDC00..0xE000).contains(&second) {
            return Err(invalid(*last));
        }
        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
    } else {
        first
    };
    char::from_u32(code).ok_or_else(|| invalid(*last))
}

fn hex4(chars: &mut Chars<'_>, last: &mut usize) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        let (i, c) = chars.next()?;
        *last = i + c.len_utf8();
        value = value * 16 + c.to_digit(16)?;
    }
    Some(value)
}
