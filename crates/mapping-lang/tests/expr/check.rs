//! The checker: unknown functions (with the right case suggested), arities, attributes.

use expect_test::expect_file;
use mapping_lang::expr::{check, parse, Env};
use scim_filter::{AttrInfo, AttrType, SchemaInfo};

use crate::cases;

/// A few core User attributes, enough to tell known from unknown.
struct Schema;

impl SchemaInfo for Schema {
    fn attr_info(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        let known: &[(&str, Option<&str>)] = &[
            ("userName", None),
            ("displayName", None),
            ("title", None),
            ("active", None),
            ("name", None),
            ("name", Some("givenName")),
            ("name", Some("familyName")),
            ("emails", None),
            ("emails", Some("value")),
            ("emails", Some("type")),
            ("department", None),
        ];
        let uri_ok = uri.is_none_or(|u| {
            u.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                || u.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User")
        });
        let found = uri_ok
            && known.iter().any(|(n, s)| {
                n.eq_ignore_ascii_case(name)
                    && match (s, sub) {
                        (None, None) => true,
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        _ => false,
                    }
            });
        found.then_some(AttrInfo {
            ty: AttrType::String,
            case_exact: false,
            multi_valued: name.eq_ignore_ascii_case("emails"),
        })
    }
}

#[test]
fn check_table() {
    cases::check(
        "check.txt",
        expect_file!["../data/expr/check.txt"],
        |input| {
            let expr = match parse(&input[0]) {
                Ok(e) => e,
                Err(e) => return format!("parse error: {e}"),
            };
            let env = Env {
                schema: Some(&Schema),
            };
            match check(&expr, &env) {
                Ok(()) => "ok".into(),
                Err(errors) => errors
                    .iter()
                    .map(|e| format!("error: {e}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        },
    );
}

/// Without a schema any well-formed path is accepted.
#[test]
fn no_schema_accepts_paths() {
    let expr = parse("Join(\" \", [favouriteColour], [urn:x:y:z:colour])").unwrap();
    assert_eq!(check(&expr, &Env::default()), Ok(()));
    let expr = parse("Append([not a path], \"x\")").unwrap();
    assert!(check(&expr, &Env::default()).is_err());
}
