//! Bounded work: nesting depth and input length.

use scim_filter::{parse_filter, parse_path, MAX_DEPTH, MAX_LEN};

#[test]
fn deep_parentheses_are_an_error_not_a_stack_overflow() {
    let input = "(".repeat(10_000);
    let e = parse_filter(&input).unwrap_err();
    assert_eq!(e.to_string(), "filter nests deeper than 32 levels at 32");
}

#[test]
fn deep_not_and_value_paths_are_errors() {
    let nots = format!(
        "{}a pr{}",
        "not (".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(parse_filter(&nots)
        .unwrap_err()
        .message
        .starts_with("filter nests deeper than 32 levels"));
    let paths = format!(
        "{}a pr{}",
        "a[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    assert!(parse_filter(&paths)
        .unwrap_err()
        .message
        .starts_with("filter nests deeper"));
    let path = format!("a[{}b pr{}]", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse_path(&path)
        .unwrap_err()
        .message
        .starts_with("filter nests deeper"));
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let input = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse_filter(&input).unwrap().to_string(), "a pr");
}

#[test]
fn long_and_or_chains_parse_and_print() {
    // Long chains are legal (Entra sends `id eq … or id eq …` lists); they are bounded by length.
    let input = vec!["a pr"; 1_200].join(" or ");
    assert!(input.len() <= MAX_LEN);
    let filter = parse_filter(&input).unwrap();
    assert_eq!(filter.to_string(), input);
    let user = serde_json::json!({"b": 1});
    assert!(!filter.matches(&user, &crate::schema::NoSchema));
}

#[test]
fn input_longer_than_the_limit_is_an_error() {
    let input = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
    assert_eq!(
        parse_filter(&input).unwrap_err().to_string(),
        "input is longer than 10000 bytes at 10000"
    );
}
