//! Scoping filters (spec §3.2) from `tests/data/expr/scoping.txt`: the filter in its text form, a
//! `user:` line, and the decision with its reasons.

use mapping_lang::scoping::{parse_text, Scoping};

use crate::cases::check;

#[test]
fn scoping_cases() {
    check(
        "scoping.txt",
        expect_test::expect_file!["../data/expr/scoping.txt"],
        |input| {
            let text = input.first().map(String::as_str).unwrap_or_default();
            let user: serde_json::Value = input
                .iter()
                .find_map(|l| l.strip_prefix("user: "))
                .map(|u| serde_json::from_str(u).unwrap())
                .unwrap_or_default();
            let filters = match parse_text(text) {
                Ok(f) => f,
                Err(e) => return format!("syntax error: {e}"),
            };
            match Scoping::new(&filters) {
                Ok(scoping) => scoping.evaluate(&user).to_string(),
                Err(e) => format!("error: {e}"),
            }
        },
    );
}
