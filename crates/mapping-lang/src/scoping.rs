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
