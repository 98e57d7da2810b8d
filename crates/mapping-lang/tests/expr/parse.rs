//! Parsing: canonical printing, errors with positions, round trips, limits.

use expect_test::expect_file;
use mapping_lang::expr::{parse, MAX_DEPTH, MAX_LEN};

use crate::cases::{check, read};

#[test]
fn parse_table() {
    check(
        "parse.txt",
        expect_file!["../data/expr/parse.txt"],
        |input| match parse(&input[0]) {
            Ok(e) => format!("{e}"),
            Err(e) => format!("error: {e}"),
        },
    );
}

/// Every expression of every table prints to text that parses back to the same tree.
#[test]
fn round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/expr");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        for case in read(&name) {
            let Ok(expr) = parse(&case.input[0]) else {
                continue;
            };
            let printed = expr.to_string();
            let again = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
            assert_eq!(expr.without_spans(), again.without_spans(), "{printed}");
            assert_eq!(printed, again.to_string());
            n += 1;
        }
    }
    assert!(n > 200, "only {n} cases");
}

#[test]
fn length_limit() {
    let ok = format!("\"{}\"", "a".repeat(MAX_LEN - 2));
    assert!(parse(&ok).is_ok());
    let long = format!("\"{}\"", "a".repeat(MAX_LEN - 1));
    let err = parse(&long).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expression is 10001 characters long, the limit is 10000 at 1"
    );
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}[x]{}", "ToLower(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    let err = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert!(err.message.contains("nested deeper than 64"), "{err}");
    // Far deeper than the limit still fails cleanly, without overflowing the stack.
    assert!(parse(&nested(3000)).is_err());
}
