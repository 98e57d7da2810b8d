//! Evaluation: every example of spec §2.3 and edge cases per function, from
//! `tests/data/expr/eval.txt`. A case's optional lines after the expression: `user: {json}`
//! replaces the default user, `taken: a,b` lists values that already exist in the target.

use expect_test::expect_file;
use mapping_lang::expr::{eval, is_redacted, parse, Context, Output, Value};
use serde_json::json;

use crate::cases;

/// 7/2/2021 3:33:38 PM UTC, the doc's `Now()` example.
fn now() -> jiff::Timestamp {
    "2021-07-02T15:33:38Z".parse().unwrap()
}

fn default_user() -> serde_json::Value {
    json!({
        "userName": "John.Doe@contoso.com",
        "name": {"givenName": "John", "familyName": "Doe"},
        "displayName": "John Doe",
        "active": true,
        "title": "Product Developer",
        "id": "2819c223-7f76-453a-919d-413861904646",
        "emails": [
            {"type": "work", "value": "john.doe@contoso.com", "primary": true},
            {"type": "other", "value": "jd@example.com"},
            {"type": "home", "value": "john.doe@contoso.com"}
        ],
        "phoneNumbers": [
            {"type": "work", "value": "+91 9998887777"},
            {"type": "mobile", "value": "+1 (999) 888-7777"}
        ],
        "addresses": [{"type": "work", "locality": "Sydney", "region": "QLD", "country": "AU",
                       "streetAddress": "545 Tremont Street"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"department": "Sales", "employeeNumber": "701984"},
        "roles": [{"value": "Reader"}, {"value": "Admin", "primary": true}]
    })
}

/// Evaluates one case as the table prints it.
pub fn run(input: &[String]) -> String {
    let expr = match parse(&input[0]) {
        Ok(e) => e,
        Err(e) => return format!("parse error: {e}"),
    };
    let mut user = default_user();
    let mut taken: Vec<String> = Vec::new();
    for line in &input[1..] {
        if let Some(j) = line.strip_prefix("user: ") {
            user = serde_json::from_str(j).unwrap();
        } else if let Some(t) = line.strip_prefix("taken: ") {
            taken = t.split(',').map(str::to_owned).collect();
        } else {
            panic!("unknown case line {line:?}");
        }
    }
    let exists = |v: &str| taken.iter().any(|t| t == v);
    let ctx = Context {
        default_domain: Some("contoso.com".into()),
        exists_in_target: Some(&exists),
        ..Context::new(&user, now())
    };
    match eval(&expr, &ctx) {
        Ok(Output::Value(v)) => v.to_json().to_string(),
        Ok(Output::IgnoreFlow) => "ignore flow".into(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn eval_table() {
    cases::check("eval.txt", expect_file!["../data/expr/eval.txt"], run);
}

fn eval_str(src: &str) -> Value {
    let user = default_user();
    match eval(&parse(src).unwrap(), &Context::new(&user, now())).unwrap() {
        Output::Value(v) => v,
        Output::IgnoreFlow => panic!("ignored"),
    }
}

#[test]
fn guid_is_random_v4() {
    let a = eval_str("Guid()");
    let b = eval_str("Guid()");
    assert_ne!(a, b);
    let a = a.text().unwrap().to_owned();
    assert_eq!(a.len(), 36);
    assert_eq!(a.chars().nth(14), Some('4'));
    assert_eq!(a.matches('-').count(), 4);
}

#[test]
fn random_string_honours_minimums() {
    for _ in 0..50 {
        let v = eval_str("RandomString(10, 3, 2, 2, 2, \"0O1lI\")");
        let s = v.text().unwrap();
        assert_eq!(s.chars().count(), 10);
        assert!(s.chars().filter(char::is_ascii_digit).count() >= 3, "{s}");
        assert!(
            s.chars().filter(char::is_ascii_uppercase).count() >= 2,
            "{s}"
        );
        assert!(
            s.chars().filter(char::is_ascii_lowercase).count() >= 2,
            "{s}"
        );
        assert!(
            s.chars().filter(|c| !c.is_alphanumeric()).count() >= 2,
            "{s}"
        );
        assert!(!s.contains(['0', 'O', '1', 'l', 'I']), "{s}");
    }
    let v = eval_str("RandomString(6,3,0,0,3)");
    let s = v.text().unwrap();
    assert_eq!(s.len(), 6);
    assert!(
        s.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "{s}"
    );
    // The doc's unique-UPN pattern for API-driven provisioning.
    let v = eval_str(
        "Join(\"\", Replace([userName], , \"(?<Suffix>@(.)*)\", \"Suffix\", \"\", , ), RandomString(3, 3, 0, 0, 0, ), \"@\", \"contoso.com\")",
    );
    let s = v.text().unwrap();
    assert!(
        s.starts_with("John.Doe") && s.ends_with("@contoso.com"),
        "{s}"
    );
    assert_eq!(s.len(), "John.Doe".len() + 3 + "@contoso.com".len());
}

#[test]
fn redact_flows_but_is_flagged() {
    let e = parse("Redact(RandomString(6,3,0,0,3))").unwrap();
    assert!(is_redacted(&e));
    assert!(!is_redacted(&parse("ToLower([userName])").unwrap()));
    assert_eq!(eval_str("Redact(\"secret\")"), Value::Str("secret".into()));
}

#[test]
fn now_is_injected() {
    let user = json!({});
    let ctx = Context::new(&user, "2030-12-31T23:59:59Z".parse().unwrap());
    let out = eval(&parse("Now()").unwrap(), &ctx).unwrap();
    assert_eq!(
        out,
        Output::Value(Value::Str("12/31/2030 11:59:59 PM".into()))
    );
}

/// Without a uniqueness oracle the first candidate wins; without a domain, an error.
#[test]
fn context_defaults() {
    let user = default_user();
    let ctx = Context::new(&user, now());
    let e = parse("SelectUniqueValue([givenName], [surname])").unwrap();
    assert_eq!(
        eval(&e, &ctx).unwrap(),
        Output::Value(Value::Str("John".into()))
    );
    let err = eval(&parse("DefaultDomain()").unwrap(), &ctx).unwrap_err();
    assert!(err.message.contains("no default domain"), "{err}");
}

#[test]
fn fuel_runs_out_cleanly() {
    let user = default_user();
    let nested = format!("{}[givenName]{}", "ToLower(".repeat(60), ")".repeat(60));
    let e = parse(&nested).unwrap();
    let mut ctx = Context::new(&user, now());
    assert_eq!(
        eval(&e, &ctx).unwrap(),
        Output::Value(Value::Str("john".into()))
    );
    ctx.fuel = 30;
    let err = eval(&e, &ctx).unwrap_err();
    assert!(err.message.contains("ran out of fuel"), "{err}");
}

/// Templates multiply their input; the value length limit stops the blow-up.
#[test]
fn replace_blow_up_is_bounded() {
    let mut src = "\"aaaaaaaaaaaaaaaa\"".to_owned();
    for _ in 0..8 {
        src = format!("Replace(\"a\", \"a\", , , , , {src})");
        src = format!("Replace({src}, \"a\", , , \"aaaaaaaaaaaaaaaa\", , )");
    }
    let user = default_user();
    let err = eval(&parse(&src).unwrap(), &Context::new(&user, now())).unwrap_err();
    assert!(
        err.message.contains("the limit is") || err.message.contains("fuel"),
        "{err}"
    );
}

/// A prepared expression or mapping gives what the unprepared one gives: every expression of
/// `eval.txt` over every user of `eval.txt` (and the default user), as expression and as a
/// direct mapping of each attribute it names.
#[test]
fn prepared_matches_unprepared() {
    use mapping_lang::expr::mapping::{self, Apply, Mapping, MappingKind};
    use mapping_lang::expr::{eval_prepared, Prepared};

    let cases = cases::read("eval.txt");
    let mut users = vec![default_user()];
    users.extend(cases.iter().flat_map(|c| {
        c.input[1..]
            .iter()
            .filter_map(|l| l.strip_prefix("user: "))
            .map(|j| serde_json::from_str::<serde_json::Value>(j).unwrap())
    }));
    let exprs: Vec<_> = cases
        .iter()
        .filter_map(|c| parse(&c.input[0]).ok())
        .collect();
    assert!(exprs.len() > 50 && users.len() > 5);
    let mut mappings = Vec::new();
    for e in &exprs {
        let mut names = Vec::new();
        attrs(e, &mut names);
        for source in names {
            mappings.push(Mapping {
                kind: MappingKind::Direct { source },
                target: "title".into(),
                default_if_null: Some("d".into()),
                apply: Apply::Always,
            });
        }
        mappings.push(Mapping {
            kind: MappingKind::Expression { expr: e.clone() },
            target: "title".into(),
            default_if_null: None,
            apply: Apply::Always,
        });
    }
    let prepared_exprs: Vec<_> = exprs.iter().cloned().map(Prepared::new).collect();
    let prepared_mappings: Vec<_> = mappings.iter().cloned().map(mapping::prepare).collect();
    for user in &users {
        let ctx = Context {
            default_domain: Some("contoso.com".into()),
            ..Context::new(user, now())
        };
        for (e, p) in exprs.iter().zip(&prepared_exprs) {
            assert_eq!(eval(e, &ctx), eval_prepared(p, &ctx), "{e} on {user}");
        }
        for (m, p) in mappings.iter().zip(&prepared_mappings) {
            for creating in [true, false] {
                assert_eq!(
                    mapping::evaluate(m, &ctx, creating),
                    mapping::evaluate_prepared(p, &ctx, creating),
                    "{m:?} on {user}"
                );
            }
        }
    }
}

fn attrs(e: &mapping_lang::expr::Expr, out: &mut Vec<String>) {
    use mapping_lang::expr::ExprKind;
    match &e.kind {
        ExprKind::Attr(a) => out.push(a.clone()),
        ExprKind::Compare { lhs, rhs, .. } => {
            attrs(lhs, out);
            attrs(rhs, out);
        }
        ExprKind::Call { args, .. } => {
            for a in args.iter().filter_map(mapping_lang::expr::Arg::expr) {
                attrs(a, out);
            }
        }
        _ => {}
    }
}
