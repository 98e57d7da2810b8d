//! Evaluation of `tests/data/eval.txt` against the resources in `tests/data/resources.json`:
//! each case lists the ids of the resources that match.

use expect_test::expect_file;
use scim_filter::parse_filter;
use serde_json::Value;

use crate::cases;
use crate::schema::{NoSchema, TestSchema};

fn resources() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/resources.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn evaluation() {
    let resources = resources();
    cases::check("eval.txt", expect_file!["../data/eval.txt"], |input| {
        let filter = match parse_filter(input) {
            Ok(filter) => filter,
            Err(e) => return format!("error: {e}"),
        };
        let matching = |schema: &dyn scim_filter::SchemaInfo| {
            let ids: Vec<&str> = resources
                .iter()
                .filter(|r| filter.matches(r, schema))
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            if ids.is_empty() {
                "(none)".to_owned()
            } else {
                ids.join(" ")
            }
        };
        let with_schema = matching(&TestSchema);
        let without = matching(&NoSchema);
        if with_schema == without {
            with_schema
        } else {
            format!("{with_schema}\nwithout schema: {without}")
        }
    });
}
