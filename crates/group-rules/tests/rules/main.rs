//! Integration tests of group-rules. The cases are tables in `tests/data/*.txt`: blocks
//! separated by blank lines, each `# comment` lines, the rule, an optional `user: {json}` line,
//! `---`, then the expected output. Run with `UPDATE_EXPECT=1` to rewrite the expected outputs
//! after a deliberate change.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use expect_test::{expect_file, ExpectFile};
use group_rules::{parse, Rule};
use serde_json::Value;

/// The `now` of every evaluation.
fn now() -> jiff::Timestamp {
    "2026-01-15T12:00:00Z".parse().unwrap()
}

struct Case {
    comments: Vec<String>,
    rule: String,
    user: Option<String>,
}

fn read(name: &str) -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut comments = Vec::new();
        let mut lines = block.lines().skip_while(|l| {
            if l.starts_with('#') {
                comments.push(l.to_string());
                true
            } else {
                false
            }
        });
        let Some(rule) = lines.next() else { continue };
        if rule == "---" {
            continue;
        }
        let user = lines
            .next()
            .and_then(|l| l.strip_prefix("user: "))
            .map(str::to_owned);
        cases.push(Case {
            comments,
            rule: rule.to_owned(),
            user,
        });
    }
    cases
}

/// Runs `run` on every case of `tests/data/{name}` and compares the rewritten table with the
/// file. Every rule that parses must print and re-parse to the same tree.
fn check(name: &str, expect: ExpectFile, run: impl Fn(&Rule, Option<&Value>) -> String) {
    let mut out = String::new();
    for case in read(name) {
        if !out.is_empty() {
            out.push('\n');
        }
        for c in &case.comments {
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(&case.rule);
        out.push('\n');
        if let Some(u) = &case.user {
            out.push_str("user: ");
            out.push_str(u);
            out.push('\n');
        }
        out.push_str("---\n");
        let user: Option<Value> = case
            .user
            .as_deref()
            .map(|u| serde_json::from_str(u).unwrap());
        let result = match parse(&case.rule) {
            Ok(rule) => {
                round_trip(&case.rule, &rule);
                run(&rule, user.as_ref())
            }
            Err(e) => format!("error: {e} (span {}..{})", e.span.start, e.span.end),
        };
        assert!(
            !result.contains("\n\n"),
            "blank line in output of {}",
            case.rule
        );
        out.push_str(result.trim_end());
        out.push('\n');
    }
    expect.assert_eq(&out);
}

fn round_trip(input: &str, rule: &Rule) {
    let printed = rule.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{input} printed as {printed}: {e}"));
    assert_eq!(
        rule.to_sexpr(false),
        again.to_sexpr(false),
        "{input} printed as {printed}"
    );
    assert_eq!(again.to_string(), printed);
}

#[test]
fn parse_cases() {
    check("parse.txt", expect_file!["../data/parse.txt"], |rule, _| {
        format!("{rule}\n{}", rule.to_sexpr(true))
    });
}

#[test]
fn eval_cases() {
    check(
        "eval.txt",
        expect_file!["../data/eval.txt"],
        |rule, user| {
            let user = user.expect("eval cases need a user: line");
            rule.evaluate(user, now()).to_string()
        },
    );
}

#[test]
fn explain_cases() {
    check(
        "explain.txt",
        expect_file!["../data/explain.txt"],
        |rule, user| {
            let user = user.expect("explain cases need a user: line");
            let x = rule.explain(user, now());
            assert_eq!(x.result, rule.evaluate(user, now()), "{rule}");
            x.to_string()
        },
    );
}

#[test]
fn length_limit() {
    let clause = "(user.department -eq \"Sales\") -or ";
    let mut rule = clause.repeat(3072 / clause.len());
    rule.push_str("(user.city -eq \"x\")");
    let at_limit = {
        let mut r = "user.department -eq \"".to_string();
        r.push_str(&"a".repeat(3072 - r.len() - 1));
        r.push('"');
        r
    };
    assert_eq!(at_limit.chars().count(), 3072);
    parse(&at_limit).unwrap();
    let over = format!("{at_limit} ");
    let err = parse(&over).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule is 3073 characters long, more than the 3072 allowed at 3072"
    );
    assert!(parse(&rule).is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["(", "-not ", "not ("] {
        let rule = format!("{}user.city -eq \"x\"", open.repeat(500));
        let err = parse(&rule).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 64"), "{err}");
    }
    let rule = format!("{}user.city -eq \"x\"{}", "(".repeat(60), ")".repeat(60));
    parse(&rule).unwrap();
}

#[test]
fn every_operator_prints_with_its_canonical_name() {
    for op in [
        "eq",
        "ne",
        "startsWith",
        "notStartsWith",
        "endsWith",
        "notEndsWith",
        "contains",
        "notContains",
        "match",
        "notMatch",
        "le",
        "ge",
        "lt",
        "gt",
    ] {
        for spelled in [
            format!("-{op}"),
            op.to_string(),
            format!("-{}", op.to_uppercase()),
        ] {
            let rule = parse(&format!("user.city {spelled} \"x\"")).unwrap();
            assert_eq!(rule.to_string(), format!("user.city -{op} \"x\""));
        }
    }
}

/// A schema with a few core attributes, for `parse_with_schema`.
struct Core;

impl scim_filter::SchemaInfo for Core {
    fn attr_info(
        &self,
        uri: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<scim_filter::AttrInfo> {
        let known = [
            "userName",
            "title",
            "displayName",
            "emails",
            "employeeHireDate",
        ];
        (uri.is_none() && known.iter().any(|k| k.eq_ignore_ascii_case(name))).then_some(())?;
        if sub.is_some() && !name.eq_ignore_ascii_case("emails") {
            return None;
        }
        Some(scim_filter::AttrInfo {
            ty: scim_filter::AttrType::String,
            case_exact: false,
            multi_valued: name.eq_ignore_ascii_case("emails"),
        })
    }
}

#[test]
fn properties_are_checked_against_a_schema() {
    use group_rules::parse_with_schema;
    parse_with_schema(
        r#"user.department -eq "x" -and user.title -eq "y" -and user.employeeHireDate -ge system.now"#,
        &Core,
    )
    .unwrap();
    parse_with_schema(r#"user.extensionAttribute3 -eq "x""#, &Core).unwrap();
    let err = parse_with_schema(r#"user.city -eq "x" -or user.costCenter -eq "y""#, &Core);
    assert_eq!(
        err.unwrap_err().to_string(),
        "unknown property `user.costCenter`: no such attribute in the user's schemas, and not one of Entra's names at 22"
    );
    // Without a schema, any well-formed path is a property; malformed ones are errors.
    parse(r#"user.costCenter -eq "y""#).unwrap();
    let err = parse(r#"user.a..b -eq "y""#).unwrap_err();
    assert!(
        err.to_string().starts_with("unknown property `user.a..b`"),
        "{err}"
    );
}

/// Every rule of the tables, mutated one character at a time: no panic, and whatever parses
/// prints and re-parses to the same tree, evaluates and explains.
#[test]
fn mutated_rules_never_panic() {
    let user: Value = serde_json::json!({"userName": "a@b", "emails": [{"value": "x"}],
        "assignedPlans": [{"servicePlanId": "p"}], "employeeHireDate": "2026-01-01"});
    let mut parsed = 0;
    for table in ["parse.txt", "eval.txt", "explain.txt"] {
        for case in read(table) {
            let rule = &case.rule;
            let bounds: Vec<usize> = rule
                .char_indices()
                .map(|(i, _)| i)
                .chain([rule.len()])
                .collect();
            for w in bounds.windows(2) {
                let (i, j) = (w[0], w[1]);
                let mut variants = vec![
                    format!("{}{}", &rule[..i], &rule[j..]),
                    format!("{}{}", &rule[..j], &rule[i..]),
                ];
                for c in ["(", ")", "\"", "'", "`", "[", "]", ",", "-", " not ", "_"] {
                    variants.push(format!("{}{c}{}", &rule[..i], &rule[i..]));
                }
                for v in variants {
                    if let Ok(r) = parse(&v) {
                        parsed += 1;
                        round_trip(&v, &r);
                        let x = r.explain(&user, now());
                        assert_eq!(x.result, r.evaluate(&user, now()), "{v}");
                    }
                }
            }
        }
    }
    assert!(parsed > 1000, "{parsed}");
}

#[test]
fn properties_lists_what_the_rule_reads() {
    let rule = parse(
        r#"user.department -eq "a" -or -not (user.city -eq "b") -and user.otherMails -any (_ -eq "c")"#,
    )
    .unwrap();
    let names: Vec<&str> = rule.properties().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["department", "city", "otherMails"]);
    assert!(parse(r#"Direct Reports for "m""#)
        .unwrap()
        .properties()
        .is_empty());
}
