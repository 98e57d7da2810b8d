//! Recursive-descent parser from tokens to the AST; each function names the grammar rule it
//! parses (the full grammar is in the crate docs).
//!
//! Invariant: recursion only happens through `(`, `not (` and `attr[`, each of which counts
//! against [`MAX_DEPTH`]; `and`/`or` chains are parsed in loops, so no input of at most
//! [`MAX_LEN`] bytes can exhaust the stack.

use serde_json::Number;

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath, Span};
use crate::error::ParseError;
use crate::lexer::{tokenize, Token, TokenKind};

/// How deeply `(`, `not (` and value paths `attr[…]` may nest.
pub const MAX_DEPTH: usize = 32;
/// The longest filter or path accepted, in bytes.
pub const MAX_LEN: usize = 10_000;

/// Parses a `filter=` query parameter (already URL-decoded).
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    let mut parser = Parser::new(input)?;
    let filter = parser.filter()?;
    parser.end()?;
    Ok(filter)
}

/// Parses the `path` of a PATCH operation (RFC 7644 §3.5.2).
pub fn parse_path(input: &str) -> Result<PatchPath, ParseError> {
    let mut parser = Parser::new(input)?;
    let path = parser.patch_path()?;
    parser.end()?;
    Ok(path)
}

/// Parses a single attribute path, as in `sortBy=` or one entry of `attributes=`.
pub fn parse_attr_path(input: &str) -> Result<AttrPath, ParseError> {
    let mut parser = Parser::new(input)?;
    let attr = parser.attr_path()?;
    parser.end()?;
    Ok(attr)
}

struct Parser {
    tokens: std::vec::IntoIter<Token>,
    /// The next token, not yet consumed.
    current: Token,
    depth: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Self, ParseError> {
        if input.len() > MAX_LEN {
            return Err(ParseError::new(
                format!("input is longer than {MAX_LEN} bytes"),
                Span {
                    start: MAX_LEN,
                    end: input.len(),
                },
            ));
        }
        let mut tokens = tokenize(input)?.into_iter();
        let eof = Token {
            kind: TokenKind::Eof,
            span: Span {
                start: input.len(),
                end: input.len(),
            },
        };
        let current = tokens.next().unwrap_or(eof);
        Ok(Parser {
            tokens,
            current,
            depth: 0,
        })
    }

    fn bump(&mut self) -> Token {
        let end = self.current.span.end;
        let eof = Token {
            kind: TokenKind::Eof,
            span: Span { start: end, end },
        };
        let next = self.tokens.next().unwrap_or(eof);
        std::mem::replace(&mut self.current, next)
    }

    fn peek_is_word(&self, keyword: &str) -> bool {
        matches!(&self.current.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn expected(&self, what: &str) -> ParseError {
        ParseError::new(format!("expected {what}"), self.current.span)
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<Token, ParseError> {
        if self.current.kind == kind {
            Ok(self.bump())
        } else {
            Err(self.expected(what))
        }
    }

    fn end(&mut self) -> Result<(), ParseError> {
        match self.current.kind {
            TokenKind::Eof => Ok(()),
            _ => Err(ParseError::new(
                format!("unexpected {}", self.current.describe()),
                self.current.span,
            )),
        }
    }

    /// Entered one more level of nesting at `span`.
    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("filter nests deeper than {MAX_DEPTH} levels"),
                span,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `FILTER = andExpr *("or" andExpr)`
    fn filter(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.and_expr()?;
        while self.peek_is_word("or") {
            self.bump();
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `andExpr = unary *("and" unary)`
    fn and_expr(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.unary()?;
        while self.peek_is_word("and") {
            self.bump();
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `unary = "not" "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath`
    fn unary(&mut self) -> Result<Filter, ParseError> {
        match &self.current.kind {
            TokenKind::LParen => {
                let open = self.bump();
                self.enter(open.span)?;
                let inner = self.filter()?;
                self.expect(TokenKind::RParen, "`)`")?;
                self.leave();
                Ok(inner)
            }
            TokenKind::Word(w) if w.eq_ignore_ascii_case("not") && self.next_is_lparen() => {
                let not = self.bump();
                let open = self.bump();
                self.enter(open.span)?;
                let inner = self.filter()?;
                let close = self.expect(TokenKind::RParen, "`)`")?;
                self.leave();
                Ok(Filter::Not {
                    filter: Box::new(inner),
                    span: Span {
                        start: not.span.start,
                        end: close.span.end,
                    },
                })
            }
            TokenKind::Word(_) => self.attr_exp(),
            _ => Err(self.expected("an attribute, `(` or `not`")),
        }
    }

    /// Whether the token after the current one is `(`; only `not` needs this lookahead, so
    /// an attribute that is itself named `not` still parses.
    fn next_is_lparen(&self) -> bool {
        matches!(
            self.tokens.as_slice().first(),
            Some(Token {
                kind: TokenKind::LParen,
                ..
            })
        )
    }

    /// `attrExp = attrPath "pr" / attrPath compareOp compValue`, or
    /// `valuePath = attrPath "[" valFilter "]"`
    fn attr_exp(&mut self) -> Result<Filter, ParseError> {
        let attr = self.attr_path()?;
        let start = attr.span.start;
        match &self.current.kind {
            TokenKind::LBracket => {
                let (filter, close) = self.val_filter()?;
                let mut end = close.end;
                // Entra matches on `emails[type eq "work"].value eq "x"`, which RFC 7644's
                // grammar lacks; it means `emails[type eq "work" and value eq "x"]`.
                let filter = match &self.current.kind {
                    TokenKind::Word(word) if word.starts_with('.') => {
                        let sub_start = self.current.span.start + 1;
                        let name = word.get(1..).unwrap_or_default().to_owned();
                        let sub = attr_name(&name, sub_start)?;
                        let sub_span = Span {
                            start: sub_start,
                            end: self.current.span.end,
                        };
                        self.bump();
                        let inner = AttrPath {
                            uri: None,
                            name: sub,
                            sub: None,
                            span: sub_span,
                        };
                        let tail = self.attr_tail(inner, sub_start)?;
                        end = tail.span().end;
                        Filter::And(Box::new(filter), Box::new(tail))
                    }
                    _ => filter,
                };
                Ok(Filter::ValuePath {
                    attr,
                    filter: Box::new(filter),
                    span: Span { start, end },
                })
            }
            _ => self.attr_tail(attr, start),
        }
    }

    /// `attrPath SP "pr"` / `attrPath SP compareOp SP compValue`, after the path.
    fn attr_tail(&mut self, attr: AttrPath, start: usize) -> Result<Filter, ParseError> {
        match &self.current.kind {
            TokenKind::Word(word) if word.eq_ignore_ascii_case("pr") => {
                let pr = self.bump();
                Ok(Filter::Present {
                    attr,
                    span: Span {
                        start,
                        end: pr.span.end,
                    },
                })
            }
            TokenKind::Word(word) => {
                let Some(op) = compare_op(word) else {
                    if attr.name.eq_ignore_ascii_case("not")
                        && attr.uri.is_none()
                        && attr.sub.is_none()
                    {
                        return Err(self.expected("`(` after `not`"));
                    }
                    return Err(ParseError::new(
                        format!("unknown operator `{word}`"),
                        self.current.span,
                    ));
                };
                self.bump();
                let (value, value_span) = self.comp_value()?;
                Ok(Filter::Compare {
                    attr,
                    op,
                    value,
                    span: Span {
                        start,
                        end: value_span.end,
                    },
                })
            }
            _ => Err(self.expected("an operator")),
        }
    }

    /// `"[" valFilter "]"`, where `valFilter = FILTER` with paths relative to each value.
    /// Returns the filter and the span of the closing bracket.
    fn val_filter(&mut self) -> Result<(Filter, Span), ParseError> {
        let open = self.expect(TokenKind::LBracket, "`[`")?;
        self.enter(open.span)?;
        let filter = self.filter()?;
        let close = self.expect(TokenKind::RBracket, "`]`")?;
        self.leave();
        Ok((filter, close.span))
    }

    /// `compValue = false / null / true / number / string`, plus an unquoted word taken as a
    /// string (Entra ID sends `manager eq 8fe1…`).
    fn comp_value(&mut self) -> Result<(CompValue, Span), ParseError> {
        let token = match &self.current.kind {
            TokenKind::Str(_) | TokenKind::Word(_) => self.bump(),
            _ => return Err(self.expected("a value")),
        };
        let value = match token.kind {
            TokenKind::Str(s) => CompValue::String(s),
            TokenKind::Word(w) => word_value(w, token.span)?,
            _ => return Err(ParseError::new("expected a value", token.span)),
        };
        Ok((value, token.span))
    }

    /// `attrPath = [URI ":"] ATTRNAME ["." subAttr]`
    fn attr_path(&mut self) -> Result<AttrPath, ParseError> {
        let TokenKind::Word(word) = &self.current.kind else {
            return Err(self.expected("an attribute"));
        };
        let attr = attr_path_text(word, self.current.span.start)?;
        self.bump();
        Ok(attr)
    }

    /// `PATH = attrPath / attrPath "[" valFilter "]" ["." subAttr]`
    fn patch_path(&mut self) -> Result<PatchPath, ParseError> {
        let attr = self.attr_path()?;
        if self.current.kind != TokenKind::LBracket {
            return Ok(PatchPath {
                attr,
                filter: None,
                sub: None,
            });
        }
        let (filter, _) = self.val_filter()?;
        let sub = match &self.current.kind {
            TokenKind::Word(word) if word.starts_with('.') => {
                let start = self.current.span.start + 1;
                let name = word.get(1..).unwrap_or_default();
                let sub = attr_name(name, start)?;
                self.bump();
                Some(sub)
            }
            _ => None,
        };
        Ok(PatchPath {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

fn compare_op(word: &str) -> Option<CompareOp> {
    let op = match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(op)
}

fn word_value(word: String, span: Span) -> Result<CompValue, ParseError> {
    if word.eq_ignore_ascii_case("true") {
        Ok(CompValue::Bool(true))
    } else if word.eq_ignore_ascii_case("false") {
        Ok(CompValue::Bool(false))
    } else if word.eq_ignore_ascii_case("null") {
        Ok(CompValue::Null)
    } else if is_json_number(&word) {
        json_number(&word)
            .map(CompValue::Number)
            .ok_or_else(|| ParseError::new(format!("number `{word}` is out of range"), span))
    } else {
        Ok(CompValue::String(word))
    }
}

/// Integers that fit stay integers; the rest become the nearest `f64`. (serde_json's own fast
/// float parsing can be one ulp off, which would break printing round trips.)
fn json_number(word: &str) -> Option<Number> {
    if let Ok(n) = word.parse::<u64>() {
        return Some(Number::from(n));
    }
    if let Ok(n) = word.parse::<i64>() {
        return Some(Number::from(n));
    }
    word.parse::<f64>().ok().and_then(Number::from_f64)
}

/// `number = ["-"] int [frac] [exp]` as in JSON (RFC 8259 §6).
fn is_json_number(word: &str) -> bool {
    let mut rest = word.strip_prefix('-').unwrap_or(word);
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let int = digits(rest);
    if int == 0 || (int > 1 && rest.starts_with('0')) {
        return false;
    }
    rest = rest.get(int..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix('.') {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        let n = digits(exp);
        if n == 0 {
            return false;
        }
        rest = exp.get(n..).unwrap_or_default();
    }
    rest.is_empty()
}

/// Splits one word into `[uri ":"] name ["." sub]`; `start` is its offset in the input.
///
/// A word starting with `urn:` (any case) carries a schema URN, which ends at the last `:`
/// (attribute names never contain one, while URNs contain `.` as in `2.0`).
fn attr_path_text(word: &str, start: usize) -> Result<AttrPath, ParseError> {
    let is_urn = word
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    let (uri, rest, rest_start) = match word.rfind(':') {
        Some(colon) if is_urn => (
            Some(word.get(..colon).unwrap_or_default().to_owned()),
            word.get(colon + 1..).unwrap_or_default(),
            start + colon + 1,
        ),
        _ => (None, word, start),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => {
            let sub_start = rest_start + name.len() + 1;
            (
                attr_name(name, rest_start)?,
                Some(attr_name(sub, sub_start)?),
            )
        }
        None => (attr_name(rest, rest_start)?, None),
    };
    Ok(AttrPath {
        uri,
        name,
        sub,
        span: Span {
            start,
            end: start + word.len(),
        },
    })
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`, or `$ref`.
fn attr_name(name: &str, start: usize) -> Result<String, ParseError> {
    let span = Span {
        start,
        end: start + name.len(),
    };
    if name.is_empty() {
        return Err(ParseError::new("expected an attribute name", span));
    }
    let mut chars = name.chars();
    let valid = name == "$ref"
        || (chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ParseError::new(
            format!("invalid attribute name `{name}`"),
            span,
        ))
    }
}
