//! Attribute scoping filters (spec §3.2): which users an app provisions.
//!
//! A scoping filter is a list of clauses, all of which must hold (AND); an app's filters are
//! alternatives (OR); with no filter everyone is in scope. A clause is (source attribute,
//! operator, value). The result says which clause of each filter failed, for "why is this user
//! out of scope".
//!
//! Operators, with Entra's names (matched case-insensitively, `_` and space alike):
//!
//! | Operator | True when |
//! | --- | --- |
//! | `&` | the attribute's value occurs in the clause value (the documented wording: "the evaluated attribute exists in the input string value"), case-sensitive |
//! | `!&` | the attribute's value does not occur in the clause value |
//! | `ENDS_WITH` | the value ends with the clause value, case-sensitive |
//! | `EQUALS` / `NOT EQUALS` | exact match / no exact match, case-sensitive |
//! | `Greater_Than` / `Greater_Than_OR_EQUALS` | both are integers and value > (≥) clause value |
//! | `Includes` | the value contains the clause value, case-sensitive |
//! | `IS TRUE` / `IS FALSE` | the value is boolean true / false (`"True"`/`"False"` strings too) |
//! | `IS NULL` / `IS NOT NULL` | the attribute is absent or empty / present and not empty |
//! | `REGEX MATCH` / `NOT REGEX MATCH` | the value matches / does not match the regular expression (unanchored, like .NET `Regex.IsMatch`) |
//!
//! Every clause but `IS NULL` is false when the attribute is null or empty (so a user without a
//! department fails `department NOT EQUALS sales` too), and false on a multi-valued attribute,
//! which Entra does not support in scoping.

use std::fmt;

use serde_json::Value;

use crate::source::{self, Source, UnknownAttribute};

/// A scoping operator (spec §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    EndsWith,
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    Includes,
    IsTrue,
    IsFalse,
    IsNull,
    IsNotNull,
    RegexMatch,
    NotRegexMatch,
}

const NAMES: &[(&str, Operator)] = &[
    ("&", Operator::In),
    ("!&", Operator::NotIn),
    ("ENDS_WITH", Operator::EndsWith),
    ("EQUALS", Operator::Equals),
    ("NOT EQUALS", Operator::NotEquals),
    ("Greater_Than", Operator::GreaterThan),
    ("Greater_Than_OR_EQUALS", Operator::GreaterThanOrEquals),
    ("Includes", Operator::Includes),
    ("IS TRUE", Operator::IsTrue),
    ("IS FALSE", Operator::IsFalse),
    ("IS NULL", Operator::IsNull),
    ("IS NOT NULL", Operator::IsNotNull),
    ("REGEX MATCH", Operator::RegexMatch),
    ("NOT REGEX MATCH", Operator::NotRegexMatch),
];

fn fold(name: &str) -> String {
    name.trim().replace('_', " ").to_ascii_uppercase()
}

impl Operator {
    /// Entra's name of the operator.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(n, _)| n)
    }

    /// From Entra's name, in any case, with `_` or spaces.
    pub fn parse(name: &str) -> Option<Operator> {
        let wanted = fold(name);
        NAMES
            .iter()
            .find(|(n, _)| fold(n) == wanted)
            .map(|(_, op)| *op)
    }

    /// Operators that take no value.
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One clause as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub attribute: String,
    pub operator: String,
    pub value: String,
}

/// What is wrong with a scoping definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopingError {
    #[error("filter {filter}, clause {clause}: {source}")]
    Attribute {
        filter: usize,
        clause: usize,
        source: UnknownAttribute,
    },
    #[error("filter {filter}, clause {clause}: unknown operator `{operator}`; operators are {}", NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    Operator {
        filter: usize,
        clause: usize,
        operator: String,
    },
    #[error("filter {filter}, clause {clause}: `{operator}` compares integers, and `{value}` is not one")]
    NotAnInteger {
        filter: usize,
        clause: usize,
        operator: Operator,
        value: String,
    },
    #[error("filter {filter}, clause {clause}: invalid regular expression `{value}`: {reason}")]
    Regex {
        filter: usize,
        clause: usize,
        value: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Compiled {
    text: String,
    source: Source,
    operator: Operator,
    value: String,
    number: Option<i64>,
    regex: Option<regex::Regex>,
}

/// Scoping filters, checked and ready to evaluate (regexes compiled, attributes resolved).
#[derive(Debug, Clone, Default)]
pub struct Scoping {
    filters: Vec<Vec<Compiled>>,
}

impl Scoping {
    /// Checks every clause of every filter; numbers in errors are 1-based.
    pub fn new(filters: &[Vec<Clause>]) -> Result<Scoping, ScopingError> {
        let mut compiled = Vec::with_capacity(filters.len());
        for (f, clauses) in filters.iter().enumerate() {
            let (filter, mut out) = (f + 1, Vec::with_capacity(clauses.len()));
            for (c, clause) in clauses.iter().enumerate() {
                let clause_no = c + 1;
                let source = source::resolve(&clause.attribute, None).map_err(|source| {
                    ScopingError::Attribute {
                        filter,
                        clause: clause_no,
                        source,
                    }
                })?;
                let operator =
                    Operator::parse(&clause.operator).ok_or_else(|| ScopingError::Operator {
                        filter,
                        clause: clause_no,
                        operator: clause.operator.clone(),
                    })?;
                let number = match operator {
                    Operator::GreaterThan | Operator::GreaterThanOrEquals => {
                        Some(clause.value.trim().parse::<i64>().map_err(|_| {
                            ScopingError::NotAnInteger {
                                filter,
                                clause: clause_no,
                                operator,
                                value: clause.value.clone(),
                            }
                        })?)
                    }
                    _ => None,
                };
                let regex = match operator {
                    Operator::RegexMatch | Operator::NotRegexMatch => Some(
                        regex::Regex::new(&clause.value).map_err(|e| ScopingError::Regex {
                            filter,
                            clause: clause_no,
                            value: clause.value.clone(),
                            reason: e.to_string(),
                        })?,
                    ),
                    _ => None,
                };
                let text = if operator.is_unary() {
                    format!("{} {}", clause.attribute, operator)
                } else {
                    format!("{} {} {}", clause.attribute, operator, clause.value)
                };
                out.push(Compiled {
                    text,
                    source,
                    operator,
                    value: clause.value.clone(),
                    number,
                    regex,
                });
            }
            compiled.push(out);
        }
        Ok(Scoping { filters: compiled })
    }

    /// Whether `user` is in scope, and why.
    pub fn evaluate(&self, user: &Value) -> Decision {
        if self.filters.is_empty() {
            return Decision {
                in_scope: true,
                failures: Vec::new(),
            };
        }
        let mut failures = Vec::new();
        for (f, clauses) in self.filters.iter().enumerate() {
            let failed = clauses.iter().enumerate().find_map(|(c, clause)| {
                let values = source::values(user, &clause.source);
                (!holds(clause, &values)).then(|| Failure {
                    filter: f + 1,
                    clause: c + 1,
                    text: clause.text.clone(),
                    actual: values,
                })
            });
            match failed {
                None => {
                    return Decision {
                        in_scope: true,
                        failures: Vec::new(),
                    }
                }
                Some(failure) => failures.push(failure),
            }
        }
        Decision {
            in_scope: false,
            failures,
        }
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        _ => None,
    }
}

fn holds(clause: &Compiled, values: &[Value]) -> bool {
    let text = match values {
        [] => None,
        [one] => as_text(one).filter(|s| !s.is_empty()),
        // Multi-valued attributes are not supported in scoping (spec §3.2).
        _ => return false,
    };
    let Some(text) = text else {
        return clause.operator == Operator::IsNull;
    };
    let v = clause.value.as_str();
    match clause.operator {
        Operator::IsNull => false,
        Operator::IsNotNull => true,
        Operator::In => v.contains(text.as_str()),
        Operator::NotIn => !v.contains(text.as_str()),
        Operator::EndsWith => text.ends_with(v),
        Operator::Equals => text == v,
        Operator::NotEquals => text != v,
        Operator::Includes => text.contains(v),
        Operator::IsTrue => text.eq_ignore_ascii_case("true"),
        Operator::IsFalse => text.eq_ignore_ascii_case("false"),
        Operator::GreaterThan | Operator::GreaterThanOrEquals => {
            match (text.trim().parse::<i64>(), clause.number) {
                (Ok(a), Some(b)) if clause.operator == Operator::GreaterThan => a > b,
                (Ok(a), Some(b)) => a >= b,
                _ => false,
            }
        }
        Operator::RegexMatch => clause.regex.as_ref().is_some_and(|r| r.is_match(&text)),
        Operator::NotRegexMatch => clause.regex.as_ref().is_some_and(|r| !r.is_match(&text)),
    }
}

/// The first failed clause of one filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based.
    pub filter: usize,
    /// 1-based.
    pub clause: usize,
    pub text: String,
    /// The attribute's values on the user.
    pub actual: Vec<Value>,
}

/// A scoping decision with its reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub in_scope: bool,
    /// When out of scope: for each filter, the clause that failed.
    pub failures: Vec<Failure>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_scope {
            return f.write_str("in scope");
        }
        f.write_str("out of scope")?;
        for failure in &self.failures {
            let actual = match failure.actual.as_slice() {
                [] => "no value".to_owned(),
                [one] => one.to_string(),
                many => format!("{} values (multi-valued)", many.len()),
            };
            write!(
                f,
                "; filter {} clause {} `{}` failed ({actual})",
                failure.filter, failure.clause, failure.text
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn clause(attribute: &str, operator: &str, value: &str) -> Clause {
        Clause {
            attribute: attribute.into(),
            operator: operator.into(),
            value: value.into(),
        }
    }

    fn one(attribute: &str, operator: &str, value: &str, user: Value) -> bool {
        Scoping::new(&[vec![clause(attribute, operator, value)]])
            .unwrap()
            .evaluate(&user)
            .in_scope
    }

    fn with_dept(dept: &str) -> Value {
        json!({"userName": "jsmith@domain.com",
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": dept}})
    }

    /// Spec §3.2's common filters.
    #[test]
    fn spec_3_2_common_filters() {
        let u = with_dept("sales");
        assert!(one(
            "userPrincipalName",
            "REGEX MATCH",
            r".*\@domain.com",
            u.clone()
        ));
        assert!(!one(
            "userPrincipalName",
            "REGEX MATCH",
            r".*\@other.com",
            u.clone()
        ));
        assert!(one("department", "EQUALS", "sales", u.clone()));
        let worker = json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                            {"employeeNumber": "1234567"}});
        assert!(one(
            "employeeId",
            "REGEX MATCH",
            "(1[0-9][0-9][0-9][0-9][0-9][0-9])",
            worker
        ));
    }

    /// Spec §3.2: EQUALS, NOT EQUALS and Includes are case sensitive.
    #[test]
    fn spec_3_2_case_sensitive_operators() {
        assert!(!one("department", "EQUALS", "Sales", with_dept("sales")));
        assert!(one("department", "NOT EQUALS", "Sales", with_dept("sales")));
        assert!(one("department", "Includes", "ale", with_dept("sales")));
        assert!(!one("department", "Includes", "ALE", with_dept("sales")));
        assert!(one("department", "ENDS_WITH", "les", with_dept("sales")));
        assert!(one("department", "&", "presales team", with_dept("sales")));
        assert!(!one(
            "department",
            "!&",
            "presales team",
            with_dept("sales")
        ));
    }

    /// Spec §3.2: any clause is false on a null or empty attribute, NOT EQUALS included.
    #[test]
    fn spec_3_2_null_makes_a_clause_false() {
        let none = json!({"userName": "x"});
        for (op, value) in [
            ("EQUALS", "a"),
            ("NOT EQUALS", "a"),
            ("Includes", "a"),
            ("NOT REGEX MATCH", "a"),
            ("IS NOT NULL", ""),
            ("IS TRUE", ""),
            ("Greater_Than", "1"),
        ] {
            assert!(!one("department", op, value, none.clone()), "{op}");
        }
        assert!(one("department", "IS NULL", "", none));
        assert!(one("department", "IS NULL", "", with_dept("")));
        assert!(!one("department", "IS NULL", "", with_dept("x")));
    }

    #[test]
    fn spec_3_2_integers_and_booleans() {
        let u = json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                       {"employeeNumber": "42"}, "active": true});
        assert!(one("employeeId", "Greater_Than", "41", u.clone()));
        assert!(!one("employeeId", "Greater_Than", "42", u.clone()));
        assert!(one("employeeId", "Greater_Than_OR_EQUALS", "42", u.clone()));
        assert!(one("accountEnabled", "IS TRUE", "", u.clone()));
        assert!(!one("accountEnabled", "IS FALSE", "", u.clone()));
        assert!(one("active", "is_true", "", u));
    }

    #[test]
    fn multi_valued_attributes_are_not_in_scope() {
        let u = json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]});
        assert!(!one("proxyAddresses", "Includes", "@x", u));
    }

    /// Clauses AND within a filter, filters OR; the decision names the failed clause.
    #[test]
    fn clauses_and_filters_combine_and_explain() {
        let scoping = Scoping::new(&[
            vec![
                clause("department", "EQUALS", "sales"),
                clause("jobTitle", "EQUALS", "Rep"),
            ],
            vec![clause("userName", "ENDS_WITH", "@contractors.com")],
        ])
        .unwrap();
        let user = json!({"userName": "a@domain.com", "title": "Manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "sales"}});
        let d = scoping.evaluate(&user);
        assert!(!d.in_scope);
        assert_eq!(
            d.to_string(),
            "out of scope; filter 1 clause 2 `jobTitle EQUALS Rep` failed (\"Manager\"); \
             filter 2 clause 1 `userName ENDS_WITH @contractors.com` failed (\"a@domain.com\")"
        );
        let rep = json!({"userName": "a@domain.com", "title": "Rep",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "sales"}});
        assert!(scoping.evaluate(&rep).in_scope);
        assert!(
            Scoping::new(&[]).unwrap().evaluate(&user).in_scope,
            "no filter: all in scope"
        );
    }

    #[test]
    fn bad_definitions_are_named() {
        let err = Scoping::new(&[vec![clause("department", "LIKE", "x")]]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("filter 1, clause 1: unknown operator `LIKE`"),
            "{err}"
        );
        let err = Scoping::new(&[vec![clause("department", "Greater_Than", "ten")]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "filter 1, clause 1: `Greater_Than` compares integers, and `ten` is not one"
        );
        let err = Scoping::new(&[vec![clause("userName", "REGEX MATCH", "(")]]).unwrap_err();
        assert!(
            err.to_string().contains("invalid regular expression `(`"),
            "{err}"
        );
        let err = Scoping::new(&[vec![clause("emails[type", "EQUALS", "x")]]).unwrap_err();
        assert!(
            err.to_string().contains("unknown attribute `emails[type`"),
            "{err}"
        );
    }
}

/// The text form of scoping filters, for files, the CLI and tests:
///
/// ```text
/// SCOPING   = FILTER *( "OR" FILTER )               ; filters are alternatives
/// FILTER    = CLAUSE *( "AND" CLAUSE )              ; clauses must all hold
/// CLAUSE    = ATTRIBUTE OPERATOR [ VALUE ]          ; no VALUE for IS TRUE/FALSE/NULL/NOT NULL
/// ATTRIBUTE = "[" name "]"                          ; as in expressions: [department], [emails[type eq "work"].value]
/// OPERATOR  = an operator name of the table above, in any case, words joined by spaces or "_"
/// VALUE     = a JSON string                         ; "sales", ".*\\@domain.com"
/// ```
///
/// `AND` and `OR` are keywords in any case. Example:
/// `[department] EQUALS "sales" AND [jobTitle] IS NOT NULL OR [userName] ENDS_WITH "@contractors.com"`.
pub fn parse_text(text: &str) -> Result<Vec<Vec<Clause>>, TextError> {
    let mut p = TextParser { text, pos: 0 };
    let mut filters = vec![vec![p.clause()?]];
    loop {
        p.skip_ws();
        if p.pos >= text.len() {
            return Ok(filters);
        }
        if p.keyword("AND") {
            if let Some(last) = filters.last_mut() {
                last.push(p.clause()?);
            }
        } else if p.keyword("OR") {
            filters.push(vec![p.clause()?]);
        } else {
            return Err(p.error("expected `AND`, `OR` or the end"));
        }
    }
}

/// Prints filters in the text form of [`parse_text`].
pub fn to_text(filters: &[Vec<Clause>]) -> String {
    let filters: Vec<String> = filters
        .iter()
        .map(|clauses| {
            let clauses: Vec<String> = clauses
                .iter()
                .map(|c| {
                    let op: &str = match Operator::parse(&c.operator) {
                        Some(o) => o.name(),
                        None => c.operator.as_str(),
                    };
                    if Operator::parse(&c.operator).is_some_and(Operator::is_unary) {
                        format!("[{}] {op}", c.attribute)
                    } else {
                        format!("[{}] {op} {}", c.attribute, Value::String(c.value.clone()))
                    }
                })
                .collect();
            clauses.join(" AND ")
        })
        .collect();
    filters.join(" OR ")
}

/// A syntax error in the text form, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {at}")]
pub struct TextError {
    pub message: String,
    pub at: usize,
}

/// How many bytes of `text` spell the operator `name` (words joined by spaces or `_` alike, any
/// case), if it stands at the start followed by a space, a quote or the end.
fn operator_len(text: &str, name: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    for n in name.chars() {
        if n == '_' || n == ' ' {
            let mut any = false;
            while chars
                .next_if(|(_, c)| *c == '_' || c.is_whitespace())
                .is_some()
            {
                any = true;
            }
            if !any {
                return None;
            }
        } else {
            let (_, c) = chars.next()?;
            if !c.eq_ignore_ascii_case(&n) {
                return None;
            }
        }
    }
    match chars.peek() {
        None => Some(text.len()),
        Some((i, c)) if c.is_whitespace() || *c == '"' => Some(*i),
        Some(_) => None,
    }
}

struct TextParser<'a> {
    text: &'a str,
    pos: usize,
}

impl TextParser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn error(&self, message: &str) -> TextError {
        TextError {
            message: message.to_owned(),
            at: self.pos,
        }
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    /// Consumes `word` (any case) if it stands next, followed by a space or the end.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        let matches = rest
            .get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && rest
                .get(word.len()..)
                .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace));
        if matches {
            self.pos += word.len();
        }
        matches
    }

    fn clause(&mut self) -> Result<Clause, TextError> {
        self.skip_ws();
        if !self.rest().starts_with('[') {
            return Err(self.error("expected `[attribute]`"));
        }
        // The attribute runs to the matching `]`, across nested brackets and quoted strings.
        let (mut depth, mut quoted, mut end) = (0usize, false, None);
        for (i, ch) in self.rest().char_indices() {
            match ch {
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => {
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
            return Err(self.error("unclosed `[`"));
        };
        let attribute = self.rest().get(1..end).unwrap_or_default().to_owned();
        self.pos += end + 1;
        self.skip_ws();
        // The longest operator name that stands next.
        let rest = self.rest();
        let best = NAMES
            .iter()
            .filter_map(|(name, op)| operator_len(rest, name).map(|len| (self.pos + len, *op)))
            .max_by_key(|(end, _)| *end);
        let Some((after, operator)) = best else {
            return Err(
                self.error("expected an operator (EQUALS, NOT EQUALS, REGEX MATCH, IS NULL, …)")
            );
        };
        self.pos = after;
        let value = if operator.is_unary() {
            String::new()
        } else {
            self.skip_ws();
            let mut stream = serde_json::Deserializer::from_str(self.rest()).into_iter::<Value>();
            match stream.next() {
                Some(Ok(Value::String(s))) => {
                    self.pos += stream.byte_offset();
                    s
                }
                _ => return Err(self.error("expected a quoted value")),
            }
        };
        Ok(Clause {
            attribute,
            operator: operator.name().to_owned(),
            value,
        })
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let parsed = parse_text(text).unwrap();
        let printed = to_text(&parsed);
        assert_eq!(parse_text(&printed).unwrap(), parsed, "{printed}");
        printed
    }

    #[test]
    fn text_form_parses_and_prints_canonically() {
        assert_eq!(
            round_trip(
                r#"[department] equals "sales" and [jobTitle] is_not_null OR [userName] ENDS_WITH "@contractors.com""#
            ),
            r#"[department] EQUALS "sales" AND [jobTitle] IS NOT NULL OR [userName] ENDS_WITH "@contractors.com""#
        );
        assert_eq!(
            round_trip(r#"[emails[type eq "work"].value] REGEX MATCH ".*\\@domain.com""#),
            r#"[emails[type eq "work"].value] REGEX MATCH ".*\\@domain.com""#
        );
        assert_eq!(
            round_trip(r#"[a] NOT REGEX MATCH "x" AND [b] !& "y""#),
            r#"[a] NOT REGEX MATCH "x" AND [b] !& "y""#
        );
    }

    #[test]
    fn text_form_errors_name_the_place() {
        assert_eq!(
            parse_text("department EQUALS \"x\"")
                .unwrap_err()
                .to_string(),
            "expected `[attribute]` at 0"
        );
        assert_eq!(
            parse_text("[department] LIKE \"x\"")
                .unwrap_err()
                .to_string(),
            "expected an operator (EQUALS, NOT EQUALS, REGEX MATCH, IS NULL, …) at 13"
        );
        assert_eq!(
            parse_text("[department] EQUALS sales")
                .unwrap_err()
                .to_string(),
            "expected a quoted value at 20"
        );
        assert_eq!(
            parse_text("[d] IS NULL [e]").unwrap_err().to_string(),
            "expected `AND`, `OR` or the end at 12"
        );
    }

    /// Property: any filters printed and parsed back are the same filters.
    #[test]
    fn printing_and_parsing_round_trips_generated_filters() {
        let attributes = [
            "department",
            "userName",
            "emails[type eq \"work\"].value",
            "a b",
        ];
        let values = ["", "sales", "with \"quotes\" and \\", "ünïcode", "AND OR"];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap_or(0)
        };
        for _ in 0..2_000 {
            let filters: Vec<Vec<Clause>> = (0..1 + next(3))
                .map(|_| {
                    (0..1 + next(3))
                        .map(|_| {
                            let (name, op) = NAMES[next(NAMES.len())];
                            Clause {
                                attribute: attributes[next(attributes.len())].into(),
                                operator: name.into(),
                                value: if op.is_unary() {
                                    String::new()
                                } else {
                                    values[next(values.len())].into()
                                },
                            }
                        })
                        .collect()
                })
                .collect();
            let printed = to_text(&filters);
            assert_eq!(parse_text(&printed).unwrap(), filters, "{printed}");
        }
    }
}
