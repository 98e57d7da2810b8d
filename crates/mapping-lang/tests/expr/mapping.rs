//! The mapping model of spec §2.1: defaults only on create, create-only mappings, IgnoreFlow.

use mapping_lang::expr::mapping::{evaluate, Apply, Mapping, MappingKind};
use mapping_lang::expr::{parse, Context, Value};
use serde_json::json;

fn now() -> jiff::Timestamp {
    "2021-07-02T15:33:38Z".parse().unwrap()
}

fn mapping(kind: MappingKind) -> Mapping {
    Mapping {
        kind,
        target: "title".into(),
        default_if_null: None,
        apply: Apply::Always,
    }
}

fn expression(src: &str) -> MappingKind {
    MappingKind::Expression {
        expr: parse(src).unwrap(),
    }
}

fn s(v: &str) -> Option<Value> {
    Some(Value::Str(v.into()))
}

#[test]
fn direct_constant_expression() {
    let user = json!({"userName": "jsmith@contoso.com", "title": "Dev"});
    let ctx = Context::new(&user, now());
    let direct = mapping(MappingKind::Direct {
        source: "jobTitle".into(),
    });
    assert_eq!(evaluate(&direct, &ctx, true).unwrap(), s("Dev"));
    assert_eq!(evaluate(&direct, &ctx, false).unwrap(), s("Dev"));
    let constant = mapping(MappingKind::Constant {
        value: "Contoso".into(),
    });
    assert_eq!(evaluate(&constant, &ctx, false).unwrap(), s("Contoso"));
    let expr = mapping(expression("ToUpper([mailNickname])"));
    assert_eq!(evaluate(&expr, &ctx, false).unwrap(), s("JSMITH"));
}

#[test]
fn default_only_on_create() {
    let user = json!({"userName": "jsmith@contoso.com"});
    let ctx = Context::new(&user, now());
    for kind in [
        MappingKind::Direct {
            source: "department".into(),
        },
        expression("[department]"),
        MappingKind::None,
    ] {
        let m = Mapping {
            default_if_null: Some("Unassigned".into()),
            ..mapping(kind)
        };
        assert_eq!(evaluate(&m, &ctx, true).unwrap(), s("Unassigned"));
        assert_eq!(evaluate(&m, &ctx, false).unwrap(), None);
    }
    // Without a default, null is never provisioned.
    let m = mapping(MappingKind::Direct {
        source: "department".into(),
    });
    assert_eq!(evaluate(&m, &ctx, true).unwrap(), None);
}

#[test]
fn create_only_mappings_skip_updates() {
    let user = json!({"userName": "jsmith@contoso.com"});
    let ctx = Context::new(&user, now());
    let m = Mapping {
        apply: Apply::OnCreateOnly,
        ..mapping(expression("Join(\"@\", [mailNickname], \"fabrikam.com\")"))
    };
    assert_eq!(evaluate(&m, &ctx, true).unwrap(), s("jsmith@fabrikam.com"));
    assert_eq!(evaluate(&m, &ctx, false).unwrap(), None);
}

#[test]
fn ignore_flow_writes_nothing_even_with_a_default() {
    let user = json!({"userName": "jsmith@contoso.com"});
    let ctx = Context::new(&user, now());
    let m = Mapping {
        default_if_null: Some("x".into()),
        ..mapping(expression("IgnoreFlowIfNullOrEmpty([department])"))
    };
    assert_eq!(evaluate(&m, &ctx, true).unwrap(), None);
}

#[test]
fn errors_propagate() {
    let user = json!({});
    let ctx = Context::new(&user, now());
    let m = mapping(expression("DefaultDomain()"));
    assert!(evaluate(&m, &ctx, true).is_err());
}
