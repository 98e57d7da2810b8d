//! `values_at`, `compare_for_sort` and `simple_eq`, the pieces the store uses.

use std::cmp::Ordering;

use scim_filter::{compare_for_sort, parse_attr_path, parse_filter, values_at, AttrInfo, AttrType};
use serde_json::{json, Value};

fn values(resource: &Value, path: &str) -> Vec<Value> {
    values_at(resource, &parse_attr_path(path).unwrap())
        .into_iter()
        .cloned()
        .collect()
}

#[test]
fn values_at_flattens_and_takes_value() {
    let user = json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}, {"type": "home"}],
        "tags": ["one", "two", null],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tours", "manager": {"value": "m-1"}
        }
    });
    assert_eq!(values(&user, "USERNAME"), vec![json!("bjensen")]);
    assert_eq!(values(&user, "name.givenName"), vec![json!("Barbara")]);
    assert_eq!(values(&user, "emails"), vec![json!("a@x"), json!("b@x")]);
    assert_eq!(
        values(&user, "emails.type"),
        vec![json!("work"), json!("home")]
    );
    assert_eq!(values(&user, "tags"), vec![json!("one"), json!("two")]);
    assert_eq!(values(&user, "department"), vec![json!("Tours")]);
    assert_eq!(
        values(
            &user,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        ),
        vec![json!("m-1")]
    );
    assert_eq!(values(&user, "name"), Vec::<Value>::new());
    assert_eq!(values(&user, "missing.sub"), Vec::<Value>::new());
}

fn info(ty: AttrType, case_exact: bool) -> Option<AttrInfo> {
    Some(AttrInfo {
        ty,
        case_exact,
        multi_valued: false,
    })
}

#[test]
fn sort_order_follows_the_attribute_type() {
    let cmp = compare_for_sort;
    assert_eq!(cmp(&json!("apple"), &json!("Banana"), None), Ordering::Less);
    assert_eq!(cmp(&json!("apple"), &json!("APPLE"), None), Ordering::Equal);
    assert_eq!(
        cmp(
            &json!("apple"),
            &json!("Banana"),
            info(AttrType::String, true)
        ),
        Ordering::Greater
    );
    assert_eq!(cmp(&json!(10), &json!(9.5), None), Ordering::Greater);
    assert_eq!(cmp(&json!(false), &json!(true), None), Ordering::Less);
    let dt = info(AttrType::DateTime, false);
    assert_eq!(
        cmp(
            &json!("2011-05-13T04:42:34Z"),
            &json!("2011-05-13T06:00:00+02:00"),
            dt
        ),
        Ordering::Greater
    );
    assert_eq!(
        cmp(
            &json!("2011-05-13T04:42:34Z"),
            &json!("2011-05-13T06:00:00+02:00"),
            None
        ),
        Ordering::Less
    );
    assert_eq!(cmp(&json!(1), &json!("1"), None), Ordering::Less);
    assert_eq!(cmp(&json!("z"), &Value::Null, None), Ordering::Less);
}

#[test]
fn simple_eq_is_only_a_single_string_equality() {
    let f = parse_filter("userName EQ \"bjensen\"").unwrap();
    let (attr, value) = f.simple_eq().unwrap();
    assert_eq!((attr.name.as_str(), value), ("userName", "bjensen"));
    let f = parse_filter("externalId eq 5b3c-42").unwrap();
    assert_eq!(f.simple_eq().map(|(_, v)| v), Some("5b3c-42"));
    for other in [
        "userName ne \"x\"",
        "userName eq \"x\" and active eq true",
        "loginCount eq 3",
        "(a eq \"x\") or b pr",
    ] {
        assert!(
            parse_filter(other).unwrap().simple_eq().is_none(),
            "{other}"
        );
    }
}
