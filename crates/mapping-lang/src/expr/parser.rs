//! Tokens → [`Expr`]. One function per grammar rule of the module docs.

use super::ast::{Arg, Expr, ExprKind, Span};
use super::lexer::{lex, Tok};
use super::ParseError;

/// Longest accepted expression, in characters (Entra's documented limit).
pub const MAX_LEN: usize = 10_000;
/// Deepest accepted nesting of calls.
pub const MAX_DEPTH: usize = 64;

/// Parses one expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let len = src.chars().count();
    if len > MAX_LEN {
        return Err(ParseError::new(
            src,
            &format!("expression is {len} characters long, the limit is {MAX_LEN}"),
            0,
            src.len(),
        ));
    }
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
    };
    let expr = p.expr()?;
    match p.peek() {
        Tok::Eof => Ok(expr),
        other => {
            let msg = format!("expected end of input, found {}", other.describe());
            Err(p.error_here(&msg))
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, Span)>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .map_or(Span::new(self.src.len(), self.src.len()), |(_, s)| *s)
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .unwrap_or((Tok::Eof, Span::new(self.src.len(), self.src.len())));
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error_here(&self, msg: &str) -> ParseError {
        let s = self.span();
        ParseError::new(self.src, msg, s.start, s.end)
    }

    /// `expr = operand [ compareOp operand ]`
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.operand()?;
        if let Tok::Op(op) = *self.peek() {
            self.bump();
            let rhs = self.operand()?;
            if let Tok::Op(_) = self.peek() {
                return Err(self.error_here("comparisons cannot be chained"));
            }
            let span = Span::new(lhs.span.start, rhs.span.end);
            return Ok(Expr {
                kind: ExprKind::Compare {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            });
        }
        Ok(lhs)
    }

    /// `operand = call / attribute / string / number / hex / ident`
    fn operand(&mut self) -> Result<Expr, ParseError> {
        let (tok, span) = self.bump();
        let kind = match tok {
            Tok::Attr(a) => ExprKind::Attr(a),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Number(n) => ExprKind::Number(n),
            Tok::Hex(h) => ExprKind::Hex(h),
            Tok::Ident(name) => {
                if *self.peek() == Tok::LParen {
                    return self.call(name, span);
                }
                ExprKind::Ident(name)
            }
            other => {
                let msg = format!("expected an expression, found {}", other.describe());
                return Err(ParseError::new(self.src, &msg, span.start, span.end));
            }
        };
        Ok(Expr { kind, span })
    }

    /// `call = NAME "(" [ arg *( "," arg ) ] ")"` with `arg = [ expr ]`
    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                self.src,
                &format!("calls nested deeper than {MAX_DEPTH}"),
                name_span.start,
                name_span.end,
            ));
        }
        self.bump(); // `(`
        let mut args = Vec::new();
        if *self.peek() == Tok::RParen {
            let (_, end) = self.bump();
            self.depth -= 1;
            return Ok(Expr {
                kind: ExprKind::Call {
                    name,
                    name_span,
                    args,
                },
                span: Span::new(name_span.start, end.end),
            });
        }
        loop {
            match self.peek() {
                Tok::Comma | Tok::RParen => {
                    let s = self.span();
                    args.push(Arg::Empty(Span::new(s.start, s.start)));
                }
                _ => args.push(Arg::Expr(self.expr()?)),
            }
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => break,
                _ => return Err(self.error_here("expected `)`")),
            }
        }
        let (_, end) = self.bump();
        self.depth -= 1;
        Ok(Expr {
            kind: ExprKind::Call {
                name,
                name_span,
                args,
            },
            span: Span::new(name_span.start, end.end),
        })
    }
}
