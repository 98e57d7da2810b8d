//! Parsing, printing and checking, from `tests/data/{filter,path,attr_path,check}.txt`.

use expect_test::expect_file;
use scim_filter::{
    check, parse_attr_path, parse_filter, parse_path, AttrPath, CompValue, Filter, PatchPath,
};

use crate::cases;
use crate::schema::TestSchema;

/// A one-line tree with spans: `(eq userName@0..8 "bjensen")@0..18`.
fn tree(filter: &Filter) -> String {
    match filter {
        Filter::Present { attr, span } => format!("(pr {})@{span}", attr_tree(attr)),
        Filter::Compare {
            attr,
            op,
            value,
            span,
        } => {
            format!("({op} {} {})@{span}", attr_tree(attr), value_tree(value))
        }
        Filter::ValuePath { attr, filter, span } => {
            format!("(where {} {})@{span}", attr_tree(attr), tree(filter))
        }
        Filter::Not { filter, span } => format!("(not {})@{span}", tree(filter)),
        Filter::And(l, r) => format!("(and {} {})", tree(l), tree(r)),
        Filter::Or(l, r) => format!("(or {} {})", tree(l), tree(r)),
    }
}

fn attr_tree(attr: &AttrPath) -> String {
    let uri = attr
        .uri
        .as_ref()
        .map(|u| format!("<{u}>"))
        .unwrap_or_default();
    let sub = attr
        .sub
        .as_ref()
        .map(|s| format!(".{s}"))
        .unwrap_or_default();
    format!("{uri}{}{sub}@{}", attr.name, attr.span)
}

fn value_tree(value: &CompValue) -> String {
    match value {
        CompValue::Number(n) => format!("number:{n}"),
        other => other.to_string(),
    }
}

/// Display must parse back to the same tree.
fn assert_round_trip(input: &str, filter: &Filter) {
    let printed = filter.to_string();
    let reparsed = parse_filter(&printed)
        .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(
        reparsed.without_spans(),
        filter.without_spans(),
        "{input:?} printed as {printed:?}"
    );
}

fn assert_path_round_trip(input: &str, path: &PatchPath) {
    let printed = path.to_string();
    let reparsed = parse_path(&printed)
        .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(
        reparsed.without_spans(),
        path.without_spans(),
        "{input:?} printed as {printed:?}"
    );
}

#[test]
fn filters() {
    cases::check(
        "filter.txt",
        expect_file!["../data/filter.txt"],
        |input| match parse_filter(input) {
            Ok(filter) => format!("{filter}\n{}", tree(&filter)),
            Err(e) => format!("error: {e} (span {})", e.span),
        },
    );
}

#[test]
fn patch_paths() {
    cases::check(
        "path.txt",
        expect_file!["../data/path.txt"],
        |input| match parse_path(input) {
            Ok(path) => {
                let filter = path
                    .filter
                    .as_ref()
                    .map(tree)
                    .unwrap_or_else(|| "-".to_owned());
                let sub = path.sub.as_deref().unwrap_or("-");
                format!(
                    "{path}\nattr {} filter {filter} sub {sub}",
                    attr_tree(&path.attr)
                )
            }
            Err(e) => format!("error: {e} (span {})", e.span),
        },
    );
}

#[test]
fn attr_paths() {
    cases::check(
        "attr_path.txt",
        expect_file!["../data/attr_path.txt"],
        |input| match parse_attr_path(input) {
            Ok(attr) => format!("{attr}\n{}", attr_tree(&attr)),
            Err(e) => format!("error: {e} (span {})", e.span),
        },
    );
}

#[test]
fn checker() {
    cases::check(
        "check.txt",
        expect_file!["../data/check.txt"],
        |input| match parse_filter(input).and_then(|f| check(&f, &TestSchema)) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e} (span {})", e.span),
        },
    );
}

#[test]
fn every_parsed_filter_round_trips() {
    let mut parsed = 0;
    for name in ["filter.txt", "eval.txt", "check.txt"] {
        for case in cases::read(name) {
            if let Ok(filter) = parse_filter(&case.input) {
                assert_round_trip(&case.input, &filter);
                parsed += 1;
            }
        }
    }
    assert!(parsed > 50, "only {parsed} filters parsed");
}

#[test]
fn every_parsed_path_round_trips() {
    let mut parsed = 0;
    for case in cases::read("path.txt") {
        if let Ok(path) = parse_path(&case.input) {
            assert_path_round_trip(&case.input, &path);
            parsed += 1;
        }
    }
    assert!(parsed > 5);
}

#[test]
fn printing_keeps_the_tree_of_nested_operators() {
    // Trees no parser produces from flat text, built by hand: right-nested chains.
    let leaf = |name: &str| parse_filter(&format!("{name} pr")).unwrap();
    let or = |l, r| Filter::Or(Box::new(l), Box::new(r));
    let and = |l, r| Filter::And(Box::new(l), Box::new(r));
    for filter in [
        or(leaf("a"), or(leaf("b"), leaf("c"))),
        and(leaf("a"), and(leaf("b"), leaf("c"))),
        and(or(leaf("a"), leaf("b")), or(leaf("c"), leaf("d"))),
        or(and(leaf("a"), leaf("b")), and(leaf("c"), leaf("d"))),
    ] {
        assert_round_trip(&filter.to_string(), &filter);
    }
}

#[test]
fn empty_input_is_an_error() {
    let e = parse_filter("").unwrap_err();
    assert_eq!(e.to_string(), "expected an attribute, `(` or `not` at 0");
    assert_eq!(
        parse_path("  ").unwrap_err().to_string(),
        "expected an attribute at 2"
    );
}
