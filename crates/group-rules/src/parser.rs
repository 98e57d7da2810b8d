//! Recursive-descent parser; each function carries its rule of the grammar in the crate docs.

use mapping_lang::source::{self, Source};
use scim_filter::SchemaInfo;

use crate::ast::*;
use crate::error::ParseError;
use crate::eval::{FastPath, Matcher};
use crate::lexer::{lex, Tok, Token};

/// The longest rule Entra accepts, in characters.
pub const MAX_RULE_LEN: usize = 3072;
/// The deepest nesting of parentheses, `-not` and `-any`/`-all`.
pub const MAX_DEPTH: usize = 64;

/// The SCIM extension that holds `extensionAttribute1..15`.
pub const SCIMITAR_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:scimitar:2.0:User";

/// Entra's collection properties: compared only through `-any`/`-all`.
const MULTI_VALUED: &[&str] = &[
    "otherMails",
    "proxyAddresses",
    "assignedPlans",
    "memberOf",
    "devicePhysicalIds",
    "systemLabels",
];

/// Parses and checks a rule: properties resolved, regexes compiled, values fit their operators.
/// Any well-formed SCIM attribute path is accepted as a property; see [`parse_with_schema`].
pub fn parse(input: &str) -> Result<Rule, ParseError> {
    parse_inner(input, None)
}

/// Like [`parse`], and properties that are neither Entra names nor attributes of `schema` are
/// errors (`unknown property `user.foo`: no such attribute … at 0`).
pub fn parse_with_schema(input: &str, schema: &dyn SchemaInfo) -> Result<Rule, ParseError> {
    parse_inner(input, Some(schema))
}

fn parse_inner(input: &str, known: Option<&dyn SchemaInfo>) -> Result<Rule, ParseError> {
    let chars = input.chars().count();
    if chars > MAX_RULE_LEN {
        let at = input
            .char_indices()
            .nth(MAX_RULE_LEN)
            .map_or(input.len(), |(i, _)| i);
        return Err(ParseError::new(
            format!("rule is {chars} characters long, more than the {MAX_RULE_LEN} allowed"),
            Span::new(at, input.len()),
        ));
    }
    let tokens = lex(input)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        in_item: false,
        known,
    };
    let rule = p.rule()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(ParseError::new(
            format!("unexpected {} after the rule", describe(&t.tok)),
            t.span,
        ));
    }
    Ok(rule)
}

struct Parser<'s> {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    in_item: bool,
    known: Option<&'s dyn SchemaInfo>,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Dash(w) => format!("`-{w}`"),
        Tok::Word(w) | Tok::Num(w) => format!("`{w}`"),
        Tok::Str(_) => "a string".into(),
        Tok::Eof => "the end".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                tok: Tok::Eof,
                span: Span::default(),
            })
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + n).map(|t| &t.tok)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    /// Whether the next token is the keyword `kw` (`-and` or `and`).
    fn at_keyword(&self, kw: &str) -> bool {
        match self.peek_at(0) {
            Some(Tok::Dash(w)) | Some(Tok::Word(w)) => w.eq_ignore_ascii_case(kw),
            _ => false,
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("rule nested deeper than {MAX_DEPTH} levels"),
                span,
            ));
        }
        Ok(())
    }

    /// `rule ::= "Direct" "Reports" "for" string | or`
    fn rule(&mut self) -> Result<Rule, ParseError> {
        let is_word =
            |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
        if is_word(self.peek_at(0), "direct") && is_word(self.peek_at(1), "reports") {
            let start = self.bump().span;
            self.bump();
            let t = self.bump();
            if !matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("for")) {
                return Err(ParseError::new(
                    "expected `for` after `Direct Reports`",
                    t.span,
                ));
            }
            let t = self.bump();
            let Tok::Str(id) = t.tok else {
                return Err(ParseError::new(
                    "expected the manager's object id in quotes after `Direct Reports for`",
                    t.span,
                ));
            };
            return Ok(Rule::DirectReports {
                manager_id: id,
                span: Span::new(start.start, t.span.end),
            });
        }
        Ok(Rule::Expr(self.or()?))
    }

    /// `or ::= and (("-or" | "or") and)*`
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.at_keyword("or") {
            self.bump();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `and ::= not (("-and" | "and") not)*`
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.at_keyword("and") {
            self.bump();
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not ::= ("-not" | "not") not | primary`
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.at_keyword("not") {
            let span = self.bump().span;
            self.enter(span)?;
            let expr = self.not()?;
            self.depth -= 1;
            if let Expr::Compare(c) = &expr {
                if matches!(c.value, Literal::Null) {
                    return Err(ParseError::new(
                        "`-not` can't negate a comparison to null: use `-ne null` or `-eq null`",
                        span,
                    ));
                }
            }
            return Ok(Expr::Not {
                expr: Box::new(expr),
                span,
            });
        }
        self.primary()
    }

    /// `primary ::= "(" or ")" | comparison`
    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek();
        if t.tok == Tok::LParen {
            self.bump();
            self.enter(t.span)?;
            let e = self.or()?;
            self.depth -= 1;
            self.expect_rparen()?;
            return Ok(e);
        }
        self.comparison()
    }

    fn expect_rparen(&mut self) -> Result<(), ParseError> {
        let t = self.peek();
        if t.tok != Tok::RParen {
            return Err(ParseError::new(
                format!("expected `)`, found {}", describe(&t.tok)),
                t.span,
            ));
        }
        self.bump();
        Ok(())
    }

    /// `comparison ::= operand op value | "user." name ("-any" | "-all") "(" or ")"`
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let t = self.bump();
        let Tok::Word(word) = &t.tok else {
            return Err(ParseError::new(
                format!(
                    "expected a property like `user.department`, found {}",
                    describe(&t.tok)
                ),
                t.span,
            ));
        };
        let operand = self.operand(word, t.span)?;
        let opt = self.bump();
        let op_word = match &opt.tok {
            Tok::Dash(w) | Tok::Word(w) => w.clone(),
            other => {
                return Err(ParseError::new(
                    format!(
                        "expected an operator after `{word}`, found {}",
                        describe(other)
                    ),
                    opt.span,
                ))
            }
        };
        let quantifier = if op_word.eq_ignore_ascii_case("any") {
            Some(Quantifier::Any)
        } else if op_word.eq_ignore_ascii_case("all") {
            Some(Quantifier::All)
        } else {
            None
        };
        if let Some(quantifier) = quantifier {
            let Operand::User(property) = operand else {
                return Err(ParseError::new(
                    "`-any`/`-all` apply to a `user.` collection property",
                    opt.span,
                ));
            };
            if self.in_item {
                return Err(ParseError::new("`-any`/`-all` can't be nested", opt.span));
            }
            let open = self.bump();
            if open.tok != Tok::LParen {
                return Err(ParseError::new(
                    format!("expected `(` after `-{op_word}`"),
                    open.span,
                ));
            }
            self.enter(open.span)?;
            self.in_item = true;
            let body = self.or();
            self.in_item = false;
            let body = body?;
            self.depth -= 1;
            self.expect_rparen()?;
            return Ok(Expr::Quantified(Box::new(Quantified {
                property,
                quantifier,
                quantifier_span: opt.span,
                body,
            })));
        }
        let Some(op) = Op::from_word(&op_word) else {
            let shown = match &opt.tok {
                Tok::Dash(w) => format!("-{w}"),
                _ => op_word.clone(),
            };
            return Err(ParseError::new(
                format!("unknown operator `{shown}`"),
                opt.span,
            ));
        };
        if let Operand::User(p) = &operand {
            if MULTI_VALUED.iter().any(|m| m.eq_ignore_ascii_case(&p.name)) {
                return Err(ParseError::new(
                    format!(
                        "`user.{}` is multi-valued: compare its items with `-any` or `-all`",
                        p.name
                    ),
                    p.span,
                ));
            }
        }
        let (value, value_span) = self.value(op)?;
        let matcher = Matcher::compile(op, &value, value_span)?;
        Ok(Expr::Compare(Box::new(Comparison {
            operand,
            op,
            op_span: opt.span,
            value,
            value_span,
            matcher,
        })))
    }

    /// `operand ::= "user." name | "_" | var "." field` (the last two inside `-any`/`-all`)
    fn operand(&mut self, word: &str, span: Span) -> Result<Operand, ParseError> {
        if let Some(name) = word.strip_prefix("user.") {
            return Ok(Operand::User(property(name, span, self.known)?));
        }
        if word
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("device."))
        {
            return Err(ParseError::new(
                "device rules are not supported: Scimitar's dynamic groups hold users",
                span,
            ));
        }
        if word == "_" || word.contains('.') {
            if !self.in_item {
                return Err(ParseError::new(
                    format!("`{word}` is not a `user.` property (`_` and item properties only work inside `-any`/`-all`)"),
                    span,
                ));
            }
            if word == "_" {
                return Ok(Operand::Item { span });
            }
            let (var, field) = word.split_once('.').unwrap_or((word, ""));
            if field.is_empty() || var.is_empty() {
                return Err(ParseError::new(
                    format!("malformed item property `{word}`"),
                    span,
                ));
            }
            return Ok(Operand::ItemField {
                var: var.to_owned(),
                field: field.to_owned(),
                span,
            });
        }
        Err(ParseError::new(
            format!("expected a property like `user.{word}`, found `{word}`"),
            span,
        ))
    }

    /// `value ::= string | number | "true" | "false" | "null" | array | now`
    fn value(&mut self, op: Op) -> Result<(Literal, Span), ParseError> {
        let t = self.peek();
        let expected =
            || ParseError::new(format!("expected a value after `-{}`", op.name()), t.span);
        let lit = match &t.tok {
            Tok::LBracket => return self.array(op),
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(n) => Literal::Num(n.clone(), n.parse::<f64>().map_err(|_| expected())?),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Word(w) if w.eq_ignore_ascii_case("system.now") => {
                self.bump();
                return self.relative_time(t.span);
            }
            _ => return Err(expected()),
        };
        self.bump();
        Ok((lit, t.span))
    }

    /// `now ::= "system.now" (("-plus" | "-minus") duration)?`
    fn relative_time(&mut self, start: Span) -> Result<(Literal, Span), ParseError> {
        let sign = match self.peek_at(0) {
            Some(Tok::Dash(w)) | Some(Tok::Word(w)) if w.eq_ignore_ascii_case("plus") => 1,
            Some(Tok::Dash(w)) | Some(Tok::Word(w)) if w.eq_ignore_ascii_case("minus") => -1,
            _ => {
                return Ok((
                    Literal::Now(RelativeTime {
                        sign: 0,
                        duration_text: String::new(),
                        duration: jiff::Span::new(),
                    }),
                    start,
                ))
            }
        };
        self.bump();
        let t = self.bump();
        let text = match &t.tok {
            Tok::Word(w) | Tok::Str(w) => w.to_ascii_uppercase(),
            other => {
                return Err(ParseError::new(
                    format!(
                        "expected an ISO-8601 duration like `P1D`, found {}",
                        describe(other)
                    ),
                    t.span,
                ))
            }
        };
        let duration: jiff::Span = text
            .strip_prefix('P')
            .and_then(|_| text.parse().ok())
            .ok_or_else(|| {
                ParseError::new(
                    format!("invalid ISO-8601 duration `{text}` (expected e.g. `P1D`, `PT12H`)"),
                    t.span,
                )
            })?;
        Ok((
            Literal::Now(RelativeTime {
                sign,
                duration_text: text,
                duration,
            }),
            Span::new(start.start, t.span.end),
        ))
    }

    /// `array ::= "[" (scalar ("," scalar)*)? "]"` with `scalar ::= string | number`
    fn array(&mut self, op: Op) -> Result<(Literal, Span), ParseError> {
        let open = self.bump().span;
        let mut items = Vec::new();
        loop {
            let t = self.bump();
            match t.tok {
                Tok::RBracket if items.is_empty() => {
                    return Ok((Literal::Array(items), Span::new(open.start, t.span.end)))
                }
                Tok::Str(s) => items.push(Literal::Str(s)),
                Tok::Num(n) => {
                    let v = n
                        .parse::<f64>()
                        .map_err(|_| ParseError::new(format!("invalid number `{n}`"), t.span))?;
                    items.push(Literal::Num(n, v));
                }
                other => {
                    return Err(ParseError::new(
                        format!(
                            "expected a string or number in the array of `-{}`, found {}",
                            op.name(),
                            describe(&other)
                        ),
                        t.span,
                    ))
                }
            }
            let t = self.bump();
            match t.tok {
                Tok::Comma => {}
                Tok::RBracket => {
                    return Ok((Literal::Array(items), Span::new(open.start, t.span.end)))
                }
                other => {
                    return Err(ParseError::new(
                        format!("expected `,` or `]`, found {}", describe(&other)),
                        t.span,
                    ))
                }
            }
        }
    }
}

/// Resolves the name after `user.`: `extensionAttributeN` (1..=15) reads the Scimitar
/// extension, `memberOf` reads `groups`, everything else goes through the shared source table.
/// `extension_<anything>_<name>` → `<name>`.
fn tenant_extension_attribute(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("extension_")?;
    let (_, attr) = rest.rsplit_once('_')?;
    (!attr.is_empty()).then_some(attr)
}

fn property(
    name: &str,
    span: Span,
    known: Option<&dyn SchemaInfo>,
) -> Result<Property, ParseError> {
    let source = if let Some(n) = extension_attribute(name) {
        if !(1..=15).contains(&n) {
            return Err(ParseError::new(
                format!(
                    "unknown property `user.{name}`: extension attributes are numbered 1 to 15"
                ),
                span,
            ));
        }
        Source::path(format!("{SCIMITAR_EXTENSION}:extensionAttribute{n}"))
    } else if name.eq_ignore_ascii_case("memberOf") {
        Source::path("groups")
    } else if let Some(attr) = tenant_extension_attribute(name) {
        // Entra's `extension_<appId>_<name>`: here the attribute `<name>` of the tenant's
        // extension schemas (an unqualified name is looked up in every extension object).
        Source::path(attr)
    } else if name.is_empty() {
        return Err(ParseError::new(
            "expected a property name after `user.`",
            span,
        ));
    } else {
        source::resolve(name, known).map_err(|e| {
            ParseError::new(
                format!("unknown property `user.{name}`: {}", e.reason),
                span,
            )
        })?
    };
    // The fast reader looks at the top level only; a tenant extension attribute may sit in any
    // extension object, which the general reader searches.
    let fast = if tenant_extension_attribute(name).is_some() {
        None
    } else {
        FastPath::new(&source)
    };
    Ok(Property {
        name: name.to_owned(),
        span,
        source,
        fast,
    })
}

/// `N` of `extensionAttributeN` (any case, any number).
fn extension_attribute(name: &str) -> Option<u32> {
    let prefix = name.get(..18)?;
    if !prefix.eq_ignore_ascii_case("extensionAttribute") {
        return None;
    }
    name.get(18..)?.parse().ok()
}
